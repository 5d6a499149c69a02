"""Benchmark of ``build_features`` (every family) against featuretools' Deep Feature Synthesis.

Usage::

    python benchmarks/features.py [--loans N] [--ft-loans K] [--seed S] [--repeat R]
                                  [--skip-featuretools] [--by-family] [--markdown [FILE]]

featuretools (1.31, the newest release) does not run on pandas 3: woodwork's
``DataFrame.ww`` accessor loses its schema, so ``EntitySet.add_dataframe`` fails
with ``WoodworkNotInitError``. Run the comparison in a separate environment with
pandas 2.x, where both libraries run in the same process on the same pandas::

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install -e . featuretools "pandas<3"
    .venv-bench/bin/python benchmarks/features.py

(``--skip-featuretools`` measures overdue_risk alone, in any environment.)

**Data.** The portfolio of ``benchmarks/ledger.py`` (``make_tables``: ``N`` loans,
default 1,000,000, with 12 monthly instalments and about 0.95 payments per
instalment, integer ids, sorted by loan and date, deterministic for a seed),
plus what the static, customer and collections families read: loan columns
``score`` (a number, 2% missing), ``region``, ``channel`` and ``product``
(text); a ``customers`` table (``age``, ``income``, ``segment``); and a
collection log (an SMS 5 days after an instalment that is still unpaid, a call
at 15 days with its outcome and promises, a letter at 45 days). No statements.
The first ``K`` loans (default 100,000; ``--ft-loans``) form the subsample that
both libraries compute.

**What is timed.** Each measurement runs in a fresh process pinned to one CPU
(``OMP/OPENBLAS/MKL_NUM_THREADS=1``), ``--repeat`` times (default 3); the table
gives the fastest run, the slowest, and the highest peak RSS (``ru_maxrss``).
The tables are validated once beforehand (``validate``), as a lender would
validate once and then build features many times:

* overdue_risk: ``build_features(portfolio, dates)`` with every family, at one
  as-of date (2023-06-30) and at the 12 month ends of 2023;
* featuretools: ``ft.dfs`` (feature discovery plus ``calculate_feature_matrix``)
  with aggregation primitives max, min, mean, sum, std and count and no
  transform primitives, over one row per instalment of the subsample carrying
  ``dpd`` (days the instalment is or was late), ``paid_ratio`` (paid / due) and
  ``shortfall`` (due - paid), with ``due_date`` as time index and a cutoff time
  per loan equal to the as-of date. Those columns are computed beforehand with
  vectorised numpy from payments dated on or before the as-of date (FIFO, like
  the ledger), so the input is point in time. That preparation ("prepare s",
  timed in a process of its own) and building the ``EntitySet`` ("setup s") are
  shown but not in featuretools' wall time. featuretools runs at one as-of date
  only: its per-instalment values depend on the date, so 12 dates would need 12
  entity sets.

Input rows/s is (schedule rows + payment rows) / wall seconds, for both
libraries: the raw rows every feature is derived from. "user s" and "sys s" are
the CPU time of the timed step (sys: mostly page faults of fresh memory); their
sum far below the wall time means the core was shared with other processes.
"data MB" is the peak RSS once the inputs are loaded, before the timed step;
"output MB" the feature matrix's columns. A measurement that runs out of memory
(each process may use ``--mem-limit-gb`` of address space, default 20) is
reported as such instead of stopping the benchmark. ``--by-family`` also times
each family alone on the full portfolio (each run builds the ledger again), to
see where the time goes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import N_INSTALMENTS, ONE_DATE, TWELVE_DATES, _cpu_model, dump, load, make_tables

FT_AGGREGATES = ["max", "min", "mean", "sum", "std", "count"]
REGIONS = ["north", "south", "east", "west", "centre", "capital", "coast", "islands"]
TARGETS = {"speed": 10.0, "features": 3.0, "dates": 4.0}
INSTALL = (
    'python3.11 -m venv .venv-bench && .venv-bench/bin/pip install -e . featuretools "pandas<3"'
)


# -- data --------------------------------------------------------------------


def instalment_status(
    installments: pd.DataFrame, payments: pd.DataFrame, as_of: np.datetime64 | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Amount paid of each instalment and the day it was paid in full (-1: not yet).

    Payments dated after ``as_of`` are ignored; they go to the oldest unpaid
    instalment first (FIFO). Both tables are sorted by loan, then instalment
    number or payment date. Amounts in cents, days since 1970.
    """
    if as_of is not None:
        payments = payments.loc[payments["payment_date"] <= as_of]
    il = installments["loan_id"].to_numpy()
    pl = payments["loan_id"].to_numpy()
    due = np.rint(installments["amount_due"].to_numpy() * 100).astype(np.int64)
    paid = np.rint(payments["amount"].to_numpy() * 100).astype(np.int64)
    pay_day = payments["payment_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    first = np.searchsorted(il, il, "left")  # each instalment's loan's first schedule row
    cum = np.cumsum(due)
    upto = cum - (cum[first] - due[first])  # due in the loan up to this instalment, included
    p0, p1 = np.searchsorted(pl, il, "left"), np.searchsorted(pl, il, "right")
    before = np.concatenate([[0], np.cumsum(paid)])  # before[j]: paid before payment j
    total = before[p1] - before[p0]
    amount = np.clip(total - (upto - due), 0, due)
    j = np.searchsorted(before, before[p0] + upto, "left") - 1  # payment completing it
    full = (amount == due) & (j < p1) & (j >= p0)
    day = np.where(full, pay_day[np.clip(j, 0, max(pay_day.size - 1, 0))], -1)
    day = np.where((amount == due) & (due == 0), -2, day)  # nothing to pay: never late
    return amount, day


def add_extras(tables: dict, seed: int) -> dict:
    """Loan attributes, a customers table and a collection log for ``tables``."""
    rng = np.random.default_rng(seed + 2)
    loans, inst, pay = tables["loans"], tables["installments"], tables["payments"]
    n = len(loans)
    # Borrowers who pay late get lower scores; 2% of scores are missing.
    _, paid_day = instalment_status(inst, pay)
    due_day = inst["due_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    late = np.where(paid_day >= 0, paid_day - due_day, 90).clip(0, 90)
    mean_late = np.bincount(np.searchsorted(loans["loan_id"].to_numpy(), inst["loan_id"]), late, n)
    score = np.round(720 - 2.5 * mean_late / N_INSTALMENTS + rng.normal(0, 60, n)).clip(300, 850)
    score[rng.random(n) < 0.02] = np.nan
    loans = loans.assign(
        score=score,
        region=pd.Categorical.from_codes(rng.integers(0, len(REGIONS), n), REGIONS),
        channel=rng.choice(np.array(["branch", "online", "partner"], dtype=object), n),
        product=rng.choice(np.array(["pos", "cash"], dtype=object), n, p=[0.6, 0.4]),
    )
    cust = np.unique(loans["customer_id"].to_numpy())
    m = cust.size
    customers = pd.DataFrame(
        {
            "customer_id": cust,
            "age": rng.integers(18, 76, m),
            "income": np.round(rng.lognormal(7.6, 0.5, m), -1),
            "segment": rng.choice(
                np.array(["mass", "affluent", "student"], dtype=object), m, p=[0.8, 0.12, 0.08]
            ),
        }
    )
    # Collections: SMS at 5 days late, a call at 15, a letter at 45, for
    # instalments still unpaid then (and due before the loan closed).
    closed = loans["closed_date"].to_numpy()[
        np.searchsorted(loans["loan_id"].to_numpy(), inst["loan_id"])
    ]
    days_late = np.where(paid_day >= 0, paid_day - due_day, 10**6)
    parts = []
    for lag, action in ((5, "sms"), (15, "call"), (45, "letter")):
        on = (days_late > lag) & ~(inst["due_date"].to_numpy() + np.timedelta64(lag, "D") > closed)
        when = inst["due_date"].to_numpy()[on] + np.timedelta64(lag, "D")
        k = int(on.sum())
        outcome = np.full(k, None, object)
        promise_date = np.full(k, np.datetime64("NaT"), "datetime64[ns]")
        promise_amount = np.full(k, np.nan)
        if action == "call":
            outcome = rng.choice(
                np.array(["no_contact", "contacted", "promise", "refused"], dtype=object),
                k,
                p=[0.45, 0.2, 0.3, 0.05],
            )
            promised = outcome == "promise"
            promise_date[promised] = when[promised] + np.timedelta64(7, "D")
            promise_amount[promised] = inst["amount_due"].to_numpy()[on][promised]
        parts.append(
            pd.DataFrame(
                {
                    "loan_id": inst["loan_id"].to_numpy()[on],
                    "action_date": when,
                    "action": action,
                    "outcome": outcome,
                    "promise_date": promise_date,
                    "promise_amount": promise_amount,
                    "cost": {"sms": 0.05, "call": 1.5, "letter": 2.0}[action],
                }
            )
        )
    collections = pd.concat(parts, ignore_index=True)
    order = np.lexsort((collections["action_date"].to_numpy(), collections["loan_id"].to_numpy()))
    collections = collections.iloc[order].reset_index(drop=True)
    return {**tables, "loans": loans, "customers": customers, "collections": collections}


def subsample(tables: dict, k: int) -> dict:
    """The first ``k`` loans (a random sample: loans are independent) and their rows."""
    loans = tables["loans"].iloc[:k]
    last = loans["loan_id"].iloc[-1]  # integer ids 1, 2, ... in every table
    out = {"loans": loans.reset_index(drop=True)}
    for name in ("installments", "payments", "collections"):
        out[name] = tables[name].loc[tables[name]["loan_id"] <= last].reset_index(drop=True)
    cust = tables["customers"]
    out["customers"] = cust.loc[cust["customer_id"].isin(loans["customer_id"])].reset_index(
        drop=True
    )
    return out


def featuretools_input(tables: dict, as_of: str) -> dict:
    """One row per instalment with its point-in-time dpd, paid ratio and shortfall."""
    t = np.datetime64(as_of, "ns")
    loans, inst = tables["loans"], tables["installments"]
    closed = loans["closed_date"].to_numpy()[
        np.searchsorted(loans["loan_id"].to_numpy(), inst["loan_id"])
    ]
    amount, paid_day = instalment_status(inst, tables["payments"], t)
    due_c = np.rint(inst["amount_due"].to_numpy() * 100).astype(np.int64)
    due_day = inst["due_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    t_day = t.astype("datetime64[D]").astype(np.int64)
    dpd = np.where(paid_day >= 0, paid_day - due_day, np.where(paid_day == -2, 0, t_day - due_day))
    dpd = np.where(due_day <= t_day, np.maximum(dpd, 0), np.nan)  # not due yet: unknown
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(due_c > 0, amount / due_c, np.nan)
    keep = ~(inst["due_date"].to_numpy() > closed)  # instalments cancelled by closing
    rows = pd.DataFrame(
        {
            "row_id": np.arange(int(keep.sum()), dtype=np.int64),
            "loan_id": inst["loan_id"].to_numpy()[keep],
            "due_date": inst["due_date"].to_numpy()[keep],
            "dpd": dpd[keep],
            "paid_ratio": ratio[keep],
            "shortfall": ((due_c - amount) / 100)[keep],
        }
    )
    return {"loans": loans[["loan_id", "start_date"]].copy(), "installments": rows}


def _generate(args: argparse.Namespace, work: Path) -> dict:
    t0 = time.perf_counter()
    tables = add_extras(make_tables(args.loans, args.seed), args.seed)
    info = {"seconds": time.perf_counter() - t0}
    info["full"] = {name: len(df) for name, df in tables.items()}
    dump(tables, work / "full-raw")
    sub = subsample(tables, min(args.ft_loans, args.loans))
    del tables
    info["sub"] = {name: len(df) for name, df in sub.items()}
    dump(sub, work / "sub-raw")
    if not args.skip_featuretools:
        ft_in = featuretools_input(sub, ONE_DATE)
        info["ft_rows"] = len(ft_in["installments"])
        dump(ft_in, work / "ft-input")
    return info


# -- one measurement, in its own process ---------------------------------------


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> np.ndarray:
    """User and system CPU seconds this process has used so far."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return np.array([ru.ru_utime, ru.ru_stime])


def _validate(data: Path, save: Path) -> dict:
    from overdue_risk import Portfolio, validate

    tables = load(data)
    t0 = time.perf_counter()
    valid = validate(Portfolio(**tables))
    out = {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb()}
    dump(valid.tables(), save)
    return out


def _overdue_risk(data: Path, dates: list[str], families: list[str] | None) -> dict:
    from overdue_risk import Portfolio
    from overdue_risk.features import build_features

    portfolio = Portfolio(**load(data))
    object.__setattr__(portfolio, "validated", True)  # saved by validate(): mark it as it does
    out: dict = {"data_mb": _peak_mb()}
    c0, t0 = _cpu_s(), time.perf_counter()
    x = build_features(portfolio, dates, families=families)
    out["seconds"] = time.perf_counter() - t0
    out["user"], out["sys"] = (_cpu_s() - c0).tolist()
    out["peak_mb"] = _peak_mb()
    out.update(
        out_rows=len(x),
        features=x.shape[1],
        category=int(sum(isinstance(d, pd.CategoricalDtype) for d in x.dtypes)),
        float32=int((x.dtypes == np.float32).sum()),
        out_mb=float(x.memory_usage(deep=False, index=False).sum() / 2**20),
    )
    return out


def _featuretools(data: Path) -> dict:
    import featuretools as ft

    tables = load(data)
    out: dict = {"data_mb": _peak_mb()}
    t0 = time.perf_counter()
    es = ft.EntitySet("portfolio")
    es.add_dataframe(
        dataframe_name="loans",
        dataframe=tables["loans"],
        index="loan_id",
        time_index="start_date",
    )
    es.add_dataframe(
        dataframe_name="installments",
        dataframe=tables["installments"],
        index="row_id",
        time_index="due_date",
    )
    es.add_relationship("loans", "loan_id", "installments", "loan_id")
    cutoff = pd.DataFrame({"loan_id": tables["loans"]["loan_id"], "time": pd.Timestamp(ONE_DATE)})
    del tables
    c1, t1 = _cpu_s(), time.perf_counter()
    matrix, defs = ft.dfs(
        entityset=es,
        target_dataframe_name="loans",
        agg_primitives=FT_AGGREGATES,
        trans_primitives=[],
        max_depth=1,
        cutoff_time=cutoff,
        n_jobs=1,
        verbose=False,
    )
    t2 = time.perf_counter()
    out.update(
        setup=t1 - t0,
        seconds=t2 - t1,
        user=float(_cpu_s()[0] - c1[0]),
        sys=float(_cpu_s()[1] - c1[1]),
        peak_mb=_peak_mb(),
        out_rows=len(matrix),
        features=len(defs),
        columns=matrix.shape[1],
        names=[d.get_name() for d in defs],
        version=ft.__version__,
    )
    return out


def _prepare(data: Path) -> dict:
    """Time the numpy that turns raw tables into the per-instalment rows DFS reads."""
    tables = load(data)
    out: dict = {"data_mb": _peak_mb()}
    t0 = time.perf_counter()
    rows = featuretools_input(tables, ONE_DATE)
    out.update(seconds=time.perf_counter() - t0, peak_mb=_peak_mb())
    out["out_rows"] = len(rows["installments"])
    return out


def _child(args: argparse.Namespace) -> dict:
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    if args.mem_limit_gb:
        import resource

        limit = int(args.mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import warnings

    warnings.simplefilter("ignore")
    if args.child == "validate":
        return _validate(args.data, args.save)
    if args.child == "featuretools":
        return _featuretools(args.data)
    if args.child == "prepare":
        return _prepare(args.data)
    dates = [ONE_DATE] if args.child == "odr1" else TWELVE_DATES
    return _overdue_risk(args.data, dates, [args.family] if args.family else None)


def _run(args: list[str]) -> dict:
    """Run this script with ``args`` in a fresh process; its JSON answer or its failure."""
    env = dict(os.environ)
    threads = "OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_NUM_THREADS"
    env.update(dict.fromkeys(threads.split(), "1"))
    env["PYTHONWARNINGS"] = "ignore"
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    err = proc.stderr.strip().splitlines()
    if proc.returncode == -9 or any("MemoryError" in line for line in err[-3:]):
        return {"error": "out of memory"}
    return {"error": (err[-1] if err else f"exit code {proc.returncode}")[:200], "log": proc.stderr}


# -- driver ----------------------------------------------------------------------


def _versions(ft_version: str | None) -> str:
    import pyarrow

    import overdue_risk

    text = (
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"pyarrow {pyarrow.__version__}, overdue-risk {overdue_risk.__version__}"
    )
    return text + (f", featuretools {ft_version}" if ft_version else "")


def _measure(name: str, cmd: list[str], repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        r = _run(cmd)
        if "error" in r:
            print(f"{name:32} failed: {r['error']}", file=sys.stderr)
            if os.environ.get("BENCH_DEBUG"):
                print(r.get("log", ""), file=sys.stderr)
            return r
        runs.append(r)
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["slowest"] = max(r["seconds"] for r in runs)
    best["peak_mb"] = max(r["peak_mb"] for r in runs)
    print(f"{name:32} {best['seconds']:8.2f} s  {best['peak_mb']:8,.0f} MB", file=sys.stderr)
    return best


def _fmt_rate(rows: int, seconds: float) -> str:
    rate = rows / seconds
    return f"{rate / 1e6:.2f} M" if rate >= 1e6 else f"{rate / 1e3:,.0f} k"


def _render(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    """A table: markdown (first column left-aligned, the rest right) or aligned text."""
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        width = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, width, strict=True))
            )
            for r in [head, *rows]
        ]
    return "\n".join(lines) + "\n"


def _cells(r: dict, n: int, values) -> list[str]:
    """``values(r)`` when the measurement ran, else its error in the first cell."""
    if "seconds" in r:
        return values(r)
    return [r.get("error", "not run")] + [""] * (n - 1)


def _tables(res: dict, info: dict, args: argparse.Namespace, markdown: bool) -> str:
    full_in = info["full"]["installments"] + info["full"]["payments"]
    sub_in = info["sub"]["installments"] + info["sub"]["payments"]
    head = ["portfolio", "loans", "as-of dates", "output rows", "features", "wall s", "user s"]
    head += ["sys s"]
    head += ["slowest s", "input rows/s", "12 / 1 dates", "peak RSS MB", "data MB", "output MB"]
    rows = []
    sizes = [("full", args.loans, full_in)]
    if args.ft_loans < args.loans:
        sizes.append(("sub", args.ft_loans, sub_in))
    for key, n, n_in in sizes:
        one = res.get(f"{key}-odr1", {})
        for dates, label in (("odr1", "1"), ("odr12", "12")):

            def values(r: dict, dates=dates, n_in=n_in, one=one) -> list[str]:
                ratio = ""
                if dates == "odr12" and "seconds" in one:
                    ratio = f"{r['seconds'] / one['seconds']:.2f}"
                return [
                    f"{r['out_rows']:,}",
                    f"{r['features']}",
                    f"{r['seconds']:.2f}",
                    f"{r['user']:.2f}",
                    f"{r['sys']:.2f}",
                    f"{r['slowest']:.2f}",
                    _fmt_rate(n_in, r["seconds"]),
                    ratio,
                    f"{r['peak_mb']:,.0f}",
                    f"{r['data_mb']:,.0f}",
                    f"{r['out_mb']:,.0f}",
                ]

            label_key = "full" if key == "full" else "subsample"
            r = res.get(f"{key}-{dates}", {})
            rows.append([label_key, f"{n:,}", label, *_cells(r, len(head) - 3, values)])
    text = _render(head, rows, markdown)

    ft = res.get("ft")
    if ft is not None:
        odr = res.get("sub-odr1" if args.ft_loans < args.loans else "full-odr1", {})
        prep = res.get("ft-prep", {})
        head = ["engine", "loans", "input rows", "features", "prepare s", "setup s", "wall s"]
        head += ["user s", "sys s", "slowest s", "input rows/s", "peak RSS MB", "data MB"]

        def values(r: dict) -> list[str]:
            return [
                f"{r['features']}",
                f"{prep['seconds']:.2f}" if "setup" in r and "seconds" in prep else "",
                f"{r['setup']:.2f}" if "setup" in r else "",
                f"{r['seconds']:.2f}",
                f"{r['user']:.2f}",
                f"{r['sys']:.2f}",
                f"{r['slowest']:.2f}",
                _fmt_rate(sub_in, r["seconds"]),
                f"{r['peak_mb']:,.0f}",
                f"{r['data_mb']:,.0f}",
            ]

        rows = [
            [name, f"{args.ft_loans:,}", f"{sub_in:,}", *_cells(r, len(head) - 3, values)]
            for name, r in (("featuretools DFS", ft), ("overdue_risk build_features", odr))
        ]
        text += "\n" + _render(head, rows, markdown)
    return text


def _verdict(res: dict, args: argparse.Namespace) -> str:
    lines = []
    ft = res.get("ft", {})
    odr = res.get("sub-odr1" if args.ft_loans < args.loans else "full-odr1", {})
    if "seconds" in ft and "seconds" in odr:
        speed = ft["seconds"] / odr["seconds"]
        feats = odr["features"] / ft["features"]
        lines.append(
            f"speed: overdue_risk {speed:.1f}x featuretools' input rows/s "
            f"(target >= {TARGETS['speed']:.0f}x: "
            f"{'met' if speed >= TARGETS['speed'] else 'NOT met'})"
        )
        values = speed * feats  # feature values per second, relative
        lines.append(f"feature values (rows x features) per second: {values:.0f}x featuretools'")
        prep = res.get("ft-prep", {})
        if "seconds" in prep:
            total = prep["seconds"] + ft["setup"] + ft["seconds"]
            lines.append(
                f"featuretools with its input preparation and EntitySet: {total:.2f} s, "
                f"{total / odr['seconds']:.1f}x overdue_risk's time"
            )
        lines.append(
            f"features: {odr['features']} vs {ft['features']} = {feats:.1f}x "
            f"(target >= {TARGETS['features']:.0f}x: "
            f"{'met' if feats >= TARGETS['features'] else 'NOT met'})"
        )
    for key, n in (("full", args.loans), ("sub", args.ft_loans)):
        one, twelve = res.get(f"{key}-odr1", {}), res.get(f"{key}-odr12", {})
        if "seconds" in one and "seconds" in twelve and (key == "full" or n < args.loans):
            ratio = twelve["seconds"] / one["seconds"]
            lines.append(
                f"12 dates / 1 date at {n:,} loans: {ratio:.2f}x "
                f"(target <= {TARGETS['dates']:.0f}x: "
                f"{'met' if ratio <= TARGETS['dates'] else 'NOT met'})"
            )
    return "".join(f"- {x}\n" for x in lines)


def _by_family(res: dict, markdown: bool) -> str:
    fams = dict.fromkeys(k[7:].rsplit("@", 1)[0] for k in res if k.startswith("family:"))
    if not fams:
        return ""
    head = ["family", "features", "1 date s", "12 dates s", "12 / 1", "peak RSS MB (12)"]
    rows = []
    for fam in fams:
        one, twelve = res[f"family:{fam}@1"], res.get(f"family:{fam}@12", {})
        if "seconds" not in one or "seconds" not in twelve:
            error = one.get("error") or twelve.get("error", "not run")
            rows.append([fam, error, "", "", "", ""])
            continue
        rows.append(
            [
                fam,
                f"{one['features']}",
                f"{one['seconds']:.2f}",
                f"{twelve['seconds']:.2f}",
                f"{twelve['seconds'] / one['seconds']:.2f}",
                f"{twelve['peak_mb']:,.0f}",
            ]
        )
    return _render(head, rows, markdown)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loans", type=int, default=1_000_000, help="loans in the full portfolio")
    ap.add_argument(
        "--ft-loans", type=int, default=100_000, help="loans in the subsample both libraries run"
    )
    ap.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the fastest counts"
    )
    ap.add_argument("--skip-featuretools", action="store_true", help="measure overdue_risk alone")
    ap.add_argument(
        "--by-family",
        action="store_true",
        help="also time each feature family alone on the full portfolio",
    )
    ap.add_argument(
        "--mem-limit-gb", type=float, default=20.0, help="address-space limit of each measurement"
    )
    ap.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        type=str,
        metavar="FILE",
        help="print markdown tables (for docs/benchmarks.md); with FILE also write them to FILE",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--family", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.ft_loans = min(args.ft_loans, args.loans)

    if args.child == "generate":
        print(json.dumps(_generate(args, args.data)))
        return 0
    if args.child == "families":
        from overdue_risk.features import list_features

        print(json.dumps({"families": list(dict.fromkeys(list_features()["family"]))}))
        return 0
    if args.child:
        print(json.dumps(_child(args)))
        return 0

    if not args.skip_featuretools:
        # Looked up, not imported: the driver stays small (children inherit its peak RSS).
        if importlib.util.find_spec("featuretools") is None:
            ap.error(
                f"featuretools is not installed here; install it with\n  {INSTALL}\n"
                "or pass --skip-featuretools"
            )
        if int(pd.__version__.split(".")[0]) >= 3:
            ap.error(
                f"featuretools does not run on pandas {pd.__version__}; use a pandas 2 "
                f"environment:\n  {INSTALL}\nor pass --skip-featuretools"
            )

    # Everything big happens in subprocesses: a child's ru_maxrss starts from its
    # parent's peak (it is inherited across fork and exec), so the parent stays small.
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    pin = ["--cpu", str(cpus[-1]), "--mem-limit-gb", str(args.mem_limit_gb)]
    work = Path(tempfile.mkdtemp(prefix="features-bench-"))
    res: dict = {}
    try:
        gen = ["--child", "generate", "--data", str(work), "--loans", str(args.loans)]
        gen += ["--ft-loans", str(args.ft_loans), "--seed", str(args.seed)]
        info = _run(gen + (["--skip-featuretools"] if args.skip_featuretools else []))
        if "error" in info:
            raise RuntimeError(info.get("log", info["error"]))
        f = info["full"]
        print(
            f"generated {args.loans:,} loans, {f['installments']:,} schedule rows, "
            f"{f['payments']:,} payment rows, {f['collections']:,} collection actions and "
            f"{f['customers']:,} customers in {info['seconds']:.1f} s",
            file=sys.stderr,
        )
        sizes = ["full"] + (["sub"] if args.ft_loans < args.loans else [])
        for key in sizes:
            cmd = ["--child", "validate", "--data", str(work / f"{key}-raw")]
            r = _run([*cmd, "--save", str(work / f"{key}-valid"), *pin])
            if "error" in r:
                raise RuntimeError(r.get("log", r["error"]))
            res[f"{key}-validate"] = r
            print(f"{key + ' validate':32} {r['seconds']:8.2f} s", file=sys.stderr)
        if not args.skip_featuretools:
            cmd = ["--child", "featuretools", "--data", str(work / "ft-input"), *pin]
            res["ft"] = _measure("featuretools DFS, 1 date", cmd, args.repeat)
            cmd = ["--child", "prepare", "--data", str(work / "sub-raw"), *pin]
            res["ft-prep"] = _measure("featuretools input (numpy)", cmd, args.repeat)
        for key in reversed(sizes):  # the subsample first: quick, and it fails fast
            for dates in ("odr1", "odr12"):
                cmd = ["--child", dates, "--data", str(work / f"{key}-valid"), *pin]
                label = f"{key} overdue_risk, {'1 date' if dates == 'odr1' else '12 dates'}"
                res[f"{key}-{dates}"] = _measure(label, cmd, args.repeat)
        if args.by_family:
            families = _run(["--child", "families"])
            for fam in families["families"]:
                for dates, label in (("odr1", "1"), ("odr12", "12")):
                    cmd = ["--child", dates, "--data", str(work / "full-valid"), *pin]
                    cmd += ["--family", fam]
                    res[f"family:{fam}@{label}"] = _measure(
                        f"family {fam}, {label} date(s)", cmd, args.repeat
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    markdown = args.markdown is not None
    f, s = info["full"], info["sub"]
    ft_version = res.get("ft", {}).get("version")
    text = (
        f"{args.loans:,} loans x {N_INSTALMENTS} instalments: {f['installments']:,} schedule rows "
        f"and {f['payments']:,} payment rows (input rows: {f['installments'] + f['payments']:,}), "
        f"{f['collections']:,} collection actions, {f['customers']:,} customers, no statements; "
        f"subsample: the first {args.ft_loans:,} loans ({s['installments'] + s['payments']:,} "
        f"input rows). Integer ids, seed {args.seed}; one CPU (#{cpus[-1]}), best of "
        f"{args.repeat}. As of {ONE_DATE}, or the month ends of 2023. Validation beforehand: "
        f"{res['full-validate']['seconds']:.2f} s (not in the figures).\n"
        f"{_cpu_model()}; {_versions(ft_version)}.\n\n" + _tables(res, info, args, markdown)
    )
    if "ft" in res and "names" in res["ft"]:
        text += f"\nfeaturetools features: {', '.join(res['ft']['names'])}.\n"
    verdict = _verdict(res, args)
    if verdict:
        text += "\n" + verdict
    fam = _by_family(res, markdown)
    if fam:
        text += "\nEach family alone (full portfolio; the ledger is built every time):\n\n" + fam
    print(text)
    if args.markdown not in (None, "-"):
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
