"""Out-of-time quality of RiskModel on simulated portfolios, against the simulator's oracle.

Usage::

    python benchmarks/model_quality.py [--loans 40000] [--seeds 202 303] [--markdown]
    python benchmarks/model_quality.py --tune [--loans 40000] [--seeds 101] [--markdown]
    python benchmarks/model_quality.py --leak-check [--loans 40000] [--seeds 101] [--markdown]
    python benchmarks/model_quality.py --search [--loans 20000] [--seeds 202 303 404] [--markdown]

Each seed simulates ``--loans`` loans over 2023-01-01 .. 2024-12-31 (default
scenario) and builds the ``dpd30_90d`` training set (every feature family) at
the month ends from 2023-04-30 to T, the last month end whose 90-day horizon
is observed (2024-09-30). The model is scored on the test month T only.

Splits (all out of time; the validation slice stops the boosting early and
fits the isotonic calibration, ``RiskModel`` uses ``X_val`` when no ``X_cal``
is given):

* ``gap`` (the headline): validate on T-1 (2024-08-31); train on the month
  ends whose label window ends before it (as_of + 90 days <= T-1, so up to
  2024-05-31).
* ``adjacent``: train up to T-2, validate on T-1. The label windows of the
  training rows overlap those of the validation rows (the same loans going
  bad in the same days), so the validation month rewards trees that
  recognise individual customers: early stopping runs to the cap.
* ``production``: only what is known at T: validate on the last month end
  whose label is observed by T (2024-06-30), train on the month ends whose
  label window ends before that (up to 2024-03-31).
* ``gap + hidden traits`` (a diagnostic, not a model anyone can build): the
  ``gap`` model with the simulator's hidden customer traits (capacity,
  willingness, habit, response type, card pay share, shock multiplier) added
  as features, to show how much of the distance to the oracle they explain.

The oracle AUC is ``truth.oracle_auc`` on exactly the test rows (same loans,
same as-of date): the AUC of the simulator's true probabilities, Monte Carlo
estimates from ``--paths`` paths each. Their noise lowers it a little; the
oracle is also computed with half the paths, and since the loss of AUC from
the noise shrinks about as 1 / paths, ``2 * oracle(n) - oracle(n / 2)``
estimates the noiseless oracle. The ratio's 95% interval is a paired
bootstrap over the test rows (``--bootstrap`` resamples, fixed seed).

``--leak-check`` (tuning seed): trains on half of the customers, with the
previous and the current defaults, on the ``adjacent`` and ``gap`` splits,
and compares the AUC of the customers seen in training with the others, on
the validation and the test month.

Default mode: the evaluation seeds (202 and 303: never used for tuning) with
``RiskModel(calibration="isotonic")``, its default hyperparameters.
``--tune``: the grid on the tuning seed (101), the ``gap`` split: learning
rate x leaves in full, then min_child_samples, colsample_bytree and
reg_lambda one at a time around the best so far; a configuration scores the
mean of its validation and test AUC (raw scores). Then the chosen and the
previous defaults on the ``adjacent`` and ``production`` splits, and on the
``gap`` split calibrated on a separate month (T-2) instead of the validation
month.

``--search``: ``tune_risk_model`` (successive halving over boosting rounds,
``--candidates`` candidates from its default space, AUC) with
``AsOfSplit(n_splits=3, horizon=90, test_dates=1)`` on the training dates of
the tuning seed's ``gap`` split only (``--tune-seed``, default 101); then, on
each evaluation seed (default 202 303 404, never used for tuning), the
``gap`` model with RiskModel's defaults against the same with the tuned
parameters (early stopping on the validation month, cap 1000 rounds, as the
defaults), on the test month. DPD alone is the simple baseline.

``--previous-defaults`` evaluates the hyperparameters RiskModel had before
tuning instead, for comparison.

``--threads`` (default 1) is LightGBM's thread count, which changes the
speed only (``deterministic=True``: the same trees with one thread or two):
on a 2-core machine shared with other jobs, two threads were slower than
one. Everything is deterministic.

Targets (issue): AUC at least 0.95 x the oracle AUC; ECE after calibration at
most 0.02.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass

import lightgbm
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

import overdue_risk as odr

START, END = "2023-01-01", "2024-12-31"
FIRST_AS_OF = "2023-04-30"
HORIZON = 90
TARGET_RATIO, TARGET_ECE = 0.95, 0.02


def _ts(value) -> pd.Timestamp:
    return pd.Timestamp(value)


def month_ends(first, last) -> list[pd.Timestamp]:
    return list(pd.date_range(first, last, freq="ME"))


@dataclass
class Data:
    seed: int
    portfolio: object
    truth: object
    frame: pd.DataFrame  # features + label, indexed by (loan_id, as_of)
    test_date: pd.Timestamp
    sim_s: float
    build_s: float

    @property
    def as_of(self) -> pd.Index:
        return self.frame.index.get_level_values("as_of")


def make_data(loans: int, seed: int) -> Data:
    t0 = time.perf_counter()
    portfolio, truth = odr.simulate_portfolio(loans, START, END, seed=seed)
    t1 = time.perf_counter()
    last = max(
        d for d in month_ends(FIRST_AS_OF, END) if d + pd.Timedelta(days=HORIZON) <= _ts(END)
    )
    dates = [d.strftime("%Y-%m-%d") for d in month_ends(FIRST_AS_OF, last)]
    frame = odr.build_training_set(portfolio, dates, "dpd30_90d")
    t2 = time.perf_counter()
    return Data(seed, portfolio, truth, frame, last, t1 - t0, t2 - t1)


def _before(dates: list[pd.Timestamp], day: pd.Timestamp) -> list[pd.Timestamp]:
    """Month ends whose label window (d, d + 90] ends on or before ``day``."""
    return [d for d in dates if d + pd.Timedelta(days=HORIZON) <= day]


def split_dates(data: Data, split: str) -> tuple[list, pd.Timestamp, pd.Timestamp | None]:
    """(training dates, validation date, separate calibration date or None)."""
    dates = sorted(data.as_of.unique())
    test = data.test_date
    prev = [d for d in dates if d < test]
    if split in ("gap", "gap-cal", "hidden"):
        val = prev[-1]
        train = _before(dates, val)
        cal = prev[-2] if split == "gap-cal" else None
        return train, val, cal
    if split == "adjacent":
        return prev[:-1], prev[-1], None
    if split == "production":
        val = _before(dates, test)[-1]
        return _before(dates, val), val, None
    raise ValueError(split)


def hidden_traits(data: Data) -> pd.DataFrame:
    """The simulator's hidden customer traits per row (diagnostic only)."""
    cust = data.portfolio.loans.set_index("loan_id")["customer_id"]
    traits = data.truth.customers().drop(columns=["region"])
    loans = data.frame.index.get_level_values("loan_id")
    out = traits.reindex(cust.reindex(loans).to_numpy())
    out.index = data.frame.index
    return out


