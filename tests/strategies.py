"""Hypothesis strategies shared by the property tests: small random portfolios.

Each loan has a start day, up to five instalments, up to six payments (some
allocated by the lender to an instalment) and maybe a closing day; days count
from ``EPOCH``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from overdue_risk import Portfolio
from overdue_risk.contract import TABLES

EPOCH = pd.Timestamp("2024-01-01")


def shuffled(p: Portfolio, seed: int) -> Portfolio:
    """The same portfolio with the rows of every table in a random order."""
    rng = np.random.default_rng(seed)
    return Portfolio(**{name: df.iloc[rng.permutation(len(df))] for name, df in p.tables().items()})


def day(n: int) -> pd.Timestamp:
    return EPOCH + pd.Timedelta(days=int(n))


@st.composite
def loan_records(draw, loan_id: int):
    start = draw(st.integers(0, 60))
    n_inst = draw(st.integers(0, 5))
    gaps = draw(st.lists(st.integers(0, 40), min_size=n_inst, max_size=n_inst))
    first = start + draw(st.integers(1, 40))
    dues = list(np.cumsum([first, *gaps[1:]])) if n_inst else []
    cents = draw(st.lists(st.integers(1, 50_000), min_size=n_inst, max_size=n_inst))
    n_pay = draw(st.integers(0, 6))
    pays = []
    for _ in range(n_pay):
        tag = draw(st.one_of(st.none(), st.integers(1, n_inst))) if n_inst else None
        pays.append((start + draw(st.integers(0, 300)), draw(st.integers(1, 60_000)), tag))
    closed = draw(st.one_of(st.none(), st.integers(start, start + 300)))
    return {
        "id": loan_id,
        "start": start,
        "dues": dues,
        "cents": cents,
        "pays": pays,
        "closed": closed,
    }


@st.composite
def portfolios(draw):
    n = draw(st.integers(1, 4))
    return [draw(loan_records(i)) for i in range(n)]


def to_portfolio(records) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": [r["id"] for r in records],
            "customer_id": [r["id"] % 2 for r in records],
            "product_type": "instalment",
            "start_date": [day(r["start"]) for r in records],
            "principal": [1000.0] * len(records),
            "closed_date": [
                day(r["closed"]) if r["closed"] is not None else pd.NaT for r in records
            ],
        }
    )
    inst = pd.DataFrame(
        [
            {"loan_id": r["id"], "installment_no": k + 1, "due_date": day(d), "amount_due": c / 100}
            for r in records
            for k, (d, c) in enumerate(zip(r["dues"], r["cents"], strict=True))
        ],
        columns=["loan_id", "installment_no", "due_date", "amount_due"],
    )
    pay = pd.DataFrame(
        [
            {
                "loan_id": r["id"],
                "payment_date": day(d),
                "amount": c / 100,
                "installment_no": np.nan if tag is None else float(tag),
            }
            for r in records
            for d, c, tag in r["pays"]
        ],
        columns=["loan_id", "payment_date", "amount", "installment_no"],
    )
    return Portfolio(loans=loans, installments=inst, payments=pay)


def moved_after(records, t: int) -> list[dict]:
    """Copies of the records as new, open loans (ids + 100) dated wholly after day ``t``.

    Every day of a copy (start, due dates, payments and, when the records have them,
    statements) moves ``t + 1`` days later: nothing of it is known on day ``t``.
    """
    moved = []
    for r in records:
        copy = {
            **r,
            "id": r["id"] + 100,
            "start": t + 1 + r["start"],
            "dues": [d + t + 1 for d in r["dues"]],
            "pays": [(d + t + 1, c, g) for d, c, g in r["pays"]],
            "closed": None,
        }
        if "stmts" in r:
            copy["stmts"] = [(d + t + 1, *rest) for d, *rest in r["stmts"]]
        moved.append(copy)
    return moved


# The statements table's columns, in the contract's order (loan_id, statement_date,
# balance, credit_limit, min_due, amount_paid, dpd): the builders' rows follow it.
STATEMENT_COLUMNS = [c.name for c in TABLES["statements"].columns]

ACTIONS = ["sms", "call", "visit", "letter"]
OUTCOMES = ["no_contact", "contacted", "promise", "paid", "refused"]


@st.composite
def actions(draw, loan_id: int, start: int):
    """Collection actions on one loan: (day, action, outcome, promise day, promise cents)."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        d = start + draw(st.integers(0, 300))
        outcome = draw(st.sampled_from(OUTCOMES))
        promise = outcome == "promise"
        out.append(
            {
                "loan_id": loan_id,
                "action_date": day(d),
                "action": draw(st.sampled_from(ACTIONS)),
                "outcome": outcome,
                "promise_date": day(d + draw(st.integers(0, 20))) if promise else pd.NaT,
                "promise_amount": draw(st.integers(1, 30_000)) / 100 if promise else np.nan,
            }
        )
    return out


@st.composite
def statement_loans(draw, first_id: int = 50):
    """Revolving loans with monthly statements and no schedule."""
    loans, rows = [], []
    for i in range(draw(st.integers(0, 2))):
        loan_id = first_id + i
        start = draw(st.integers(0, 60))
        loans.append({"id": loan_id, "start": start})
        for k in range(draw(st.integers(0, 6))):
            rows.append(
                {
                    "loan_id": loan_id,
                    "statement_date": day(start + 30 * (k + 1)),
                    "balance": draw(st.integers(-5_000, 200_000)) / 100,
                    "credit_limit": draw(st.sampled_from([0.0, 1000.0, 2000.0])),
                    "min_due": draw(st.integers(0, 5_000)) / 100,
                    "amount_paid": draw(st.integers(0, 6_000)) / 100,
                    "dpd": draw(st.sampled_from([0, 0, 5, 40])),
                }
            )
    return loans, rows


@st.composite
def full_portfolios(draw):
    """Instalment loans with actions, plus statement-only loans and customers."""
    records = draw(portfolios())
    acts = [a for r in records for a in draw(actions(r["id"], r["start"]))]
    cards, stmts = draw(statement_loans())
    return records, acts, cards, stmts


def to_full_portfolio(records, acts, cards, stmts) -> Portfolio:
    p = to_portfolio(records)
    card_loans = pd.DataFrame(
        {
            "loan_id": [c["id"] for c in cards],
            "customer_id": [c["id"] % 2 for c in cards],
            "product_type": "revolving",
            "start_date": [day(c["start"]) for c in cards],
            "principal": 2000.0,
            "closed_date": pd.NaT,
        }
    )
    loans = pd.concat([p.loans, card_loans], ignore_index=True) if cards else p.loans
    loans = loans.assign(
        region=np.where(loans["loan_id"] % 3 == 0, "north", "south"),
        score=(loans["loan_id"] * 7 % 11).astype(float),
    )
    columns = ["loan_id", "action_date", "action", "outcome", "promise_date", "promise_amount"]
    return Portfolio(
        loans=loans,
        installments=p.installments,
        payments=p.payments,
        collections=pd.DataFrame(acts, columns=columns),
        statements=pd.DataFrame(stmts, columns=STATEMENT_COLUMNS),
        customers=pd.DataFrame({"customer_id": [0, 1], "segment": ["a", "b"], "age": [30, 50]}),
    )
