"""``prioritise``: the worklist respects capacities and rules, and says why."""

from __future__ import annotations

import logging
import math
import warnings

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
from overdue_risk.prioritise._worklist import UNUSED, prioritise

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


def test_the_default_values_are_the_stated_arrears_rule_flagged_non_causal(
    portfolio, scores, flags
):
    work = prioritise(scores, portfolio, AS_OF, "default", flags=flags)
    assert not work.causal
    assert (work.table()["value_source"] == "arrears rule, stated lifts (not causal)").all()
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


# -- capacities per 10,000 accounts of the book -------------------------------------------


def book_at(portfolio, day) -> int:
    """The loans open on ``day``, counted from the loans table: started on or before
    it and not closed on or before it."""
    loans, day = portfolio.loans, pd.Timestamp(day)
    started = pd.to_datetime(loans["start_date"]) <= day
    closed = pd.to_datetime(loans["closed_date"]) <= day  # NaT: open
    return int((started & ~closed).sum())


def test_capacity_per_10k_rations_by_the_book(portfolio, scores, flags):
    book = book_at(portfolio, AS_OF)
    calls, visits = 100 * book // 10_000, 15 * book // 10_000
    assert 0 < visits < calls < book  # the sample: 2,522 loans open, 25 calls, 3 visits
    rated = Strategy().replace(
        actions={"call": {"capacity_per_10k": 100}, "visit": {"capacity_per_10k": 15}}
    )
    kw = {"value_model": LinearValue(), "flags": flags}
    work = prioritise(scores, portfolio, AS_OF, rated, **kw)
    assert work.book == book
    assert (work.capacities["call"], work.capacities["visit"]) == (calls, visits)
    # A rate is a capacity worked out from the book: the same worklist as the fixed one.
    fixed = prioritise(scores, portfolio, AS_OF, limited(call=calls, visit=visits), **kw)
    pd.testing.assert_frame_equal(work.table(), fixed.table())
    counts = work.table()["action"].value_counts()
    assert (counts["call"], counts["visit"]) == (calls, visits)  # more accounts want them
    s = work.summary()
    assert (s.loc["call", "capacity"], s.loc["visit", "capacity"]) == (calls, visits)
    assert s.attrs["book"] == book and work.allocation.capacity[1] == calls


