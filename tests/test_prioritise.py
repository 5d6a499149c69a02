"""``prioritise``: the worklist respects capacities and rules, and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE
from overdue_risk import OverdueRiskError, Strategy, load_portfolio
from overdue_risk.prioritise import account_state, allocate, eligibility
from overdue_risk.prioritise._worklist import prioritise

AS_OF = "2024-06-30"
LIFT = {"none": 0.0, "sms": 0.02, "call": 0.10, "visit": 0.30, "restructure": 0.05, "legal": 0.4}


class LinearValue:
    """A value model with known answers: recovery = overdue amount x a lift per action."""

    causal = True

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        overdue = state["overdue_amount"].to_numpy(dtype=np.float64)
        return pd.DataFrame({a: overdue * lift for a, lift in LIFT.items()}, index=state.index)


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(SAMPLE)


@pytest.fixture(scope="module")
def scores(portfolio):
    ids = portfolio.loans["loan_id"].astype(str)
    return pd.DataFrame({"loan_id": ids, "score": 0.3, "reason_1_text": "Days past due"})


def limited(**caps) -> Strategy:
    return Strategy().replace(actions={a: {"capacity": c} for a, c in caps.items()})


def test_worklist_respects_capacity_rules_and_values(portfolio, scores):
    strategy = limited(call=20, visit=5)
    work = prioritise(scores, portfolio, AS_OF, strategy, value_model=LinearValue())
    t = work.table()
    state = account_state(strategy, portfolio, AS_OF)
    assert sorted(t.index) == sorted(state.index)  # every overdue account, once
    counts = t["action"].value_counts()
    assert counts.get("call", 0) <= 20 and counts.get("visit", 0) <= 5
    # Every chosen action is allowed by the rules.
    rules = eligibility(strategy, state.assign(risk_score=0.3))
    allowed = pd.DataFrame(rules.eligible, index=rules.loan_id, columns=list(rules.actions))
    for loan, action in t["action"].items():
        assert allowed.loc[loan, action]
    # The objective is the LP optimum of the same problem.
    names = [a for a in rules.actions if a != "wait"]
    cost = np.array([getattr(strategy.actions, a).cost for a in names])
    overdue = state["overdue_amount"].to_numpy()
    value = overdue[:, None] * np.array([LIFT[a] for a in names]) - cost
    elig = rules.eligible[:, [rules.actions.index(a) for a in names]]
    caps = np.array([getattr(strategy.actions, a).capacity for a in names])
    best = allocate(value, elig, caps, method="lp")
    assert t["expected_value"].sum() == pytest.approx(best.objective)
    # Ranks: 1..k over the treated, in decreasing value.
    treated = t[t["action"] != "wait"]
    assert treated["rank"].tolist() == list(range(1, len(treated) + 1))
    assert (np.diff(treated["expected_value"].to_numpy()) <= 1e-9).all()
    assert t.loc[t["action"] == "wait", "rank"].isna().all()
    assert (treated["reasons"] == "Days past due").all()
    assert work.causal and (t["value_source"] == "uplift model").all()


def test_untreated_accounts_say_why(portfolio, scores):
    strategy = limited(call=3, visit=0, legal=0, restructure=0)
    t = prioritise(scores, portfolio, AS_OF, strategy, value_model=LinearValue()).table()
    waiting = t[t["action"] == "wait"]
    # With SMS unlimited and worth more than its cost for most, capacity is not why;
    # accounts whose every action costs more than it brings back are "not worth".
    overdue = waiting["overdue_amount"]
    sms_net = overdue * LIFT["sms"] - Strategy().actions.sms.cost
    worthless = waiting["untreated_because"] == "not_worth_its_cost"
    assert (sms_net[worthless] <= 0).all()
    assert set(waiting["untreated_because"]) <= {
        "no_eligible_action",
        "not_worth_its_cost",
        "capacity",
        "no_value_estimate",
    }
    assert (t.loc[t["action"] != "wait", "untreated_because"] == "").all()


def test_summary_adds_up(portfolio, scores):
    work = prioritise(scores, portfolio, AS_OF, limited(call=10), value_model=LinearValue())
    s = work.summary()
    t = work.table()
    assert s.loc["call", "accounts"] == (t["action"] == "call").sum() <= 10
    assert s.loc["call", "capacity_used"] == pytest.approx(s.loc["call", "accounts"] / 10)
    assert s.loc[["sms", "call", "visit", "restructure", "legal"], "expected_value"].sum() == (
        pytest.approx(t["expected_value"].sum())
    )
    untreated = s.loc[[i for i in s.index if i.startswith("untreated")], "accounts"].sum()
    assert untreated == (t["action"] == "wait").sum()


def test_fallback_values_are_flagged_non_causal(portfolio, scores):
    work = prioritise(scores, portfolio, AS_OF, "default")
    assert not work.causal
    assert (work.table()["value_source"] == "risk-score fallback (not causal)").all()
    assert "NON-CAUSAL" in repr(work)


def test_latest_score_on_or_before_the_date_is_used(portfolio, scores):
    later = scores.assign(as_of="2024-07-31", score=0.99)
    earlier = scores.assign(as_of="2024-05-31")
    t = prioritise(
        pd.concat([later, earlier]), portfolio, AS_OF, "default", value_model=LinearValue()
    ).table()
    assert (t["risk_score"] == 0.3).all()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.iloc[:10], r"overdue accounts have no risk score on or before 2024-06-30"),
        (lambda s: s.assign(score=1.5), r"scores.score must be probabilities in \[0, 1\]"),
        (lambda s: s.drop(columns="score"), "must have a loan_id .* and a score column"),
    ],
)
def test_bad_scores_are_refused(portfolio, scores, change, match):
    with pytest.raises(OverdueRiskError, match=match):
        prioritise(change(scores), portfolio, AS_OF, "default", value_model=LinearValue())
