"""Quarantine: the loans that break the contract are set aside, the rest is validated.

Each corruption below breaks one rule on one loan (or customer, or one row that names
no loan) of the hand-made portfolio and states by hand what must be set aside:
``(loan_id, customer_id, table, column, rule, rows)``. The valid part is compared
with ``validate`` of the portfolio cut by hand (plain ``isin`` on the ids), never with
the output of the code under test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import HANDMADE, ROOT, SAMPLE, SETTINGS
from overdue_risk import (
    DataQualityWarning,
    DataValidationError,
    OverdueRiskError,
    Portfolio,
    load_portfolio,
    validate,
)
from overdue_risk.contract import quarantine
from strategies import full_portfolios, shuffled, to_full_portfolio

COLUMNS = ["loan_id", "customer_id", "table", "column", "rule", "rows", "message"]
Frames = dict[str, pd.DataFrame]
Row = tuple  # (loan_id, customer_id, table, column, rule, rows)


@pytest.fixture(scope="module")
def handmade() -> Portfolio:
    """The hand-made portfolio as read, not validated (read only: copy before changing)."""
    return load_portfolio(HANDMADE, validate=False)


@pytest.fixture(scope="module")
def raw_sample() -> Portfolio:
    """The simulated sample as read, not validated (read only)."""
    return load_portfolio(SAMPLE, validate=False)


# -- helpers ------------------------------------------------------------------------------


def run(p: Portfolio) -> tuple[Portfolio, pd.DataFrame, list[str]]:
    """``quarantine(p)`` and the warnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        valid, rejected = quarantine(p)
    return valid, rejected, [str(w.message) for w in caught]


