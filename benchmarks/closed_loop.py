"""Collection policies run every day for weeks inside the simulator (closed loop).

Usage::

    python benchmarks/closed_loop.py [--loans 20000] [--seeds 202,303] [--days 60]
        [--paths 2] [--oracle-paths 8] [--oracle-horizon 30] [--strategy default] [--markdown]
        [--value-horizon 30] [--run-off 0]
        [--value-seeds 0,1,2] [--scenario default|cause_driven|FILE]

For each seed: simulate a lender from 2023-01-01 to the evening before --start, learn
the prioritiser's value model (a ShrunkUplift, as learn_value_model fits it, once per
--value-seeds entry), the response model alone and the arrears rule's lifts from the randomised
cell's decisions whose 30-day horizon ended by then (no risk score: the closed loop has
no nightly scoring of the running book), and run every policy every day for --days
days from that state (docs/prioritise.md, "Closed-loop evaluation"): the prioritiser,
the estimated and the stated arrears rule, the ladder heuristics, the logged policy, no
action and the daily one-step oracle, on the same random draws. Capacities are the
strategy's per 10,000 loans of the book (the default profile: calls 180, visits 24,
restructuring offers 12, legal actions 6 a day); costs are the simulator's
(restructuring offers cost 15). Prints the table, the first morning valued by the
oracle, and the time each policy took. The response model's settings were chosen on
seed 101 only (benchmarks/value_model.py); report seeds other than 101.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import overdue_risk as odr
from overdue_risk.exceptions import ModelError
from overdue_risk.policy_eval import closed_loop_comparison
from overdue_risk.prioritise import (
    ArrearsRule,
    ResponseModel,
    ShrunkUplift,
    capacity_shares,
    logged_decisions,
)

HORIZON = 30  # days of the value model's reward
SHOWN = [
    "recovered",
    "cost",
    "net",
    "net_vs_none",
    "share_of_oracle",
    "cures",
    "cured_by_end",
    "contacts_per_account",
    "complaints",
    "opt_outs",
    "harsh_per_cure",
    "n_sms",
    "n_call",
    "n_visit",
    "n_restructure",
    "n_legal",
    "rule_violations",
    "over_capacity",
]


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional tabulate)."""
    flat = df.reset_index()
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |"]
    lines.append("|" + "---|" * len(flat.columns))
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def learn(
    portfolio: odr.Portfolio,
    start: pd.Timestamp,
    value_seeds: list[int],
    strategy,
    horizon: int = HORIZON,
) -> dict:
    """The value models, from the randomised decisions whose horizon ended before ``start``:
    the prioritiser as ``learn_value_model`` fits it (a ShrunkUplift) once per seed, the
    response model alone, and the arrears rule with estimated lifts."""
    evening = start - pd.Timedelta(days=1)
    history = logged_decisions(
        portfolio,
        pd.Timestamp("2023-03-01"),
        evening - pd.Timedelta(days=horizon - 1),
        horizon_days=horizon,
        data_end=evening,
    )
    counts = history["action"].astype(str).value_counts()
    known = [a for a in counts.index if counts[a] >= 200]
    shares = capacity_shares(strategy, portfolio, start)  # as learn_value_model with a strategy
    models = {
        "prioritiser" if i == 0 else f"prioritiser_seed{k}": ShrunkUplift(
            capacity=shares, random_state=k
        ).fit(history)
        for i, k in enumerate(value_seeds)
    }
    models["response_model"] = ResponseModel(actions=known).fit(history)
    try:
        models["arrears_rule_estimated"] = ArrearsRule().fit(history)
    except ModelError as exc:
        print(f"arrears_rule_estimated is not compared: {exc}")
    return models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=20_000)
    ap.add_argument("--seeds", default="202")
    ap.add_argument("--start", default="2024-07-01")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--paths", type=int, default=2)
    ap.add_argument("--oracle-paths", type=int, default=8)
    ap.add_argument("--oracle-horizon", type=int, default=HORIZON)
    ap.add_argument(
        "--value-horizon",
        type=int,
        default=HORIZON,
        help="days of the value models' reward (30); a longer one sees restructuring pay",
    )
    ap.add_argument(
        "--run-off",
        type=int,
        default=0,
        help="days every policy's world runs on after the decisions, under the logged policy, "
        "so that what each leaves owed is counted (0: none)",
    )
    ap.add_argument("--strategy", default="default", help="a profile name or a TOML file")
    ap.add_argument(
        "--scenario",
        default="default",
        help="the simulator's world: 'default', a preset ('cause_driven') or a scenario TOML",
    )
    ap.add_argument(
        "--value-seeds",
        default="0,1,2",
        help="random seeds of the prioritiser's value model: one row each, the first the default",
    )
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    start = pd.Timestamp(args.start)
    scenario = odr.Scenario.load(None if args.scenario == "default" else args.scenario)
    strategy = odr.Strategy.load(args.strategy).replace(actions={"restructure": {"cost": 15.0}})
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", odr.DataQualityWarning)  # loans not yet due
            portfolio, truth = odr.simulate_portfolio(
                args.loans,
                "2023-01-01",
                start - pd.Timedelta(days=1),
                seed=seed,
                scenario=scenario,
            )
            portfolio = odr.validate(portfolio)
        seeds = [int(k) for k in args.value_seeds.split(",")]
        models = learn(portfolio, start, seeds, strategy, args.value_horizon)
        learned = time.perf_counter() - t0
        result = closed_loop_comparison(
            truth,
            start,
            strategy=strategy,
            days=args.days,
            policies=models,
            n_paths=args.paths,
            seed=seed,
            oracle_paths=args.oracle_paths,
            oracle_horizon_days=args.oracle_horizon,
            run_off_days=args.run_off,
        )
        seconds = time.perf_counter() - t0
        print(
            f"\n### {args.scenario} world, seed {seed}: {args.loans:,} loans "
            f"(book {result.book:,} open at the start), "
            f"{args.days} days from {start.date()} (+{args.run_off} of run-off), "
            f"{args.paths} paths; "
            f"{seconds:.0f} s ({learned:.0f} s to simulate and learn)\n"
        )
        print("capacities per day and path:", result.capacities)
        shown = (["net_in_window"] if args.run_off else []) + SHOWN
        table = result.table()[shown].round(3)
        print(markdown(table) if args.markdown else table.to_string())
        step = result.one_step().round(2)
        print("\nFirst morning, valued by the oracle's look-ahead (per path):\n")
        print(markdown(step) if args.markdown else step.to_string())
        timing = pd.Series(result.seconds, name="seconds").round(1)
        print("\nSeconds per policy:", timing.to_dict())
        ours = table.loc[table.index.str.startswith("prioritiser"), "net_vs_none"]
        rules = [
            r
            for r in ("arrears_rule", "arrears_rule_estimated", "highest_dpd", "highest_balance")
            if r in table.index
        ]
        best = table.loc[rules, "net_vs_none"].idxmax()
        ratio = ours / table.loc[best, "net_vs_none"]
        share = table.loc[ours.index, "share_of_oracle"]
        print(
            f"prioritiser / best rule ({best}) over {len(ours)} value-model seeds: min "
            f"{ratio.min():.3f}, median {ratio.median():.3f}, max {ratio.max():.3f}; share of "
            f"the oracle: min {share.min():.3f}, median {share.median():.3f}, max "
            f"{share.max():.3f}"
        )
        followers = table.drop(index="logged", errors="ignore")
        print(
            "rule violations and over-capacity actions (all but logged): "
            f"{int(followers['rule_violations'].sum())}, {int(followers['over_capacity'].sum())}"
        )


if __name__ == "__main__":
    pd.set_option("display.width", 250)
    main()
