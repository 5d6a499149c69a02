"""The Spark engine against the pandas engine: wall time, peak memory, Spark's overhead.

Usage::

    python benchmarks/spark.py [--loans 250000] [--jobs 1,2] [--master local[2]]
        [--repeats 3] [--chunk-customers 100000] [--work DIR] [--markdown]

Prepares the book and the two models as ``benchmarks/nightly.py`` does (a training
book of 20,000 loans, seed 11; the scored book, seed 12, written as Parquet under
``--work``), then runs, each in a fresh subprocess so that its peak memory is its own,
``--repeats`` times:

* ``pandas --jobs J``: :func:`overdue_risk.workflows.run_nightly` (the baseline);
* ``spark MASTER``: :func:`overdue_risk.engines.spark.run_nightly` on a new local
  session, then, in the same process, a no-op ``applyInPandas`` over the same tagged
  union (one row out per chunk): what reading, joining, shuffling and handing the book to
  Python workers costs without the chunk function.

Prints per run the median (and min, max) wall seconds and peak RSS: the driver process
(``ru_maxrss``), the JVM (its ``VmHWM`` read from ``/proc`` before the session stops),
the workers (their own ``ru_maxrss``, which each chunk reports). For Spark, the split of
the wall time: JVM start, planning on the driver, the chunks stage (and within it the
chunk function's own seconds, summed over chunks, and the decoding of the union's rows),
the no-op job, the collection of the report's columns and the scores' write.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nightly import AS_OF, _child_nightly, _prepare

PARTS = ("read", "validate", "route", "score", "explain", "account state")


def _descendants() -> tuple[float, float]:
    """The peak RSS (MB) of the Spark JVM (this process's Java child) and the CPU seconds of
    every process below this one (the JVM, pyspark's daemon and its Python workers), from
    /proc: each live process's own and its reaped children's."""
    parent, status = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            text = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        parent[int(pid)] = int(fields["PPid"])
        status[int(pid)] = (fields, stat)
    below, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - below
        below |= frontier
    tick = os.sysconf("SC_CLK_TCK")
    peak = cpu = 0.0
    for pid in below:
        fields, stat = status[pid]
        cpu += sum(int(x) for x in stat[11:15]) / tick
        if parent[pid] == os.getpid() and "java" in fields["Name"]:
            peak = max(peak, int(fields["VmHWM"].split()[0]) / 1024)
    return peak, cpu


def _child_spark(work: Path, loans: int, master: str, per_chunk: int) -> dict:
    from overdue_risk.engines.spark import run_nightly, spark_session
    from overdue_risk.engines.spark._compat import quiet, temporary_conf
    from overdue_risk.engines.spark._run import SETTINGS, _folders
    from overdue_risk.engines.spark._union import (
        chunk_maps,
        partition_keys,
        read_layout,
        tagged_union,
    )

    t0 = time.perf_counter()
    # One JVM holds the driver and the executor in local mode: the chunk map, the shuffle's
    # blocks and the persisted output.
    spark = spark_session(master, **{"spark.ui.enabled": "false", "spark.driver.memory": "4g"})
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_nightly(
            [work / "ew", work / "cure"],
            work / f"book_{loans}",
            AS_OF,
            "default",
            out=work / f"run_spark_{loans}",
            force=True,
            chunk_customers=per_chunk,
            spark=spark,
        )
    wall = time.perf_counter() - t0
    jvm_peak, below_cpu = _descendants()  # before the no-op job below
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # The same union, with a chunk function that does nothing: Spark's own share.
    from overdue_risk.adapters import open_source

    with warnings.catch_warnings(), quiet(), temporary_conf(spark, SETTINGS):
        warnings.simplefilter("ignore")
        t1 = time.perf_counter()
        source = open_source(work / f"book_{loans}")
        plan = source.plan(per_chunk)
        layout, frames = read_layout(spark, _folders(source))
        maps = chunk_maps(spark, plan, partition_keys(spark, len(plan)))
        union = tagged_union(layout, frames, *maps, len(plan), plan.n_loans)

        def noop(key, rows):
            return pd.DataFrame({"rows": [len(rows)]})

        union.groupBy("__part", "__chunk").applyInPandas(noop, "rows long").collect()
        noop_s = time.perf_counter() - t1
    timings = run.manifest["timings"]
    out = {
        "wall_s": wall,
        "session_s": session_s,
        "noop_s": noop_s,
        "scored": run.manifest["rows"]["scored"],
        "chunks": run.manifest["chunks"],
        "stages": timings,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jvm_peak_rss_mb": jvm_peak,
        # This process, and every process below it (the JVM, the Python workers).
        "cpu_s": usage.ru_utime + usage.ru_stime + below_cpu,
        "workers_peak_rss_mb": timings["chunks"]["workers_peak_rss_mb"],
    }
    spark.stop()
    return out


def _in_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def _cpu(run: dict) -> float:
    """CPU seconds of a run: for Spark, the driver's and every process's below it; for the
    pandas engine, its stages' (this process, and its workers as they report it)."""
    if "cpu_s" in run:
        return run["cpu_s"]
    return sum(t.get("cpu_s", 0.0) for t in run["stages"].values())


def _summary(label: str, runs: list[dict]) -> dict:
    row = {
        "run": label,
        "runs": len(runs),
        "wall_s": _spread([r["wall_s"] for r in runs]),
        "cpu_s": _spread([_cpu(r) for r in runs]),
        "loans_per_s": round(statistics.median(r["scored"] / r["wall_s"] for r in runs)),
        "driver_peak_mb": _spread([r["peak_rss_mb"] for r in runs]),
        "jvm_peak_mb": _spread([r.get("jvm_peak_rss_mb", 0.0) for r in runs]),
        "workers_peak_mb": _spread([r["workers_peak_rss_mb"] for r in runs]),
    }
    return row


def _split(runs: list[dict]) -> pd.DataFrame:
    """Where a Spark run's wall time goes (median over the runs)."""

    def med(f) -> float:
        return round(statistics.median(f(r) for r in runs), 1)

    def stage(name):
        return lambda r: r["stages"].get(name, {}).get("wall_s", 0.0)

    def parts(names):
        return lambda r: sum(stage(f"{p} (within chunks)")(r) for p in names)

    rows = [
        ("JVM start (new session)", med(lambda r: r["session_s"])),
        ("check (models loaded, arguments)", med(stage("check"))),
        ("plan (keys read, chunks cut, union built)", med(stage("plan"))),
        (
            "chunks (Spark job: scan, join, shuffle, Arrow, chunk function, collect)",
            med(stage("chunks")),
        ),
        ("  chunk function, summed over chunks (validate..account state)", med(parts(PARTS[1:]))),
        ("  union rows decoded to each chunk's tables, summed", med(parts(PARTS[:1]))),
        (
            "  no-op job over the same union (scan, join, shuffle, Arrow, workers)",
            med(lambda r: r["noop_s"]),
        ),
        ("collect (report's columns to the driver)", med(stage("collect"))),
        ("prioritise (driver)", med(stage("prioritise"))),
        ("render", med(stage("render"))),
        ("publish", med(stage("publish"))),
        ("  scores written by Spark", med(stage("write scores (within publish)"))),
        ("total wall", med(lambda r: r["wall_s"])),
    ]
    return pd.DataFrame(rows, columns=["part", "wall_s"])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, work, loans = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        if kind == "spark":
            out = _child_spark(work, loans, sys.argv[5], int(sys.argv[6]))
        else:
            out = _child_nightly(work, loans, int(sys.argv[5]), int(sys.argv[6]))
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=250_000)
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunk-customers", type=int, default=100_000)
    ap.add_argument("--train-loans", type=int, default=20_000)
    ap.add_argument("--work", default=os.path.join("/tmp", "overdue-risk-bench-spark"))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    _prepare(work, [args.loans], args.train_loans)
    n, per = str(args.loans), str(args.chunk_customers)
    results: dict[str, list[dict]] = {}
    for _ in range(args.repeats):  # interleaved: a slow spell of the machine hits every run
        for j in args.jobs.split(","):
            results.setdefault(f"pandas --jobs {j}", []).append(
                _in_child("nightly", str(work), n, j, per)
            )
        results.setdefault(f"spark {args.master}", []).append(
            _in_child("spark", str(work), n, args.master, per)
        )
        (work / "results.json").write_text(json.dumps(results, indent=1))  # so far
    table = pd.DataFrame([_summary(label, runs) for label, runs in results.items()])
    split = _split(results[f"spark {args.master}"])
    spark_run = results[f"spark {args.master}"][0]
    print(f"{args.loans:,} loans, {spark_run['scored']:,} scored, {spark_run['chunks']} chunks")
    for frame in (table, split):
        if args.markdown:
            flat = frame.fillna("")
            print("| " + " | ".join(flat.columns) + " |")
            print("|" + "---|" * len(flat.columns))
            for r in flat.itertuples(index=False):
                print("| " + " | ".join(str(v) for v in r) + " |")
            print()
        else:
            print(frame.to_string(index=False))
    (work / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
