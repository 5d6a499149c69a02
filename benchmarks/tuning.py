"""Hyperparameter search over RiskModel in parallel: threads per fit, and wall time.

Usage::

    python benchmarks/tuning.py [--loans 5000] [--seed 101] [--repeats 3] [--markdown]

Simulates ``--loans`` loans over 2023-01-01 .. 2024-12-31 (default scenario),
builds the ``dpd30_90d`` training set at the month ends 2023-04-30 .. 2024-09-30
(every feature family), and runs scikit-learn's ``GridSearchCV`` over a small
grid (learning rate 0.05 or 0.1 x 7 or 15 leaves, ``--n-estimators`` rounds,
AUC) with ``AsOfSplit(n_splits=3, horizon=90, test_dates=1)``, in four
configurations, interleaved in each of ``--repeats`` rounds so that they share
the machine's load:

* ``n_jobs=1``, ``RiskModel()``: sequential, each fit on RiskModel's default
  threads (every core, when ``OMP_NUM_THREADS`` is not set);
* ``n_jobs=2``, ``RiskModel(n_jobs=<cores>)``: two joblib workers, each fit
  on every core, which is what ``RiskModel()`` did in a worker before it read
  the OpenMP limit joblib sets there;
* ``n_jobs=2``, ``RiskModel()``: two workers, each fit on the worker's share;
* ``n_jobs=1``, ``RiskModel(n_jobs=1)``: sequential on one thread.

Each line gives the threads a fit uses (asked of ``RiskModel`` itself, in the
main process or in a joblib worker) and the wall time, median [min .. max]
over the repeats; the best score must be the same in every configuration (the
fits are deterministic).

Run it without ``OMP_NUM_THREADS`` in the environment: joblib passes the
parent's value to its workers, and the point is what happens without it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import joblib
import lightgbm
import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import GridSearchCV

import overdue_risk as odr

START, END = "2023-01-01", "2024-12-31"
DATES = [d.strftime("%Y-%m-%d") for d in pd.date_range("2023-04-30", "2024-09-30", freq="ME")]
GRID = {"learning_rate": [0.05, 0.1], "num_leaves": [7, 15]}


def threads(model_threads: int | None) -> int:
    """The thread count one RiskModel fit would give LightGBM here."""
    return odr.RiskModel(n_jobs=model_threads)._lgb_params(None)["num_threads"]


def machine() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    return (
        f"{cores} cores, Python {platform.python_version()}, lightgbm {lightgbm.__version__}, "
        f"scikit-learn {sklearn.__version__}, joblib {joblib.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-estimators", type=int, default=100)
    ap.add_argument("--markdown", action="store_true", help="the table in Markdown")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    portfolio, _ = odr.simulate_portfolio(args.loans, START, END, seed=args.seed)
    frame = odr.build_training_set(portfolio, DATES, "dpd30_90d")
    X, y = frame.drop(columns="label"), frame["label"]
    print(
        f"{args.loans:,} loans, seed {args.seed}: {len(X):,} rows x {X.shape[1]} features at "
        f"{len(DATES)} month ends, built in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    cv = odr.AsOfSplit(n_splits=3, horizon=90, test_dates=1)
    cores = len(os.sched_getaffinity(0))
    configs = [(1, None), (2, cores), (2, None), (1, 1)]  # (search n_jobs, RiskModel n_jobs)
    times: dict[tuple, list[float]] = {c: [] for c in configs}
    best = set()
    for r in range(args.repeats):
        for jobs, model_threads in configs:
            model = odr.RiskModel(n_estimators=args.n_estimators, n_jobs=model_threads)
            search = GridSearchCV(model, GRID, cv=cv, scoring="roc_auc", n_jobs=jobs)
            t = time.perf_counter()
            search.fit(X, y)
            times[jobs, model_threads].append(time.perf_counter() - t)
            best.add((round(float(search.best_score_), 12), str(search.best_params_)))
            print(
                f"  repeat {r + 1}, n_jobs={jobs}, RiskModel(n_jobs={model_threads}): "
                f"{times[jobs, model_threads][-1]:.1f} s",
                flush=True,
            )
    fits = len(GRID["learning_rate"]) * len(GRID["num_leaves"]) * cv.get_n_splits()
    base = statistics.median(times[1, None])
    rows = []
    for jobs, model_threads in configs:
        ts = times[jobs, model_threads]
        if jobs == 1:
            per_fit = threads(model_threads)
        else:
            per_fit = joblib.Parallel(n_jobs=jobs)(
                joblib.delayed(threads)(model_threads) for _ in range(jobs)
            )[0]
        rows.append(
            (
                jobs,
                f"RiskModel(n_jobs={model_threads})",
                per_fit,
                f"{statistics.median(ts):.1f} [{min(ts):.1f} .. {max(ts):.1f}]",
                f"{statistics.median(ts) / base:.2f}",
            )
        )
    heads = ("search n_jobs", "model", "threads per fit", "wall s, median [min .. max]", "ratio")
    print(
        f"\nGridSearchCV, {fits} fits of {args.n_estimators} rounds, {args.repeats} repeats "
        "(ratio: to the first line):\n"
    )
    if args.markdown:
        print("| " + " | ".join(heads) + " |\n|---:|---|---:|---:|---:|")
        for row in rows:
            print("| " + " | ".join(map(str, row)) + " |")
    else:
        for row in rows:
            print("  ".join(f"{h}: {v}" for h, v in zip(heads, row, strict=True)))
    print(f"\nbest score and parameters identical across runs: {len(best) == 1} ({sorted(best)})")
    print(f"total {time.perf_counter() - t0:.0f} s")
    np.testing.assert_(len(best) == 1, "the search gave different results")


if __name__ == "__main__":
    main()