def fit_eval(data: Data, split: str, params: dict, threads: int | None) -> dict:
    frame = data.frame
    if split == "hidden":
        frame = pd.concat(
            [frame.drop(columns="label"), hidden_traits(data), frame["label"]], axis=1
        )
    train, val, cal = split_dates(data, split)
    a = data.as_of
    tr, va, te = frame[a.isin(train)], frame[a == val], frame[a == data.test_date]
    ca = frame[a == cal] if cal is not None else None

    def X(d):
        return d.drop(columns="label")

    model = odr.RiskModel(calibration="isotonic", n_jobs=threads, **params)
    t0 = time.perf_counter()
    model.fit(
        X(tr),
        tr["label"],
        X(va),
        va["label"],
        X_cal=None if ca is None else X(ca),
        y_cal=None if ca is None else ca["label"],
    )
    fit_s = time.perf_counter() - t0
    y = te["label"].to_numpy()
    p = model.predict_proba(X(te))[:, 1]
    raw = model._raw_proba(X(te))
    rep = odr.evaluate(y, p, as_of=te.index.get_level_values("as_of")).metrics
    return {
        "split": split,
        "train": f"{min(train):%Y-%m} .. {max(train):%Y-%m}",
        "val": f"{val:%Y-%m}",
        "train_rows": len(tr),
        "val_rows": len(va),
        "rows": len(te),
        "bad_rate": float(y.mean()),
        "auc": rep["auc"],
        "auc_raw": float(roc_auc_score(y, raw)),
        "val_auc": float(roc_auc_score(va["label"], model._raw_proba(X(va)))),
        "ece": rep["ece"],
        "brier": rep["brier"],
        "log_loss": rep["log_loss"],
        "best_iter": model.best_iteration_,
        "fit_s": fit_s,
        "model": model,
        "test": te,
        "score": p,
    }


