"""Benchmark of the Home Credit adapter on synthetic files in the Kaggle format.

Usage::

    python benchmarks/home_credit.py [--instalments N [N ...]] [--seed S] [--repeat R]

For each size ``N`` (default 2,000,000 and 6,000,000), writes the eight Kaggle files
(every column, in Kaggle's order, Kaggle's number formats) with ``N`` rows of
``installments_payments.csv`` and the other files in the real data's proportions
(POS_CASH 0.74 N, bureau_balance 2 N, credit_card_balance 0.28 N, previous_application
and bureau 0.12 N, the applications 0.026 N). Instalment loans have 6 to 24
instalments, some paid in two parts, some missed (blank payment rows), some
rescheduled (a second NUM_INSTALMENT_VERSION). The generator is deterministic for a
given ``--seed``.

Each scenario runs in a fresh subprocess (``OMP_NUM_THREADS=1``; pyarrow's CSV
reader uses the machine's cores), ``--repeat`` times (default 3); the table gives
the median, fastest and slowest wall time and the highest peak RSS (the child's
own ``VmHWM`` on Linux; ``ru_maxrss`` would also count the parent's memory when it
started the child):

* ``baseline: pandas.read_csv``: ``pd.read_csv("installments_payments.csv")``
  alone, the first line a user would write;
* ``in memory: load + write, all files``: :func:`home_credit.load` of every file,
  validated, then written as a Parquet portfolio folder (what ``convert`` did before
  it streamed): memory grows with the files;
* ``streaming convert, all files``: :func:`home_credit.convert` with its default
  ``rows_per_bucket``: the loan files spilled in buckets of whole loans, converted
  one bucket at a time; memory holds one bucket.

Rows per minute are the instalment rows over the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _write(folder: Path, name: str, columns: dict, n: int) -> None:
    """``name``.csv with every Kaggle column of the file; those not given are blank."""
    from overdue_risk.adapters.home_credit import FILES

    spec = FILES[name]
    frame = pd.DataFrame({c: columns.get(c, np.full(n, np.nan)) for c in spec.columns})
    frame.to_csv(folder / spec.file_name, index=False)


def make_files(folder: Path, n_rows: int, seed: int = 0) -> dict[str, int]:
    """The eight files with about ``n_rows`` instalment rows; their row counts."""
    rng = np.random.default_rng(seed)
    terms = np.array([6, 10, 12, 18, 24])
    n_loans = max(int(n_rows / 15), 10)
    term = rng.choice(terms, n_loans)
    n_customers = max(n_loans // 4, 5)
    prev_ids = 1_000_001 + np.arange(n_loans)
    customer = 100_001 + rng.integers(0, n_customers, n_loans)
    decision = -rng.integers(60, 2900, n_loans)
    annuity = np.round(rng.uniform(1000, 30000, n_loans), 3)
    counts = {}
    # installments_payments: one row per instalment, a second for split payments.
    loan = np.repeat(np.arange(n_loans), term)
    number = np.concatenate([np.arange(1, t + 1) for t in term]) if n_loans else np.empty(0)
    due = decision[loan] + 30 * number
    late = np.where(rng.random(loan.size) < 0.2, rng.integers(1, 60, loan.size), 0)
    late -= np.where(rng.random(loan.size) < 0.3, rng.integers(1, 15, loan.size), 0)
    missed = rng.random(loan.size) < 0.03
    split = rng.random(loan.size) < 0.05
    version = np.where(rng.random(loan.size) < 0.05, 2.0, 1.0)
    rows = np.concatenate([np.arange(loan.size), np.flatnonzero(split)])
    part = np.concatenate([np.zeros(loan.size, bool), np.ones(int(split.sum()), bool)])
    amount = annuity[loan[rows]]
    paid = np.where(split[rows], np.where(part, 0.4, 0.6), 1.0) * amount
    pay_day = (due[rows] + late[rows] + part * 20).astype(np.float64)
    pay_day[missed[rows]] = np.nan
    paid[missed[rows]] = np.nan
    inst = {
        "SK_ID_PREV": prev_ids[loan[rows]],
        "SK_ID_CURR": customer[loan[rows]],
        "NUM_INSTALMENT_VERSION": version[rows],
        "NUM_INSTALMENT_NUMBER": number[rows],
        "DAYS_INSTALMENT": due[rows].astype(np.float64),
        "DAYS_ENTRY_PAYMENT": pay_day,
        "AMT_INSTALMENT": amount,
        "AMT_PAYMENT": np.round(paid, 3),
    }
    _write(folder, "installments_payments", inst, rows.size)
    counts["installments_payments"] = rows.size
    kind = rng.choice(
        ["Cash loans", "Consumer loans", "Revolving loans"], n_loans, p=[0.45, 0.5, 0.05]
    )
    prev = {
        "SK_ID_PREV": prev_ids,
        "SK_ID_CURR": customer,
        "NAME_CONTRACT_TYPE": kind,
        "AMT_ANNUITY": annuity,
        "AMT_APPLICATION": annuity * term,
        "AMT_CREDIT": np.round(annuity * term * 0.9, 1),
        "NAME_CONTRACT_STATUS": np.full(n_loans, "Approved"),
        "DAYS_DECISION": decision,
        "CNT_PAYMENT": term.astype(np.float64),
        "CHANNEL_TYPE": rng.choice(["Country-wide", "Credit and cash offices", "XNA"], n_loans),
        "DAYS_FIRST_DRAWING": np.full(n_loans, 365243.0),
        "DAYS_TERMINATION": np.where(decision + 30 * term < 0, decision + 30.0 * term, 365243.0),
    }
    _write(folder, "previous_application", prev, n_loans)
    counts["previous_application"] = n_loans
    # POS_CASH: the consumer loans' months; cards: the revolving loans' months.
    for name, mask in (
        ("POS_CASH_balance", kind == "Consumer loans"),
        ("credit_card_balance", kind == "Revolving loans"),
    ):
        ids = np.flatnonzero(mask)
        length = term[ids] + 4 if name == "POS_CASH_balance" else np.full(ids.size, 84)
        loan_m = np.repeat(ids, length)
        first = (decision[loan_m] // 30).astype(np.int64)
        offset = np.concatenate([np.arange(k) for k in length]) if ids.size else []
        month = np.minimum(first + 1 + np.asarray(offset, dtype=np.int64), -1)
        n = loan_m.size
        cols = {
            "SK_ID_PREV": prev_ids[loan_m],
            "SK_ID_CURR": customer[loan_m],
            "MONTHS_BALANCE": month,
            "NAME_CONTRACT_STATUS": np.full(n, "Active"),
            "SK_DPD": np.where(rng.random(n) < 0.05, rng.integers(1, 90, n), 0),
            "SK_DPD_DEF": np.zeros(n, np.int64),
        }
        if name == "POS_CASH_balance":
            cols["CNT_INSTALMENT"] = term[loan_m].astype(np.float64)
            cols["CNT_INSTALMENT_FUTURE"] = np.maximum(term[loan_m] - month + first, 0.0)
        else:
            cols["AMT_BALANCE"] = np.round(rng.uniform(0, 100000, n), 3)
            cols["AMT_CREDIT_LIMIT_ACTUAL"] = np.full(n, 135000)
            cols["AMT_INST_MIN_REGULARITY"] = np.round(rng.uniform(0, 5000, n), 3)
            cols["AMT_PAYMENT_TOTAL_CURRENT"] = np.round(rng.uniform(0, 6000, n), 3)
        # Kaggle's rows repeat a month now and then: keep one row per (loan, month).
        keep = ~pd.DataFrame({"a": cols["SK_ID_PREV"], "b": month}).duplicated().to_numpy()
        _write(folder, name, {k: np.asarray(v)[keep] for k, v in cols.items()}, int(keep.sum()))
        counts[name] = int(keep.sum())
    # bureau and bureau_balance: about one credit per 8 instalment rows, 16 months each.
    n_b = max(int(n_rows * 0.126), 5)
    b_ids = 5_000_000 + np.arange(n_b)
    days_credit = -rng.integers(30, 2900, n_b)
    bureau = {
        "SK_ID_CURR": 100_001 + rng.integers(0, n_customers, n_b),
        "SK_ID_BUREAU": b_ids,
        "CREDIT_ACTIVE": rng.choice(["Active", "Closed"], n_b),
        "CREDIT_CURRENCY": np.full(n_b, "currency 1"),
        "DAYS_CREDIT": days_credit,
        "CREDIT_DAY_OVERDUE": np.zeros(n_b, np.int64),
        "AMT_CREDIT_SUM": np.round(rng.uniform(1000, 500000, n_b), 1),
        "AMT_CREDIT_SUM_DEBT": np.round(rng.uniform(0, 100000, n_b), 1),
        "CREDIT_TYPE": rng.choice(["Consumer credit", "Credit card", "Car loan"], n_b),
        "DAYS_CREDIT_UPDATE": np.minimum(days_credit + rng.integers(0, 600, n_b), 0),
    }
    _write(folder, "bureau", bureau, n_b)
    counts["bureau"] = n_b
    n_m = 16
    bb_loan = np.repeat(np.arange(n_b), n_m)
    bb_month = np.tile(-np.arange(n_m), n_b)
    bb = {
        "SK_ID_BUREAU": b_ids[bb_loan],
        "MONTHS_BALANCE": bb_month,
        "STATUS": rng.choice(list("0000000012345CX"), bb_loan.size),
    }
    _write(folder, "bureau_balance", bb, bb_loan.size)
    counts["bureau_balance"] = int(bb_loan.size)
    ids = 100_001 + np.arange(n_customers)
    app = {
        "SK_ID_CURR": ids,
        "TARGET": (rng.random(n_customers) < 0.08).astype(np.int64),
        "NAME_CONTRACT_TYPE": np.full(n_customers, "Cash loans"),
        "CODE_GENDER": rng.choice(["F", "M", "XNA"], n_customers, p=[0.6, 0.3999, 0.0001]),
        "FLAG_OWN_CAR": rng.choice(["Y", "N"], n_customers),
        "AMT_INCOME_TOTAL": np.round(rng.uniform(30000, 300000, n_customers), 1),
        "DAYS_BIRTH": -rng.integers(7000, 25000, n_customers),
        "DAYS_EMPLOYED": np.where(
            rng.random(n_customers) < 0.18, 365243, -rng.integers(0, 9000, n_customers)
        ),
        "EXT_SOURCE_2": np.round(rng.random(n_customers), 6),
    }
    _write(folder, "application_train", app, n_customers)
    counts["application_train"] = n_customers
    return counts


def _markdown(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * df.shape[1]]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _child(scenario: str, data: Path) -> dict:
    from overdue_risk.adapters import home_credit

    out = Path(tempfile.mkdtemp()) / "portfolio"
    started = time.perf_counter()
    try:
        if scenario == "baseline":
            pd.read_csv(data / "installments_payments.csv")
        elif scenario == "in-memory":
            home_credit.load(data).write(out)
        else:
            home_credit.convert(data, out)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` counts this program only;
    ``ru_maxrss`` also counts what the parent held when it started the child (the
    generated files, here), so it is the fallback elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(scenario: str, data: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", scenario, "--data", str(data)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _buckets(data: Path) -> int:
    """How many buckets ``convert`` makes of the folder by default."""
    from overdue_risk.adapters.home_credit import ROWS_PER_BUCKET
    from overdue_risk.adapters.home_credit._files import find_files
    from overdue_risk.adapters.home_credit._spill import bucket_count

    return bucket_count(find_files(data), ROWS_PER_BUCKET)


def _size(root: Path, n_rows: int, seed: int, repeat: int) -> list[dict]:
    """Every scenario on the files of one size."""
    data = root / f"files-{n_rows}"
    data.mkdir()
    t0 = time.perf_counter()
    counts = make_files(data, n_rows, seed)
    print(f"files written in {time.perf_counter() - t0:.1f} s: {counts}", file=sys.stderr)
    n, total = counts["installments_payments"], sum(counts.values())
    rows = []
    for label, scenario in (
        ("baseline: pandas.read_csv (read only)", "baseline"),
        ("in memory: load + write, all files", "in-memory"),
        (f"streaming convert, all files ({_buckets(data)} buckets)", "convert"),
    ):
        runs = [_run(scenario, data) for _ in range(repeat)]
        walls = [r["wall_s"] for r in runs]
        median = statistics.median(walls)
        rows.append(
            {
                "instalment rows": f"{n / 1e6:.2f} M",
                "all rows": f"{total / 1e6:.1f} M",
                "scenario": label,
                "median s": round(median, 2),
                "min s": round(min(walls), 2),
                "max s": round(max(walls), 2),
                "instalment rows/min (median)": f"{n / median * 60 / 1e6:.1f} M",
                "peak RSS MB": round(max(r["peak_rss_mb"] for r in runs)),
            }
        )
        print(_markdown(pd.DataFrame(rows[-1:])), file=sys.stderr)
    shutil.rmtree(data, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instalments", type=int, nargs="+", default=[2_000_000, 6_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.data)))
        return 0
    root = Path(tempfile.mkdtemp(prefix="home-credit-bench-"))
    try:
        rows = []
        for n_rows in args.instalments:
            rows += _size(root, n_rows, args.seed, args.repeat)
        print(f"{platform.python_version()}, pandas {pd.__version__}")
        print(_markdown(pd.DataFrame(rows)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
