"""The randomised cell's average lifts per action, at several reward windows.

Usage::

    python benchmarks/cell_lifts.py [--loans 20000] [--seeds 505] [--horizons 30,180]
        [--scenario default|cause_driven|FILE]

For each seed: simulate a lender from 2023-01-01 to 2024-06-30, take the randomised
cell's decisions (``logged_decisions``) whose longest window ends by then, and print each
action's pooled uplift in the share of the arrears over no action (``ArrearsRule``'s
Hajek IPW estimate, with its standard error) for every window, and the balance of the
randomised rows below DPD 30: rows, mean DPD, overdue amount and the share of cards per
action. A randomised cell gives every action the same mix of accounts; a mix that differs
between "none" and the actions is a defect of the decision rows, not an effect.
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd

import overdue_risk as odr
from overdue_risk.prioritise import ArrearsRule, logged_decisions

START = pd.Timestamp("2024-07-01")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=20_000)
    ap.add_argument("--seeds", default="505")
    ap.add_argument("--horizons", default="30,180")
    ap.add_argument("--scenario", default="default")
    args = ap.parse_args()
    scenario = odr.Scenario.load(None if args.scenario == "default" else args.scenario)
    evening = START - pd.Timedelta(days=1)
    horizons = [int(h) for h in args.horizons.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", odr.DataQualityWarning)  # loans not yet due
            portfolio, _ = odr.simulate_portfolio(
                args.loans, "2023-01-01", evening, seed=seed, scenario=scenario
            )
            portfolio = odr.validate(portfolio)
        for h in horizons:
            d = logged_decisions(
                portfolio,
                "2023-03-01",
                evening - pd.Timedelta(days=max(horizons) - 1),
                horizon_days=h,
                data_end=evening,
            )
            lifts = ArrearsRule(z=1.0, min_rows=50).fit(d).pooled_lifts_
            print(f"\n### {args.scenario} world, seed {seed}, {h}-day window: {len(d):,} rows\n")
            print(lifts[["action", "estimate", "se", "rows", "rows_none", "base"]].round(4))
            if h == horizons[0]:
                low = d[(d["dpd"] < 30) & ~((d["action"] == "none") & (d["propensity"] >= 1))]
                mix = low.assign(
                    card=low["product_type"].astype(str) == "revolving",
                    action=low["action"].astype(str),
                ).groupby("action")
                print("\nRandomised rows below DPD 30, by action:\n")
                print(
                    mix.agg(
                        rows=("dpd", "size"),
                        dpd=("dpd", "mean"),
                        overdue=("overdue_amount", "mean"),
                        cards=("card", "mean"),
                    ).round(3)
                )


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
