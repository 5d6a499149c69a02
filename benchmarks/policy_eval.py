"""Collection policies compared on the simulator's truth, at equal capacity.

Usage::

    python benchmarks/policy_eval.py [--loans 50000] [--seeds 202,303] [--paths 100] [--markdown]
        [--ceiling-dates 2024-06-17,...|none] [--ope-dates window|none|2024-09-02,...]
        [--value-seeds 0,1,2,3,4]

For each seed: simulate a lender over 2023-01-01 .. (last date + 30 days), learn the
risk model and the prioritiser's value model (a ShrunkUplift, as learn_value_model
fits it, once per --value-seeds entry) from data dated before the first decision date,
and compare the prioritiser with the oracle, the ceiling (a model of the
truth's values on the prioritiser's state columns, fitted on four earlier dates), the
response model alone, the three ladder heuristics, the arrears rule (stated and
estimated lifts), the logged policy and no action on each decision date (see
docs/prioritise.md). Capacities
per day scale with the book: calls 1.8%, visits 0.24%, restructuring offers
0.12% and legal actions 0.06% of the loans; SMS unlimited. Costs are the
simulator's. The response model's settings were chosen on seed 101 only
(benchmarks/value_model.py); report seeds other than 101.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import overdue_risk as odr
from overdue_risk.policy_eval import simulated_comparison

DATES = ["2024-09-02", "2024-09-09", "2024-09-16"]
# The ceiling policy learns the truth's values on these earlier dates, whose 30-day
# horizons end before the first decision date.
CEILING_DATES = ["2024-06-17", "2024-07-01", "2024-07-15", "2024-07-29"]
SHARES = {"call": 0.018, "visit": 0.0024, "restructure": 0.0012, "legal": 0.0006}


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional tabulate)."""
    flat = df.reset_index()
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |"]
    lines.append("|" + "---|" * len(flat.columns))
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def strategy(n_loans: int) -> odr.Strategy:
    actions = {a: {"capacity": max(1, round(share * n_loans))} for a, share in SHARES.items()}
    actions["restructure"]["cost"] = 15.0  # the simulator's cost of an offer
    return odr.Strategy().replace(actions=actions)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=50_000)
    ap.add_argument("--seeds", default="202,303")
    ap.add_argument("--dates", default=",".join(DATES))
    ap.add_argument("--paths", type=int, default=100)
    ap.add_argument(
        "--value-seeds",
        default="0,1,2,3,4",
        help="random seeds of the response model: one prioritiser row each, the first the default",
    )
    ap.add_argument(
        "--ope-dates",
        default="window",
        help="dates of the off-policy check besides --dates: 'window' (every day from the "
        "first to the last of --dates: one day has only a few hundred randomised decisions), "
        "'none', or a list",
    )
    ap.add_argument(
        "--ceiling-dates",
        default=",".join(CEILING_DATES),
        help="dates whose truth trains the ceiling policy; 'none' to leave it out",
    )
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    dates = args.dates.split(",")
    ceiling = None if args.ceiling_dates == "none" else args.ceiling_dates.split(",")
    if args.ope_dates == "window":
        ope_dates = [str(d.date()) for d in pd.date_range(min(dates), max(dates))]
    else:
        ope_dates = None if args.ope_dates == "none" else args.ope_dates.split(",")
    shown = [
        "treated",
        "n_sms",
        "n_call",
        "n_visit",
        "n_restructure",
        "n_legal",
        "recovered",
        "cost",
        "net",
        "net_vs_none",
        "share_of_oracle",
        "payers",
        "contacts_per_account",
        "harsh_actions",
        "rule_violations",
    ]
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        comparison, learned = simulated_comparison(
            args.loans,
            dates,
            strategy(args.loans),
            seed=seed,
            n_paths=args.paths,
            ceiling_dates=ceiling,
            ope_dates=ope_dates,
            value_seeds=[int(k) for k in args.value_seeds.split(",")],
        )
        seconds = time.perf_counter() - t0
        table = comparison.table()[shown]
        rules = ["highest_dpd", "highest_balance", "expected_loss", "arrears_rule"]
        rules += [r for r in ("arrears_rule_estimated",) if r in table.index]
        heuristics = table.loc[rules, "net_vs_none"]
        best = heuristics.max()
        ours = table.loc["prioritiser", "net_vs_none"]
        print(f"\n### seed {seed}: {args.loans:,} loans, {len(dates)} dates, {seconds:.0f} s\n")
        fmt = table.round(3)
        print(markdown(fmt) if args.markdown else fmt.to_string())
        print(
            "\nprioritiser / oracle (net against no action): "
            f"{table.loc['prioritiser', 'share_of_oracle']:.3f}; "
            f"prioritiser / best rule ({heuristics.idxmax()}): {ours / best:.3f}; "
            + (
                f"prioritiser / ceiling: {ours / table.loc['ceiling', 'net_vs_none']:.3f}; "
                if ceiling
                else ""
            )
            + "rule violations (all but logged): "
            f"{int(table.drop(index='logged')['rule_violations'].sum())}"
        )
        seeds = table.loc[table.index.str.startswith("prioritiser"), "share_of_oracle"]
        print(
            f"share of the oracle over the value model's {len(seeds)} seeds: "
            f"min {seeds.min():.3f}, median {seeds.median():.3f}, max {seeds.max():.3f}"
        )
        ratio = table.loc[seeds.index, "net_vs_none"] / best
        print(
            f"prioritiser / best rule over the seeds: min {ratio.min():.3f}, "
            f"median {ratio.median():.3f}, max {ratio.max():.3f}"
        )
        ope = comparison.off_policy()
        if ope is not None:
            cols = [
                "n",
                "matched",
                "truth",
                "ipw",
                "snipw",
                "dr",
                "dr_se",
                "dm",
                "ipw_error",
                "dr_error",
                "dm_error",
            ]
            out = ope[cols].round(3)
            print("\nOff-policy value of the prioritiser per logged randomised decision:\n")
            print(markdown(out) if args.markdown else out.to_string())
        counts = learned["decisions"]["action"].astype(str).value_counts()
        print("\nRandomised decisions the value models learned from:", counts.to_dict())
        summary = getattr(learned["value_model"], "summary", None)
        if summary is not None:
            print(summary())


if __name__ == "__main__":
    pd.set_option("display.width", 250)
    main()
