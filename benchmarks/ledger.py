"""Benchmark of validation and the repayment ledger on a synthetic portfolio.

Usage::

    python benchmarks/ledger.py [--loans N] [--seed S] [--repeat R] [--no-thp] [--markdown FILE]

The portfolio has ``N`` instalment loans (default 1,000,000) with 12 monthly
instalments each and about 0.95 payments per instalment, so 1 M loans give
12 M schedule rows and about 11.4 M payment rows. Loan ids are integers
(``--string-ids`` makes them text such as ``L0000001``). The generator is
deterministic for a given ``--seed``.

Each scenario runs in a fresh subprocess pinned to one CPU (with
``OMP/OPENBLAS/MKL_NUM_THREADS=1``), so its wall time is a one-core figure and
its peak RSS (``ru_maxrss``) belongs to that scenario alone:

* ``validate``: ``validate(portfolio)`` on the raw tables;
* ``ledger, 1 date``: ``Ledger(validated)`` (the one-off sort) plus ``.at(date)``;
* ``ledger, 12 dates``: the same with ``.at`` twelve month ends.

Every scenario runs with rows sorted by loan and date and with all rows
shuffled, ``--repeat`` times each (default 3); the table gives the fastest and
the slowest run and the highest peak RSS. The data are generated once (in a
subprocess too, so that the driver stays small: a child's ``ru_maxrss`` starts
from its parent's) and written to a temporary folder; each scenario loads them,
and the ledger scenarios load the tables the first ``validate`` run returned.
"data MB" is the peak RSS after loading, before the timed step. ``--no-thp`` sets
``NUMPY_MADVISE_HUGEPAGE=0`` in the subprocesses, so numpy does not ask for
transparent huge pages (see docs/benchmarks.md for why that matters on some VMs).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_INSTALMENTS = 12
ONE_DATE = "2023-06-30"
TWELVE_DATES = [
    str(d.date()) for d in pd.date_range("2023-01-31", periods=N_INSTALMENTS, freq="ME")
]
# Probabilities of on-time, late, partial, missed and prepaid (early) payment of
# an instalment, for good, medium and bad borrowers (75%, 18% and 7% of loans).
BEHAVIOUR = np.array(
    [
        [0.86, 0.07, 0.02, 0.01, 0.04],
        [0.61, 0.20, 0.07, 0.07, 0.05],
        [0.30, 0.25, 0.12, 0.31, 0.02],
    ]
)
RISK_SHARES = [0.75, 0.18, 0.07]
CATCH_UP = np.array([0.8, 0.5, 0.15])  # share of missed instalments paid a month or two late
TOP_UP = 0.7  # share of partial payers who pay the rest later
BUNDLE = 0.6  # share of early payers who pay the next instalment with this one
SETTLED_SHARE = 0.08  # loans repaid in full early, then closed


# -- data --------------------------------------------------------------------


def make_tables(n_loans: int, seed: int = 0, *, string_ids: bool = False) -> dict:
    """Raw loans, installments and payments tables, sorted by loan and date."""
    rng = np.random.default_rng(seed)
    n, k = n_loans, N_INSTALMENTS
    start = np.datetime64("2022-01-01") + rng.integers(0, 365, n)
    principal = rng.integers(20, 501, n) * 10.0
    annual_rate = rng.choice([0.12, 0.18, 0.24, 0.30, 0.36], n)
    r = annual_rate / 12
    pmt = np.round(principal * r / (1 - (1 + r) ** -k), 2)

    # Schedule: instalment j falls due j months after the start (day clipped to 28).
    loan = np.repeat(np.arange(n), k)
    inst_no = np.tile(np.arange(1, k + 1), n)
    month = start.astype("datetime64[M]")
    day_of_month = np.minimum((start - month.astype("datetime64[D]")).astype(np.int64), 27)
    due = (month[loan] + inst_no).astype("datetime64[D]") + day_of_month[loan]
    amount_due = pmt[loan]

    # Payments: each instalment is paid on time, late, partly, not at all or early
    # (and then sometimes together with the next one).
    risk = rng.choice(len(RISK_SHARES), n, p=RISK_SHARES)
    u = rng.random(n * k)
    behaviour = np.zeros(n * k, np.int8)
    for edge in BEHAVIOUR.cumsum(axis=1)[:, :-1].T:  # 4 vectorised comparisons
        behaviour += u >= edge[risk[loan]]
    on_time, late, partial, missed, early = (behaviour == b for b in range(5))
    shift = np.select(
        [on_time, late, partial, early],
        [
            -rng.integers(0, 4, n * k),
            rng.integers(1, 61, n * k),
            rng.integers(0, 6, n * k),
            -rng.integers(5, 26, n * k),
        ],
        0,
    )
    share = np.where(partial, np.round(rng.uniform(0.3, 0.9, n * k), 2), 1.0)
    bundle = early & (inst_no < k) & (rng.random(n * k) < BUNDLE)
    covered = np.roll(bundle, 1)  # paid with the previous instalment; never crosses loans
    share[bundle] = 2.0
    first_amount = np.round(amount_due * share, 2)
    top_up = partial & ~covered & (rng.random(n * k) < TOP_UP)
    catch_up = missed & ~covered & (rng.random(n * k) < CATCH_UP[risk[loan]])
    rows = ~missed & ~covered
    pay_loan = np.concatenate([loan[rows], loan[top_up], loan[catch_up]])
    pay_date = np.concatenate(
        [
            due[rows] + shift[rows],
            due[top_up] + rng.integers(10, 41, int(top_up.sum())),
            due[catch_up] + rng.integers(25, 75, int(catch_up.sum())),
        ]
    )
    pay_amount = np.concatenate(
        [first_amount[rows], (amount_due - first_amount)[top_up], amount_due[catch_up]]
    )

    # Early settlement: pay what is due and the remaining principal, then close.
    settled = rng.random(n) < SETTLED_SHARE
    m = rng.integers(3, k, n)  # settles on the due date of instalment m
    closed = np.full(n, np.datetime64("NaT"), "datetime64[D]")
    closed[settled] = (month[settled] + m[settled]).astype("datetime64[D]") + day_of_month[settled]
    after_close = settled[pay_loan] & (pay_date > closed[pay_loan])
    pay_loan, pay_date, pay_amount = (
        pay_loan[~after_close],
        pay_date[~after_close],
        pay_amount[~after_close],
    )
    growth = (1 + r) ** m
    remaining = np.maximum(principal * growth - pmt * (growth - 1) / r, 0.0)
    paid = np.bincount(pay_loan, weights=pay_amount, minlength=n)
    settle = np.round(np.maximum(pmt * m - paid, 0.0) + remaining, 2)
    s = np.flatnonzero(settled & (settle > 0))
    pay_loan = np.concatenate([pay_loan, s])
    pay_date = np.concatenate([pay_date, closed[s]])
    pay_amount = np.concatenate([pay_amount, settle[s]])

    pay_date = np.maximum(pay_date, start[pay_loan])  # never before the loan started
    order = np.lexsort((pay_date, pay_loan))
    pay_loan, pay_date, pay_amount = pay_loan[order], pay_date[order], pay_amount[order]

    if string_ids:
        names = np.array([f"L{i:07d}" for i in range(1, n + 1)], dtype=object)
        ids, cust = names, np.array([f"C{i:07d}" for i in rng.integers(1, n, n)], dtype=object)
    else:
        ids, cust = np.arange(1, n + 1, dtype=np.int64), rng.integers(1, max(n, 2), n)
    loans = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": cust,
            "product_type": "instalment",
            "start_date": start.astype("datetime64[ns]"),
            "principal": principal,
            "term_months": k,
            "annual_rate": annual_rate,
            "closed_date": closed.astype("datetime64[ns]"),
        }
    )
    installments = pd.DataFrame(
        {
            "loan_id": ids[loan],
            "installment_no": inst_no,
            "due_date": due.astype("datetime64[ns]"),
            "amount_due": amount_due,
        }
    )
    payments = pd.DataFrame(
        {
            "loan_id": ids[pay_loan],
            "payment_date": pay_date.astype("datetime64[ns]"),
            "amount": pay_amount,
        }
    )
    return {"loans": loans, "installments": installments, "payments": payments}


def shuffled(tables: dict, seed: int) -> dict:
    """The same tables with their rows in random order."""
    rng = np.random.default_rng(seed + 1)
    return {
        name: df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        for name, df in tables.items()
    }


def dump(tables: dict, path: Path) -> None:
    """Pickle ``tables`` with its arrays as raw side files (read back without a copy)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(tables, protocol=5, buffer_callback=buffers.append)
    path.mkdir()
    (path / "head.pkl").write_bytes(head)
    for i, buf in enumerate(buffers):
        with open(path / f"{i}.bin", "wb") as f:
            f.write(buf.raw())