def test_capacity_shares_are_the_days_capacities_over_the_overdue_accounts(portfolio):
    from overdue_risk.prioritise import capacity_shares

    book = book_at(portfolio, AS_OF)
    overdue = len(account_state(Strategy(), portfolio, AS_OF))
    rated = Strategy().replace(
        actions={"call": {"capacity_per_10k": 100}, "visit": {"capacity": 2}}
    )
    shares = capacity_shares(rated, portfolio, AS_OF)
    # SMS, restructuring, legal and letters are unlimited: left out.
    assert shares == pytest.approx({"call": (100 * book // 10_000) / overdue, "visit": 2 / overdue})
    # A capacity beyond the overdue accounts is every one of them.
    assert capacity_shares(limited(call=10**6), portfolio, AS_OF)["call"] == 1.0


def test_profiles_ration_calls_visits_restructuring_and_legal(portfolio, scores, flags):
    book = book_at(portfolio, AS_OF)
    work = prioritise(scores, portfolio, AS_OF, "uk_eu", value_model=LinearValue(), flags=flags)
    expected = {a: rate * book // 10_000 for a, rate in (("call", 180), ("visit", 24))}
    expected |= {"restructure": 12 * book // 10_000, "legal": 6 * book // 10_000}
    s = work.summary()
    for action, cap in expected.items():
        assert s.loc[action, "capacity"] == cap
        assert s.loc[action, "accounts"] <= cap
    assert s.loc["sms", "capacity"] == math.inf and work.warnings == ()


def _logged(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "overdue_risk.prioritise._worklist" and r.levelno == logging.WARNING
    ]


def test_unlimited_capacities_are_warned_about_not_refused(portfolio, scores, flags, caplog):
    kw = {"value_model": LinearValue(), "flags": flags}
    with caplog.at_level(logging.WARNING, logger="overdue_risk.prioritise"):
        work = prioritise(scores, portfolio, AS_OF, Strategy(), **kw)
    (text,) = _logged(caplog)
    assert "unlimited capacity" in text and "capacity_per_10k" in text
    assert work.warnings == (text,) and work.summary().attrs["warnings"] == [text]
    assert (work.table()["untreated_because"] != "capacity").all()
    caplog.clear()
    waits = Strategy().replace(
        actions={a: {"enabled": False} for a in ("sms", "call", "visit", "restructure", "legal")}
    )
    with caplog.at_level(logging.WARNING, logger="overdue_risk.prioritise"):
        one_limit = prioritise(scores, portfolio, AS_OF, limited(legal=2), **kw)
        rate_only = Strategy().replace(actions={"sms": {"capacity_per_10k": 10_000}})
        by_rate = prioritise(scores, portfolio, AS_OF, rate_only, **kw)
        nothing_to_ration = prioritise(scores, portfolio, AS_OF, waits, **kw)
    assert _logged(caplog) == []
    assert one_limit.warnings == by_rate.warnings == nothing_to_ration.warnings == ()


class Lifts:
    """recovery = overdue amount x lift for the actions given; the others get no estimate."""

    causal = True

    def __init__(self, **lifts: float):
        self.lifts = lifts

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        overdue = state["overdue_amount"].to_numpy(dtype=np.float64)
        values = {a: overdue * lift for a, lift in self.lifts.items()}
        return pd.DataFrame({"none": 0.0 * overdue, **values}, index=state.index)


@pytest.mark.parametrize(
    ("changes", "lifts", "expected"),
    [
        (
            # sms is worth something, but a free call that brings more is always better;
            # visits have no staff; legal action needs a DPD no account has; the value
            # model knows nothing of restructuring; letters are off.
            {
                "call": {"cost": 0.0},
                "visit": {"capacity": 0},
                "legal": {"min_dpd": 100_000},
            },
            {"sms": 0.02, "call": 0.03, "visit": 0.3, "legal": 0.4},
            {
                "sms": "not_worth_cost",
                "call": "",
                "visit": "capacity",
                "letter": "disabled",
                "restructure": "no_estimate",
                "legal": "rules",
            },
        ),
        (
            # An SMS that costs more than any account could bring; letters on, and sent
            # to the accounts the few calls and visits do not reach; a restructuring
            # offer brings what a letter does at a higher cost.
            {
                "sms": {"cost": 1e6},
                "call": {"capacity": 10},
                "visit": {"capacity": 5},
                "letter": {"enabled": True},
            },
            {"sms": 0.02, "call": 0.1, "visit": 0.3, "letter": 0.05, "restructure": 0.05},
            {
                "sms": "not_worth_cost",
                "call": "",
                "visit": "",
                "letter": "",
                "restructure": "not_worth_cost",
                "legal": "no_estimate",
            },
        ),
    ],
)
def test_actions_say_why_an_action_got_no_account(
    portfolio, scores, flags, changes, lifts, expected
):
    strategy = Strategy().replace(actions=changes)
    model = Lifts(**lifts)
    work = prioritise(scores, portfolio, AS_OF, strategy, value_model=model, flags=flags)
    table = work.actions()
    assert table.index.tolist() == ["sms", "call", "visit", "letter", "restructure", "legal"]
    assert table["unused_because"].to_dict() == expected
    assert set(expected.values()) <= {"", *UNUSED}
    # The counts, from the rules engine and the lifts directly.
    state = account_state(strategy, portfolio, AS_OF)
    rules = eligibility(strategy, state.assign(risk_score=0.3))
    overdue = state["overdue_amount"].to_numpy()
    chosen = work.table()["action"].value_counts()
    for a in table.index:
        row = table.loc[a]
        spec = getattr(strategy.actions, a)
        assert row["enabled"] == spec.enabled
        if not spec.enabled:
            assert row[["eligible", "valued", "positive_value", "chosen"]].sum() == 0
            continue
        eligible = rules.eligible[:, rules.actions.index(a)]
        net = overdue * lifts[a] - spec.cost if a in lifts else np.full(len(overdue), np.nan)
        assert row["eligible"] == eligible.sum()
        assert row["valued"] == (eligible if a in lifts else 0 * eligible).sum()
        assert row["positive_value"] == (eligible & (net > 0)).sum()
        assert row["chosen"] == chosen.get(a, 0)
        assert row["capacity"] == spec.capacity


def test_contact_rows_carry_the_contact_window(portfolio, scores, flags):
    # Restructuring offered by phone reaches the customer; legal action does not.
    strategy = Strategy().replace(
        hours={"start": "07:30", "end": "20:00"}, actions={"restructure": {"channel": "voice"}}
    )
    model = Lifts(sms=0.02, call=0.1, visit=0.3, restructure=1.0, legal=2.0)
    t = prioritise(scores, portfolio, AS_OF, strategy, value_model=model, flags=flags).table()
    assert {"sms", "call", "restructure", "legal", "wait"} <= set(t["action"])
    contact = t["action"].isin(["sms", "call", "visit", "restructure"])
    assert (t.loc[contact, "contact_start"] == "07:30").all()
    assert (t.loc[contact, "contact_end"] == "20:00").all()
    assert (t.loc[~contact, ["contact_start", "contact_end"]] == "").all().all()
    # China's window ends at 22:00.
    china = prioritise(scores, portfolio, AS_OF, "china", value_model=LinearValue(), flags=flags)
    treated = china.table()[lambda d: ~d["action"].isin(["wait", "legal"])]
    window = set(zip(treated["contact_start"], treated["contact_end"], strict=True))
    assert len(treated) and window == {("08:00", "22:00")}


def test_policy_evaluation_rations_by_the_book_of_the_morning(portfolio):
    from overdue_risk.policy_eval._day import _morning

    date = pd.Timestamp(AS_OF)
    ids = portfolio.loans["loan_id"].astype(str)
    strategy = Strategy.profile("default")
    with warnings.catch_warnings():  # the sample's loans without schedules, as always
        warnings.simplefilter("ignore", DataQualityWarning)
        morning = _morning(
            portfolio, date, strategy, lambda _: pd.DataFrame({"score": 0.3}, index=ids), None
        )
    # The morning knows the loans of the evening before: started by then, not yet closed.
    book = book_at(portfolio, date - pd.Timedelta(days=1))
    rates = {"call": 180, "visit": 24, "restructure": 12, "legal": 6}
    expected = [rates[a] * book // 10_000 if a in rates else math.inf for a in morning.names]
    assert morning.capacity.tolist() == expected
