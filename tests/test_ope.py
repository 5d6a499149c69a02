"""Off-policy estimators on synthetic bandits whose policy values are known.

A contextual bandit with three contexts and three actions is logged by a
context-dependent random policy with known propensities; the true value of
any target policy is an exact expectation. IPW, SNIPW and DR must land within
a few standard errors of it (fixed seeds); DR must equal the direct method
when the reward model is exact and rewards deterministic; IPW of the logging
policy itself must equal the mean reward. Hypothesis checks invariances.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import SETTINGS
from overdue_risk import OverdueRiskError
from overdue_risk.prioritise._ope import OffPolicyEstimate, off_policy_value

ACTIONS = ["none", "sms", "call"]
# Mean reward of each (context, action), and the logging policy's probabilities.
MEAN = np.array([[10.0, 12.0, 20.0], [30.0, 28.0, 25.0], [0.0, 5.0, 4.0]])
LOGGING = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [0.8, 0.1, 0.1]])
CONTEXT_SHARE = np.array([0.5, 0.3, 0.2])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def bandit(
    rng: np.random.Generator, n: int, *, noise: float = 5.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Logged decisions of the synthetic bandit, and each row's context."""
    x = rng.choice(3, n, p=CONTEXT_SHARE)
    u = rng.random(n)
    a = (u[:, None] > np.cumsum(LOGGING[x], axis=1)).sum(axis=1)
    r = MEAN[x, a] + noise * rng.standard_normal(n)
    cost = np.array([0.0, 0.05, 1.5])[a]
    decisions = pd.DataFrame(
        {
            "action": pd.Categorical(np.array(ACTIONS)[a], categories=ACTIONS),
            "propensity": LOGGING[x, a],
            "cost": cost,
            "reward_amount": r + cost,  # the estimators subtract the cost again
        }
    )
    return decisions, x


def true_value(policy: np.ndarray) -> float:
    """Value of a deterministic policy given as the action index per context."""
    return float(np.sum(CONTEXT_SHARE * MEAN[np.arange(3), policy]))


POLICIES = {
    "always none": np.array([0, 0, 0]),
    "best": MEAN.argmax(axis=1),
    "worst": MEAN.argmin(axis=1),
    "call when context 0": np.array([2, 0, 0]),
}


@pytest.mark.parametrize("name", list(POLICIES))
def test_estimators_are_unbiased_on_a_known_bandit(rng, name):
    decisions, x = bandit(rng, 30_000)
    policy = POLICIES[name]
    target = np.array(ACTIONS)[policy[x]]
    truth = true_value(policy)
    # A reward model that is wrong by a constant: DR stays unbiased, DM does not.
    q_hat = pd.DataFrame(MEAN[x] + 3.0, columns=ACTIONS)
    est = off_policy_value(decisions, target, q_hat=q_hat)
    assert abs(est.ipw - truth) < 4 * est.ipw_se
    assert abs(est.snipw - truth) < 4 * est.snipw_se
    assert abs(est.dr - truth) < 4 * est.dr_se
    assert est.dm == pytest.approx(np.mean(MEAN[x, policy[x]]) + 3.0)  # biased by 3
    assert est.n == 30_000
    assert est.matched == int((decisions["action"].to_numpy() == target).sum())
    assert abs(est.weight_mean - 1) < 4 * np.std(
        (decisions["action"].to_numpy() == target) / decisions["propensity"]
    ) / math.sqrt(est.n)


def test_unbiased_over_many_seeds():
    """The mean of the estimates over independent logs is the true value."""
    policy = POLICIES["best"]
    truth = true_value(policy)
    ipw, snipw, dr = [], [], []
    for seed in range(40):
        decisions, x = bandit(np.random.default_rng(seed), 2_000)
        q_hat = pd.DataFrame(MEAN[x] - 4.0, columns=ACTIONS)
        est = off_policy_value(decisions, np.array(ACTIONS)[policy[x]], q_hat=q_hat)
        ipw.append(est.ipw)
        snipw.append(est.snipw)
        dr.append(est.dr)
    for values in (ipw, snipw, dr):
        assert abs(np.mean(values) - truth) < 4 * np.std(values) / math.sqrt(len(values))