def validated(p: Portfolio) -> tuple[Portfolio, list[str]]:
    """``validate(p)`` and the warnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        valid = validate(p)
    return valid, [str(w.message) for w in caught]


def cut(p: Portfolio, loans=(), customers=()) -> Portfolio:
    """``p`` without the loans ``loans`` and customers ``customers``, and without every
    row whose ``loan_id`` is not one of the loans left (unknown or missing ids)."""
    left = p.loans["loan_id"][~p.loans["loan_id"].isin(set(loans))]
    tables = {}
    for name, df in p.tables().items():
        if name == "customers":
            tables[name] = df[~df["customer_id"].isin(set(customers))]
        else:
            tables[name] = df[df["loan_id"].isin(set(left))]
    return Portfolio(**tables)


def assert_same(a: Portfolio, b: Portfolio) -> None:
    assert a.validated and b.validated
    assert list(a.tables()) == list(b.tables())
    for name in a.tables():
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def canonical(p: Portfolio) -> dict[str, pd.DataFrame]:
    """Every table sorted by all its columns: the same rows in any input order."""
    return {
        name: df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)
        for name, df in p.tables().items()
    }


def rows_of(rejected: pd.DataFrame) -> list[Row]:
    cols = ["loan_id", "customer_id", "table", "column", "rule", "rows"]
    return [tuple(r) for r in rejected[cols].itertuples(index=False)]


def expected_order(rows: list[Row]) -> list[Row]:
    """Sorted as documented: loan id, customer id (missing ones last), table in
    contract order, column, rule."""
    tables = ["loans", "installments", "payments", "statements", "collections", "customers"]
    return sorted(
        rows,
        key=lambda r: (
            (r[0] is None, r[0] or "", r[1] is None, r[1] or "", tables.index(r[2]), *r[3:5])
        ),
    )


def reconciles(p: Portfolio, valid: Portfolio, rejected: pd.DataFrame) -> bool:
    ids = p.loans["loan_id"]
    set_aside = rejected["loan_id"][rejected["loan_id"].isin(set(ids.dropna()))]
    return ids.nunique() == len(valid.loans) + set_aside.nunique()


# -- the corruptions: each breaks one rule, on its own loan -------------------------------


def _set(t: Frames, table: str, column: str, value, **match) -> None:
    df = t[table].copy()
    hit = np.ones(len(df), bool)
    for col, v in match.items():
        hit &= (df[col] == v).to_numpy()
    first = np.flatnonzero(hit)[0]  # the first row that matches
    if isinstance(value, str) and not pd.api.types.is_string_dtype(df[column]):
        df[column] = df[column].astype(object)  # text in a column of numbers, as in a CSV
    elif isinstance(value, float) and pd.api.types.is_integer_dtype(df[column]):
        df[column] = df[column].astype(float)
    df.iloc[first, df.columns.get_loc(column)] = value
    t[table] = df


def _append(t: Frames, table: str, **values) -> None:
    row = t[table].iloc[[0]].copy()
    for col, v in values.items():
        row[col] = v
    t[table] = pd.concat([t[table], row], ignore_index=True)


def negative_payment(t: Frames) -> None:
    _set(t, "payments", "amount", -5.0, loan_id="L006")


def payment_before_start(t: Frames) -> None:  # L011 starts 2024-04-01
    _set(t, "payments", "payment_date", "2024-03-01", loan_id="L011")


def duplicate_instalment(t: Frames) -> None:
    inst = t["installments"]
    copy = inst[(inst["loan_id"] == "L002") & (inst["installment_no"] == 2)]
    t["installments"] = pd.concat([inst, copy], ignore_index=True)


def duplicate_customer(t: Frames) -> None:  # C13 holds L014 and L018
    cust = t["customers"]
    t["customers"] = pd.concat([cust, cust[cust["customer_id"] == "C13"]], ignore_index=True)


def orphan_payment(t: Frames) -> None:
    _append(t, "payments", loan_id="L999", payment_date="2024-05-01", amount=10.0)


def missing_loan_id(t: Frames) -> None:
    _append(t, "payments", loan_id=None, payment_date="2024-05-01", amount=10.0)


def negative_credit_limit(t: Frames) -> None:
    _set(t, "statements", "credit_limit", -1, loan_id="L010")


def unknown_action(t: Frames) -> None:
    _set(t, "collections", "action", "shout", loan_id="L004")


def closed_before_start(t: Frames) -> None:  # L005 starts 2024-02-10
    _set(t, "loans", "closed_date", "2023-12-31", loan_id="L005")


def due_dates_swapped(t: Frames) -> None:  # L003: instalment 3 now due before instalment 2
    inst = t["installments"].copy()
    two = (inst["loan_id"] == "L003") & (inst["installment_no"] == 2)
    three = (inst["loan_id"] == "L003") & (inst["installment_no"] == 3)
    a, b = inst.loc[two, "due_date"].iloc[0], inst.loc[three, "due_date"].iloc[0]
    inst.loc[two, "due_date"], inst.loc[three, "due_date"] = b, a
    t["installments"] = inst


# name -> (mutation, loans set aside, customers set aside, rejected rows)
CORRUPTIONS: dict[str, tuple[Callable[[Frames], None], set, set, list[Row]]] = {
    "negative_payment": (
        negative_payment,
        {"L006"},
        set(),
        [("L006", "C06", "payments", "amount", "positive", 1)],
    ),
    "payment_before_start": (
        payment_before_start,
        {"L011"},
        set(),
        [("L011", "C11", "payments", "payment_date", "before_loan_start", 1)],
    ),
    "duplicate_instalment": (
        duplicate_instalment,
        {"L002"},
        set(),
        [("L002", "C02", "installments", "loan_id,installment_no", "unique", 1)],
    ),
    "duplicate_customer": (
        duplicate_customer,
        {"L014", "L018"},
        {"C13"},
        [
            ("L014", "C13", "customers", "customer_id", "unique", 1),
            ("L018", "C13", "customers", "customer_id", "unique", 1),
        ],
    ),
    "orphan_payment": (
        orphan_payment,
        set(),
        set(),
        [("L999", None, "payments", "loan_id", "orphan", 1)],
    ),
    "missing_loan_id": (
        missing_loan_id,
        set(),
        set(),
        [(None, None, "payments", "loan_id", "not_null", 1)],
    ),
    "negative_credit_limit": (
        negative_credit_limit,
        {"L010"},
        set(),
        [("L010", "C10", "statements", "credit_limit", "non_negative", 1)],
    ),
    "unknown_action": (
        unknown_action,
        {"L004"},
        set(),
        [("L004", "C04", "collections", "action", "allowed_values", 1)],
    ),
    "closed_before_start": (
        closed_before_start,
        {"L005"},
        set(),
        [("L005", "C05", "loans", "closed_date", "date_order", 1)],
    ),
    "due_dates_swapped": (
        due_dates_swapped,
        {"L003"},
        set(),
        [("L003", "C03", "installments", "due_date", "due_dates_out_of_order", 1)],
    ),
}


def corrupted(base: Portfolio, names) -> Portfolio:
    frames = {name: df.copy() for name, df in base.tables().items()}
    for name in names:
        CORRUPTIONS[name][0](frames)
    return Portfolio(**frames)


def check(base: Portfolio, names, seed: int | None = None) -> pd.DataFrame:
    """Quarantine the corrupted portfolio (shuffled with ``seed``) and check everything
    against what the corruptions state; returns the rejected table."""
    p = corrupted(base, names)
    loans = set().union(*(CORRUPTIONS[n][1] for n in names))
    customers = set().union(*(CORRUPTIONS[n][2] for n in names))
    expected_rows = expected_order([r for n in names for r in CORRUPTIONS[n][3]])
    expected, expected_warnings = validated(cut(p, loans, customers))
    if seed is not None:
        p = shuffled(p, seed)
    valid, rejected, caught = run(p)
    assert list(rejected.columns) == COLUMNS
    assert rows_of(rejected) == expected_rows
    assert reconciles(p, valid, rejected)
    assert sorted(caught) == sorted(expected_warnings)
    if seed is None:
        assert_same(valid, expected)
    else:
        for name, df in canonical(expected).items():
            pd.testing.assert_frame_equal(canonical(valid)[name], df, obj=name)
    return rejected


# -- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_one_corruption_sets_aside_exactly_its_loan(handmade, name):
    check(handmade, [name])


def test_every_corruption_at_once(handmade):
    """Ten corruptions in five tables: each loan set aside for its own rule, the rest
    equal to validate of the portfolio cut by hand, and the counts reconcile (20 loans:
    11 left, 9 set aside; the orphan and the missing id are no loan of loans)."""
    rejected = check(handmade, list(CORRUPTIONS))
    valid, _, _ = run(corrupted(handmade, list(CORRUPTIONS)))
    assert len(valid.loans) == 11
    assert rejected["loan_id"].isin(list(handmade.loans["loan_id"])).sum() == 9
    message = rejected.set_index("rule")["message"]
    assert message["positive"] == "Values must be > 0."
    assert message["unique"].tolist() == [
        "(loan_id, installment_no) must be unique.",
        "(customer_id) must be unique.",
        "(customer_id) must be unique.",
    ]


def test_a_rule_skipped_by_an_orphan_is_checked_on_the_rest(handmade):
    """An orphan payment keeps validate from checking payment dates against the loans'
    starts; after the orphan is dropped, the rest is checked and L011 goes too."""
    p = corrupted(handmade, ["orphan_payment", "payment_before_start"])
    with pytest.raises(DataValidationError) as err:
        validate(p)
    assert [(x.table, x.rule) for x in err.value.problems] == [("payments", "orphan")]
    _, rejected, _ = run(p)
    assert set(rejected["rule"]) == {"orphan", "before_loan_start"}


@given(
    names=st.sets(st.sampled_from(sorted(CORRUPTIONS)), min_size=1),
    seed=st.integers(0, 2**32 - 1),
)
@settings(SETTINGS, max_examples=15)
def test_row_order_changes_nothing(handmade, names, seed):
    """Any set of corruptions, with the rows of every table shuffled: the same loans,
    the same rejected table (sorted the same), the same valid rows."""
    check(handmade, sorted(names), seed=seed)


def test_a_due_date_before_the_start_is_kept_with_the_warning_validate_gives(handmade):
    """Instalments due before the loan starts are legal (a warning), not set aside."""
    frames = {name: df.copy() for name, df in handmade.tables().items()}
    _set(frames, "installments", "due_date", "2023-06-01", loan_id="L007")
    p = Portfolio(**frames)
    expected, expected_warnings = validated(p)
    valid, rejected, caught = run(p)
    assert rejected.empty and list(rejected.columns) == COLUMNS
    assert (
        caught
        == expected_warnings
        == ["installments: 1 rows have due_date before the loan's start_date."]
    )
    assert_same(valid, expected)


def test_a_customer_without_loans_and_a_missing_customer_id_are_dropped_alone(handmade):
    frames = {name: df.copy() for name, df in handmade.tables().items()}
    cust = frames["customers"]
    extra = cust.iloc[[0, 0]].assign(customer_id=["C77", None])
    extra["birth_year"] = [1980, 1990]
    frames["customers"] = pd.concat([cust, extra, extra.iloc[[0]]], ignore_index=True)
    p = Portfolio(**frames)
    valid, rejected, _ = run(p)
    assert rows_of(rejected) == [
        (None, "C77", "customers", "customer_id", "unique", 1),
        (None, None, "customers", "customer_id", "not_null", 1),
    ]
    assert_same(valid, validate(Portfolio(**{**frames, "customers": cust})))
    assert reconciles(p, valid, rejected) and len(valid.loans) == 20


def test_the_sample_with_loans_broken_in_every_table(raw_sample):
    """On the simulated sample: a restructured loan's source, a customer of several
    loans, a statement, a collection action, an instalment, and an orphan action."""
    loans = raw_sample.loans
    source = loans["restructured_from"].dropna().iloc[0]
    chain, grew = {source}, True
    while grew:  # every loan restructured from one in the chain, worked out by hand
        more = set(loans.loc[loans["restructured_from"].isin(chain), "loan_id"]) | chain
        grew, chain = more != chain, more
    # The other loans broken are no source of a restructuring: they go alone.
    sources = set(loans["restructured_from"].dropna())
    busy = loans["customer_id"].value_counts()
    customer = next(
        c
        for c in busy.index[busy >= 2]
        if not set(loans.loc[loans["customer_id"] == c, "loan_id"]) & (chain | sources)
    )
    of_customer = set(loans.loc[loans["customer_id"] == customer, "loan_id"])
    taken = chain | of_customer
    card = next(i for i in raw_sample.statements["loan_id"] if i not in taken | sources)
    acted = next(i for i in raw_sample.collections["loan_id"] if i not in taken | sources | {card})
    scheduled = next(
        i for i in raw_sample.installments["loan_id"] if i not in taken | sources | {card, acted}
    )

    t = {name: df.copy() for name, df in raw_sample.tables().items()}
    _set(t, "loans", "principal", -1.0, loan_id=source)
    t["customers"]["tenure_months"] = t["customers"]["tenure_months"].astype(float)
    _set(t, "customers", "tenure_months", np.inf, customer_id=customer)
    _set(t, "statements", "balance", 2e12, loan_id=card)
    _set(t, "collections", "action", "shout", loan_id=acted)
    _set(t, "installments", "amount_due", "lots", loan_id=scheduled)
    _append(t, "collections", loan_id="L_NOPE", action_date="2024-01-02")
    p = Portfolio(**t)

    cust_of = dict(zip(loans["loan_id"], loans["customer_id"], strict=True))
    expected_rows = expected_order(
        [
            (source, cust_of[source], "loans", "principal", "positive", 1),
            *[
                (i, cust_of[i], "loans", "restructured_from", "source_rejected", 1)
                for i in chain - {source}
            ],
            *[(i, customer, "customers", "tenure_months", "not_finite", 1) for i in of_customer],
            (card, cust_of[card], "statements", "balance", "max_amount", 1),
            (acted, cust_of[acted], "collections", "action", "allowed_values", 1),
            (scheduled, cust_of[scheduled], "installments", "amount_due", "wrong_type", 1),
            ("L_NOPE", None, "collections", "loan_id", "orphan", 1),
        ]
    )
    assert len(chain) >= 2 and len(of_customer) >= 2
    valid, rejected, caught = run(p)
    assert rows_of(rejected) == expected_rows
    expected, expected_warnings = validated(cut(p, taken | {card, acted, scheduled}, {customer}))
    assert_same(valid, expected)
    assert caught == expected_warnings
    assert reconciles(p, valid, rejected)
    assert len(loans) == len(valid.loans) + len(taken) + 3


WHOLE = {
    "missing_required_column": (
        lambda t: t.__setitem__("payments", t["payments"].drop(columns="amount")),
        [("payments", "amount", "missing_column")],
    ),
    "duplicate_column_names": (
        lambda t: t.__setitem__(
            "statements",
            t["statements"].set_axis(["loan_id", "statement_date", *["balance"] * 5], axis=1),
        ),
        [("statements", "", "duplicate_column")],
    ),
    "schedule_without_payments": (
        lambda t: t.pop("payments"),
        [("payments", "", "missing_table")],
    ),
    "booleans_for_an_amount": (
        lambda t: t["payments"].__setitem__("amount", True),
        [("payments", "amount", "wrong_type")],
    ),
    "numbers_for_a_date": (
        lambda t: t["collections"].__setitem__("action_date", 20240101),
        [("collections", "action_date", "unparseable_date")],
    ),
    "ids_of_another_type": (
        lambda t: t["statements"].__setitem__("loan_id", 9),
        [("statements", "loan_id", "id_type_mismatch")],
    ),
}


@pytest.mark.parametrize("name", list(WHOLE))
def test_a_whole_table_problem_still_raises_and_only_it_is_named(handmade, name):
    frames = {n: df.copy() for n, df in handmade.tables().items()}
    negative_payment(frames)  # a loan problem besides: quarantine could set it aside
    WHOLE[name][0](frames)
    with pytest.raises(DataValidationError, match=WHOLE[name][1][0][2]) as err:
        quarantine(Portfolio(**frames))
    assert [(p.table, p.column, p.rule) for p in err.value.problems] == WHOLE[name][1]


def test_a_portfolio_without_loans_raises():
    with pytest.raises(DataValidationError, match="Every portfolio needs a loans table"):
        quarantine(Portfolio(loans=None, statements=pd.DataFrame({"loan_id": []})))


def test_quarantine_takes_a_portfolio_only():
    with pytest.raises(OverdueRiskError, match="portfolio must be a Portfolio"):
        quarantine(str(HANDMADE))


@pytest.mark.parametrize("which", ["handmade", "raw_sample"])
def test_a_valid_portfolio_loses_nothing(which, request):
    p = request.getfixturevalue(which)
    expected, expected_warnings = validated(p)
    valid, rejected, caught = run(p)
    assert rejected.empty and list(rejected.columns) == COLUMNS
    assert rejected["rows"].dtype == np.int64
    assert caught == expected_warnings
    assert_same(valid, expected)
    again, rejected_again, _ = run(valid)  # already validated: returned as it is
    assert again is valid and rejected_again.empty


@given(data=full_portfolios())
@settings(SETTINGS, max_examples=30)
def test_quarantining_a_valid_portfolio_returns_what_validate_returns(data):
    p = to_full_portfolio(*data)
    expected, expected_warnings = validated(p)
    valid, rejected, caught = run(p)
    assert rejected.empty
    assert caught == expected_warnings
    assert_same(valid, expected)


@given(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=40))
@settings(SETTINGS, max_examples=15)
def test_setting_loans_aside_creates_no_problem(raw_sample, picks):
    """Removing whole loans (and the loans restructured from them) from the valid
    sample leaves a valid portfolio: quarantine never needs a second look for them."""
    loans = raw_sample.loans
    gone = set(loans["loan_id"].iloc[[k % len(loans) for k in picks]])
    grew = True
    while grew:
        more = set(loans.loc[loans["restructured_from"].isin(gone), "loan_id"]) | gone
        grew, gone = more != gone, more
    rest = cut(raw_sample, gone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        validate(rest)  # raises if the removal broke a rule


def test_rows_count_what_validate_counts(handmade):
    """For a problem validate reports on loans' own rows, the rejected rows add up to
    validate's count: the full masks and the counts agree."""
    names = [n for n in CORRUPTIONS if n not in ("due_dates_swapped", "duplicate_customer")]
    p = corrupted(handmade, names)
    frames = {name: df.copy() for name, df in p.tables().items()}
    _set(frames, "payments", "amount", -7.0, loan_id="L007")  # two loans break one rule
    p = Portfolio(**frames)
    with pytest.raises(DataValidationError) as err:
        validate(p)
    counts = {(x.table, x.column, x.rule): x.count for x in err.value.problems}
    _, rejected, _ = run(p)
    summed = rejected.groupby(["table", "column", "rule"])["rows"].sum().to_dict()
    assert counts[("payments", "amount", "positive")] == 2
    for key, count in counts.items():
        assert summed[key] == count, key


