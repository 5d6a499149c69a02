"""ArrearsRule: a flat lift times the overdue amount, stated or estimated from a randomised cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from overdue_risk import ArrearsRule, ModelError
from overdue_risk.prioritise import ARREARS_LIFTS

TRUE_LIFT = {"sms": 0.0, "call": 0.08, "visit": 0.20}
BASE = 0.30


def cell(n: int = 40_000, seed: int = 0, *, confounded: bool = False) -> pd.DataFrame:
    """A randomised cell with known lifts in the share of arrears recovered.

    With ``confounded``, accounts of DPD 60+ (which recover less) are given
    calls with probability 0.7 instead of 0.1: a plain difference in means is
    then biased, and weighting by 1 / propensity is not.
    """
    rng = np.random.default_rng(seed)
    dpd = rng.integers(1, 120, n)
    late = dpd >= 60
    actions = np.array(["none", "sms", "call", "visit"])
    p_call = np.where(confounded & late, 0.7, 0.1)
    rest = (1 - p_call) / 3
    probs = np.column_stack([rest, rest, p_call, rest])
    pick = (rng.random(n)[:, None] > probs.cumsum(axis=1)).sum(axis=1)
    action = actions[pick]
    propensity = probs[np.arange(n), pick]
    amount = rng.uniform(50, 2000, n)
    lift = np.select([action == a for a in TRUE_LIFT], list(TRUE_LIFT.values()), 0.0)
    share = BASE - 0.2 * late + lift + rng.normal(0, 0.3, n)
    return pd.DataFrame(
        {
            "dpd": dpd,
            "overdue_amount": amount,
            "action": pd.Categorical(action),
            "propensity": propensity,
            "reward_amount": np.maximum(share, 0) * amount + 0.0,
            "product_type": np.where(rng.random(n) < 0.5, "instalment", "revolving"),
        }
    )


def exact_lifts(frame: pd.DataFrame) -> dict[str, float]:
    """The true lifts under the clipping at 0 of the simulated shares (Monte Carlo, big n)."""
    big = cell(400_000, seed=99)
    share = big["reward_amount"] / big["overdue_amount"]
    none = share[big["action"] == "none"].mean()
    return {a: share[big["action"] == a].mean() - none for a in TRUE_LIFT}


def test_stated_lifts_value_each_action_at_its_share_of_the_arrears():
    state = pd.DataFrame({"overdue_amount": [100.0, 250.0, 0.0]})
    rule = ArrearsRule({"call": 0.05, "visit": 0.15})
    up = rule.uplift(state)
    assert up["call"].tolist() == [5.0, 12.5, 0.0]
    assert up["visit"].tolist() == [15.0, 37.5, 0.0]
    levels = rule.predict(state)
    assert levels["none"].tolist() == [0.0, 0.0, 0.0]
    assert (levels["call"] - levels["none"]).tolist() == up["call"].tolist()
    assert not rule.causal and up.attrs["causal"] is False


def test_the_default_lifts_never_restructure_or_go_to_law():
    up = ArrearsRule().uplift(pd.DataFrame({"overdue_amount": [1000.0]}))
    assert set(up.columns) == set(ARREARS_LIFTS) == {"sms", "call", "visit"}
    assert up.iloc[0].tolist() == [1000.0 * ARREARS_LIFTS[a] for a in up.columns]


@pytest.mark.parametrize("estimator", ["ipw", "difference"])
def test_estimated_lifts_recover_the_truth_of_a_randomised_cell(estimator):
    rule = ArrearsRule(estimator=estimator).fit(cell())
    table = rule.table().set_index("action")
    truth = exact_lifts(cell())
    for action, lift in truth.items():
        est, se = table.loc[action, ["estimate", "se"]]
        assert abs(est - lift) < 4 * se, (action, est, lift, se)
        assert 0.001 < se < 0.02
    assert rule.causal


def test_an_action_indistinguishable_from_zero_gets_no_lift():
    table = ArrearsRule().fit(cell()).table().set_index("action")
    assert table.loc["sms", "lift"] == 0.0  # true lift 0: no capacity on noise
    for action in ("call", "visit"):
        assert table.loc[action, "lift"] == table.loc[action, "estimate"] > 0
    gated = table["estimate"] - 1.96 * table["se"] <= 0
    assert (table.loc[gated, "lift"] == 0).all()


def test_weighting_by_propensity_removes_the_bias_of_unequal_assignment():
    data = cell(confounded=True)
    truth = exact_lifts(data)["call"]
    ipw = ArrearsRule(estimator="ipw").fit(data).table().set_index("action")
    diff = ArrearsRule(estimator="difference").fit(data).table().set_index("action")
    assert abs(ipw.loc["call", "estimate"] - truth) < 4 * ipw.loc["call", "se"]
    assert diff.loc["call", "estimate"] < truth - 0.05  # late accounts over-represented


def test_lifts_per_segment_and_thin_segments_take_the_overall_estimate():
    data = cell()
    data.loc[data["product_type"] == "revolving", "reward_amount"] *= 0.5
    rule = ArrearsRule(by="product_type", min_rows=50).fit(data)
    t = rule.table().set_index(["segment", "action"])
    assert t.loc[("instalment", "call"), "base"] > t.loc[("revolving", "call"), "base"]
    assert not t["pooled"].any()
    thin = ArrearsRule(by="product_type", min_rows=7_000).fit(data).table()  # segments ~6,000
    assert thin["pooled"].all()
    pooled = ArrearsRule(min_rows=1).fit(data).table().set_index("action")
    for row in thin.itertuples():
        assert row.estimate == pooled.loc[row.action, "estimate"]


def test_dpd_buckets_are_the_ledgers_buckets():
    rule = ArrearsRule(by="dpd_bucket").fit(cell())
    assert set(rule.table()["segment"]) == {"1-29", "30-59", "60-89", "90+"}
    state = pd.DataFrame({"dpd": [5, 95], "overdue_amount": [100.0, 100.0]})
    up = rule.uplift(state)
    t = rule.table().set_index(["segment", "action"])
    assert up.loc[0, "call"] == pytest.approx(100 * t.loc[("1-29", "call"), "lift"])
    assert up.loc[1, "call"] == pytest.approx(100 * t.loc[("90+", "call"), "lift"])


def test_a_segment_the_log_never_showed_takes_the_overall_lift():
    rule = ArrearsRule(by="product_type").fit(cell())
    state = pd.DataFrame({"product_type": ["mortgage"], "overdue_amount": [100.0]})
    overall = rule.pooled_lifts_.set_index("action")["lift"]
    assert rule.uplift(state).loc[0, "call"] == pytest.approx(100 * overall["call"])


def test_row_order_changes_nothing():
    data = cell(5_000)
    shuffled = data.sample(frac=1, random_state=3)
    a = ArrearsRule(by="dpd_bucket").fit(data).table()
    b = ArrearsRule(by="dpd_bucket").fit(shuffled).table()
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    ("rule", "data", "message"),
    [
        (
            ArrearsRule(),
            cell(100).drop(columns="reward_amount"),
            "lacks the column 'reward_amount'",
        ),
        (ArrearsRule(), cell(100).drop(columns="propensity"), "needs the decisions' propensity"),
        (ArrearsRule(by="region"), cell(100), "by='region' is not a column"),
        (ArrearsRule(estimator="ols"), cell(100), "estimator"),
        (ArrearsRule(min_rows=0), cell(100), "min_rows"),
        (ArrearsRule(min_rows=10**6), cell(100), r"rows of no action; .*min_rows=1000000"),
    ],
)
def test_bad_settings_and_data_are_refused(rule, data, message):
    with pytest.raises(ModelError, match=message):
        rule.fit(data)


@pytest.mark.parametrize(
    ("lifts", "message"),
    [({"none": 0.1}, "other than no action"), ({"call": 2.0}, r"lifts\['call'\]"), ({}, "lifts")],
)
def test_bad_stated_lifts_are_refused(lifts, message):
    with pytest.raises(ModelError, match=message):
        ArrearsRule(lifts).uplift(pd.DataFrame({"overdue_amount": [1.0]}))
