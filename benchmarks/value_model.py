"""How well response models rank accounts for each action, against the simulator's truth.

Usage::

    python benchmarks/value_model.py [--loans 50000] [--seed 101]

Simulates a lender (seed 101 is the tuning seed: the ResponseModel defaults were
chosen here, and policy figures are reported on other seeds), fits response models
on the randomised cell's decisions observed before 2024-09-02, and compares their
predicted net value of a call and a visit on 2024-09-02 with the truth
(``SimulationTruth.action_response``, 100 paths). For each model: the correlation
with the true net value, and the true value captured by its top k accounts
(k = the policy benchmark's capacity: 900 calls, 120 visits at 50,000 loans) as a
share of the true top k chosen on independent Monte Carlo futures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import overdue_risk as odr
from overdue_risk.contract import cut_portfolio, validate
from overdue_risk.prioritise import DEFAULT_FEATURES, account_state, logged_decisions

ACTIONS = ["none", "sms", "call", "visit", "restructure", "legal"]
COST = {"call": 1.5, "visit": 25.0}
CONFIGS = [
    ("t", 50, 15),
    ("t", 200, 15),
    ("t", 1000, 7),
    ("s", 200, 15),
    ("s", 500, 15),
    ("s", 1000, 15),
    ("s", 0.01, 15),
    ("s", 2000, 7),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument(
        "--levels",
        action="store_true",
        help="only the level of recovery of no action against the truth, by DPD band",
    )
    args = ap.parse_args()
    date = pd.Timestamp("2024-09-02")
    evening = date - pd.Timedelta(days=1)
    portfolio, truth = odr.simulate_portfolio(
        args.loans, "2023-01-01", "2024-10-02", seed=args.seed
    )
    portfolio = validate(portfolio)
    tab = truth.action_response(evening, actions=ACTIONS, n_paths=100)
    other = truth.action_response(
        evening, actions=ACTIONS, n_paths=100, seed=truth.seed + 1_000_003
    )
    state = account_state(odr.Strategy(), cut_portfolio(portfolio, evening), date)
    ids = state.index.astype(str)
    keep = ids.isin(tab.index.get_level_values("loan_id"))
    state, ids = state[keep], ids[keep]
    history = logged_decisions(
        portfolio, "2023-03-01", evening - pd.Timedelta(days=29), data_end=evening
    )
    counts = history["action"].astype(str).value_counts()
    known = [a for a in counts.index if counts[a] >= 200]

    def gain(t: pd.DataFrame) -> pd.DataFrame:
        net = (t["expected_amount"] - t["cost"]).unstack("action")[ACTIONS].reindex(ids)
        return net[ACTIONS[1:]].sub(net["none"], axis=0)

    true, seen = gain(tab), gain(other)
    k = {"call": round(0.018 * args.loans), "visit": round(0.0024 * args.loans)}
    print(f"{len(ids):,} overdue accounts on {date.date()}; decisions: {counts.to_dict()}")
    rows = []

    def score(name: str, predicted: dict[str, np.ndarray], seconds: float) -> None:
        row = {"model": name, "seconds": round(seconds, 1)}
        for a in ("call", "visit"):
            pred, t = predicted[a], true[a].to_numpy()
            best = t[np.argsort(-seen[a].to_numpy(), kind="stable")[: k[a]]].sum()
            got = t[np.argsort(-pred, kind="stable")[: k[a]]].sum()
            row[f"{a}_corr"] = round(float(np.corrcoef(pred, t)[0, 1]), 3)
            row[f"{a}_top{k[a]}_share"] = round(float(got / best), 3)
        rows.append(row)

    if args.levels:
        print(levels(history, known, state, tab, ids).to_string())
        return
    for learner, leaf, leaves in CONFIGS:
        t0 = time.perf_counter()
        model = odr.ResponseModel(
            actions=known, learner=learner, min_child_samples=leaf, num_leaves=leaves
        ).fit(history)
        up = model.uplift(state)
        predicted = {a: up[a].to_numpy() - COST[a] for a in ("call", "visit")}
        score(
            f"{learner}-learner, leaf {leaf}, {leaves} leaves", predicted, time.perf_counter() - t0
        )
    for column in ("overdue_amount", "balance", "dpd"):
        values = state[column].to_numpy(dtype=np.float64)
        score(f"rank by {column}", {"call": values, "visit": values}, 0.0)
    print(pd.DataFrame(rows).to_string(index=False))


def levels(history, known, state, tab, ids) -> pd.DataFrame:
    """Mean predicted and true recovery with no action, by DPD band and legal action.

    The default model against the same model without ``legal_started``, which
    leaves out the rows after legal action and extrapolates to those states.
    """
    truth = tab["expected_amount"].unstack("action")["none"].reindex(ids).to_numpy()
    without = [c for c in DEFAULT_FEATURES if c != "legal_started"]
    default = odr.ResponseModel(actions=known).fit(history).predict(state)["none"]
    plain = odr.ResponseModel(actions=known, features=without).fit(history).predict(state)["none"]
    frame = pd.DataFrame(
        {
            "dpd": pd.cut(state["dpd"], [0, 30, 60, 90, 180, 365, 10_000]),
            "legal_started": state["legal_started"].to_numpy(),
            "accounts": 1,
            "truth": truth,
            "default": default.to_numpy(),
            "without_legal_started": plain.to_numpy(),
        }
    )
    keys = ["dpd", "legal_started"]
    out = frame.groupby(keys, observed=True).agg(
        accounts=("accounts", "sum"),
        truth=("truth", "mean"),
        default=("default", "mean"),
        without_legal_started=("without_legal_started", "mean"),
    )
    total = frame.drop(columns=keys).agg(
        {"accounts": "sum", "truth": "mean", "default": "mean", "without_legal_started": "mean"}
    )
    out.loc[("all", ""), :] = total.to_numpy()
    return out.round(1)


if __name__ == "__main__":
    main()
