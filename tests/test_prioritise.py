"""``prioritise``: the worklist respects capacities and rules, and says why."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE, flags_table
from overdue_risk import (
    DataQualityWarning,
    DataValidationError,
    OverdueRiskError,
    Portfolio,
    Strategy,
    load_portfolio,
)
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
    return pd.DataFrame(
        {"loan_id": ids, "as_of": AS_OF, "score": 0.3, "reason_1_text": "Days past due"}
    )


@pytest.fixture(scope="module")
def flags(portfolio):
    """No account is flagged: every flag column the default strategy reads, all False."""
    return flags_table(portfolio.loans["loan_id"])


def limited(**caps) -> Strategy:
    return Strategy().replace(actions={a: {"capacity": c} for a, c in caps.items()})


def test_worklist_respects_capacity_rules_and_values(portfolio, scores, flags):
    strategy = limited(call=20, visit=5)
    work = prioritise(scores, portfolio, AS_OF, strategy, value_model=LinearValue(), flags=flags)
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


def test_untreated_accounts_say_why(portfolio, scores, flags):
    strategy = limited(call=3, visit=0, legal=0, restructure=0)
    t = prioritise(
        scores, portfolio, AS_OF, strategy, value_model=LinearValue(), flags=flags
    ).table()
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


def test_summary_adds_up(portfolio, scores, flags):
    work = prioritise(
        scores, portfolio, AS_OF, limited(call=10), value_model=LinearValue(), flags=flags
    )
    s = work.summary()
    t = work.table()
    assert s.loc["call", "accounts"] == (t["action"] == "call").sum() <= 10
    assert s.loc["call", "capacity_used"] == pytest.approx(s.loc["call", "accounts"] / 10)
    assert s.loc[["sms", "call", "visit", "restructure", "legal"], "expected_value"].sum() == (
        pytest.approx(t["expected_value"].sum())
    )
    untreated = s.loc[[i for i in s.index if i.startswith("untreated")], "accounts"].sum()
    assert untreated == (t["action"] == "wait").sum()


def test_fallback_values_are_flagged_non_causal(portfolio, scores, flags):
    work = prioritise(scores, portfolio, AS_OF, "default", flags=flags)
    assert not work.causal
    assert (work.table()["value_source"] == "risk-score fallback (not causal)").all()
    assert "NON-CAUSAL" in repr(work)


def test_latest_score_on_or_before_the_date_is_used(portfolio, scores, flags):
    later = scores.assign(as_of="2024-07-31", score=0.99)  # after as_of: never used
    older = scores.assign(as_of="2024-06-25", score=0.5)
    t = prioritise(
        pd.concat([later, scores, older]),
        portfolio,
        AS_OF,
        "default",
        value_model=LinearValue(),
        flags=flags,
    ).table()
    assert (t["risk_score"] == 0.3).all()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.iloc[:10], r"overdue accounts have no risk score on or before 2024-06-30"),
        (lambda s: s.assign(as_of="2024-07-01"), r"no risk score on or before 2024-06-30"),
        (lambda s: s.assign(score=1.5), r"scores.score: probability \(\d+\): .* \[0, 1\]"),
        (lambda s: s.drop(columns="score"), r"scores.score: missing_column"),
        (lambda s: s.drop(columns="loan_id"), r"scores.loan_id: missing_column"),
        (lambda s: pd.concat([s, s]), r"scores.loan_id, as_of: unique"),
        (lambda s: s.drop(columns="as_of").iloc[[0, 0]], r"scores.loan_id: unique"),
        (lambda s: s.assign(as_of="2024-06-22"), r"scores.as_of: stale .* scored 2024-06-22"),
        (lambda s: s.assign(as_of="30/06/2024"), r"scores.as_of: unparseable_date"),
    ],
)
def test_bad_scores_are_refused(portfolio, scores, flags, change, match):
    with pytest.raises(OverdueRiskError, match=match):
        prioritise(
            change(scores), portfolio, AS_OF, "default", value_model=LinearValue(), flags=flags
        )


@pytest.mark.parametrize(("age", "limit"), [(0, 0), (7, 7), (8, 8), (400, math.inf)])
def test_scores_may_be_as_old_as_allowed(portfolio, scores, flags, age, limit):
    dated = scores.assign(as_of=pd.Timestamp(AS_OF) - pd.Timedelta(days=age))

    def risk(max_age):
        kw = {"value_model": LinearValue(), "flags": flags, "max_score_age_days": max_age}
        return prioritise(dated, portfolio, AS_OF, "default", **kw).table()["risk_score"]

    assert (risk(limit) == 0.3).all()
    if age:  # a day less is too old
        with pytest.raises(DataValidationError, match=rf"scores.as_of: stale .*{age} days\)"):
            risk(age - 1)


def test_undated_scores_are_used_with_a_warning(portfolio, scores, flags):
    undated = scores.drop(columns="as_of")
    with pytest.warns(DataQualityWarning, match="no as_of date, so their age cannot be checked"):
        t = prioritise(undated, portfolio, AS_OF, "default", value_model=LinearValue(), flags=flags)
    assert (t.table()["risk_score"] == 0.3).all()
    t = prioritise(
        undated,
        portfolio,
        AS_OF,
        "default",
        value_model=LinearValue(),
        flags=flags,
        max_score_age_days=math.inf,
    )  # fmt: skip  (any age: no warning)
    assert len(t.table())


@pytest.mark.parametrize("bad", [-1, 1.5, "7", None, math.nan])
def test_max_score_age_days_is_checked(portfolio, scores, flags, bad):
    with pytest.raises(OverdueRiskError, match=r"max_score_age_days must be an integer >= 0"):
        prioritise(scores, portfolio, AS_OF, "default", flags=flags, max_score_age_days=bad)


def test_without_flags_the_unenforced_rules_are_named(portfolio, scores):
    unenforced = r"cease_contact \(blocks sms, call, visit, restructure\).* not enforced"
    with pytest.warns(DataQualityWarning, match=rf"no column .*cease_contact.*{unenforced}"):
        prioritise(scores, portfolio, AS_OF, "default", value_model=LinearValue())


def test_flags_in_the_loans_table_need_no_warning(portfolio, scores):
    columns = flags_table(portfolio.loans["loan_id"]).reset_index()
    loans = portfolio.loans.merge(columns, on="loan_id")
    flagged = Portfolio(**{**portfolio.tables(), "loans": loans})
    work = prioritise(scores, flagged, AS_OF, "default", value_model=LinearValue())
    assert len(work.table())


def test_a_strategy_that_only_waits_gives_an_all_wait_worklist(portfolio, scores, flags):
    waits = Strategy().replace(
        actions={a: {"enabled": False} for a in ("sms", "call", "visit", "restructure", "legal")}
    )
    assert waits.action_names == ("wait",)
    t = prioritise(scores, portfolio, AS_OF, waits, value_model=LinearValue(), flags=flags).table()
    assert len(t) == len(account_state(waits, portfolio, AS_OF)) > 0
    assert (t["action"] == "wait").all() and t["rank"].isna().all()
    assert (t["untreated_because"] == "no_eligible_action").all()
    assert (t["expected_value"] == 0).all()
