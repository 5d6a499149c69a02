"""Calibration of the portfolio simulator against the targets of its issue.

Usage::

    python benchmarks/simulate_calibration.py [--loans 5000] [--seed 0] [--paths 200]

Simulates ``--loans`` loans over 2023-2024 with the default scenario and
measures, at the month ends of the second year (so that the book has matured):

* DPD 30+ within 90 days among current accounts, realised (from the ledger)
  and true (mean of the truth's probabilities), with the oracle AUC;
* monthly roll rates by bucket, from month-end ledger snapshots;
* the cure rate of 1-29 DPD accounts within a month, under the logged policy
  (ledger) and with no action at all (forward simulation: the true self-cure
  rate);
* the lift and cost of each action: the truth's P(payment within 30 days) for
  every overdue account and action, against no action.

Targets (issue, item 7): DPD 30+ in 90 days among current 3-10%; current to
1-29 a few percent a month; 30-59 to 60-89 30-60%; self-cure of 1-29 40-60%;
lift SMS < call < visit, visits at much higher cost.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd

import overdue_risk as odr
from overdue_risk.simulate import LoggedPolicy, NoAction, simulate_policy
from overdue_risk.simulate._labels import dpd30_labels  # white-box: the simulator's own labels

BUCKETS = ["current", "1-29", "30-59", "60-89", "90+"]


def roll_rates(portfolio, month_ends) -> pd.DataFrame:
    """Share of accounts in each bucket at a month end that are in each bucket a month later."""
    led = odr.Ledger(portfolio).at(month_ends).table()
    led = led[~led["is_closed"]]
    b = led["bucket"].astype(str).unstack("as_of")
    rows = []
    for a, z in itertools.pairwise(month_ends):
        pair = pd.DataFrame({"from": b[pd.Timestamp(a)], "to": b[pd.Timestamp(z)]}).dropna(
            subset=["from"]
        )
        pair["to"] = pair["to"].fillna("closed")
        rows.append(pair)
    pairs = pd.concat(rows)
    return pd.crosstab(pairs["from"], pairs["to"], normalize="index").reindex(BUCKETS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--paths", type=int, default=200)
    ap.add_argument("--scenario", default=None, help="a scenario TOML file")
    args = ap.parse_args()
    scenario = odr.Scenario.from_toml(args.scenario) if args.scenario else odr.Scenario()
    t0 = time.perf_counter()
    portfolio, truth = odr.simulate_portfolio(
        args.loans, "2023-01-01", "2024-12-31", seed=args.seed, scenario=scenario
    )
    print(f"simulated {portfolio} in {time.perf_counter() - t0:.1f} s")
    month_ends = [str(d.date()) for d in pd.date_range("2024-01-31", "2024-12-31", freq="ME")]

    # 1. DPD 30+ within 90 days among current accounts.
    label_dates = month_ends[:9]  # the label needs 90 days of history after the date
    labels = dpd30_labels(portfolio, label_dates)
    true_p = truth.pd_dpd30_90d(label_dates, n_paths=args.paths)
    led = odr.Ledger(portfolio).at(label_dates).table()
    current = led.index[(led["dpd"] == 0) & ~led["is_closed"]]
    cur_labels = labels.reindex(current).dropna()
    joined = true_p.join(labels.rename("label"), how="inner")
    cur_joined = joined.reindex(current).dropna()
    print("\n1. DPD 30+ within 90 days among current accounts (target 3-10%)")
    print(f"   realised (ledger): {cur_labels.mean():.2%} of {len(cur_labels):,} account-months")
    print(
        f"   true (truth mean): {cur_joined['p_dpd30_90d'].mean():.2%}; "
        f"mean MC s.e. {cur_joined['se'].mean():.4f}"
    )
    print(
        f"   all open accounts: realised {joined['label'].mean():.2%}, "
        f"true {joined['p_dpd30_90d'].mean():.2%}"
    )
    from sklearn.metrics import roc_auc_score

    print(
        f"   oracle AUC, current accounts: "
        f"{roc_auc_score(cur_joined['label'], cur_joined['p_dpd30_90d']):.4f}; "
        f"all open: {roc_auc_score(joined['label'], joined['p_dpd30_90d']):.4f}"
    )

    # 2. Roll rates.
    rr = roll_rates(portfolio, month_ends)
    print("\n2. Monthly transitions by bucket (rows: from; share of open accounts)")
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(rr)
    nxt = dict(itertools.pairwise(BUCKETS))
    print(
        "   roll rates: "
        + ", ".join(f"{a} -> {b}: {rr.loc[a].get(b, 0):.1%}" for a, b in nxt.items())
    )
    cured = rr.loc["1-29"].get("current", 0) + rr.loc["1-29"].get("closed", 0)
    print(f"   1-29 current or repaid a month later (logged policy): {cured:.1%}")

    # 3. Cures within 30 days of 1-29 accounts: no action at all (the true
    # self-cure rate) and the logged policy, by forward simulation from the state.
    cures = []
    for d in month_ends[:9:2]:
        start = pd.Timestamp(d) + pd.Timedelta(days=1)
        early = truth.state_at(d).table().query("dpd >= 1 and dpd <= 29").index
        if not len(early):
            continue
        none = simulate_policy(truth, start, 30, NoAction(), loans=early, n_paths=20)
        logged = simulate_policy(
            truth, start, 30, LoggedPolicy(truth.scenario), loans=early, n_paths=20
        )
        cures.append((d, len(early), none.table()["cured"].mean(), logged.table()["cured"].mean()))
    cures = pd.DataFrame(
        cures, columns=["as_of", "accounts_1_29", "self_cure_no_action", "cure_logged_policy"]
    )
    print("\n3. Cure within 30 days of accounts at 1-29 DPD (target self-cure 40-60%)")
    print(cures.to_string(index=False, float_format="{:.3f}".format))

    # 4. Action lift: P(payment within 30 days | action today, logged policy afterwards).
    frames = [truth.action_response(d, n_paths=max(args.paths // 4, 20)) for d in month_ends[:9:2]]
    resp = pd.concat(frames)
    by = resp.reset_index().groupby(["action"], observed=True)
    table = by.agg(
        p_pay=("p_pay", "mean"),
        uplift=("uplift", "mean"),
        expected_amount=("expected_amount", "mean"),
        cost=("cost", "mean"),
    )
    print("\n4. Response by action, all overdue accounts (uplift vs no action; cost over 30 days)")
    print(table.to_string(float_format="{:.4f}".format))
    early = resp.reset_index().query("dpd <= 29").groupby("action", observed=True)["uplift"].mean()
    later = resp.reset_index().query("dpd >= 30").groupby("action", observed=True)["uplift"].mean()
    print("   uplift at 1-29 DPD: " + ", ".join(f"{k} {v:+.3f}" for k, v in early.items()))
    print("   uplift at 30+ DPD: " + ", ".join(f"{k} {v:+.3f}" for k, v in later.items()))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    _ = np


if __name__ == "__main__":
    main()