def test_the_doc_describes_quarantine_and_its_table():
    text = (ROOT / "docs" / "data-contract.md").read_text()
    section = text[text.index("## Quarantine") :]
    section = section[: section.index("\n## ", 1)]
    for column in COLUMNS:
        assert f"`{column}`" in section, column
    assert "source_rejected" in section and "DataValidationError" in section


def test_integer_ids_stay_integers_and_sort_as_numbers():
    """Loans 7..10 of customers 1 and 2; a blank statement id makes that column float."""
    loans = pd.DataFrame(
        {
            "loan_id": [10, 7, 8, 9],
            "customer_id": [1, 1, 1, 2],
            "product_type": "revolving",
            "start_date": "2024-01-01",
            "principal": [-3.0, 500.0, -1.0, 5.0],
        }
    )
    statements = pd.DataFrame(
        {
            "loan_id": [7, np.nan, 8, 99, 9, 10],
            "statement_date": "2024-01-31",
            "balance": 1.0,
        }
    )
    customers = pd.DataFrame({"customer_id": [2, 1, 2]})
    p = Portfolio(loans=loans, statements=statements, customers=customers)
    valid, rejected, _ = run(p)
    assert rows_of(rejected) == [
        (8, 1, "loans", "principal", "positive", 1),
        (9, 2, "customers", "customer_id", "unique", 1),
        (10, 1, "loans", "principal", "positive", 1),
        (99.0, None, "statements", "loan_id", "orphan", 1),  # as its own column holds it
        (None, None, "statements", "loan_id", "not_null", 1),
    ]
    assert [type(v) for v in rejected["loan_id"][:3]] == [int, int, int]
    assert valid.loans["loan_id"].tolist() == [7]
    assert valid.customers["customer_id"].tolist() == [1]
    assert reconciles(p, valid, rejected)


def test_two_problems_of_one_rule_on_one_loan_make_one_row(handmade):
    """A boolean and a word among a loan's payment amounts: two wrong_type problems of
    payments.amount, one row of L006 with both rows and both messages."""
    frames = {name: df.copy() for name, df in handmade.tables().items()}
    _set(frames, "payments", "amount", "abc", loan_id="L006")
    pay = frames["payments"]
    second = np.flatnonzero((pay["loan_id"] == "L006").to_numpy())[1]
    pay.iloc[second, pay.columns.get_loc("amount")] = True
    _, rejected, _ = run(Portfolio(**frames))
    assert rows_of(rejected) == [("L006", "C06", "payments", "amount", "wrong_type", 2)]
    assert rejected["message"].tolist() == ["Expected numbers, got bool. Expected numbers."]