def load(path: Path) -> dict:
    """The tables written by :func:`dump`."""
    buffers = []
    for i in range(len(list(path.glob("*.bin")))):
        file = path / f"{i}.bin"
        buf = bytearray(file.stat().st_size)
        with open(file, "rb") as f:
            f.readinto(buf)
        buffers.append(buf)
    return pickle.loads((path / "head.pkl").read_bytes(), buffers=buffers)


# -- one scenario, in its own process ----------------------------------------


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(scenario: str, data: Path, save: Path | None) -> dict:
    import warnings

    from overdue_risk import DataQualityWarning, Ledger, Portfolio, validate

    warnings.simplefilter("ignore", DataQualityWarning)
    tables = load(data)
    portfolio = Portfolio(**tables)
    if scenario != "validate":  # the tables were saved by validate(): mark them as it does
        object.__setattr__(portfolio, "validated", True)
    del tables
    data_mb = _peak_mb()
    out: dict = {"data_mb": data_mb}
    t0 = time.perf_counter()
    if scenario == "validate":
        valid = validate(portfolio)
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = _peak_mb()
        if save is not None:
            dump(valid.tables(), save)
        return out
    dates = [ONE_DATE] if scenario == "ledger1" else TWELVE_DATES
    ledger = Ledger(portfolio)
    t1 = time.perf_counter()
    snapshot = ledger.at(dates)
    t2 = time.perf_counter()
    out.update(seconds=t2 - t0, build=t1 - t0, query=t2 - t1, out_rows=len(snapshot.frame))
    out["peak_mb"] = _peak_mb()
    return out


