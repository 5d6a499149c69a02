"""``plan_worklist``, ``book_size``, ``Strategy.capacity_shares`` and ``randomised_cell``:
the day's worklist from account states built chunk by chunk, without the portfolio."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import SAMPLE, SETTINGS, flags_table, in_arrears, only_loans
from overdue_risk import (
    Ledger,
    OverdueRiskError,
    Portfolio,
    Strategy,
    StrategyError,
    load_portfolio,
    validate,
)
from overdue_risk.prioritise import (
    RiskBasedValue,
    account_state,
    book_size,
    capacity_shares,
    eligibility,
    logged_decisions,
    plan_worklist,
    prioritise,
    randomised_cell,
)

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def portfolio():
    return validate(load_portfolio(SAMPLE))


@pytest.fixture(scope="module")
def scores(portfolio):
    """Every loan scored on the day, with varied scores and reason texts."""
    ids = portfolio.loans["loan_id"].astype(str)
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "loan_id": ids,
            "as_of": AS_OF,
            "score": rng.integers(1, 100, len(ids)) / 100,
            "reason_1_text": "Days past due",
            "reason_2_text": np.where(rng.random(len(ids)) < 0.5, "Broken promise", ""),
        }
    )


@pytest.fixture(scope="module")
def flags(portfolio):
    return flags_table(portfolio.loans["loan_id"])


def halves(portfolio, seed: int) -> tuple[Portfolio, Portfolio]:
    """The book split in two by customer: every customer's loans in one half."""
    loans = portfolio.loans
    customers = loans["customer_id"].unique()
    rng = np.random.default_rng(seed)
    first = rng.choice(customers, len(customers) // 2, replace=False)
    mine = loans["customer_id"].isin(first)
    return only_loans(portfolio, loans.loc[mine, "loan_id"]), only_loans(
        portfolio, loans.loc[~mine, "loan_id"]
    )


def assert_same_worklist(got, expected) -> None:
    pd.testing.assert_frame_equal(got.table(), expected.table())
    pd.testing.assert_frame_equal(got.actions(), expected.actions())
    pd.testing.assert_frame_equal(got.summary(), expected.summary())
    assert got.summary().attrs == expected.summary().attrs
    a, b = got.allocation, expected.allocation
    np.testing.assert_array_equal(a.action, b.action)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.prices, b.prices)
    assert (a.objective, a.upper_bound, a.method) == (b.objective, b.upper_bound, b.method)
    assert got.eligibility.loan_id.equals(expected.eligibility.loan_id)
    assert (got.book, got.warnings, got.causal) == (
        expected.book,
        expected.warnings,
        expected.causal,
    )


# -- the worklist from the state ----------------------------------------------------------


@pytest.mark.parametrize("profile", ["default", "uk_eu"])
@pytest.mark.parametrize("model", [None, RiskBasedValue()], ids=["arrears rule", "risk based"])
def test_plan_worklist_on_the_state_and_the_book_is_prioritise(
    portfolio, scores, flags, profile, model
):
    strategy = Strategy.profile(profile)
    state = account_state(strategy, portfolio, AS_OF, flags=flags)
    book = book_size(portfolio, AS_OF)
    got = plan_worklist(state, scores, AS_OF, profile, book=book, value_model=model)
    expected = prioritise(scores, portfolio, AS_OF, profile, value_model=model, flags=flags)
    assert_same_worklist(got, expected)
    assert got.book == 2522  # the sample's open loans
    assert sorted(got.table().index) == sorted(in_arrears(portfolio, AS_OF))


@pytest.mark.parametrize("profile", ["default", "uk_eu"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_states_of_two_halves_of_the_book_plan_the_whole_books_worklist(
    portfolio, scores, flags, profile, seed
):
    strategy = Strategy.profile(profile)
    parts = halves(portfolio, seed)
    states = [
        account_state(strategy, part, AS_OF, flags=flags.loc[part.loans["loan_id"]])
        for part in parts
    ]
    books = [book_size(part, AS_OF) for part in parts]
    assert sum(books) == book_size(portfolio, AS_OF)
    # The second half first: the order the chunks come in does not matter.
    state = pd.concat(states[::-1])
    got = plan_worklist(state, scores, AS_OF, strategy, book=sum(books))
    expected = prioritise(scores, portfolio, AS_OF, strategy, flags=flags)
    assert_same_worklist(got, expected)


@pytest.mark.parametrize("method", ["lp", "greedy"])
def test_the_worklist_does_not_depend_on_the_order_of_the_states_rows(
    portfolio, scores, flags, method
):
    strategy = Strategy.profile("uk_eu")
    state = account_state(strategy, portfolio, AS_OF, flags=flags)
    kw = {"book": book_size(portfolio, AS_OF), "method": method}
    plain = plan_worklist(state, scores, AS_OF, strategy, **kw)
    shuffled = state.iloc[np.random.default_rng(3).permutation(len(state))]
    assert_same_worklist(plan_worklist(shuffled, scores, AS_OF, strategy, **kw), plain)
    assert_same_worklist(plan_worklist(state.iloc[::-1], scores, AS_OF, strategy, **kw), plain)


class FlatCall:
    """Every account is worth the same call: 10 recovered against nothing."""

    causal = True

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"none": 0.0, "call": 10.0}, index=state.index)


