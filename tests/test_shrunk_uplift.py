"""ShrunkUplift: learned uplift shrunk toward each action's average, bagged, weight chosen by DR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from overdue_risk import ModelError, ShrunkUplift
from overdue_risk.prioritise import ArrearsRule, ResponseModel

FEATURES = ["dpd", "overdue_amount", "months_on_book"]
COSTS = {"sms": 0.1, "call": 2.0}


def cell(seed: int, *, loans: int = 3000, days: int = 3, targeted: bool) -> pd.DataFrame:
    """A randomised cell of ``loans`` x ``days`` decisions, a third each none / sms / call.

    SMS never helps. With ``targeted``, a call raises the chance of paying the arrears by
    0.4 in the first 6 months on book and lowers it by 0.2 from 24 months (a per-account
    effect that neither a flat lift nor lifts per DPD bucket can follow); otherwise a
    call adds 0.1 everywhere.
    """
    rng = np.random.default_rng(seed)
    n = loans * days
    loan = np.repeat([f"L{i:05d}" for i in range(loans)], days)
    day = np.tile(pd.date_range("2024-03-01", periods=days), loans)
    dpd = np.repeat(rng.integers(1, 90, loans), days) + np.tile(np.arange(days), loans)
    amount = np.repeat(rng.uniform(100, 600, loans), days)
    age = np.repeat(rng.integers(0, 36, loans), days)
    action = rng.choice(["none", "sms", "call"], n)
    call = action == "call"
    if targeted:
        effect = 0.4 * (call & (age < 6)) - 0.2 * (call & (age >= 24))  # 0 on average
    else:
        effect = 0.1 * call
    # Most of who pays is told by the state (early arrears are paid more often): a model
    # of it removes that noise from the average uplift.
    paid = rng.random(n) < 0.2 + 0.35 * (dpd < 30) + effect  # within [0, 0.95]
    return pd.DataFrame(
        {
            "dpd": dpd,
            "overdue_amount": amount,
            "months_on_book": age,
            "action": pd.Categorical(action),
            "propensity": 1 / 3,
            "cost": np.select([action == "sms", call], [COSTS["sms"], COSTS["call"]], 0.0),
            "reward_amount": np.where(paid, amount, 0.0),
        },
        index=pd.MultiIndex.from_arrays([loan, day], names=["loan_id", "as_of"]),
    )


def model(**kw) -> ShrunkUplift:
    response = ResponseModel(features=FEATURES, n_estimators=60, min_rows=100)
    kw.setdefault("prior_lifts", {})  # the cell alone, unless a test states lifts
    return ShrunkUplift(response=response, n_folds=3, **kw)


@pytest.fixture(scope="module")
def flat() -> tuple[ShrunkUplift, pd.DataFrame]:
    d = cell(1, targeted=False)
    return model().fit(d), d


@pytest.fixture(scope="module")
def targeted() -> tuple[ShrunkUplift, pd.DataFrame]:
    d = cell(2, targeted=True)
    return model().fit(d), d


def test_a_flat_effect_keeps_the_average(flat):
    fitted, d = flat
    # Nothing per account to learn: the least learned weight within one standard error
    # of the best is the average uplift alone, worth lift x arrears.
    assert fitted.shrinkage_ == 0.0
    pooled = fitted.lifts_.query("segment == 'all'").set_index("action")
    est, se = pooled.loc["call", ["estimate", "se"]]
    assert abs(est - 0.1) < 3 * se and se < 0.02
    share = fitted.uplift(d)["call"] / d["overdue_amount"]
    assert share.between(0.04, 0.16).all()  # per DPD bucket, near the true 0.1
    assert not pooled.loc["sms", "distinct"] and (fitted.uplift(d)["sms"] == 0.0).all()


def test_the_augmented_estimate_is_more_precise_than_a_difference_in_means(flat):
    fitted, d = flat
    plain = ArrearsRule().fit(d).table().set_index("action").loc["call", "se"]
    ours = fitted.lifts_.query("segment == 'all' and action == 'call'")["se"].item()
    assert ours < 0.95 * plain


def test_a_targeted_effect_earns_the_learned_part(targeted):
    fitted, d = targeted
    table = fitted.table().set_index("candidate")
    assert fitted.shrinkage_ > 0
    # The chosen weight is worth more than the average alone by more than a standard error.
    average = table.loc["w=0"]
    assert average["vs_chosen"] < -average["se_vs_chosen"]
    # And it follows the effect: the new loans are called, the old ones are not.
    net = fitted.uplift(d)["call"] - COSTS["call"]
    age = d["months_on_book"]
    assert (net[age < 6] > 0).mean() > 0.9 and (net[age >= 24] > 0).mean() < 0.2


def test_without_the_learned_part_an_action_indistinguishable_from_zero_gets_no_value(targeted):
    _, d = targeted
    fixed = model(shrinkage=0.0).fit(d)
    assert fixed.shrinkage_ == 0.0
    pooled = fixed.lifts_.query("segment == 'all'").set_index("action")
    assert not pooled.loc["sms", "distinct"] and not pooled.loc["call", "distinct"]
    assert (fixed.uplift(d.head(200))[["sms", "call"]] == 0.0).all().all()
    assert "(the rule gives no value): ['sms', 'call']" in fixed.summary()


def bagged(fitted: ShrunkUplift, state: pd.DataFrame) -> pd.DataFrame:
    members = [m.predict(state) for m in fitted.members_]
    assert len(members) == 3
    assert len({m.random_state for m in fitted.members_}) == 3  # bagged over seeds
    return sum(members) / 3


def bucket(dpd: np.ndarray) -> np.ndarray:
    return np.select([dpd < 30, dpd < 60, dpd < 90], ["1-29", "30-59", "60-89"], "90+")


def test_the_blend_of_segment_averages_and_bagged_learned_uplift():
    d = cell(1, targeted=False)
    fitted = model(shrinkage=0.5).fit(d)
    state = d.head(300)
    level = bagged(fitted, state)
    # Each bucket's estimate, shrunk toward the pooled one by its precision.
    t = fitted.lifts_.query("action == 'call'").set_index("segment")
    e = t.loc["all", "estimate"]
    t = t.drop(index="all")
    between = max(0.0, t["estimate"].var(ddof=1) - (t["se"] ** 2).mean())
    center = e + between / (between + t["se"] ** 2) * (t["estimate"] - e)
    share = center.reindex(bucket(state["dpd"].to_numpy())).fillna(e).to_numpy()
    rule = share * state["overdue_amount"].to_numpy()
    want = 0.5 * rule + 0.5 * (level["call"] - level["none"]).to_numpy()
    np.testing.assert_allclose(fitted.uplift(state)["call"], want, rtol=1e-12)
    mu = fitted.predict(state)
    np.testing.assert_allclose(mu["none"], level["none"], rtol=1e-12)
    np.testing.assert_allclose(mu["call"] - mu["none"], want, rtol=1e-9)


def test_stated_lifts_are_a_prior_the_cell_updates(flat):
    _, d = flat
    fitted = model(prior_lifts={"call": 0.3, "sms": 0.02}, by=None, shrinkage=0.0).fit(d)
    pooled = fitted.lifts_.set_index("action")
    for action, s in (("call", 0.3), ("sms", 0.02)):
        e, se = pooled.loc[action, ["estimate", "se"]]
        want = (s / s**2 + e / se**2) / (1 / s**2 + 1 / se**2)
        assert fitted.centers_.loc["(overall)", action] == pytest.approx(want, rel=1e-12)
    # The cell overrules a wrong judgement on calls; the SMS keeps most of its prior.
    assert abs(fitted.centers_.loc["(overall)", "call"] - 0.1) < 0.03
    assert fitted.centers_.loc["(overall)", "sms"] > 0.01
    assert (fitted.uplift(d.head(5))["sms"] > 0).all()


def test_a_stated_action_too_rare_to_learn_keeps_its_updated_average():
    d = cell(1, targeted=False)
    rare = d.index[::150]  # 60 visits: too few for the response model (67 in each fold)
    d = d.assign(action=d["action"].astype(object))
    d.loc[rare, "action"] = "visit"
    d.loc[rare, "cost"] = 20.0
    fitted = model(prior_lifts={"visit": 0.15}, shrinkage=1.0).fit(d)
    assert fitted.extra_ == ("visit",) and "visit" not in fitted.members_[0].actions_
    plain = ArrearsRule(min_rows=1).fit(d).pooled_lifts_.set_index("action").loc["visit"]
    e, se, s = plain["estimate"], plain["se"], 0.15
    want = (s / s**2 + e / se**2) / (1 / s**2 + 1 / se**2)
    up = fitted.uplift(d.head(20))
    # With all the weight on the learned part, the rare action keeps its average.
    np.testing.assert_allclose(up["visit"], want * d["overdue_amount"].head(20), rtol=1e-12)
    assert "Too few decisions to learn" in fitted.summary()


def test_an_action_is_compared_with_no_action_where_it_was_drawn():
    # Visits are drawn from 30 DPD only and change nothing; accounts below 30 DPD pay
    # far more. Against every "none" row a visit would look harmful.
    rng = np.random.default_rng(7)
    n = 12_000
    dpd = rng.integers(1, 90, n)
    late = dpd >= 30
    action = np.where(late & (rng.random(n) < 0.3), "visit", "none")
    amount = rng.uniform(100, 600, n)
    paid = rng.random(n) < np.where(late, 0.1, 0.6)
    stuck = rng.random(n) < 0.05  # no action possible (after legal action)
    action = np.where(stuck, "none", action)
    d = pd.DataFrame(
        {
            "dpd": dpd,
            "overdue_amount": amount,
            "months_on_book": rng.integers(0, 36, n),
            "action": action,
            "propensity": np.where(stuck, 1.0, np.where(action == "visit", 0.3, 0.7)),
            "cost": np.where(action == "visit", 20.0, 0.0),
            "reward_amount": np.where(paid, amount, 0.0),
        },
        index=pd.Index([f"L{i:05d}" for i in range(n)], name="loan_id"),
    )
    fitted = model(by=None, shrinkage=0.0).fit(d)
    visit = fitted.lifts_.set_index("action").loc["visit"]
    lo, hi = dpd[action == "visit"].min(), dpd[action == "visit"].max()
    assert visit["rows_none"] == ((action == "none") & ~stuck & (dpd >= lo) & (dpd <= hi)).sum()
    assert visit["rows"] == (action == "visit").sum()
    assert abs(visit["estimate"]) < 3 * visit["se"]


def test_the_selection_table_reports_every_candidate(targeted):
    fitted, _ = targeted
    t = fitted.table()
    # No lift is stated (prior_lifts={}): no stated rule to keep.
    assert list(t["candidate"]) == [
        "w=0",
        "w=0.25",
        "w=0.5",
        "w=0.75",
        "w=1",
    ]
    assert t["chosen"].sum() == 1
    chosen = t[t["chosen"]].iloc[0]
    assert chosen["vs_chosen"] == 0.0 and chosen["shrinkage"] == fitted.shrinkage_
    assert (t["se"] > 0).all() and np.isfinite(t["dr"]).all()
    assert f"weight {fitted.shrinkage_:g}" in fitted.value_source
    assert "<- chosen" in fitted.summary()


def test_the_stated_rule_is_kept_when_nothing_estimated_beats_it():
    # A flat call effect of 0.1 and a stated call lift of 0.1: the stated rule is the
    # simplest candidate, and no estimate is better by a standard error.
    d = cell(1, targeted=False)
    fitted = model(prior_lifts={"call": 0.1}).fit(d)
    t = fitted.table()
    assert t["candidate"].iloc[0] == "arrears rule (stated)" and bool(t["chosen"].iloc[0])
    assert np.isnan(fitted.shrinkage_) and fitted.candidate_ == "arrears rule (stated)"
    up = fitted.uplift(d.head(400))
    np.testing.assert_allclose(up["call"], 0.1 * d["overdue_amount"].head(400))
    assert (up["sms"] == 0.0).all()  # no lift stated for SMS
    assert fitted.value_source.startswith("the stated arrears rule, kept by the randomised cell")
    assert "the stated arrears rule kept" in fitted.summary()


def test_a_targeted_effect_beats_the_stated_rule(targeted):
    # The call helps new loans and harms old ones: a flat stated lift calls everyone.
    _, d = targeted
    fitted = model(prior_lifts={"call": 0.05}).fit(d)
    t = fitted.table().set_index("candidate")
    assert fitted.shrinkage_ > 0
    stated = t.loc["arrears rule (stated)"]
    assert stated["vs_chosen"] < -stated["se_vs_chosen"]
    assert "for the stated arrears rule" in fitted.value_source


def test_capacity_judges_candidates_by_the_policy_a_worklist_would_run(targeted):
    _, d = targeted
    # With no room for any action every candidate is the same policy: all values are
    # equal, and the simplest, the stated rule, is kept.
    none = model(prior_lifts={"call": 0.05}, capacity={"call": 0.0, "sms": 0}).fit(d).table()
    np.testing.assert_allclose(none["dr"], none["dr"].iloc[0])
    assert bool(none["chosen"].iloc[0])
    # With room for a fifth of the decisions, the learned part gives them to the new
    # loans, which pay; the stated rule to the largest arrears, which do not.
    some = model(prior_lifts={"call": 0.05}, capacity={"call": 0.2}).fit(d)
    t = some.table().set_index("candidate")
    assert some.shrinkage_ > 0 and t.loc["arrears rule (stated)", "vs_chosen"] < 0
    assert "allocated under the capacity shares" in some.summary()


def test_candidates_take_an_action_only_where_the_cell_drew_it():
    from overdue_risk.prioritise._averages import supported

    action = np.array(["none", "visit", "none", "visit", "none", "call", "none"])
    dpd = np.array([5.0, 30, 80, 60, 200, 3, 45])
    ok = np.array([True, True, True, True, False, True, True])  # row 4: none, propensity 1
    s = supported(action, ["none", "call", "visit", "legal"], dpd, ok)
    assert s[:, 0].all()  # no action, everywhere
    assert s[:, 1].tolist() == [False, False, False, False, False, True, False]  # DPD 3 only
    assert s[:, 2].tolist() == [False, True, False, True, False, False, True]  # DPD 30-60
    assert not s[:, 3].any()  # never drawn


def test_best_actions_fills_each_share_with_the_best_rows():
    from overdue_risk.prioritise._greedy import best_actions

    rng = np.random.default_rng(0)
    net = np.column_stack([np.zeros(200), rng.normal(1, 1, 200), rng.normal(2, 1, 200)])
    free = best_actions(net, None)
    assert (free == net.argmax(axis=1)).all()
    pick = best_actions(net, np.array([np.inf, 1.0, 0.05]))
    assert (pick == 2).sum() == 10  # floor(0.05 x 200)
    # The ten with the highest net value of action 2 among those preferring it.
    prefer = np.flatnonzero(net[:, 2] > np.maximum(net[:, 1], 0))
    top = prefer[np.argsort(-net[prefer, 2])[:10]]
    assert set(np.flatnonzero(pick == 2)) == set(top)
    assert ((pick == 0) == (net[:, 1] <= 0) & (pick != 2)).all()


def test_plot_draws_one_point_per_candidate(targeted):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fitted, _ = targeted
    ax = fitted.plot()
    assert len(ax.get_yticklabels()) == len(fitted.table())
    plt.close(ax.figure)


def test_row_order_and_refits_change_nothing():
    d = cell(3, loans=1500, targeted=True)
    a = model().fit(d)
    b = model().fit(d.sample(frac=1.0, random_state=5))
    pd.testing.assert_frame_equal(a.table(), b.table())
    pd.testing.assert_frame_equal(a.uplift(d.head(300)), b.uplift(d.head(300)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"shrinkage": 1.5}, "'shrinkage' parameter of ShrunkUplift"),
        ({"shrinkage": "best"}, "'shrinkage' parameter of ShrunkUplift"),
        ({"grid": []}, "'grid' parameter of ShrunkUplift must be a list of distinct numbers"),
        ({"grid": [0.0, 2.0]}, "'grid' parameter"),
        ({"n_folds": 1}, "'n_folds' parameter"),
        ({"one_se": 1}, "'one_se' parameter of ShrunkUplift must be true or false"),
        ({"costs": {"call": -1.0}}, "'costs' parameter"),
        (
            {"response": "lightgbm"},
            "'response' parameter of ShrunkUplift must be None or a ResponseModel",
        ),
        ({"by": 3}, "'by' parameter of ShrunkUplift"),
        ({"z": -1.0}, "'z' parameter"),
        ({"prior_lifts": {"call": -0.1}}, "'prior_lifts' parameter"),
        ({"capacity": {"call": 1.5}}, "'capacity' parameter of ShrunkUplift must be None or"),
    ],
)
def test_bad_parameters_are_refused_at_fit(params, match):
    d = cell(5, loans=300, targeted=False)
    with pytest.raises(ModelError, match=match):
        ShrunkUplift(**params).fit(d)


def test_bad_decisions_are_refused():
    d = cell(5, loans=300, targeted=False)
    with pytest.raises(ModelError, match=r"lacks the columns \['propensity'\]"):
        model().fit(d.drop(columns="propensity"))
    with pytest.raises(ModelError, match="No logged cost for the action"):
        model().fit(d.assign(cost=np.where(d["action"] == "call", np.nan, d["cost"])))
    with pytest.raises(ModelError, match="Too few randomised decisions: with 3 folds"):
        ShrunkUplift(response=ResponseModel(features=FEATURES), n_folds=3).fit(d.head(300))
    with pytest.raises(ModelError, match="must be a DataFrame"):
        model().fit(d.to_numpy())
    with pytest.raises(
        ModelError, match=r"costs= has no cost for the logged action\(s\) \['sms'\]"
    ):
        model(costs={"call": 1.0}).fit(d)
    with pytest.raises(ModelError, match=r"1 decision rows have a propensity outside \(0, 1\]"):
        model().fit(d.assign(propensity=np.r_[0.0, np.full(len(d) - 1, 1 / 3)]))
    with pytest.raises(ModelError, match="state must be a DataFrame"):
        model(costs=COSTS).fit(d).uplift([1, 2])


def test_params_are_stored_untouched():
    prior = {"call": 0.05}
    m = ShrunkUplift(prior_lifts=prior, grid=(0.0, 1.0), n_folds=4)
    assert m.get_params()["prior_lifts"] is prior and m.get_params()["grid"] == (0.0, 1.0)
    assert not hasattr(m, "shrinkage_")


@pytest.mark.parametrize(("z", "kept"), [(1.96, "arrears rule (stated)"), (1.0, "w=0")])
def test_the_stated_rule_gives_way_only_to_a_candidate_z_standard_errors_better(z, kept):
    from overdue_risk.prioritise._ope import cluster_se
    from overdue_risk.prioritise._selection import select_candidate

    # Per-row DR terms: the candidate w=0 gains 1.5 standard errors over the stated rule
    # (its gain alternates around its mean), the learned w=1 is the stated rule again.
    n = 400
    rule = np.tile([10.0, 30.0], n // 2)
    swing = np.tile([1.0, -1.0], n // 2)
    groups = np.arange(n)
    se_gain = cluster_se(2.0 * swing, groups)
    better = rule + 1.5 * se_gain + 2.0 * swing
    terms = np.vstack([rule, better, rule])
    weights = np.array([np.nan, 0.0, 1.0])
    names = ["arrears rule (stated)", "w=0", "w=1"]
    table, weight, name = select_candidate(
        names, weights, terms, groups, shrinkage="auto", one_se=True, z=z
    )
    assert name == kept and table.loc[table["chosen"], "candidate"].tolist() == [kept]
    assert np.isnan(weight) == (kept == "arrears rule (stated)")