def test_dr_equals_dm_when_the_reward_model_is_exact(rng):
    decisions, x = bandit(rng, 5_000, noise=0.0)
    q_hat = pd.DataFrame(MEAN[x], columns=ACTIONS)
    for policy in POLICIES.values():
        est = off_policy_value(decisions, np.array(ACTIONS)[policy[x]], q_hat=q_hat)
        assert est.dr == pytest.approx(est.dm, abs=1e-9)
        assert est.dm == pytest.approx(np.mean(MEAN[x, policy[x]]), abs=1e-9)


def test_ipw_of_the_logging_policy_is_the_mean_reward(rng):
    decisions, x = bandit(rng, 5_000)
    logging_policy = pd.DataFrame(LOGGING[x], columns=ACTIONS)
    est = off_policy_value(decisions, logging_policy, q_hat=pd.DataFrame(MEAN[x], columns=ACTIONS))
    reward = decisions["reward_amount"] - decisions["cost"]
    assert est.ipw == pytest.approx(reward.mean(), abs=1e-9)
    assert est.snipw == pytest.approx(reward.mean(), abs=1e-9)
    assert est.weight_mean == pytest.approx(1.0)
    assert est.matched == est.n
    # A stochastic target: the expected reward under its probabilities.
    target = np.tile([0.2, 0.3, 0.5], (len(x), 1))
    mixed = off_policy_value(decisions, pd.DataFrame(target, columns=ACTIONS))
    truth = float(np.sum(CONTEXT_SHARE * (MEAN @ np.array([0.2, 0.3, 0.5]))))
    assert abs(mixed.ipw - truth) < 4 * mixed.ipw_se


def test_standard_errors_iid_and_clustered(rng):
    decisions, x = bandit(rng, 4_000)
    target = np.full(len(x), "none")
    est = off_policy_value(decisions, target)
    w = (decisions["action"].to_numpy() == "none") / decisions["propensity"].to_numpy()
    terms = w * (decisions["reward_amount"] - decisions["cost"]).to_numpy()
    assert est.ipw_se == pytest.approx(terms.std(ddof=1) / math.sqrt(len(terms)))
    assert est.clusters == len(x)
    # Each loan repeated twice: the same information, and a clustered error that knows it.
    twice = pd.concat([decisions, decisions], ignore_index=True)
    twice.index = pd.Index(np.tile(np.arange(len(x)), 2), name="loan_id")
    both = off_policy_value(twice, np.concatenate([target, target]))
    assert both.ipw == pytest.approx(est.ipw)
    assert both.clusters == len(x)
    assert both.ipw_se == pytest.approx(est.ipw_se, rel=1e-3)
    naive = off_policy_value(twice, np.concatenate([target, target]), clusters=None)
    assert naive.ipw_se < 0.75 * both.ipw_se


def test_the_result_object(rng):
    decisions, x = bandit(rng, 1_000)
    est = off_policy_value(decisions, np.full(len(x), "sms"))
    table = est.table()
    assert list(table.index) == ["ipw", "snipw", "dr", "dm"]
    assert list(table.columns) == ["value", "se", "ci_low", "ci_high"]
    assert table.loc[["dr", "dm"], "value"].isna().all()  # no q_hat
    assert table.loc["ipw", "ci_low"] < est.ipw < table.loc["ipw", "ci_high"]
    assert est.to_dict()["n"] == 1_000 and isinstance(est, OffPolicyEstimate)
    with pytest.raises(AttributeError):
        est.ipw = 0.0  # frozen


# -- invariances -------------------------------------------------------------------------