def test_ties_go_to_the_lowest_loan_ids_in_their_order(portfolio, scores, flags):
    only_calls = Strategy().replace(
        actions={
            **{a: {"enabled": False} for a in ("sms", "visit", "restructure", "legal")},
            "call": {"capacity": 5, "cost": 1.0},
        }
    )
    state = account_state(only_calls, portfolio, AS_OF, flags=flags)
    may_call = state.index[eligibility(only_calls, state).eligible[:, 0]]
    assert len(may_call) > 5
    kw = {"book": book_size(portfolio, AS_OF), "value_model": FlatCall(), "method": "greedy"}
    t = plan_worklist(state.iloc[::-1], scores, AS_OF, only_calls, **kw).table()
    # Every call is worth 10 - 1: the five lowest ids get them, ranked in id order,
    # and every untreated account follows, in id order too.
    called = sorted(may_call)[:5]
    assert t.index[:5].tolist() == called and t["rank"].iloc[:5].tolist() == [1, 2, 3, 4, 5]
    assert (t["action"].iloc[:5] == "call").all() and (t["expected_value"].iloc[:5] == 9.0).all()
    assert t.index[5:].tolist() == sorted(set(state.index) - set(called))


def test_scores_of_loans_outside_the_state_are_not_needed_nor_refused(portfolio, scores, flags):
    strategy = Strategy.profile("default")
    state = account_state(strategy, portfolio, AS_OF, flags=flags)
    book = book_size(portfolio, AS_OF)
    overdue = scores[scores["loan_id"].isin(state.index)]
    other = scores.assign(loan_id="X" + scores["loan_id"])  # loans of another chunk
    got = plan_worklist(state, pd.concat([overdue, other]), AS_OF, strategy, book=book)
    assert_same_worklist(got, plan_worklist(state, scores, AS_OF, strategy, book=book))


def test_an_empty_state_plans_an_empty_worklist(portfolio, scores, flags):
    state = account_state(Strategy(), portfolio, AS_OF, flags=flags).iloc[:0]
    work = plan_worklist(state, scores, AS_OF, "default", book=100)
    assert len(work.table()) == 0 and work.book == 100
    assert work.capacities["call"] == 180 * 100 // 10_000


@pytest.fixture(scope="module")
def state(portfolio, flags):
    return account_state(Strategy(), portfolio, AS_OF, flags=flags)


@pytest.mark.parametrize(
    ("change", "kw", "match"),
    [
        (lambda s, c: (s, c.iloc[1:]), {}, r"1 overdue accounts have no risk score on or before "),
        (lambda s, c: (s, c), {"book": -1}, r"book must be an integer >= 0; got -1\."),
        (lambda s, c: (s, c), {"book": 2.5}, r"book must be an integer >= 0; got 2\.5\."),
        (lambda s, c: (s, c), {"max_score_age_days": -1}, r"max_score_age_days must be"),
        (lambda s, c: (s.to_dict(), c), {}, r"state must be a DataFrame.* got dict\."),
        (lambda s, c: (s.drop(columns="dpd"), c), {}, r"lacks the columns dpd\."),
        (lambda s, c: (c, s), {}, r"lacks the columns dpd, .*\(the state comes first"),
        (lambda s, c: (pd.concat([s, s.iloc[:3]]), c), {}, r"3 loan_ids are repeated, first"),
        (lambda s, c: (s, c.drop(columns="score")), {}, r"scores.score: missing_column"),
    ],
)
def test_bad_inputs_are_refused(state, change, kw, match):
    overdue = pd.DataFrame({"loan_id": state.index.astype(str), "as_of": AS_OF, "score": 0.3})
    first, second = change(state, overdue)
    with pytest.raises(OverdueRiskError, match=match):
        plan_worklist(first, second, AS_OF, "default", **{"book": 2522, **kw})


def test_the_account_without_a_score_is_named(state):
    scores = pd.DataFrame({"loan_id": state.index.astype(str), "as_of": AS_OF, "score": 0.3})
    missing = sorted(state.index)[0]
    with pytest.raises(OverdueRiskError, match=rf"first: \['{missing}'\]\. Score the portfolio"):
        plan_worklist(state, scores[scores["loan_id"] != missing], AS_OF, "default", book=2522)


