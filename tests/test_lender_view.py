"""A card that has paid its statement's shortfall since is current to collections.

The ledger reads a card's DPD from its last statement and ages it until the next one;
the lender's collection system sees the payment the day it arrives. Expected values are
sums of the payments written by hand (or drawn) in each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from overdue_risk import Ledger, Portfolio, Strategy
from overdue_risk.prioritise import account_state
from overdue_risk.prioritise._lender_view import statement_cleared

STATEMENT = pd.Timestamp("2024-02-01")


def _card(payments: list[tuple[str, float]], *, min_due=50.0, paid=0.0, second=None) -> Portfolio:
    """One card (c1) with a statement on 2024-02-01 that left ``min_due - paid`` unpaid,
    a schedule loan (s1) three instalments overdue, and the given card payments."""
    loans = pd.DataFrame(
        {
            "loan_id": ["c1", "s1"],
            "customer_id": [1, 2],
            "product_type": ["revolving", "instalment"],
            "start_date": ["2023-10-01", "2023-10-01"],
            "principal": [1000.0, 300.0],
        }
    )
    statements = [("c1", "2024-02-01", 500.0, min_due, paid, 5)]
    if second is not None:
        statements.append(("c1", *second))
    stmts = pd.DataFrame(
        statements,
        columns=["loan_id", "statement_date", "balance", "min_due", "amount_paid", "dpd"],
    )
    schedule = pd.DataFrame(
        {
            "loan_id": ["s1"] * 3,
            "installment_no": [1, 2, 3],
            "due_date": ["2023-11-01", "2023-12-01", "2024-01-01"],
            "amount_due": [100.0] * 3,
        }
    )
    pays = pd.DataFrame(
        {
            "loan_id": ["c1"] * len(payments) + ["s1"],
            "payment_date": [d for d, _ in payments] + ["2024-02-03"],
            "amount": [a for _, a in payments] + [100.0],
        }
    )
    return Portfolio(loans=loans, statements=stmts, installments=schedule, payments=pays)


def _days(*dates: str) -> np.ndarray:
    return pd.to_datetime(list(dates)).to_numpy().astype("datetime64[D]").astype(np.int64)


def _cleared(p: Portfolio, code: int, dates: list[str], owed) -> list[bool]:
    ledger = Ledger(p)
    day = _days(*dates)
    owed = np.broadcast_to(np.asarray(owed, np.float64), day.shape)
    return statement_cleared(ledger, np.full(day.size, code), day, owed).tolist()


def test_the_shortfall_is_cleared_the_day_the_payments_cover_it():
    p = _card([("2024-02-01", 45.0), ("2024-02-05", 20.0), ("2024-02-09", 30.0)])
    # The payment on the statement day belongs to the statement's cycle: it does not count.
    got = _cleared(p, 0, ["2024-02-01", "2024-02-05", "2024-02-08", "2024-02-09", "2024-02-20"], 50)
    assert got == [False, False, False, True, True]


def test_a_new_statement_starts_over():
    second = ("2024-03-01", 480.0, 60.0, 0.0, 10)
    p = _card([("2024-02-09", 50.0), ("2024-03-04", 59.0), ("2024-03-06", 1.0)], second=second)
    # Each day's shortfall is its last statement's: 50 in February, 60 in March.
    days = ["2024-02-20", "2024-03-02", "2024-03-05", "2024-03-06"]
    assert _cleared(p, 0, days, [50, 60, 60, 60]) == [
        True,
        False,
        False,
        True,
    ]


def test_no_shortfall_no_statement_or_a_schedule_loan_is_never_cleared():
    p = _card([("2024-02-09", 500.0)])
    assert _cleared(p, 0, ["2024-02-10"], np.nan) == [False]  # no minimum due: cannot tell
    assert _cleared(p, 0, ["2024-02-10"], 0.0) == [False]
    assert _cleared(p, 0, ["2024-01-15"], 50.0) == [False]  # before the first statement
    assert _cleared(p, 1, ["2024-02-10"], 50.0) == [False]  # s1 reads no statement


@given(
    st.lists(
        st.tuples(st.integers(-5, 30), st.integers(1, 40)), max_size=6, unique_by=lambda t: t[0]
    ),
    st.integers(1, 120),
    st.integers(0, 35),
)
def test_cleared_is_the_sum_of_the_payments_after_the_statement(pays, owed, offset):
    payments = [(str((STATEMENT + pd.Timedelta(days=d)).date()), float(a)) for d, a in pays]
    day = STATEMENT + pd.Timedelta(days=offset)
    p = _card(payments, min_due=float(owed))
    paid = sum(a for d, a in pays if 0 < d <= offset)
    assert _cleared(p, 0, [str(day.date())], float(owed)) == [paid >= owed]


def test_account_state_leaves_out_a_card_that_has_paid():
    p = _card([("2024-02-06", 30.0), ("2024-02-09", 20.0)])
    before = account_state(Strategy(), p, "2024-02-08")
    after = account_state(Strategy(), p, "2024-02-09")
    assert "c1" in before.index and before.loc["c1", "dpd"] > 0
    assert "c1" not in after.index
    # The schedule loan is still two instalments short after its payment: overdue in both.
    assert "s1" in before.index and "s1" in after.index