@st.composite
def small_logs(draw):
    n = draw(st.integers(2, 40))
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=n, max_size=n))
    prop = draw(st.lists(st.sampled_from([0.1, 0.25, 0.5, 1.0]), min_size=n, max_size=n))
    reward = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n))
    target = draw(st.lists(st.sampled_from(ACTIONS), min_size=n, max_size=n))
    q = draw(st.lists(st.integers(-50, 500), min_size=3 * n, max_size=3 * n))
    decisions = pd.DataFrame(
        {
            "action": actions,
            "propensity": prop,
            "reward_amount": np.array(reward) / 100,
            "cost": 0.5,
        }
    )
    return decisions, np.array(target), pd.DataFrame(np.reshape(q, (n, 3)) / 10, columns=ACTIONS)


@SETTINGS
@given(log=small_logs(), seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.5, 2.0, 10.0]))
def test_row_order_and_currency_units_do_not_matter(log, seed, scale):
    decisions, target, q_hat = log
    base = off_policy_value(decisions, target, q_hat=q_hat)
    order = np.random.default_rng(seed).permutation(len(decisions))
    moved = off_policy_value(decisions.iloc[order], target[order], q_hat=q_hat.iloc[order])
    np.testing.assert_allclose(moved.table().to_numpy(), base.table().to_numpy(), equal_nan=True)
    scaled = decisions.assign(
        reward_amount=decisions["reward_amount"] * scale, cost=decisions["cost"] * scale
    )
    times = off_policy_value(scaled, target, q_hat=q_hat * scale)
    np.testing.assert_allclose(
        times.table().to_numpy(),
        base.table().to_numpy() * scale,
        rtol=1e-9,
        atol=1e-9,
        equal_nan=True,
    )


@SETTINGS
@given(log=small_logs(), reward=st.integers(-100, 100))
def test_snipw_of_a_constant_reward_is_that_constant(log, reward):
    decisions, target, _ = log
    decisions = decisions.assign(reward_amount=reward + 0.5)
    est = off_policy_value(decisions, target)
    if est.matched:
        assert est.snipw == pytest.approx(reward)
    else:
        assert math.isnan(est.snipw) and est.ipw == 0.0


# -- errors ------------------------------------------------------------------------------


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "action": ["none", "call"],
            "propensity": [0.7, 0.1],
            "reward_amount": [0.0, 50.0],
            "cost": [0.0, 1.5],
        }
    )


@pytest.mark.parametrize(
    ("change", "target", "kwargs", "match"),
    [
        ({"propensity": [0.7, 0.0]}, ["none", "call"], {}, "propensity outside \\(0, 1\\]"),
        ({"propensity": [0.7, np.nan]}, ["none", "call"], {}, "propensity outside"),
        ({"cost": [0.0, np.nan]}, ["none", "call"], {}, "have no reward"),
        ({}, ["none"], {}, "one action per decision row \\(2\\)"),
        ({}, ["none", None], {}, "target_action has missing values"),
        ({}, pd.DataFrame({"none": [0.5, 1.0], "call": [0.6, 0.0]}), {}, "must sum to 1"),
        ({}, ["none", "call"], {"q_hat": pd.DataFrame({"none": [1.0, 2.0]})}, "no column for"),
        ({}, ["none", "call"], {"q_hat": pd.DataFrame({"none": [1.0]})}, "q_hat has 1 rows"),
        ({}, ["none", "call"], {"clusters": [1, 2, 3]}, "one label per row \\(2\\)"),
    ],
)
def test_bad_input_is_refused(change, target, kwargs, match):
    decisions = _log().assign(**change)
    with pytest.raises(OverdueRiskError, match=match):
        off_policy_value(decisions, target, **kwargs)


def test_unmatched_rows_need_no_propensity():
    decisions = _log().assign(propensity=[0.7, np.nan], cost=[0.0, np.nan])
    est = off_policy_value(decisions, ["none", "none"])
    assert est.matched == 1 and est.ipw == pytest.approx(0.0)
    with pytest.raises(OverdueRiskError, match="lacks the columns \\['cost'\\]"):
        off_policy_value(decisions.drop(columns="cost"), ["none", "none"])