def test_as_of_is_one_date(state):
    scores = pd.DataFrame({"loan_id": state.index.astype(str), "score": 0.3})
    with pytest.raises(OverdueRiskError, match=r"as_of must be one date; got 2\."):
        plan_worklist(state, scores, ["2024-06-29", AS_OF], "default", book=2522)


# -- the book -------------------------------------------------------------------------------


def tiny_book() -> Portfolio:
    """Six loans around 2024-06-30: three of them in the book that day."""
    loans = pd.DataFrame(
        {
            "loan_id": ["open", "starts_that_day", "starts_after", "closes_that_day",
                        "closes_after", "closed_before"],
            "customer_id": "c",
            "product_type": "instalment",
            "start_date": ["2024-01-01", "2024-06-30", "2024-07-01", "2024-01-01",
                           "2024-01-01", "2024-01-01"],
            "principal": 100.0,
            "closed_date": [None, None, None, "2024-06-30", "2024-07-01", "2024-03-01"],
        }
    )  # fmt: skip
    schedule = pd.DataFrame(
        {"loan_id": loans["loan_id"], "installment_no": 1, "due_date": "2024-08-01"}
    ).assign(amount_due=100.0)
    payments = pd.DataFrame(
        {"loan_id": pd.Series([], dtype=object), "payment_date": [], "amount": []}
    )
    return Portfolio(loans=loans, installments=schedule, payments=payments)


def test_book_size_counts_the_loans_started_and_not_closed():
    p = tiny_book()
    # In: open, starts_that_day, closes_after. Out: starts_after (not started),
    # closes_that_day and closed_before (closed on or before the day).
    assert book_size(p, AS_OF) == 3
    assert book_size(p, AS_OF, ledger=Ledger(validate(p))) == 3
    assert book_size(p, "2024-06-29") == 3  # starts_that_day not yet; closes_that_day still
    assert book_size(p, "2024-07-01") == 3  # starts_after is in; closes_after is out
    assert book_size(p, "2023-12-31") == 0


def test_book_size_of_the_sample_is_the_loans_tables_count(portfolio):
    loans, day = portfolio.loans, pd.Timestamp(AS_OF)
    by_hand = (loans["start_date"] <= day) & ~(loans["closed_date"] <= day)
    assert book_size(portfolio, AS_OF) == int(by_hand.sum()) == 2522


def test_book_size_refuses_a_ledger_of_another_portfolio(portfolio):
    with pytest.raises(OverdueRiskError, match="ledger must be built from the same portfolio"):
        book_size(portfolio, AS_OF, ledger=Ledger(validate(tiny_book())))
    with pytest.raises(OverdueRiskError, match="portfolio must be a Portfolio; got str"):
        book_size(SAMPLE, AS_OF)


# -- capacity shares ------------------------------------------------------------------------


def test_strategy_capacity_shares_by_hand():
    s = Strategy().replace(
        actions={
            "call": {"capacity_per_10k": 180},  # 180 x 2,522 / 10,000 = 45.4: 45
            "visit": {"capacity": 2},
            "restructure": {"capacity": 1_000},  # more than the overdue accounts: 1
        }
    )
    # sms and legal are unlimited: left out, as is wait.
    assert s.capacity_shares(2522, 271) == {"call": 45 / 271, "visit": 2 / 271, "restructure": 1.0}
    assert s.capacity_shares(2522, 0) == {"call": 1.0, "visit": 1.0, "restructure": 1.0}
    # An empty book: no calls by the rate; the fixed capacities stay.
    assert s.capacity_shares(0, 10) == {"call": 0.0, "visit": 0.2, "restructure": 1.0}
    assert Strategy().capacity_shares(2522, 271) == {}


@pytest.mark.parametrize(
    ("book", "overdue", "match"),
    [
        (-1, 3, r"book must be an integer >= 0; got -1\."),
        (10, -2, r"overdue must be an integer >= 0; got -2\."),
        (10, 1.5, r"overdue must be an integer >= 0; got 1\.5\."),
        (math.inf, 3, r"book must be an integer >= 0; got inf\."),
        ("10", 3, r"book must be an integer >= 0; got '10'\."),
    ],
)
def test_strategy_capacity_shares_checks_its_arguments(book, overdue, match):
    with pytest.raises(StrategyError, match=match):
        Strategy().capacity_shares(book, overdue)


