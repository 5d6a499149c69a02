"""Validation codes loan ids once against loans; the problems must not depend on how.

Integer ids are looked up in an index of loans' ids, text ids (object or Arrow
strings) through one factorisation with loans' ids: the same portfolio written
with ``5`` or ``"5"`` as ids must give the very same problems and warnings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overdue_risk import DataValidationError, Portfolio, validate

TEXT_DTYPES = ["object", "string[pyarrow]"] + (["str"] if pd.__version__ >= "3" else [])
DATES = pd.date_range("2023-01-01", periods=20, freq="7D")


def _outcome(portfolio: Portfolio) -> tuple[list[tuple], list[str]]:
    """Every problem (table, column, rule, count, examples) and every warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validate(portfolio)
            problems = []
        except DataValidationError as err:
            problems = [(p.table, p.column, p.rule, p.count, p.examples) for p in err.problems]
    return problems, [str(w.message) for w in caught]


def _portfolio(data: dict, dtype: str | None) -> Portfolio:
    def ids(values: list[int]) -> pd.Series:
        s = pd.Series(values, dtype="int64")
        return s if dtype is None else s.astype(str).astype(dtype)

    loans = pd.DataFrame(
        {
            "loan_id": ids(data["loans"]),
            "customer_id": 1,
            "product_type": "instalment",
            "start_date": DATES[data["start"]],
            "principal": 100.0,
            "closed_date": DATES[data["closed"]],
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": ids([r[0] for r in data["inst"]]),
            "installment_no": [r[1] for r in data["inst"]],
            "due_date": DATES[[r[2] for r in data["inst"]]],
            "amount_due": 10.0,
            "principal_due": 5.0,
        }
    )
    pay = pd.DataFrame(
        {
            "loan_id": ids([r[0] for r in data["pay"]]),
            "payment_date": DATES[[r[1] for r in data["pay"]]],
            "amount": [r[2] for r in data["pay"]],
            "installment_no": [r[3] for r in data["pay"]],
        }
    )
    return Portfolio(loans=loans, installments=inst, payments=pay)


@st.composite
def portfolios(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 6))
    loans = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))  # repeats allowed
    loan_pool = st.sampled_from(loans)
    any_id = st.integers(0, 9)  # may be an orphan
    date = st.integers(0, len(DATES) - 1)
    inst_id = draw(st.sampled_from([loan_pool, any_id]))
    return {
        "loans": loans,
        "start": draw(st.lists(date, min_size=n, max_size=n)),
        "closed": draw(st.lists(date, min_size=n, max_size=n)),
        "inst": draw(st.lists(st.tuples(inst_id, st.integers(1, 4), date), max_size=25)),
        "pay": draw(
            st.lists(
                st.tuples(
                    loan_pool,
                    date,
                    st.sampled_from([10.0, 20.0]),
                    st.sampled_from([1.0, 2.0, 5.0, np.nan]),
                ),
                max_size=25,
            )
        ),
    }


@pytest.mark.parametrize("dtype", TEXT_DTYPES)
@settings(max_examples=60, deadline=None)
@given(data=portfolios())
def test_text_and_integer_ids_report_the_same(data: dict, dtype: str) -> None:
    assert _outcome(_portfolio(data, dtype)) == _outcome(_portfolio(data, None))


@pytest.mark.parametrize("dtype", [None, *TEXT_DTYPES])
def test_first_loan_row_wins_for_repeated_ids(dtype: str | None) -> None:
    # Loan 7 appears twice; its first row starts in week 5, so week 3 is early.
    data = {
        "loans": [7, 8, 7],
        "start": [5, 0, 0],
        "closed": [19, 19, 19],
        "inst": [(7, 1, 6), (8, 1, 6)],
        "pay": [(7, 3, 10.0, 1.0), (8, 3, 10.0, 1.0)],
    }
    problems, _ = _outcome(_portfolio(data, dtype))
    rules = {p[2]: p for p in problems}
    assert rules["unique"][3:] == (1, ("loan_id=7 (row 2)",))
    assert rules["before_loan_start"][3] == 1
    assert rules["before_loan_start"][4][0].startswith("loan_id=7, payment_date=")


@pytest.mark.parametrize("dtype", ["object", "string[pyarrow]"])
def test_missing_loan_ids_are_reported_not_crashed_on(dtype):
    ids = pd.array(["L1", None], dtype=dtype)
    loans = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": ["c", "d"],
            "product_type": "instalment",
            "start_date": "2024-01-01",
            "principal": 100.0,
        }
    )
    inst = pd.DataFrame(
        {"loan_id": ids, "installment_no": [1, 1], "due_date": "2024-02-01", "amount_due": 10.0}
    )
    pay = pd.DataFrame(
        {"loan_id": pd.array(["L1"], dtype=dtype), "payment_date": ["2024-02-01"], "amount": [10.0]}
    )
    with pytest.raises(DataValidationError) as info:
        validate(Portfolio(loans=loans, installments=inst, payments=pay))
    found = {(p.table, p.column, p.rule, p.count) for p in info.value.problems}
    assert ("loans", "loan_id", "not_null", 1) in found
    assert ("installments", "loan_id", "not_null", 1) in found


def test_only_validation_marks_a_portfolio_validated():
    loans = pd.DataFrame(
        {
            "loan_id": [1],
            "customer_id": [1],
            "product_type": ["instalment"],
            "start_date": ["2024-01-01"],
            "principal": [-1.0],
        }
    )
    with pytest.raises(TypeError):
        Portfolio(loans=loans, statements=loans.iloc[:0], validated=True)
    raw = Portfolio(
        loans=loans, statements=pd.DataFrame({"loan_id": [], "statement_date": [], "balance": []})
    )
    assert not raw.validated
    with pytest.raises(DataValidationError, match="positive"):
        validate(raw)