def oracle(data: Data, paths: int) -> dict:
    """Oracle AUC on exactly the test rows, its Monte Carlo caveat and the true probabilities."""
    te = data.frame[data.as_of == data.test_date]
    labels = te["label"]
    t0 = time.perf_counter()
    auc = data.truth.oracle_auc(labels, n_paths=paths)
    s = time.perf_counter() - t0
    true = data.truth.pd_dpd30_90d(data.test_date, n_paths=paths)  # cached: the same paths
    joined = true.join(labels, how="inner")
    if len(joined) != len(te):
        raise AssertionError(f"oracle covers {len(joined)} of {len(te)} test rows")
    half = data.truth.oracle_auc(labels, n_paths=paths // 2)
    return {
        "oracle": auc,
        "oracle_half": half,
        "oracle_extrap": 2 * auc - half,
        "mean_se": float(joined["se"].mean()),
        "mean_true_p": float(joined["p_dpd30_90d"].mean()),
        "p_true": joined["p_dpd30_90d"].reindex(te.index).to_numpy(),
        "oracle_s": s,
    }


def ratio_interval(y, score, p_true, reps: int, seed: int = 0) -> tuple[float, float]:
    """95% paired-bootstrap interval of AUC(score) / AUC(p_true) over the test rows."""
    rng = np.random.default_rng(seed)
    n = len(y)
    out = []
    for _ in range(reps):
        i = rng.integers(0, n, n)
        out.append(roc_auc_score(y[i], score[i]) / roc_auc_score(y[i], p_true[i]))
    lo, hi = np.quantile(out, [0.025, 0.975])
    return float(lo), float(hi)


# -- output -----------------------------------------------------------------------------


def table(rows: list[dict], cols: list[tuple[str, str, str]], markdown: bool) -> str:
    """``cols``: (key, header, format)."""
    cells = [[format(r[k], f) if f else str(r[k]) for k, _, f in cols] for r in rows]
    heads = [h for _, h, _ in cols]
    if markdown:
        align = ["---" if not f or f == "s" else "---:" for _, _, f in cols]
        lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cs, widths, strict=True)) for cs in cells]
    return "\n".join(lines)


def describe(data: Data) -> str:
    n_loans = len(data.portfolio.loans)
    return (
        f"seed {data.seed}: {n_loans:,} loans (with restructured successors), "
        f"{len(data.frame):,} training-set rows at {data.as_of.nunique()} month ends; "
        f"simulated in {data.sim_s:.1f} s, training set built in {data.build_s:.1f} s"
    )