def test_capacity_shares_of_a_portfolio_are_the_strategys_of_its_book(portfolio):
    s = Strategy.profile("uk_eu")
    overdue = len(account_state(s, portfolio, AS_OF))
    shares = capacity_shares(s, portfolio, AS_OF)
    assert shares == s.capacity_shares(book_size(portfolio, AS_OF), overdue)
    assert shares["call"] == (180 * 2522 // 10_000) / len(in_arrears(portfolio, AS_OF))


# -- the randomised cell --------------------------------------------------------------------


def test_randomised_cell_of_the_sample_by_hand(portfolio):
    log = portfolio.collections
    marked = log["holdout"].astype("boolean")
    yes = set(log.loc[marked.fillna(False).to_numpy(dtype=bool), "loan_id"])
    no = set(log.loc[(~marked).fillna(False).to_numpy(dtype=bool), "loan_id"])
    loans = portfolio.loans["loan_id"]
    expected = loans[loans.isin(yes - no)].tolist()
    cell = randomised_cell(portfolio)
    assert cell.name == "loan_id" and cell.tolist() == expected and len(cell) == 272


def test_logged_decisions_read_the_same_cell(portfolio):
    cell = randomised_cell(portfolio)
    window = (AS_OF, AS_OF)
    by_rule = logged_decisions(portfolio, *window)
    by_list = logged_decisions(portfolio, *window, cell=cell)
    pd.testing.assert_frame_equal(by_rule, by_list)
    assert set(by_rule.index.get_level_values("loan_id")) <= set(cell)


def test_no_log_or_no_holdout_column_is_an_empty_cell(portfolio):
    unmarked = Portfolio(
        **{**portfolio.tables(), "collections": portfolio.collections.drop(columns="holdout")}
    )
    no_log = Portfolio(**{k: v for k, v in portfolio.tables().items() if k != "collections"})
    for p in (unmarked, no_log):
        cell = randomised_cell(p)
        assert len(cell) == 0 and cell.name == "loan_id"


HOLDOUT = [True, False, None]


@st.composite
def marked_books(draw):
    """Up to six loans in a drawn order, each with up to three collection rows whose
    ``holdout`` is True, False or missing, and a part (0 to 2) for every loan."""
    n = draw(st.integers(1, 6))
    order = draw(st.permutations(range(n)))
    marks = [draw(st.lists(st.sampled_from(HOLDOUT), max_size=3)) for _ in range(n)]
    parts = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return [f"L{i}" for i in order], marks, parts


def marked_portfolio(ids: list[str], marks: list[list]) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": ids,
            "product_type": "instalment",
            "start_date": "2024-01-01",
            "principal": 100.0,
        }
    )
    schedule = pd.DataFrame(
        {"loan_id": ids, "installment_no": 1, "due_date": "2024-02-01", "amount_due": 100.0}
    )
    payments = pd.DataFrame({"loan_id": pd.Series([], dtype=object), "payment_date": [],
                             "amount": []})  # fmt: skip
    rows = [(i, k, m) for i, ms in zip(ids, marks, strict=True) for k, m in enumerate(ms)]
    log = pd.DataFrame(
        {
            "loan_id": pd.Series([r[0] for r in rows], dtype=object),
            "action_date": [pd.Timestamp("2024-02-05") + pd.Timedelta(days=r[1]) for r in rows],
            "action": "sms",
            "holdout": pd.array([r[2] for r in rows], dtype="boolean"),
        }
    )
    return Portfolio(loans=loans, installments=schedule, payments=payments, collections=log)


@SETTINGS
@given(marked_books())
def test_the_cell_is_per_loan_so_chunks_of_loans_add_up_to_the_book(book):
    ids, marks, parts = book
    whole = marked_portfolio(ids, marks)
    cell = randomised_cell(whole)
    # The rule by hand: a row marked True, none marked False; in the loans table's order.
    assert cell.tolist() == [
        i for i, m in zip(ids, marks, strict=True) if True in m and False not in m
    ]
    chunks = []
    for part in sorted(set(parts)):
        mine = [i for i, p in zip(ids, parts, strict=True) if p == part]
        chunks.append(randomised_cell(only_loans(whole, mine)))
    joined = pd.Index(np.concatenate([c.to_numpy(dtype=object) for c in chunks]))
    assert not joined.has_duplicates and set(joined) == set(cell)
    # Each chunk keeps the loans table's order: in the book's order, the chunks' cells are its.
    assert [i for i in ids if i in set(joined)] == cell.tolist()


def test_loans_marked_both_ways_are_left_out_and_logged(caplog):
    p = marked_portfolio(["B", "A", "C"], [[True, False], [True, None], [False]])
    with caplog.at_level(logging.WARNING, logger="overdue_risk.prioritise"):
        cell = randomised_cell(p)
    assert cell.tolist() == ["A"]
    assert "1 loans have collection rows both in and out of the randomised cell" in caplog.text
