"""Benchmark of the portfolio simulator: wall time and peak memory.

Usage::

    python benchmarks/simulate.py [--loans 1000000] [--seed 0] [--start 2023-01-01]
                                  [--end 2024-12-31] [--check-bytes]

Times ``simulate_portfolio(N, start, end, seed)`` (two years by default) in a
fresh subprocess, so that the peak RSS (``ru_maxrss``) is the simulator's own,
and reports the phases logged by the library: population, the daily loop, and
building plus validating the tables. ``--check-bytes`` runs it twice more on
a small portfolio and checks that the same seed gives the same Parquet bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time


def _child(loans: int, seed: int, start: str, end: str) -> None:
    import overdue_risk as odr

    records: list[tuple[float, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((time.perf_counter(), record.getMessage()))

    logger = logging.getLogger("overdue_risk.simulate")
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    t0 = time.perf_counter()
    portfolio, _ = odr.simulate_portfolio(loans, start, end, seed=seed)
    wall = time.perf_counter() - t0
    rows = {name: len(df) for name, df in portfolio.tables().items()}
    print(
        json.dumps(
            {
                "wall_s": wall,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": rows,
                "phases": [(round(t - t0, 1), m) for t, m in records],
            }
        )
    )


def _digest(loans: int, seed: int) -> str:
    import overdue_risk as odr

    portfolio, _ = odr.simulate_portfolio(loans, "2023-01-01", "2024-12-31", seed=seed)
    h = hashlib.sha256()
    for name, df in portfolio.tables().items():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        h.update(name.encode() + buf.getvalue())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description="Benchmark simulate_portfolio.")
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", default="2023-01-01")
    ap.add_argument("--end", default="2024-12-31")
    ap.add_argument("--check-bytes", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.loans, args.seed, args.start, args.end)
        return
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--loans",
        str(args.loans),
        "--seed",
        str(args.seed),
        "--start",
        args.start,
        "--end",
        args.end,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"simulate_portfolio({args.loans:,} loans, {args.start} .. {args.end}, seed={args.seed})")
    print(f"  wall time: {res['wall_s']:.1f} s   peak RSS: {res['peak_rss_mb']:,.0f} MB")
    for t, message in res["phases"]:
        print(f"  {t:7.1f} s  {message}")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in res["rows"].items()))
    if args.check_bytes:
        a, b = _digest(2000, args.seed), _digest(2000, args.seed)
        c = _digest(2000, args.seed + 1)
        print(f"same seed, same bytes: {a == b}; another seed differs: {a != c}")
    _ = resource


if __name__ == "__main__":
    main()
