"""The nightly run at scale: wall time, CPU time, rows/s and peak RSS per stage.

Usage::

    python benchmarks/nightly.py [--loans 250000,1000000] [--jobs 1,2]
        [--chunk-customers 100000] [--train-loans 20000] [--work DIR] [--markdown]

Simulates a training book (``--train-loans``, seed 11, 2023-01-01 to 2024-06-30) and
trains on it the two models of a nightly run: the early-warning model (``dpd30_90d``)
and the collection model (``cure_30d``). Then, for each size, simulates a book (seed
12, same dates, written as Parquet under ``--work``) and runs, each in a fresh
subprocess so that its peak RSS is its own:

* ``nightly --jobs J`` for each ``--jobs`` entry: ``run_nightly`` from the folder to
  a run folder, on 2024-06-30 with the default profile;
* the **baseline**, what a user chained by hand before the nightly run existed:
  ``score_portfolio`` with the early-warning model and ``explain=3`` (every open loan
  scored by one model and explained), then ``prioritise_portfolio`` on those scores.

Prints per stage the wall and CPU seconds and the peak RSS at its end, and per run the
total, rows (open loans scored) per second and the ratio to the baseline's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

AS_OF = "2024-06-30"
START = "2023-01-01"


def _child_nightly(work: Path, loans: int, jobs: int, per_chunk: int) -> dict:
    from overdue_risk.workflows import run_nightly

    out = work / f"run_{loans}_{jobs}"
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_nightly(
            [work / "ew", work / "cure"],
            work / f"book_{loans}",
            AS_OF,
            "default",
            out=out,
            force=True,
            jobs=jobs,
            chunk_customers=per_chunk,
        )
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "scored": run.manifest["rows"]["scored"],
        "stages": run.manifest["timings"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # Workers kept alive for reuse report their own peak in the manifest.
        "workers_peak_rss_mb": max(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            *(t.get("workers_peak_rss_mb", 0.0) for t in run.manifest["timings"].values()),
        ),
    }


def _child_baseline(work: Path, loans: int) -> dict:
    from overdue_risk.workflows import prioritise_portfolio, score_portfolio

    book = work / f"book_{loans}"
    stages = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        scores = score_portfolio(work / "ew", book, AS_OF, explain=3)
        stages["score --explain 3"] = {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        t1, c1 = time.perf_counter(), time.process_time()
        prioritise_portfolio(scores, book, AS_OF, "default")
        stages["prioritise"] = {
            "wall_s": time.perf_counter() - t1,
            "cpu_s": time.process_time() - c1,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    return {
        "wall_s": time.perf_counter() - t0,
        "scored": len(scores),
        "stages": stages,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers_peak_rss_mb": 0.0,
    }


def _in_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare(work: Path, loans: list[int], train_loans: int) -> None:
    import overdue_risk as odr
    from overdue_risk.workflows import train_risk_model

    work.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not (work / "cure").exists():
            t0 = time.perf_counter()
            book, _ = odr.simulate_portfolio(train_loans, START, AS_OF, seed=11)
            months = pd.date_range("2023-06-30", "2024-02-29", freq="ME")
            train_risk_model(book, months, "dpd30_90d", out=work / "ew", overwrite=True)
            train_risk_model(book, months, "cure_30d", out=work / "cure", overwrite=True)
            print(f"trained both models on {train_loans:,} loans: {time.perf_counter() - t0:.0f} s")
        for n in loans:
            folder = work / f"book_{n}"
            if (folder / "loans.parquet").exists():
                continue
            t0 = time.perf_counter()
            book, _ = odr.simulate_portfolio(n, START, AS_OF, seed=12)
            folder.mkdir(exist_ok=True)
            for name, df in book.tables().items():
                df.to_parquet(folder / f"{name}.parquet", index=False)
            print(f"simulated {n:,} loans: {time.perf_counter() - t0:.0f} s")


def _rows(label: str, loans: int, res: dict, baseline: float | None) -> list[dict]:
    rows = []
    for stage, t in res["stages"].items():
        within = "cpu_s" not in t  # a part of a stage timed apart: wall seconds only
        rows.append(
            {
                "run": label,
                "loans": loans,
                "stage": stage,
                "wall_s": round(t["wall_s"], 1),
                "cpu_s": None if within else round(t["cpu_s"], 1),
                "rows_per_s": round(res["scored"] / t["wall_s"]) if t["wall_s"] > 0 else None,
                "peak_rss_mb": None if within else round(t["peak_rss_mb"]),
            }
        )
    rows.append(
        {
            "run": label,
            "loans": loans,
            "stage": "total",
            "wall_s": round(res["wall_s"], 1),
            "cpu_s": round(sum(t.get("cpu_s", 0.0) for t in res["stages"].values()), 1),
            "rows_per_s": round(res["scored"] / res["wall_s"]),
            "peak_rss_mb": round(max(res["peak_rss_mb"], res["workers_peak_rss_mb"])),
            "vs_baseline": None if baseline is None else round(res["wall_s"] / baseline, 3),
        }
    )
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, work, loans = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        if kind == "baseline":
            out = _child_baseline(work, loans)
        else:
            out = _child_nightly(work, loans, int(sys.argv[5]), int(sys.argv[6]))
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", default="250000,1000000")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--chunk-customers", type=int, default=100_000)
    ap.add_argument("--train-loans", type=int, default=20_000)
    ap.add_argument("--work", default=os.path.join("/tmp", "overdue-risk-bench-nightly"))
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    sizes = [int(n) for n in args.loans.split(",")]
    _prepare(work, sizes, args.train_loans)
    rows = []
    for n in sizes:
        base = None
        if not args.no_baseline:
            res = _in_child("baseline", str(work), str(n))
            base = res["wall_s"]
            rows += _rows("baseline: score --explain 3, then prioritise", n, res, None)
        for j in (int(x) for x in args.jobs.split(",")):
            res = _in_child("nightly", str(work), str(n), str(j), str(args.chunk_customers))
            rows += _rows(f"nightly --jobs {j}", n, res, base)
    table = pd.DataFrame(rows)
    if args.markdown:
        flat = table.fillna("")
        print("| " + " | ".join(flat.columns) + " |")
        print("|" + "---|" * len(flat.columns))
        for r in flat.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in r) + " |")
    else:
        print(table.to_string(index=False))


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