def machine() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    return (
        f"{cores} cores, Python {platform.python_version()}, lightgbm {lightgbm.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )


# -- modes ------------------------------------------------------------------------------

# The grid starts from RiskModel's defaults before tuning, written out so that
# --tune gives the same table whatever the defaults are now.
START_PARAMS = {
    "n_estimators": 2000,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": -1,
    "min_child_samples": 100,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "early_stopping_rounds": 100,
}
GRID_RATE_LEAVES = [(lr, nl) for lr in (0.03, 0.05, 0.1) for nl in (7, 15, 31)]
GRID_ONE_AT_A_TIME = [
    ("min_child_samples", (50, 100, 400)),
    ("colsample_bytree", (0.5, 0.8, 1.0)),
    ("reg_lambda", (0.0, 1.0, 10.0)),
]
TUNED = ("learning_rate", "num_leaves", "min_child_samples", "colsample_bytree", "reg_lambda")


def _score(r: dict) -> float:
    return (r["val_auc"] + r["auc_raw"]) / 2


def tune(args) -> None:
    for seed in args.seeds:
        tune_seed(args, seed)


def tune_seed(args, seed: int) -> None:
    data = make_data(args.loans, seed)
    print(describe(data), flush=True)
    orc = oracle(data, args.paths)
    print(
        f"oracle AUC on the test month {data.test_date:%Y-%m-%d}: {orc['oracle']:.4f} "
        f"({args.paths} paths; {orc['oracle_half']:.4f} with {args.paths // 2}, "
        f"noiseless estimate {orc['oracle_extrap']:.4f}), in {orc['oracle_s']:.0f} s",
        flush=True,
    )
    results: dict[tuple, dict] = {}

    def run(params: dict) -> dict:
        key = tuple(params[k] for k in TUNED)
        if key not in results:
            r = fit_eval(data, "gap", params, args.threads)
            r["params"] = dict(params)
            r["ratio"] = r["auc"] / orc["oracle"]
            results[key] = r
            print(
                f"  {dict(zip(TUNED, key, strict=True))}: iter {r['best_iter']}, "
                f"{r['fit_s']:.0f} s, val AUC {r['val_auc']:.4f}, test AUC "
                f"{r['auc_raw']:.4f} (calibrated {r['auc']:.4f}), ECE {r['ece']:.4f}",
                flush=True,
            )
        return results[key]

    start = {**START_PARAMS, "n_estimators": args.n_estimators}
    best = max(
        (run({**start, "learning_rate": lr, "num_leaves": nl}) for lr, nl in GRID_RATE_LEAVES),
        key=_score,
    )["params"]
    for name, values in GRID_ONE_AT_A_TIME:
        best = max((run({**best, name: v}) for v in values), key=_score)["params"]
    chosen = results[tuple(best[k] for k in TUNED)]
    previous = results[tuple(start[k] for k in TUNED)]
    rows = []
    for r in sorted(results.values(), key=_score, reverse=True):
        row = {k: r["params"][k] for k in TUNED}
        row.update(
            it=r["best_iter"],
            fit_s=r["fit_s"],
            val_auc=r["val_auc"],
            test_auc=r["auc_raw"],
            score=_score(r),
            auc=r["auc"],
            ratio=r["ratio"],
            ece=r["ece"],
            brier=r["brier"],
            note="**chosen**" if r is chosen else "previous default" if r is previous else "",
        )
        rows.append(row)
    cols = [
        ("learning_rate", "learning_rate", ""),
        ("num_leaves", "num_leaves", ""),
        ("min_child_samples", "min_child_samples", ""),
        ("colsample_bytree", "colsample_bytree", ""),
        ("reg_lambda", "reg_lambda", ""),
        ("it", "best iter", "d"),
        ("fit_s", "train s", ".0f"),
        ("val_auc", "val AUC", ".4f"),
        ("test_auc", "test AUC", ".4f"),
        ("score", "mean", ".4f"),
        ("auc", "test AUC calibrated", ".4f"),
        ("ratio", "/ oracle", ".3f"),
        ("ece", "ECE", ".4f"),
        ("brier", "Brier", ".4f"),
        ("note", "", "s"),
    ]
    print(
        f"\nTuning grid, seed {seed}, split gap (train {chosen['train']}, val "
        f"{chosen['val']}, test {data.test_date:%Y-%m}; cap {args.n_estimators} rounds), "
        "best first (mean = mean of val and test AUC of the raw scores):\n"
    )
    print(table(rows, cols, args.markdown))
    print(f"\nchosen: { {k: best[k] for k in TUNED} }")

    # Robustness: the chosen and the previous defaults on the other splits, and
    # calibration on a separate month.
    checks = []
    for name, params in (("chosen", best), ("previous default", start)):
        for split in ("adjacent", "production", "gap-cal"):
            r = fit_eval(data, split, {**params, "n_estimators": 1000}, args.threads)
            r.update(config=name, ratio=r["auc"] / orc["oracle"])
            checks.append(r)
            print(f"  {name}, {split}: test AUC {r['auc']:.4f}, ECE {r['ece']:.4f}", flush=True)
    print(
        "\nThe chosen and the previous defaults on the other splits (cap 1000 rounds; "
        "gap-cal: the gap split calibrated on T-2 instead of the validation month):\n"
    )
    print(
        table(
            checks,
            [
                ("config", "configuration", "s"),
                ("split", "split", "s"),
                ("train", "train as-of", "s"),
                ("val", "val", "s"),
                ("best_iter", "best iter", "d"),
                ("fit_s", "train s", ".0f"),
                ("val_auc", "val AUC", ".4f"),
                ("auc_raw", "test AUC", ".4f"),
                ("auc", "test AUC calibrated", ".4f"),
                ("ratio", "/ oracle", ".3f"),
                ("ece", "ECE", ".4f"),
                ("brier", "Brier", ".4f"),
            ],
            args.markdown,
        )
    )


def leak_check(args) -> None:
    """Do the trees recognise customers? Train on half of them, compare seen and unseen.

    Customers are split in two by a hash of their id; the model trains (and
    stops early) on half A only. On the validation month, whose label windows
    overlap those of the adjacent training months, a model that memorises
    customers ranks half A better than half B; on the test month it should not.
    """
    for seed in args.seeds:
        data = make_data(args.loans, seed)
        print(describe(data), flush=True)
        cust = data.portfolio.loans.set_index("loan_id")["customer_id"]
        loans = data.frame.index.get_level_values("loan_id")
        seen = pd.util.hash_array(cust.reindex(loans).astype(str).to_numpy()) % 2 == 0
        rows = []
        a = data.as_of
        _, val, _ = split_dates(data, "gap")
        oracle_row = {"config": "oracle (true probabilities)", "split": "", "best_iter": ""}
        for what, day in (("val", val), ("test", data.test_date)):
            at = np.asarray(a == day)
            part = data.frame[at]
            true = data.truth.pd_dpd30_90d(day, n_paths=args.paths)["p_dpd30_90d"]
            p_true = true.reindex(part.index).to_numpy()
            y, s_ = part["label"].to_numpy(), seen[at]
            oracle_row[f"{what}_seen"] = roc_auc_score(y[s_], p_true[s_])
            oracle_row[f"{what}_unseen"] = roc_auc_score(y[~s_], p_true[~s_])
        print(f"  {oracle_row}", flush=True)
        configs = (("previous default", START_PARAMS), ("current default", {}))
        for name, params in configs:
            for split in ("adjacent", "gap"):
                train, val, _ = split_dates(data, split)
                tr = data.frame[a.isin(train) & seen]
                va = data.frame[(a == val) & seen]
                kw = {k: v for k, v in params.items() if k != "n_estimators"}
                model = odr.RiskModel(n_jobs=args.threads, **kw)
                model.fit(
                    tr.drop(columns="label"), tr["label"], va.drop(columns="label"), va["label"]
                )
                row = {"config": name, "split": split, "best_iter": model.best_iteration_}
                for what, day in (("val", val), ("test", data.test_date)):
                    at = np.asarray(a == day)
                    part = data.frame[at]
                    raw = model._raw_proba(part.drop(columns="label"))
                    y, s_ = part["label"].to_numpy(), seen[at]
                    row[f"{what}_seen"] = roc_auc_score(y[s_], raw[s_])
                    row[f"{what}_unseen"] = roc_auc_score(y[~s_], raw[~s_])
                rows.append(row)
                print(f"  {row}", flush=True)
        rows.append(oracle_row)
        for r in rows:
            r["best_iter"] = str(r["best_iter"])
            for what in ("val", "test"):
                r[f"{what}_diff"] = r[f"{what}_seen"] - r[f"{what}_unseen"]
        print(
            f"\nSeed {seed}: trained on half of the customers (A); AUC of the raw scores "
            "for the customers seen in training (A) and the others (B):\n"
        )
        print(
            table(
                rows,
                [
                    ("config", "configuration", "s"),
                    ("split", "split", "s"),
                    ("best_iter", "best iter", "s"),
                    ("val_seen", "val AUC, seen", ".4f"),
                    ("val_unseen", "val AUC, unseen", ".4f"),
                    ("val_diff", "val difference", "+.4f"),
                    ("test_seen", "test AUC, seen", ".4f"),
                    ("test_unseen", "test AUC, unseen", ".4f"),
                    ("test_diff", "test difference", "+.4f"),
                ],
                args.markdown,
            )
        )


def search(args) -> None:
    """Tune with AsOfSplit on the tuning seed's training dates; compare on other seeds."""
    print(f"machine: {machine()}", flush=True)
    data = make_data(args.loans, args.tune_seed)
    print(describe(data), flush=True)
    train_dates, _, _ = split_dates(data, "gap")
    tr = data.frame[data.as_of.isin(train_dates)]
    cv = odr.AsOfSplit(n_splits=3, horizon=HORIZON, test_dates=1)
    t0 = time.perf_counter()
    result = odr.tune_risk_model(
        tr.drop(columns="label"),
        tr["label"],
        cv=cv,
        model=odr.RiskModel(n_jobs=args.threads),
        n_candidates=args.candidates,
        random_state=0,
        refit=False,
    )
    tune_s = time.perf_counter() - t0
    tuned = {k: v for k, v in result.best_params_.items() if k != "n_estimators"}
    print(
        f"\nTuned on seed {args.tune_seed}, {len(tr):,} rows at the month ends "
        f"{min(train_dates):%Y-%m} .. {max(train_dates):%Y-%m}, in {tune_s:.0f} s:\n"
        f"{result.summary()}\n",
        flush=True,
    )
    found = result.table()
    formats = {"mean_score": ".4f", "std_score": ".4f", "fit_s": ".1f"}
    cols = [
        (c, c, formats.get(c, "d" if found[c].dtype.kind == "i" else ".4g")) for c in found.columns
    ]
    print(table(found.to_dict("records"), cols, args.markdown))
    rows = []
    for seed in args.seeds:
        data = make_data(args.loans, seed)
        print("\n" + describe(data), flush=True)
        te = data.frame[data.as_of == data.test_date]
        dpd_auc = roc_auc_score(te["label"], te["dpd"].astype(float))
        for name, params in (("default", {}), ("tuned", tuned)):
            r = fit_eval(data, "gap", params, args.threads)
            r.update(seed=seed, config=name, dpd_auc=dpd_auc)
            rows.append(r)
            print(
                f"  {name}: AUC {r['auc']:.4f} (raw {r['auc_raw']:.4f}), ECE {r['ece']:.4f}, "
                f"iter {r['best_iter']}, {r['fit_s']:.0f} s",
                flush=True,
            )
    print(f"\nTuned parameters: {tuned}\n")
    cols = [
        ("seed", "seed", "d"),
        ("config", "configuration", "s"),
        ("rows", "test rows", ",d"),
        ("auc", "AUC", ".4f"),
        ("auc_raw", "AUC raw", ".4f"),
        ("ece", "ECE", ".4f"),
        ("brier", "Brier", ".4f"),
        ("best_iter", "best iter", "d"),
        ("fit_s", "train s", ".0f"),
        ("dpd_auc", "AUC of DPD alone", ".4f"),
    ]
    print(table(rows, cols, args.markdown))
    summary = []
    for key in ("auc", "auc_raw", "ece"):
        by = {c: np.array([r[key] for r in rows if r["config"] == c]) for c in ("default", "tuned")}
        for what, v in (*by.items(), ("tuned - default", by["tuned"] - by["default"])):
            summary.append(
                {
                    "metric": key,
                    "what": what,
                    "median": float(np.median(v)),
                    "min": float(v.min()),
                    "max": float(v.max()),
                }
            )
    print(f"\nOver the seeds {args.seeds} (median, min, max):\n")
    print(
        table(
            summary,
            [
                ("metric", "metric", "s"),
                ("what", "", "s"),
                ("median", "median", ".4f"),
                ("min", "min", ".4f"),
                ("max", "max", ".4f"),
            ],
            args.markdown,
        )
    )


SPLITS = ("gap", "adjacent", "production", "hidden")
SPLIT_NAMES = {
    "gap": "gap (headline)",
    "adjacent": "adjacent",
    "production": "production",
    "hidden": "gap + hidden traits (diagnostic)",
}


def evaluate_seeds(args) -> None:
    params = {}
    if args.previous_defaults:
        params = {k: v for k, v in START_PARAMS.items() if k != "n_estimators"}
    defaults = odr.RiskModel(**params).get_params()
    shown = {
        k: defaults[k]
        for k in (
            "n_estimators",
            "learning_rate",
            "num_leaves",
            "max_depth",
            "min_child_samples",
            "subsample",
            "colsample_bytree",
            "reg_lambda",
            "early_stopping_rounds",
        )
    }
    print(f"machine: {machine()}")
    what = "previous defaults (before tuning)" if args.previous_defaults else "RiskModel defaults"
    print(f"{what}: {shown}", flush=True)
    summary = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        data = make_data(args.loans, seed)
        print("\n" + describe(data), flush=True)
        orc = oracle(data, args.paths)
        rows = []
        for split in args.splits:
            r = fit_eval(data, split, params, args.threads)
            r["oracle"] = orc["oracle"]
            r["ratio"] = r["auc"] / orc["oracle"]
            lo, hi = ratio_interval(
                r["test"]["label"].to_numpy(), r["score"], orc["p_true"], args.bootstrap
            )
            r["ci"] = f"{lo:.3f} .. {hi:.3f}"
            r["name"] = SPLIT_NAMES[split]
            rows.append(r)
            print(
                f"  {split}: AUC {r['auc']:.4f} / oracle {orc['oracle']:.4f} = {r['ratio']:.3f} "
                f"[{r['ci']}], ECE {r['ece']:.4f}, iter {r['best_iter']}, {r['fit_s']:.0f} s",
                flush=True,
            )
        head = rows[0]
        te = head["test"]
        y = te["label"].to_numpy()
        app = te["application_score"].astype(float)
        baselines = {
            "oracle (true probabilities)": orc["oracle"],
            "dpd alone": roc_auc_score(y, te["dpd"].astype(float)),
            "application_score alone (lower = riskier)": roc_auc_score(
                y, -app.fillna(app.median())
            ),
        }
        cur = (te["dpd"] == 0).to_numpy()
        print(
            f"\nseed {seed}, test month {data.test_date:%Y-%m-%d}: {len(te):,} rows, "
            f"bad rate {y.mean():.2%}, mean true probability {orc['mean_true_p']:.2%}"
        )
        print(
            f"oracle AUC {orc['oracle']:.4f} with {args.paths} paths "
            f"(mean MC standard error of a true probability {orc['mean_se']:.4f}); "
            f"{orc['oracle_half']:.4f} with {args.paths // 2} paths; noiseless estimate "
            f"{orc['oracle_extrap']:.4f}; computed in {orc['oracle_s']:.0f} s\n"
        )
        cols = [
            ("name", "split", "s"),
            ("train", "train as-of", "s"),
            ("val", "val", "s"),
            ("train_rows", "train rows", ",d"),
            ("rows", "test rows", ",d"),
            ("bad_rate", "bad rate", ".2%"),
            ("auc", "AUC", ".4f"),
            ("auc_raw", "AUC raw", ".4f"),
            ("oracle", "oracle AUC", ".4f"),
            ("ratio", "ratio", ".3f"),
            ("ci", "ratio 95% CI", "s"),
            ("ece", "ECE", ".4f"),
            ("brier", "Brier", ".4f"),
            ("best_iter", "best iter", "d"),
            ("fit_s", "train s", ".0f"),
        ]
        print(table(rows, cols, args.markdown))
        m = head["model"]
        sub = {
            "current (DPD 0)": cur,
            "overdue (DPD 1-29)": ~cur,
        }
        sub_rows = []
        for name, mask in sub.items():
            sub_rows.append(
                {
                    "group": name,
                    "rows": int(mask.sum()),
                    "bad_rate": float(y[mask].mean()),
                    "auc": roc_auc_score(y[mask], head["score"][mask]),
                    "oracle": roc_auc_score(y[mask], orc["p_true"][mask]),
                }
            )
            sub_rows[-1]["ratio"] = sub_rows[-1]["auc"] / sub_rows[-1]["oracle"]
        print("\nBy DPD at the as-of date (headline model):\n")
        print(
            table(
                sub_rows,
                [
                    ("group", "group", "s"),
                    ("rows", "rows", ",d"),
                    ("bad_rate", "bad rate", ".2%"),
                    ("auc", "AUC", ".4f"),
                    ("oracle", "oracle AUC", ".4f"),
                    ("ratio", "ratio", ".3f"),
                ],
                args.markdown,
            )
        )
        print(
            "\nBaselines on the test rows (AUC): "
            + "; ".join(f"{k} {v:.4f}" for k, v in baselines.items())
        )
        imp = m.feature_importance("gain")
        share = imp / imp.sum()
        print(
            "Top features by gain share (headline model): "
            + ", ".join(f"{k} {v:.1%}" for k, v in share.head(10).items())
        )
        print(f"seed {seed} done in {time.perf_counter() - t0:.0f} s", flush=True)
        summary.append((seed, head, orc))
    print("\nSummary (headline split):")
    for seed, r, orc in summary:
        ok_auc = "met" if r["ratio"] >= TARGET_RATIO else "NOT met"
        ok_ece = "met" if r["ece"] <= TARGET_ECE else "NOT met"
        print(
            f"  seed {seed}: AUC {r['auc']:.4f} / oracle {orc['oracle']:.4f} = {r['ratio']:.3f} "
            f"(target >= {TARGET_RATIO}: {ok_auc}); ECE {r['ece']:.4f} "
            f"(target <= {TARGET_ECE}: {ok_ece})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="run the grid on the tuning seed")
    ap.add_argument(
        "--leak-check",
        action="store_true",
        help="train on half the customers; compare seen and unseen (default seed 101)",
    )
    ap.add_argument(
        "--search",
        action="store_true",
        help="tune_risk_model with AsOfSplit on --tune-seed; default vs tuned on --seeds",
    )
    ap.add_argument("--tune-seed", type=int, default=101, help="the tuning seed of --search")
    ap.add_argument("--candidates", type=int, default=12, help="first-rung candidates (--search)")
    ap.add_argument("--loans", type=int, default=40_000)
    ap.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="default: 202 303, or 101 with --tune"
    )
    ap.add_argument("--paths", type=int, default=200, help="Monte Carlo paths of the oracle")
    ap.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    ap.add_argument("--bootstrap", type=int, default=200, help="resamples of the ratio interval")
    ap.add_argument("--threads", type=int, default=1, help="LightGBM threads (speed only)")
    ap.add_argument(
        "--n-estimators",
        type=int,
        default=2000,
        help="the cap on boosting rounds in the grid (--tune)",
    )
    ap.add_argument(
        "--previous-defaults",
        action="store_true",
        help="evaluate the hyperparameters RiskModel had before tuning (for comparison)",
    )
    ap.add_argument("--markdown", action="store_true", help="tables in Markdown")
    args = ap.parse_args()
    if args.seeds is None:
        args.seeds = (
            [101]
            if args.tune or args.leak_check
            else [202, 303, 404]
            if args.search
            else [202, 303]
        )
    t0 = time.perf_counter()
    if args.search:
        search(args)
    elif args.tune:
        tune(args)
    elif args.leak_check:
        leak_check(args)
    else:
        evaluate_seeds(args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