def _generate(n_loans: int, seed: int, string_ids: bool, work: Path) -> dict:
    t0 = time.perf_counter()
    tables = make_tables(n_loans, seed, string_ids=string_ids)
    info = {
        "schedule_rows": len(tables["installments"]),
        "payment_rows": len(tables["payments"]),
        "seconds": time.perf_counter() - t0,
    }
    dump(tables, work / "raw-sorted")
    dump(shuffled(tables, seed), work / "raw-shuffled")
    return info


def _run(args: list[str], thp: bool = True) -> dict:
    """Run this script with ``args`` in a fresh process; its JSON answer."""
    env = dict(os.environ)
    threads = "OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_NUM_THREADS"
    env.update(dict.fromkeys(threads.split(), "1"))
    if not thp:
        env["NUMPY_MADVISE_HUGEPAGE"] = "0"
    env["PYTHONWARNINGS"] = "ignore"
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- driver ----------------------------------------------------------------------


def _versions() -> str:
    import pyarrow

    import overdue_risk

    return (
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"pyarrow {pyarrow.__version__}, overdue-risk {overdue_risk.__version__}"
    )


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _table(rows: list[dict], n_sched: int) -> str:
    lines = [
        "| scenario | input | wall s | build s | query s | slowest s | schedule rows/s "
        "| 12 / 1 dates | peak RSS MB | data MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    one_date = {r["order"]: r["seconds"] for r in rows if r["scenario"] == "ledger1"}
    labels = {"validate": "validate", "ledger1": "ledger, 1 date", "ledger12": "ledger, 12 dates"}
    for r in rows:
        ledger = r["scenario"] != "validate"
        cells = [
            labels[r["scenario"]],
            r["order"],
            f"{r['seconds']:.2f}",
            f"{r['build']:.2f}" if ledger else "",
            f"{r['query']:.2f}" if ledger else "",
            f"{r['slowest']:.2f}",
            f"{n_sched / r['seconds'] / 1e6:.2f} M" if r["scenario"] == "ledger1" else "",
            f"{r['seconds'] / one_date[r['order']]:.2f}" if r["scenario"] == "ledger12" else "",
            f"{r['peak_mb']:,.0f}",
            f"{r['data_mb']:,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loans", type=int, default=1_000_000, help="number of loans")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    ap.add_argument("--repeat", type=int, default=3, help="runs per scenario; the fastest counts")
    ap.add_argument("--string-ids", action="store_true", help="text loan ids instead of integers")
    ap.add_argument("--no-thp", action="store_true", help="run with NUMPY_MADVISE_HUGEPAGE=0")
    ap.add_argument("--markdown", type=Path, help="also write the results table to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child == "generate":
        print(json.dumps(_generate(args.loans, args.seed, args.string_ids, args.data)))
        return 0
    if args.child:
        if args.cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {args.cpu})
        print(json.dumps(_child(args.child, args.data, args.save)))
        return 0

    # Everything big happens in subprocesses: a child's ru_maxrss starts from its
    # parent's peak (it is inherited across fork and exec), so the parent stays small.
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    cpu = cpus[-1]
    work = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        gen = ["--child", "generate", "--data", str(work), "--loans", str(args.loans)]
        gen += ["--seed", str(args.seed)] + (["--string-ids"] if args.string_ids else [])
        info = _run(gen)
        n_sched, n_pay = info["schedule_rows"], info["payment_rows"]
        print(
            f"generated {args.loans:,} loans, {n_sched:,} schedule rows and {n_pay:,} payment "
            f"rows in {info['seconds']:.1f} s",
            file=sys.stderr,
        )
        rows = []
        for order in ("sorted", "shuffled"):
            for scenario in ("validate", "ledger1", "ledger12"):
                runs = []
                for i in range(args.repeat):
                    cmd = ["--child", scenario, "--cpu", str(cpu)]
                    if scenario == "validate":
                        cmd += ["--data", str(work / f"raw-{order}")]
                        if i == 0:  # the ledger scenarios start from these tables
                            cmd += ["--save", str(work / f"valid-{order}")]
                    else:
                        cmd += ["--data", str(work / f"valid-{order}")]
                    runs.append(_run(cmd, thp=not args.no_thp))
                best = min(runs, key=lambda r: r["seconds"])
                best["slowest"] = max(r["seconds"] for r in runs)
                best["peak_mb"] = max(r["peak_mb"] for r in runs)
                rows.append({"scenario": scenario, "order": order, **best})
                print(f"{order:8} {scenario:9} {best['seconds']:7.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    text = (
        f"{args.loans:,} loans x {N_INSTALMENTS} instalments: {n_sched:,} schedule rows, "
        f"{n_pay:,} payment rows, {'text' if args.string_ids else 'integer'} loan ids, "
        f"seed {args.seed}; one CPU (#{cpu}), best of {args.repeat}"
        f"{', NUMPY_MADVISE_HUGEPAGE=0' if args.no_thp else ''}. "
        f"As of {ONE_DATE}, or the month ends of 2023.\n"
        f"{_cpu_model()}; {_versions()}.\n\n" + _table(rows, n_sched)
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
