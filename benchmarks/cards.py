"""Cards with six statements: the library's features against a tuned LightGBM on the raw columns.

Usage::

    python benchmarks/cards.py [--cards 40000] [--seeds 202 303 404 505 606] [--tune-seed 101]
                               [--markdown] [--no-ablations] [--without-min-due] [--tune-library N]

Each seed simulates ``--cards`` credit cards (a scenario whose product mix is
all card) over 2023-01-01 .. 2024-12-31. At every month end from 2023-07-31
the book is cut to what a card extract holds: the open cards started by then,
each with its last six statements dated on or before the month end, and the
customers; no payments table, no collection log. Labels are ``dpd30_90d``
from ``make_labels`` on the whole simulated portfolio (the 90 days after the
month end), for the cards with at least one statement.

Split (out of time, as ``model_quality.py``'s ``gap``): the test month T is
the last month end whose 90-day horizon is observed (2024-09-30); the
validation month is T-1 (it stops the boosting early); training takes the
month ends whose label window ends before it (2023-07 .. 2024-05).

* **library**: ``build_features`` on the extract (the families that read its
  tables: ledger, recency, revolving, static, customer) and ``RiskModel()``
  with its default hyperparameters.
* **raw, tuned**: a LightGBM on the columns a practitioner lays side by side:
  balance, amount paid, minimum due and reported DPD of each of the six
  statements (1 = latest), the credit limit, the account's age in days, the
  loans columns (limit, rate, region, channel, application score) and the
  customers columns (birth year, income band, employment, tenure). Tuned on
  the tuning seed only (never an evaluation seed), on the validation month
  (never the test month): learning rate x leaves in full, then
  min_child_samples, feature_fraction and lambda_l2 one at a time around the
  best so far, each fit stopped early on the validation month.

``--without-min-due`` drops the ``min_due`` column from the extract (many card
extracts lack it): the library's features against the minimum due are then
NaN, and the raw model loses its six minimum-due columns. The raw model is
tuned again for it.

The evaluation seeds (never used for tuning) report the test-month AUC of
both and their difference (median, min, max). Ablations (``--no-ablations``
skips them) show where the difference comes from: the library without the
statement-level features (each payment against the previous balance, the
latest six statements one by one, the utilisation trend, the limit changes),
the library without the customer family (the customer's other cards, which
the raw columns do not show), and the raw columns under ``RiskModel()``'s
defaults instead of the tuned parameters. LightGBM runs on one thread
(``--threads``); everything is deterministic.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

import overdue_risk as odr
from overdue_risk.features import list_features
from overdue_risk.labels import observation_end
from overdue_risk.simulate import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_quality import machine, table

START, END = "2023-01-01", "2024-12-31"
FIRST_AS_OF = "2023-07-31"
TARGET = "dpd30_90d"
HORIZON = 90
STATEMENTS = 6
FAMILIES = ["ledger", "recency", "revolving", "static", "customer"]
MONTHLY = ["balance", "amount_paid", "min_due", "dpd"]
LOAN_COLUMNS = ["principal", "annual_rate", "region", "channel", "application_score"]
CUSTOMER_COLUMNS = ["birth_year", "income_band", "employment", "tenure_months"]

# The raw model's search: rate x leaves in full, then one parameter at a time.
RAW_START = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
}
GRID_RATE_LEAVES = [(lr, nl) for lr in (0.02, 0.05, 0.1) for nl in (7, 15, 31, 63, 127)]
GRID_ONE_AT_A_TIME = [
    ("min_data_in_leaf", (20, 50, 100, 300)),
    ("feature_fraction", (0.5, 0.7, 0.9, 1.0)),
    ("lambda_l2", (0.0, 1.0, 10.0, 30.0)),
]


def card_scenario() -> Scenario:
    return Scenario().replace(products={"pos_share": 0.0, "cash_share": 0.0, "card_share": 1.0})


def month_ends(first, last) -> list[pd.Timestamp]:
    return list(pd.date_range(first, last, freq="ME"))


# -- the card extract and its two views ------------------------------------------------


def card_extract(p: odr.Portfolio, as_of: pd.Timestamp, min_due: bool = True) -> odr.Portfolio:
    """What a card extract holds at ``as_of``: open cards, their last six statements."""
    loans = p.loans
    keep = (
        (loans["product_type"] == "revolving")
        & (loans["start_date"] <= as_of)
        & ~(loans["closed_date"] <= as_of)
    )
    loans = loans[keep].assign(closed_date=pd.NaT)  # a later closing is not known yet
    st = p.statements
    st = st[(st["statement_date"] <= as_of) & st["loan_id"].isin(loans["loan_id"])]
    st = st.sort_values(["loan_id", "statement_date"])
    st = st[st.groupby("loan_id").cumcount(ascending=False) < STATEMENTS]
    if not min_due:
        st = st.drop(columns="min_due")
    loans = loans[loans["loan_id"].isin(st["loan_id"])]
    customers = p.customers[p.customers["customer_id"].isin(loans["customer_id"])]
    return odr.Portfolio(loans=loans, statements=st, customers=customers)


def raw_columns(extract: odr.Portfolio, as_of: pd.Timestamp) -> pd.DataFrame:
    """The statements side by side (1 = latest), the limit, the loan and customer columns."""
    st = extract.statements
    k = st.groupby("loan_id").cumcount(ascending=False) + 1
    monthly = [name for name in MONTHLY if name in st]
    wide = st.assign(k=k).pivot(index="loan_id", columns="k", values=monthly)
    wide.columns = [f"{name}_{lag}" for name, lag in wide.columns]
    wide["credit_limit"] = st.groupby("loan_id")["credit_limit"].last()
    loans = extract.loans.set_index("loan_id")
    out = wide.join(loans[LOAN_COLUMNS])
    out["account_age_days"] = (as_of - loans["start_date"]).dt.days.reindex(out.index)
    customers = extract.customers.set_index("customer_id")[CUSTOMER_COLUMNS]
    attrs = customers.reindex(loans["customer_id"].reindex(out.index).to_numpy())
    out[CUSTOMER_COLUMNS] = attrs.to_numpy()
    for name in ("region", "channel", "income_band", "employment"):
        out[name] = out[name].astype(str).astype("category")
    for name in out.columns:
        if not isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(np.float64)
    out.index = pd.MultiIndex.from_arrays(
        [out.index, pd.DatetimeIndex([as_of] * len(out))], names=["loan_id", "as_of"]
    )
    return out


class Data:
    """Features, raw columns and labels of one seed, with the split's dates."""

    def __init__(self, cards: int, seed: int, min_due: bool = True):
        t0 = time.perf_counter()
        p, _ = odr.simulate_portfolio(cards, START, END, seed=seed, scenario=card_scenario())
        t1 = time.perf_counter()
        end = observation_end(p)
        dates = [d for d in month_ends(FIRST_AS_OF, END) if d + pd.Timedelta(days=HORIZON) <= end]
        self.test, self.val = dates[-1], dates[-2]
        self.train = [d for d in dates if d + pd.Timedelta(days=HORIZON) <= self.val]
        y = odr.make_labels(p, dates, TARGET)
        lib, raw = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", odr.DataQualityWarning)
            for d in dates:
                extract = card_extract(p, d, min_due)
                lib.append(odr.build_features(extract, d, families=FAMILIES))
                raw.append(raw_columns(extract, d))
        self.lib = pd.concat(lib)
        self.raw = pd.concat(raw)
        rows = self.lib.index.intersection(y.index)
        self.lib, self.raw, self.y = self.lib.loc[rows], self.raw.loc[rows], y.loc[rows]
        self.seed, self.cards = seed, cards
        self.sim_s, self.build_s = t1 - t0, time.perf_counter() - t1

    def split(self, frame: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
        at = frame.index.get_level_values("as_of")
        parts = {"train": at.isin(self.train), "val": at == self.val, "test": at == self.test}
        return {k: (frame[m], self.y[m].to_numpy()) for k, m in parts.items()}

    def describe(self) -> str:
        at = self.y.index.get_level_values("as_of")
        te = self.y[at == self.test]
        return (
            f"seed {self.seed}: {self.cards:,} cards, {len(self.y):,} labelled rows at "
            f"{at.nunique()} month ends ({len(te):,} in the test month, bad rate "
            f"{te.mean():.3f}); {self.lib.shape[1]} library features, {self.raw.shape[1]} raw "
            f"columns; simulated in {self.sim_s:.1f} s, built in {self.build_s:.1f} s"
        )


# -- the two models and the ablations --------------------------------------------------

ABLATIONS = {
    "lib_no_new": "library without the statement-level features",
    "lib_no_customer": "library without the customer family",
    "raw_defaults": "raw columns, RiskModel defaults",
}
# Features that read each statement against the one before it, the latest six statements
# one by one, the utilisation trend and the limit changes.
STATEMENT_LEVEL = re.compile(
    r"prev_balance|payments?_6s$|_lag\d$|utilisation_(slope|vs_mean)_6s|limit_change"
)


def ablations(data: Data) -> dict[str, pd.DataFrame]:
    """Where the library's edge comes from: its frames without some features, and the raw
    columns under the library's model."""
    lib = data.lib
    families = list_features()
    customer = families.loc[families["family"] == "customer", "name"]
    return {
        "lib_no_new": lib.drop(columns=[c for c in lib.columns if STATEMENT_LEVEL.search(c)]),
        "lib_no_customer": lib.drop(columns=[c for c in customer if c in lib.columns]),
        "raw_defaults": data.raw,
    }


def fit_risk_model(
    data: Data, frame: pd.DataFrame, threads: int, params: dict | None = None
) -> tuple[float, float, int]:
    """(validation AUC, test AUC, trees) of RiskModel on ``frame``: its defaults, or
    ``params`` over them."""
    s = data.split(frame)
    model = odr.RiskModel(n_jobs=threads, **(params or {}))
    model.fit(*s["train"], X_val=s["val"][0], y_val=s["val"][1])
    val, test = (
        float(roc_auc_score(s[k][1], model.predict_proba(s[k][0])[:, 1])) for k in ("val", "test")
    )
    return val, test, model.best_iteration_


def fit_raw(data: Data, params: dict, threads: int) -> tuple[float, float, int]:
    """(validation AUC, test AUC, trees) of LightGBM on the raw columns."""
    s = data.split(data.raw)
    full = {
        "objective": "binary",
        "metric": "binary_logloss",
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "num_threads": threads,
        "deterministic": True,
        "force_col_wise": True,
        "seed": 0,
        "verbose": -1,
        **params,
    }
    train = lgb.Dataset(*s["train"])
    val = lgb.Dataset(*s["val"], reference=train)
    booster = lgb.train(
        full,
        train,
        num_boost_round=3000,
        valid_sets=[val],
        callbacks=[lgb.early_stopping(100, verbose=False)],
    )
    it = booster.best_iteration
    val_auc, test_auc = (
        float(roc_auc_score(s[k][1], booster.predict(s[k][0], num_iteration=it)))
        for k in ("val", "test")
    )
    return val_auc, test_auc, it


def tune_library(data: Data, threads: int, candidates: int) -> tuple[dict, str]:
    """RiskModel's parameters chosen by ``tune_risk_model`` on the tuning seed's training
    month ends only (AsOfSplit, 3 folds of one month, the 90-day gap)."""
    lib, y = data.split(data.lib)["train"]
    result = odr.tune_risk_model(
        lib,
        y,
        cv=odr.AsOfSplit(n_splits=3, horizon=HORIZON, test_dates=1),
        model=odr.RiskModel(n_jobs=threads),
        n_candidates=candidates,
        random_state=0,
        refit=False,
    )
    tuned = {k: v for k, v in result.best_params_.items() if k != "n_estimators"}
    return tuned, result.summary()


def tune_raw(data: Data, threads: int) -> tuple[dict, list[dict]]:
    """The raw model's parameters with the best validation AUC on ``data`` (a tuning seed)."""
    log = []

    def score(params: dict) -> float:
        val, _, trees = fit_raw(data, params, threads)  # the test AUC is never looked at
        log.append({**params, "val_auc": val, "trees": trees})
        return val

    best = dict(RAW_START)
    results = {
        (lr, nl): score({**best, "learning_rate": lr, "num_leaves": nl})
        for lr, nl in GRID_RATE_LEAVES
    }
    best["learning_rate"], best["num_leaves"] = max(results, key=results.get)
    best_auc = max(results.values())
    for name, values in GRID_ONE_AT_A_TIME:
        for v in values:
            if v == best[name]:
                continue
            auc = score({**best, name: v})
            if auc > best_auc:
                best_auc, best = auc, {**best, name: v}
    return best, log


# -- output -----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cards", type=int, default=40_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[202, 303, 404, 505, 606])
    ap.add_argument("--tune-seed", type=int, default=101)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-ablations", action="store_true")
    ap.add_argument("--without-min-due", action="store_true")
    ap.add_argument(
        "--tune-library",
        type=int,
        default=0,
        metavar="N",
        help="also tune RiskModel with tune_risk_model (N first-rung candidates) on the "
        "tuning seed's training dates, and report it on the evaluation seeds",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(machine())
    if args.without_min_due:
        print("statements without min_due")

    min_due = not args.without_min_due
    tuning = Data(args.cards, args.tune_seed, min_due)
    print(tuning.describe())
    best, log = tune_raw(tuning, args.threads)
    cols = [(k, k, "") for k in RAW_START] + [
        ("val_auc", "val AUC", ".4f"),
        ("trees", "trees", "d"),
    ]
    print(f"\nRaw model, tuning seed {args.tune_seed} ({len(log)} fits, validation month):")
    print(table(log, cols, args.markdown))
    print(f"chosen: {best}")
    lib_val, _, _ = fit_risk_model(tuning, tuning.lib, args.threads)
    print(f"library on the tuning seed, validation AUC {lib_val:.4f}")
    lib_tuned = None
    if args.tune_library:
        t1 = time.perf_counter()
        lib_tuned, summary = tune_library(tuning, args.threads, args.tune_library)
        print(f"\nLibrary tuned in {time.perf_counter() - t1:.0f} s:\n{summary}")
        print(f"chosen: {lib_tuned}")
    del tuning

    rows = []
    for seed in args.seeds:
        data = Data(args.cards, seed, min_due)
        print(data.describe())
        lib_val, lib, lib_trees = fit_risk_model(data, data.lib, args.threads)
        raw_val, raw, raw_trees = fit_raw(data, best, args.threads)
        row = {
            "seed": seed,
            "rows": int((data.y.index.get_level_values("as_of") == data.test).sum()),
            "library": lib,
            "raw": raw,
            "diff": lib - raw,
            "lib_val": lib_val,
            "raw_val": raw_val,
            "lib_trees": lib_trees,
            "raw_trees": raw_trees,
        }
        if lib_tuned is not None:
            row["lib_tuned"] = fit_risk_model(data, data.lib, args.threads, lib_tuned)[1]
            row["tuning_adds"] = row["lib_tuned"] - lib
        if not args.no_ablations:
            for key, frame in ablations(data).items():
                row[key] = fit_risk_model(data, frame, args.threads)[1]
        rows.append(row)
    cols = [
        ("seed", "seed", "d"),
        ("rows", "test rows", ","),
        ("library", "library AUC", ".4f"),
        ("raw", "raw tuned AUC", ".4f"),
        ("diff", "difference", "+.4f"),
        ("lib_val", "library val AUC", ".4f"),
        ("raw_val", "raw val AUC", ".4f"),
        ("lib_trees", "library trees", "d"),
        ("raw_trees", "raw trees", "d"),
    ]
    print("\nTest month, evaluation seeds:")
    print(table(rows, cols, args.markdown))
    if not args.no_ablations:
        cols = [("seed", "seed", "d"), ("library", "library", ".4f")]
        cols += [(key, name, ".4f") for key, name in ABLATIONS.items()]
        print("\nAblations, test-month AUC:")
        print(table(rows, cols, args.markdown))
    summary = []
    shown = [("library", "library"), ("raw", "raw, tuned"), ("diff", "difference")]
    if lib_tuned is not None:
        shown += [("lib_tuned", "library, tuned"), ("tuning_adds", "tuning adds")]
    if not args.no_ablations:
        shown += list(ABLATIONS.items())
    for key, name in shown:
        v = np.array([r[key] for r in rows])
        summary.append({"what": name, "median": np.median(v), "min": v.min(), "max": v.max()})
    scols = [
        ("what", "AUC", "s"),
        ("median", "median", "+.4f"),
        ("min", "min", "+.4f"),
        ("max", "max", "+.4f"),
    ]
    print(table(summary, scols, args.markdown))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
