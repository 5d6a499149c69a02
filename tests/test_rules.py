"""The contact-rule engine: the account state from a portfolio, and eligibility.

Every rule has a hand case that blocks and one that allows at its boundary;
the date arithmetic (7-day window, cool-down, promise pause, failed contacts,
restructuring considered) is checked on hand-made portfolios; the whole state
is checked against a plain reference on the bundled sample; and hypothesis
checks that rows after the as-of date and the order of the rows never matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import overdue_risk as odr
from helpers import SETTINGS, card_paid_up, flags_table
from overdue_risk import Ledger, Portfolio
from overdue_risk.prioritise._rules import (
    RULES,
    STATE_COLUMNS,
    Eligibility,
    account_state,
    eligibility,
)
from overdue_risk.prioritise._strategy import FLAGS, Strategy
from strategies import day, full_portfolios, shuffled, to_full_portfolio

START = pd.Timestamp("2024-01-01")
DUE = pd.Timestamp("2024-02-01")  # the hand-made loan's only instalment


def _day(offset: int, base: pd.Timestamp = DUE) -> pd.Timestamp:
    return base + pd.Timedelta(days=offset)


# -- hand-made states: one rule at a time ------------------------------------------------


def state(n: int = 1, **values) -> pd.DataFrame:
    """Accounts that every default action may get, changed by ``values``."""
    base = {
        "dpd": 100,
        "overdue_amount": 300.0,
        "balance": 1000.0,
        "product_type": "instalment",
        "product": "cash",
        "attempts_7d": 0,
        "attempts_today": 0,
        "conversations_today": 0,
        "days_since_conversation": np.nan,
        "promise_date": pd.NaT,
        "days_to_promise": np.nan,
        "failed_contacts": 5,
        "days_since_restructure_offer": 10.0,
        **dict.fromkeys(FLAGS, False),
    }
    base.update(values)
    frame = pd.DataFrame({k: [v] * n if np.ndim(v) == 0 else v for k, v in base.items()})
    frame.index = pd.Index([f"A{i}" for i in range(n)], name="loan_id")
    return frame.astype({"product_type": "category", "product": "category"})


def first_rule(strategy: Strategy, action: str, **values) -> str:
    result = eligibility(strategy, state(**values))
    return result.rules[result.blocked_by[0, result.actions.index(action)]]


def test_every_default_action_is_open_to_the_base_account():
    result = eligibility(Strategy(), state())
    assert result.eligible.all()
    assert result.explain().tolist() == [""]


S = Strategy()
PRODUCTS = Strategy.from_dict({"actions": {"visit": {"products": ["card", "revolving"]}}})
MAX_DPD = Strategy.from_dict({"actions": {"sms": {"max_dpd": 30}}})
NO_PAUSE = Strategy.from_dict({"rules": {"promise_pause": False}})
REG_F = Strategy.profile("us_reg_f")
CHINA = Strategy.profile("china")
UK = Strategy.profile("uk_eu")


@pytest.mark.parametrize(
    ("strategy", "action", "values", "expected"),
    [
        # product: the loan's product or product type must be listed
        (PRODUCTS, "visit", {"product": "cash"}, "product"),
        (PRODUCTS, "visit", {"product": "card"}, "eligible"),
        (PRODUCTS, "visit", {"product_type": "revolving"}, "eligible"),
        (PRODUCTS, "sms", {"product": "cash"}, "eligible"),
        # cease-contact blocks every action with a channel; legal has none
        (S, "sms", {"cease_contact": True}, "cease_contact"),
        (S, "restructure", {"cease_contact": True}, "cease_contact"),
        (S, "legal", {"cease_contact": True}, "eligible"),
        (S, "sms", {"cease_contact": False}, "eligible"),
        # opt-out: a hard block of its own channel only
        (S, "sms", {"opt_out_sms": True}, "opt_out"),
        (S, "call", {"opt_out_sms": True}, "eligible"),
        (S, "call", {"opt_out_voice": True}, "opt_out"),
        (S, "sms", {"opt_out_voice": True}, "eligible"),
        (S, "visit", {"opt_out_field": True}, "opt_out"),
        (S, "restructure", {"opt_out_letter": True}, "opt_out"),
        (S, "legal", {"opt_out_letter": True}, "eligible"),
        # hardship: restructuring only
        (S, "call", {"hardship": True}, "hardship"),
        (S, "legal", {"hardship": True}, "hardship"),
        (S, "restructure", {"hardship": True}, "eligible"),
        # vulnerable: restructuring only by default; no visits in the UK profile
        (S, "sms", {"vulnerable": True}, "vulnerable"),
        (S, "visit", {"vulnerable": True}, "vulnerable"),
        (S, "restructure", {"vulnerable": True}, "eligible"),
        (UK, "visit", {"vulnerable": True}, "vulnerable"),
        (UK, "legal", {"vulnerable": True}, "vulnerable"),
        (UK, "call", {"vulnerable": True}, "eligible"),
        # assessed ineligible for restructuring: no offer, but legal may follow
        (S, "restructure", {"restructure_ineligible": True}, "restructure_ineligible"),
        (S, "legal", {"restructure_ineligible": True}, "eligible"),
        # thresholds, at their boundaries
        (S, "visit", {"dpd": 14}, "min_dpd"),
        (S, "visit", {"dpd": 15}, "eligible"),
        (MAX_DPD, "sms", {"dpd": 31}, "max_dpd"),
        (MAX_DPD, "sms", {"dpd": 30}, "eligible"),
        (S, "visit", {"overdue_amount": 99.99}, "min_overdue"),
        (S, "visit", {"overdue_amount": 100.0}, "eligible"),
        (S, "visit", {"overdue_amount": np.nan}, "min_overdue"),
        (S, "sms", {"overdue_amount": np.nan}, "eligible"),
        (S, "legal", {"balance": 499.99}, "min_balance"),
        (S, "legal", {"balance": 500.0}, "eligible"),
        (S, "legal", {"failed_contacts": 2}, "min_failed_contacts"),
        (S, "legal", {"failed_contacts": 3}, "eligible"),
        # restructuring considered: an offer in the last 180 days, or assessed ineligible
        (S, "legal", {"days_since_restructure_offer": 180.0}, "restructure_considered"),
        (S, "legal", {"days_since_restructure_offer": 179.0}, "eligible"),
        (S, "legal", {"days_since_restructure_offer": np.nan}, "restructure_considered"),
        (
            S,
            "legal",
            {"days_since_restructure_offer": np.nan, "restructure_ineligible": True},
            "eligible",
        ),
        (UK, "legal", {"days_since_restructure_offer": 90.0}, "restructure_considered"),
        (UK, "legal", {"days_since_restructure_offer": 89.0}, "eligible"),
        # promise pause: pending up to and including the promise date
        (S, "call", {"days_to_promise": 0.0}, "promise_pending"),
        (S, "legal", {"days_to_promise": 3.0}, "promise_pending"),
        (S, "call", {"days_to_promise": -1.0}, "eligible"),
        (NO_PAUSE, "call", {"days_to_promise": 0.0}, "eligible"),
        # cool-down after a conversation, for the counted actions only
        (REG_F, "call", {"days_since_conversation": 6.0}, "cooldown"),
        (REG_F, "call", {"days_since_conversation": 0.0}, "cooldown"),
        (REG_F, "call", {"days_since_conversation": 7.0}, "eligible"),
        (REG_F, "sms", {"days_since_conversation": 0.0}, "eligible"),
        (S, "call", {"days_since_conversation": 0.0}, "eligible"),
        # caps on the counted actions
        (REG_F, "call", {"attempts_7d": 7}, "max_attempts_7d"),
        (REG_F, "call", {"attempts_7d": 6}, "eligible"),
        (REG_F, "sms", {"attempts_7d": 9}, "eligible"),
        (CHINA, "call", {"attempts_today": 6}, "max_attempts_day"),
        (CHINA, "call", {"attempts_today": 5}, "eligible"),
        (CHINA, "call", {"conversations_today": 3}, "max_conversations_day"),
        (CHINA, "call", {"conversations_today": 2}, "eligible"),
        (UK, "visit", {"attempts_today": 2}, "max_attempts_day"),
        (UK, "sms", {"attempts_today": 2}, "eligible"),
    ],
)
def test_each_rule_blocks_and_allows_at_its_boundary(strategy, action, values, expected):
    assert first_rule(strategy, action, **values) == expected


def test_the_first_rule_in_order_is_reported():
    values = {"cease_contact": True, "hardship": True, "dpd": 1, "attempts_7d": 9}
    assert first_rule(REG_F, "call", **values) == "cease_contact"
    values.pop("cease_contact")
    assert first_rule(REG_F, "call", **values) == "hardship"
    values.pop("hardship")
    assert first_rule(REG_F, "call", **values) == "max_attempts_7d"
    assert first_rule(REG_F, "legal", **values) == "min_dpd"


@pytest.mark.parametrize("flag", ["hardship", "vulnerable"])
def test_hardship_and_vulnerability_leave_only_restructure_and_wait(flag):
    result = eligibility(S, state(**{flag: True}))
    open_ = [a for a, ok in zip(result.actions, result.eligible[0], strict=True) if ok]
    assert open_ == ["restructure", "wait"]
    # Below the restructuring threshold only waiting is left.
    result = eligibility(S, state(dpd=20, **{flag: True}))
    assert result.eligible[0].tolist() == [False] * 5 + [True]


def test_wait_is_always_eligible():
    everything = dict.fromkeys(FLAGS, True) | {"dpd": 1, "days_to_promise": 5.0}
    result = eligibility(REG_F, state(**everything))
    assert result.actions[-1] == "wait"
    assert result.eligible[0].tolist() == [False] * 5 + [True]


def test_explain_renders_each_blocked_action():
    values = {
        "dpd": 12,
        "overdue_amount": 80.5,
        "balance": 320.1,
        "days_since_conversation": 2.0,
        "opt_out_sms": True,
        "failed_contacts": 1,
        "days_since_restructure_offer": np.nan,
    }
    result = eligibility(REG_F, state(**values))
    assert result.explain().iloc[0] == (
        "sms: opt_out sms; call: cooldown 7 > 2; visit: min_dpd 15 > 12; "
        "restructure: min_dpd 30 > 12; legal: min_dpd 90 > 12"
    )
    more = {
        "promise_date": pd.Timestamp("2024-06-10"),
        "days_to_promise": 3.0,
        "overdue_amount": np.nan,
    }
    result = eligibility(Strategy(), state(dpd=95, balance=320.1, **more))
    assert result.explain().iloc[0] == (
        "sms: promise_pending until 2024-06-10; call: promise_pending until 2024-06-10; "
        "visit: min_overdue 100 > unknown; restructure: promise_pending until 2024-06-10; "
        "legal: min_balance 500 > 320.1"
    )
    text = first_text(PRODUCTS, product="cash")
    assert text == "visit: product cash not in card, revolving"
    assert first_text(S, days_since_restructure_offer=200.0) == (
        "legal: restructure_considered none in 180 days"
    )
    assert first_text(CHINA, attempts_today=6) == "call: max_attempts_day 6 <= 6"
    assert first_text(S, hardship=True) == (
        "sms: hardship; call: hardship; visit: hardship; legal: hardship"
    )


def first_text(strategy: Strategy, **values) -> str:
    return eligibility(strategy, state(**values)).explain().iloc[0]


def test_result_tables():
    values = {"dpd": [5, 100], "attempts_7d": [7, 0]}
    result = eligibility(REG_F, state(2, **values))
    assert isinstance(result, Eligibility)
    assert result.eligible.shape == result.blocked_by.shape == (2, 6)
    assert result.blocked_by.dtype == np.int8
    assert result.rules == RULES and result.rules[0] == "eligible"
    table = result.table()
    assert list(table.columns) == list(result.actions)
    assert table.loc["A0", "call"] == "max_attempts_7d"
    assert table.loc["A1", "call"] == "eligible"
    summary = result.summary()
    assert list(summary.index) == list(RULES)
    assert summary.loc["min_dpd", "visit"] == 1 and summary.loc["eligible", "wait"] == 2
    assert (summary.sum() == 2).all()


def test_a_disabled_action_has_no_column():
    s = Strategy.from_dict({"actions": {"visit": {"enabled": False}}})
    result = eligibility(s, state())
    assert result.actions == ("sms", "call", "restructure", "legal", "wait")


def test_eligibility_checks_its_arguments():
    with pytest.raises(odr.OverdueRiskError, match="state is missing the columns hardship"):
        eligibility(S, state().drop(columns="hardship"))
    with pytest.raises(odr.OverdueRiskError, match="strategy must be a Strategy; got dict"):
        eligibility({}, state())
    with pytest.raises(odr.OverdueRiskError, match="state must be a DataFrame; got list"):
        eligibility(S, [])


def test_eligibility_of_no_accounts():
    result = eligibility(REG_F, state().iloc[:0])
    assert result.eligible.shape == (0, 6)
    assert result.explain().empty


# -- the state from a portfolio ---------------------------------------------------------


def portfolio(
    actions=(),
    *,
    payments=(),
    loans_extra: dict | None = None,
    more_loans: bool = False,
) -> Portfolio:
    """Loan ``A`` (300 due on DUE, unpaid unless ``payments``) with ``actions``.

    ``actions`` are (day offset from DUE, action, outcome[, promise day offset]).
    With ``more_loans``: ``B`` is current, ``C`` starts after the hand-made dates,
    ``D`` closed in arrears, and ``E`` (a card) is overdue.
    """
    ids = ["A", "B", "C", "D"] if more_loans else ["A"]
    loans = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": "c",
            "product_type": "instalment",
            "start_date": [START, START, _day(400), START][: len(ids)],
            "principal": 1000.0,
            "product": "cash",
            "closed_date": [pd.NaT, pd.NaT, pd.NaT, _day(20)][: len(ids)],
            **(loans_extra or {}),
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": ids,
            "installment_no": 1,
            "due_date": [DUE, _day(300), _day(430), DUE][: len(ids)],
            "amount_due": 300.0,
        }
    )
    pay = pd.DataFrame(
        [{"loan_id": "A", "payment_date": _day(d), "amount": a} for d, a in payments],
        columns=["loan_id", "payment_date", "amount"],
    )
    rows = []
    for row in actions:
        offset, action, outcome, *promise = row
        rows.append(
            {
                "loan_id": "A",
                "action_date": _day(offset),
                "action": action,
                "outcome": outcome,
                "promise_date": _day(promise[0]) if promise else pd.NaT,
            }
        )
    coll = pd.DataFrame(
        rows, columns=["loan_id", "action_date", "action", "outcome", "promise_date"]
    )
    p = Portfolio(loans=loans, installments=inst, payments=pay, collections=coll)
    if not more_loans:
        return p
    card = p.loans.iloc[:1].assign(loan_id="E", product_type="revolving", product="card")
    stmt = pd.DataFrame(
        {
            "loan_id": ["E"],
            "statement_date": [DUE],
            "balance": [800.0],
            "min_due": [40.0],
            "amount_paid": [0.0],
        }
    )
    return Portfolio(
        loans=pd.concat([p.loans, card], ignore_index=True),
        installments=inst,
        payments=pay,
        statements=stmt,
        collections=coll,
    )


def row(strategy: Strategy, p: Portfolio, dpd: int, **kw) -> pd.Series:
    """The state of loan A on the day it is ``dpd`` days past due."""
    return account_state(strategy, p, _day(dpd), **kw).loc["A"]


def test_state_has_one_row_per_open_overdue_loan():
    p = portfolio(more_loans=True)
    s = account_state(S, p, _day(30))
    # B is current, C has not started, D closed in arrears; A and the card E are overdue.
    assert s.index.tolist() == ["A", "E"]
    assert s.index.name == "loan_id"
    assert s.loc["A", "dpd"] == 30 and s.loc["A", "overdue_amount"] == 300.0
    assert s.loc["A", "balance"] == 1000.0
    assert s.loc["E", "dpd"] == 30 and s.loc["E", "balance"] == 800.0
    assert s.loc["E", "product_type"] == "revolving" and s.loc["E", "product"] == "card"
    assert list(s.columns) == list(STATE_COLUMNS)
    assert {c: str(t) for c, t in s.dtypes.items()} == STATE_COLUMNS
    assert account_state(S, p, _day(0)).index.tolist() == []


def test_state_without_collections_or_product():
    p = portfolio()
    p = Portfolio(
        loans=p.loans.drop(columns="product"), installments=p.installments, payments=p.payments
    )
    s = account_state(S, p, _day(10))
    assert s.loc["A", ["attempts_7d", "failed_contacts"]].tolist() == [0, 0]
    assert np.isnan(s.loc["A", "days_since_conversation"]) and pd.isna(s.loc["A", "product"])
    assert pd.isna(s.loc["A", "promise_date"]) and np.isnan(s.loc["A", "days_to_promise"])


@pytest.mark.parametrize(
    ("offset", "counted"),
    [(-8, 0), (-7, 0), (-6, 1), (-1, 1), (0, 1), (1, 0)],
)
def test_the_7_day_window_is_the_7_days_ending_today(offset, counted):
    # Reg F: at most 7 calls "within a period of 7 consecutive days": today and
    # the 6 days before it. A call exactly 7 days ago is outside the window.
    as_of = 40
    p = portfolio([(as_of + offset, "call", "no_contact")])
    assert row(REG_F, p, as_of)["attempts_7d"] == counted


def test_seven_calls_in_seven_days_block_the_eighth():
    as_of = 40
    week = portfolio([(as_of - k, "call", "no_contact") for k in range(7)])  # days -6..0
    assert row(REG_F, week, as_of)["attempts_7d"] == 7
    assert first_rule_at(REG_F, week, as_of, "call") == "max_attempts_7d"
    shifted = portfolio([(as_of - k, "call", "no_contact") for k in range(1, 8)])  # -7..-1
    assert row(REG_F, shifted, as_of)["attempts_7d"] == 6
    assert first_rule_at(REG_F, shifted, as_of, "call") == "eligible"
    assert first_rule_at(REG_F, week, as_of, "sms") == "eligible"


def first_rule_at(strategy: Strategy, p: Portfolio, dpd: int, action: str, **kw) -> str:
    result = eligibility(strategy, account_state(strategy, p, _day(dpd), **kw))
    i = result.loan_id.get_loc("A")
    return result.rules[result.blocked_by[i, result.actions.index(action)]]


def test_counted_actions_choose_what_the_caps_count():
    as_of = 40
    p = portfolio([(as_of - 1, "sms", "contacted"), (as_of - 2, "call", "no_contact")])
    assert row(REG_F, p, as_of)["attempts_7d"] == 1
    both = REG_F.replace(rules={"counted_actions": ["sms", "call"]})
    assert row(both, p, as_of)["attempts_7d"] == 2
    assert first_rule_at(both, p, as_of, "sms") == "cooldown"  # the SMS reached the customer


@pytest.mark.parametrize(
    ("ago", "expected"),
    [(0, "cooldown"), (6, "cooldown"), (7, "eligible"), (30, "eligible")],
)
def test_cooldown_after_a_conversation(ago, expected):
    # Reg F: no call "within a period of 7 days after having had a telephone
    # conversation"; the day of the conversation is the first of the 7.
    as_of = 40
    p = portfolio([(as_of - ago, "call", "contacted")])
    assert row(REG_F, p, as_of)["days_since_conversation"] == ago
    assert first_rule_at(REG_F, p, as_of, "call") == expected


def test_only_a_reached_customer_starts_the_cooldown():
    as_of = 40
    p = portfolio(
        [
            (as_of - 1, "call", "no_contact"),
            (as_of - 2, "sms", "contacted"),  # not a counted action under Reg F
            (as_of - 20, "call", "refused"),
        ]
    )
    assert row(REG_F, p, as_of)["days_since_conversation"] == 20
    assert first_rule_at(REG_F, p, as_of, "call") == "eligible"


def test_actions_today_count_towards_the_daily_caps():
    as_of = 40
    dials = [(as_of, "call", "no_contact")] * 5 + [(as_of - 1, "call", "no_contact")]
    p = portfolio(dials)
    r = row(CHINA, p, as_of)
    assert (r["attempts_today"], r["conversations_today"], r["attempts_7d"]) == (5, 0, 6)
    assert first_rule_at(CHINA, p, as_of, "call") == "eligible"
    p = portfolio([*dials, (as_of, "call", "no_contact")])
    assert first_rule_at(CHINA, p, as_of, "call") == "max_attempts_day"
    talks = [(as_of, "call", "contacted"), (as_of, "call", "refused"), (as_of, "call", "promise")]
    p = portfolio(talks[:2])
    assert row(CHINA, p, as_of)["conversations_today"] == 2
    assert first_rule_at(CHINA, p, as_of, "call") == "eligible"
    p = portfolio([*talks[:2], (as_of, "call", "dispute")])
    assert first_rule_at(CHINA, p, as_of, "call") == "max_conversations_day"


@pytest.mark.parametrize(("dpd", "expected"), [(45, "promise_pending"), (46, "eligible")])
def test_the_promise_pause_ends_the_day_after_the_promise_date(dpd, expected):
    p = portfolio([(40, "call", "promise", 45)])
    r = row(S, p, dpd)
    assert r["promise_date"] == _day(45)
    assert r["days_to_promise"] == 45 - dpd
    assert first_rule_at(S, p, dpd, "call") == expected
    assert first_rule_at(S, p, dpd, "visit") == expected


def test_the_latest_promise_date_counts_and_undated_promises_do_not_pause():
    p = portfolio(
        [(30, "call", "promise", 50), (40, "visit", "promise", 44), (41, "call", "promise")]
    )
    assert row(S, p, 45)["promise_date"] == _day(50)
    assert first_rule_at(S, p, 45, "sms") == "promise_pending"
    undated = portfolio([(41, "call", "promise")])
    assert pd.isna(row(S, undated, 45)["promise_date"])
    assert first_rule_at(S, undated, 45, "sms") == "eligible"


def test_failed_contacts_count_attempts_since_the_last_payment_or_promise():
    actions = [
        (1, "sms", "contacted"),
        (2, "call", "no_contact"),
        (5, "call", "refused"),  # the day of the payment: not a failure
        (6, "letter", "no_contact"),
        (7, "restructure", "refused"),  # not a contact attempt
        (8, "other", "no_contact"),  # neither
        (9, "visit", "contacted"),
        (9, "sms", "no_contact"),
    ]
    p = portfolio(actions, payments=[(5, 100.0)])
    assert row(S, p, 10)["failed_contacts"] == 3  # days 6, 9, 9
    assert row(S, portfolio(actions), 10)["failed_contacts"] == 6
    promise = portfolio([*actions, (10, "call", "promise", 12)], payments=[(5, 100.0)])
    assert row(S, promise, 10)["failed_contacts"] == 0
    paid = portfolio([*actions, (9, "call", "paid")], payments=[(5, 100.0)])
    assert row(S, paid, 10)["failed_contacts"] == 0
    later = portfolio([*actions, (3, "call", "promise", 4), (11, "call", "no_contact")])
    assert row(S, later, 11)["failed_contacts"] == 5  # days 5, 6, 9, 9 and 11
    only_calls = S.replace(rules={"attempt_actions": ["call"]})
    assert row(only_calls, p, 10)["failed_contacts"] == 0


def test_legal_needs_failed_contacts():
    calls = [(88 - k, "call", "no_contact") for k in range(3)]
    offer = [(10, "restructure", "refused")]
    assert first_rule_at(S, portfolio(offer + calls[:2]), 100, "legal") == "min_failed_contacts"
    assert first_rule_at(S, portfolio(offer + calls), 100, "legal") == "eligible"


@pytest.mark.parametrize(("ago", "expected"), [(179, "eligible"), (180, "restructure_considered")])
def test_legal_needs_a_restructuring_offer_in_the_lookback(ago, expected):
    dpd = 200
    calls = [(dpd - k, "call", "no_contact") for k in range(1, 4)]
    p = portfolio([(dpd - ago, "restructure", "refused"), *calls])
    assert row(S, p, dpd)["days_since_restructure_offer"] == ago
    assert first_rule_at(S, p, dpd, "legal") == expected


def test_an_assessment_of_ineligibility_counts_as_considered():
    calls = [(100 - k, "call", "no_contact") for k in range(1, 4)]
    p = portfolio(calls)
    assert first_rule_at(S, p, 100, "legal") == "restructure_considered"
    flags = flags_table(["A"], S, restructure_ineligible=[True])
    assert first_rule_at(S, p, 100, "legal", flags=flags) == "eligible"
    assert first_rule_at(S, p, 100, "restructure", flags=flags) == "restructure_ineligible"


def test_a_restructured_loan_was_offered_restructuring_at_its_start():
    p = portfolio(loans_extra={"restructured_from": [None]})
    loans = pd.concat(
        [p.loans, p.loans.assign(loan_id="A-R1", start_date=_day(10), restructured_from="A")],
        ignore_index=True,
    )
    inst = pd.concat([p.installments, p.installments.assign(loan_id="A-R1", due_date=_day(40))])
    s = account_state(S, Portfolio(loans=loans, installments=inst, payments=p.payments), _day(60))
    assert s.loc["A-R1", "days_since_restructure_offer"] == 50
    assert np.isnan(s.loc["A", "days_since_restructure_offer"])


# -- flags -----------------------------------------------------------------------------


def test_flags_come_from_the_flags_frame():
    p = portfolio(more_loans=True)
    flags = pd.DataFrame(
        {
            "opt_out_call": [True, False],
            "cease_contact": pd.array([None, True], dtype="boolean"),
            "hardship": [1, 0],
            "vulnerable": ["no", "YES"],
            "opt_out_sms": pd.Categorical(["false", "true"]),
            "opt_out_visit": [False, False],
            "opt_out_letter": ["0", "0"],
            "restructure_ineligible": [0.0, 0.0],
        },
        index=pd.Index(["A", "E"], name="loan_id"),
    )
    s = account_state(S, p, _day(30), flags=flags)
    assert s.loc["A", ["opt_out_voice", "cease_contact", "hardship", "vulnerable"]].tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert s.loc["E", ["cease_contact", "vulnerable", "opt_out_sms"]].all()
    assert not s.loc["E", "opt_out_voice"]
    assert not s[["opt_out_field", "opt_out_letter", "restructure_ineligible"]].any().any()
    # A loan absent from the frame reads False; a loan_id column works as well.
    only_e = flags.iloc[1:].reset_index()
    s = account_state(S, p, _day(30), flags=only_e)
    assert not s.loc["A", list(FLAGS)].any() and s.loc["E", "cease_contact"]


def test_flag_column_names_are_configurable():
    p = portfolio()
    custom = S.replace(flags={"opt_out_voice": "dnc"})
    flags = flags_table(["A"], custom, opt_out_voice=[True])
    assert "dnc" in flags and "opt_out_call" not in flags
    assert account_state(custom, p, _day(30), flags=flags).loc["A", "opt_out_voice"]
    # The default strategy reads opt_out_call: dnc is no column of its flags.
    with pytest.raises(odr.DataValidationError, match=r"flags\.dnc: unknown_column"):
        account_state(S, p, _day(30), flags=flags)


def test_a_strategy_needs_only_the_flags_its_rules_read():
    p = portfolio()
    # With legal action alone (no channel), no opt-out and no cease-contact is read.
    few = S.replace(
        actions={a: {"enabled": False} for a in ("sms", "call", "visit", "restructure")}
    )
    flags = flags_table(["A"], few)
    assert set(flags) == {"hardship", "vulnerable", "restructure_ineligible"}
    assert not account_state(few, p, _day(30), flags=flags).loc["A", list(FLAGS)].any()
    # A column the strategy maps but does not read is allowed, and blocks nothing.
    flags["cease_contact"] = True
    state = account_state(few, p, _day(30), flags=flags)
    assert state.loc["A", "cease_contact"]
    assert eligibility(few, state).table().loc["A", "legal"] != "cease_contact"


def test_flags_default_to_the_loans_columns():
    p = portfolio(loans_extra={"cease_contact": [True], "hardship": [0]})
    s = account_state(S, p, _day(30))
    assert s.loc["A", "cease_contact"] and not s.loc["A", "hardship"]
    table = eligibility(S, s).table()
    assert table.loc["A"].tolist() == ["cease_contact"] * 4 + ["min_dpd", "eligible"]


def _flags(ids=("A",), **flagged) -> pd.DataFrame:
    return flags_table(ids, S, **flagged)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            _flags(hardship=["maybe"]),
            r"flags.hardship: wrong_type \(1\): Flags must be true/false, yes/no or 1/0 "
            r"\(a blank reads false\)\. First: loan_id=A \(row 0\): 'maybe'",
        ),
        (_flags(hardship=[2.0]), r"flags.hardship: wrong_type \(1\).*loan_id=A \(row 0\): 2\.0"),
        (_flags(["A", "A"]), r"flags.loan_id: unique \(2\): .* First: loan_id=A \(row 0\)"),
        (_flags([1]), r"flags.loan_id: orphan \(1\): .*text '00123' is not the number 123"),
        (_flags().reset_index(drop=True), r"flags.loan_id: missing_column"),
        (
            _flags().rename(columns={"hardship": "hardshp"}),
            r"unknown_column.*did you mean hardship",
        ),
        (_flags().drop(columns="cease_contact"), r"flags.cease_contact: missing_column"),
        ([], r"flags must be a DataFrame; got list\."),
    ],
)
def test_bad_flags(flags, message):
    with pytest.raises(odr.OverdueRiskError, match=message):
        account_state(S, portfolio(), _day(30), flags=flags)


def test_bad_flags_in_the_loans_table():
    p = portfolio(loans_extra={"hardship": ["perhaps"]})
    with pytest.raises(odr.DataValidationError, match=r"loans.hardship: wrong_type.*'perhaps'"):
        account_state(S, p, _day(30))


# -- arguments -------------------------------------------------------------------------


def test_account_state_checks_its_arguments():
    p = portfolio()
    with pytest.raises(odr.OverdueRiskError, match=r"as_of must be one date; got 2\."):
        account_state(S, p, [_day(1), _day(2)])
    with pytest.raises(odr.OverdueRiskError, match="strategy must be a Strategy"):
        account_state("us_reg_f", p, _day(1))
    with pytest.raises(odr.OverdueRiskError, match="portfolio must be a Portfolio"):
        account_state(S, {}, _day(1))
    with pytest.raises(odr.OverdueRiskError, match="ledger must be a Ledger"):
        account_state(S, p, _day(1), ledger="x")
    other = portfolio(more_loans=True)
    with pytest.raises(odr.OverdueRiskError, match="ledger must be built from the same portfolio"):
        account_state(S, p, _day(1), ledger=Ledger(other))


def test_a_given_ledger_gives_the_same_state():
    p = odr.validate(portfolio([(3, "call", "contacted")], more_loans=True))
    ledger = Ledger(p, odr.LedgerConfig(tolerance=0.0))
    pd.testing.assert_frame_equal(
        account_state(S, p, _day(30), ledger=ledger), account_state(S, p, _day(30))
    )


# -- the bundled sample against a plain reference ------------------------------------------


def reference(strategy: Strategy, p: Portfolio, as_of: str) -> pd.DataFrame:
    """The state by its definitions, one account at a time."""
    t = pd.Timestamp(as_of)
    led = Ledger(p).at(as_of).table().droplevel("as_of")
    accounts = led[(led["dpd"] > 0) & ~led["is_closed"]]
    log = p.collections
    log = log[(log["action_date"] <= t) & log["loan_id"].isin(accounts.index)]
    by_loan = dict(tuple(log.groupby("loan_id", observed=True)))
    r = strategy.rules
    reached = {"contacted", "promise", "paid", "refused", "dispute"}
    replaced = p.loans.set_index("loan_id")
    replaced = replaced.loc[replaced["restructured_from"].notna(), "start_date"]
    rows = {}
    for loan, acct in accounts.iterrows():
        if acct["source"] == "statements" and acct["overdue_amount"] > 0:
            if card_paid_up(p, loan, t, acct["overdue_amount"]):
                continue  # a card that paid its last statement's shortfall since is current
        g = by_loan.get(loan, log.iloc[:0])
        counted = g[g["action"].isin(r.counted_actions)]
        talks = counted[counted["outcome"].isin(reached)]
        promises = g[(g["outcome"] == "promise") & g["promise_date"].notna()]
        resets = g.loc[g["outcome"].isin(["promise", "paid"]), "action_date"].tolist()
        if pd.notna(acct["last_payment_date"]):
            resets.append(acct["last_payment_date"])
        since = max(resets) if resets else pd.Timestamp.min
        attempts = g[g["action"].isin(r.attempt_actions) & (g["action_date"] > since)]
        offers = g.loc[g["action"] == "restructure", "action_date"].tolist()
        if loan in replaced.index:
            offers.append(replaced[loan])
        rows[loan] = {
            "attempts_7d": int((counted["action_date"] > t - pd.Timedelta(days=7)).sum()),
            "contacts_7d": int(
                (
                    g["action"].isin(["sms", "call", "visit", "letter"])
                    & (g["action_date"] > t - pd.Timedelta(days=7))
                ).sum()
            ),
            "attempts_today": int((counted["action_date"] == t).sum()),
            "conversations_today": int((talks["action_date"] == t).sum()),
            "days_since_conversation": (t - talks["action_date"].max()).days
            if len(talks)
            else np.nan,
            "promise_date": promises["promise_date"].max() if len(promises) else pd.NaT,
            "failed_contacts": len(attempts),
            "days_since_restructure_offer": (t - max(offers)).days if offers else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.mark.parametrize(("name", "as_of"), [("us_reg_f", "2024-03-31"), ("uk_eu", "2024-09-30")])
def test_sample_state_matches_the_reference(sample, name, as_of):
    strategy = Strategy.profile(name)
    got = account_state(strategy, sample, as_of)
    want = reference(strategy, sample, as_of)
    assert len(got) > 100
    assert got.index.tolist() == want.index.tolist()
    for column in want.columns:
        expected = want[column].to_numpy()
        actual = got[column].to_numpy()
        if column == "promise_date":
            assert (pd.isna(actual) == pd.isna(expected)).all(), column
            ok = ~pd.isna(expected)
            assert (actual[ok] == expected[ok].astype("datetime64[ns]")).all(), column
        else:
            np.testing.assert_array_equal(actual.astype(float), expected.astype(float), column)
    assert (got["attempts_7d"] > 0).any() and (got["failed_contacts"] > 0).any()
    assert (got["contacts_7d"] > got["attempts_7d"]).any()  # SMS and letters count too


def test_sample_eligibility_under_every_profile(sample):
    for name in Strategy.profiles():
        strategy = Strategy.profile(name)
        result = eligibility(strategy, account_state(strategy, sample, "2024-06-30"))
        assert result.eligible[:, -1].all()
        assert result.eligible.any(axis=0)[:2].all(), name  # someone gets an SMS and a call
        text = result.explain()
        assert ((text == "") == result.eligible.all(axis=1)).all()


# -- properties: rows after as_of and row order never matter -------------------------------

PROPERTY_STRATEGY = Strategy.from_dict(
    {
        "extends": "uk_eu",
        "rules": {
            "counted_actions": ["sms", "call", "visit"],
            "max_attempts_7d": 2,
            "max_attempts_day": 1,
            "max_conversations_day": 1,
            "cooldown_days": 5,
            "restructure_lookback_days": 30,
        },
        "actions": {"legal": {"min_dpd": 5, "min_balance": 0, "min_failed_contacts": 1}},
    }
)


ACTION = st.sampled_from(["sms", "call", "visit", "letter", "restructure", "other"])
OUTCOME = st.sampled_from(["no_contact", "contacted", "promise", "paid", "refused", None])


@st.composite
def action_rows(draw, loan_id, lo: int, hi: int, n_max: int):
    """Up to ``n_max`` collection rows of one loan dated from day ``lo`` to ``hi``."""
    rows = []
    for _ in range(draw(st.integers(0, n_max))):
        d = draw(st.integers(lo, hi))
        outcome = draw(OUTCOME)
        promise = outcome == "promise" and draw(st.booleans())
        rows.append(
            {
                "loan_id": loan_id,
                "action_date": day(d),
                "action": draw(ACTION),
                "outcome": outcome,
                "promise_date": day(d + draw(st.integers(0, 10))) if promise else pd.NaT,
                "promise_amount": 10.0 if promise else np.nan,
            }
        )
    return rows


@st.composite
def histories(draw):
    """A random portfolio, an as-of day, dense actions around it and actions after it."""
    records, acts, cards, stmts = draw(full_portfolios())
    as_of = draw(st.integers(60, 200))  # every loan has started
    starts = [(r["id"], r["start"]) for r in records] + [(c["id"], c["start"]) for c in cards]
    before, after = [], [a for a in acts if a["action_date"] > day(as_of)]
    for loan_id, start in starts:
        before += draw(action_rows(loan_id, max(start, as_of - 12), as_of, 8))
        after += draw(action_rows(loan_id, as_of + 1, as_of + 30, 4))
    flags = {
        name: [draw(st.booleans()) for _ in starts]
        for name in ("opt_out_voice", "opt_out_sms", "vulnerable", "restructure_ineligible")
    }
    flags = flags_table([loan_id for loan_id, _ in starts], PROPERTY_STRATEGY, **flags)
    before += [a for a in acts if a["action_date"] <= day(as_of)]
    p = to_full_portfolio(records, before, cards, stmts)
    more = to_full_portfolio(records, before + after, cards, stmts)
    return p, more, day(as_of), flags


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")
@settings(SETTINGS, max_examples=30)
@given(history=histories(), seed=st.integers(0, 2**32 - 1))
def test_rows_after_as_of_and_row_order_never_matter(history, seed):
    p, more, as_of, flags = history
    base = account_state(PROPERTY_STRATEGY, p, as_of, flags=flags)
    base_result = eligibility(PROPERTY_STRATEGY, base)
    for other in (more, shuffled(p, seed), shuffled(more, seed)):
        state = account_state(PROPERTY_STRATEGY, other, as_of, flags=flags).sort_index()
        pd.testing.assert_frame_equal(state, base.sort_index())
        result = eligibility(PROPERTY_STRATEGY, state)
        order = base.index.get_indexer(state.index)
        np.testing.assert_array_equal(result.blocked_by, base_result.blocked_by[order])
        assert (result.explain() == base_result.explain().iloc[order].to_numpy()).all()


def test_days_since_payment_is_the_age_of_the_last_payment_on_or_before_the_day():
    """Found by hand: the last payment dated on or before the day, a payment row's or a
    statement's with something paid (a card's payments arrive on its statements)."""
    p = odr.load_portfolio("data/sample")
    day = pd.Timestamp("2024-06-30")
    s = account_state(S, p, day)
    st = p.statements[p.statements["amount_paid"] > 0]
    paid = pd.concat(
        [
            p.payments[["loan_id", "payment_date"]].rename(columns={"payment_date": "on"}),
            st[["loan_id", "statement_date"]].rename(columns={"statement_date": "on"}),
        ]
    )
    last = paid[paid["on"] <= day].groupby("loan_id")["on"].max()
    expected = (day - last.reindex(s.index)).dt.days.astype(np.float64)
    np.testing.assert_array_equal(s["days_since_payment"].to_numpy(), expected.to_numpy())
    assert (s["days_since_payment"].dropna() >= 0).all()
