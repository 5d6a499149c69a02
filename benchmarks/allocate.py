"""Benchmark of the collection allocation solver on a synthetic overdue book.

Usage::

    python benchmarks/allocate.py [--accounts N] [--actions M] [--seed S] [--repeat R]
                                  [--lp-accounts K] [--all-limited]

Two tables, in markdown, on standard output:

* ``N`` accounts (default 1,000,000): the Lagrangian method and the greedy
  baseline, with each one's certified gap (against its own dual bound);
* ``K`` accounts (default 100,000): the exact LP (HiGHS) against the same two,
  with each one's exact gap against the LP optimum.

Times are wall seconds of ``allocate`` (validation included), the fastest and
the slowest of ``--repeat`` runs (default 3).

The instance: balances are lognormal (median 800); each action's probability
of turning the account into a payer lies in ``[0, 0.3]``, scaled by the
account's responsiveness and the action's strength; the value of a pair is
that probability times the balance times the share recovered, minus the
action's cost (sms 0.05, email 0.01, call 1.5, visit 25, restructure 10,
legal 150). About 70% of pairs are eligible. Calls and visits are limited to
5% and 0.5% of the accounts, the other actions are unlimited (with
``--all-limited``, 2% each: every action then competes). With ``--actions``
above 6, extra actions get random costs and a capacity of 1% of the
accounts. The generator is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import scipy

from overdue_risk.prioritise import allocate

# White-box, on purpose: the LP's size (its competing pairs) is a figure of the
# benchmark, not of an Allocation, and no public helper is worth adding for it.
from overdue_risk.prioritise._allocate import _check_inputs, _reduce

# name, cost, strength (largest response probability), capacity as a share of accounts
ACTIONS = [
    ("sms", 0.05, 0.04, np.inf),
    ("email", 0.01, 0.02, np.inf),
    ("call", 1.5, 0.12, 0.05),
    ("visit", 25.0, 0.30, 0.005),
    ("restructure", 10.0, 0.15, np.inf),
    ("legal", 150.0, 0.25, np.inf),
]
RECOVERED = 0.6  # share of the balance a cured account pays back
ELIGIBLE = 0.7


def make_instance(n: int, m: int = 6, seed: int = 0, all_limited: bool = False):
    """Action names, ``value`` (n x m), ``eligible`` (n x m), ``capacity`` (m): one day."""
    rng = np.random.default_rng(seed)
    spec = list(ACTIONS[:m])
    for k in range(len(spec), m):
        spec.append((f"action{k + 1}", float(rng.uniform(0.5, 50)), 0.2, 0.01))
    names = [s[0] for s in spec]
    cost = np.array([s[1] for s in spec])
    strength = np.array([s[2] for s in spec])
    share = np.array([s[3] for s in spec])
    balance = rng.lognormal(np.log(800.0), 1.0, n)
    responsive = rng.beta(2.0, 3.0, n)  # some accounts answer to anything, some to nothing
    prob = np.minimum(0.3, responsive[:, None] * strength * rng.uniform(0.5, 1.5, (n, m)))
    value = prob * (RECOVERED * balance[:, None]) - cost
    eligible = rng.random((n, m)) < ELIGIBLE
    if all_limited:
        share = np.where(np.isinf(share), 0.02, share)
    capacity = np.where(np.isinf(share), np.inf, np.floor(share * n))
    return names, value, eligible, capacity


def run(value, eligible, capacity, method: str, repeat: int):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = allocate(value, eligible, capacity, method=method)
        times.append(time.perf_counter() - start)
    return result, min(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lp-accounts", type=int, default=100_000)
    parser.add_argument(
        "--all-limited",
        action="store_true",
        help="limit every action (the unlimited ones to 2%% of the accounts): a harder case",
    )
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.actions < 1 or args.repeat < 1 or args.lp_accounts < 0:
        parser.error("--accounts, --actions and --repeat must be >= 1, --lp-accounts >= 0")

    print(
        f"numpy {np.__version__}, scipy {scipy.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}; seed {args.seed}, best and worst of {args.repeat} runs\n"
    )
    names, value, eligible, capacity = make_instance(
        args.accounts, args.actions, args.seed, args.all_limited
    )
    limited = ", ".join(
        f"{n} {int(c):,}" for n, c in zip(names, capacity, strict=True) if np.isfinite(c)
    )
    print(f"### {args.accounts:,} accounts x {args.actions} actions (capacity: {limited})\n")
    print("| method | seconds (best-worst) | objective | upper bound | gap | iterations |")
    print("|---|---|---|---|---|---|")
    for method in ("lagrangian", "greedy"):
        r, best, worst = run(value, eligible, capacity, method, args.repeat)
        print(
            f"| {method} | {best:.2f}-{worst:.2f} | {r.objective:,.0f} | {r.upper_bound:,.0f} "
            f"| {r.gap:.2e} | {r.iterations} |"
        )
    del value, eligible

    if args.lp_accounts:
        k = args.lp_accounts
        names, value, eligible, capacity = make_instance(
            k, args.actions, args.seed + 1, args.all_limited
        )
        print(f"\n### {k:,} accounts x {args.actions} actions: against the LP optimum\n")
        pairs = _reduce(*_check_inputs(value, eligible, capacity)).compete > -np.inf
        print(f"The LP has {np.count_nonzero(pairs):,} variables (competing pairs).\n")
        print("| method | seconds (best-worst) | objective | gap to LP optimum | own gap |")
        print("|---|---|---|---|---|")
        results = {
            m: run(value, eligible, capacity, m, args.repeat)
            for m in ("lp", "lagrangian", "greedy")
        }
        optimum = results["lp"][0].objective
        for method, (r, best, worst) in results.items():
            exact = (optimum - r.objective) / abs(optimum)
            print(
                f"| {method} | {best:.2f}-{worst:.2f} | {r.objective:,.2f} | {exact:.2e} "
                f"| {r.gap:.2e} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
