"""The data contract as data: one :class:`TableSpec` per table.

The validator, the loader and ``docs/data-contract.md`` all read these specs,
so a rule is stated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._actions import LOGGED_ACTIONS as ACTIONS
from ._actions import OUTCOMES

Kind = Literal["id", "date", "amount", "int", "float", "category", "bool"]

PRODUCT_TYPES = ("instalment", "revolving")

#: The largest amount of money one row may hold, in absolute value. The ledger
#: counts money in integer minor units (``10 ** -decimals``) and sums them over
#: the whole portfolio in 64-bit integers; 1e12 per row leaves room for tens of
#: thousands of such rows at four decimals, and real extracts never come near it.
MAX_AMOUNT = 1e12
#: The largest integer (instalment number, term, reported DPD) a column may hold.
MAX_INTEGER = 2**31 - 1
#: The largest instalment number: the ledger's sort and look-up keys hold it in 16 bits.
MAX_INSTALLMENT_NO = 2**16 - 1


def amount_text() -> str:
    """:data:`MAX_AMOUNT` as the docs and messages write it (``1e12``)."""
    return f"{MAX_AMOUNT:.0e}".replace("e+", "e")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    ``minimum`` with ``strict`` gives ``> minimum``, without it ``>= minimum``.
    ``nullable`` says whether missing values are allowed; required columns of
    the key are never nullable.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    strict: bool = False
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One table of a portfolio: its columns, key and whether extras are kept."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    unique_key: bool
    description: str = ""
    extra_columns: bool = False
    date_column: str | None = None  # the date that places a record in time
    column_map: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_map", {c.name: c for c in self.columns})

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, kind: Kind, description: str, **kw) -> ColumnSpec:
    return ColumnSpec(name=name, kind=kind, description=description, **kw)


LOANS = TableSpec(
    name="loans",
    key=("loan_id",),
    unique_key=True,
    extra_columns=True,
    date_column="start_date",
    description="One row per loan or credit line.",
    columns=(
        _c("loan_id", "id", "Loan identifier, unique."),
        _c("customer_id", "id", "Customer identifier; joins `customers`."),
        _c("product_type", "category", "How the loan is repaid.", allowed=PRODUCT_TYPES),
        _c("start_date", "date", "Disbursement or account-opening date."),
        _c(
            "principal",
            "amount",
            "Amount lent; the credit limit for revolving.",
            minimum=0,
            strict=True,
        ),
        _c("term_months", "int", "Contractual term.", required=False, nullable=True, minimum=1),
        _c(
            "annual_rate",
            "float",
            "Nominal annual interest rate (0.25 = 25%).",
            required=False,
            nullable=True,
            minimum=0,
        ),
        _c(
            "product",
            "category",
            "Free product label, e.g. pos, cash, card.",
            required=False,
            nullable=True,
        ),
        _c(
            "region", "category", "Region of the customer or branch.", required=False, nullable=True
        ),
        _c("channel", "category", "Sales channel.", required=False, nullable=True),
        _c(
            "closed_date",
            "date",
            "Date the loan was closed; instalments due after it are cancelled.",
            required=False,
            nullable=True,
        ),
        _c(
            "restructured_from",
            "id",
            "The loan this one replaces after a restructuring; joins `loans`.",
            required=False,
            nullable=True,
        ),
    ),
)

INSTALLMENTS = TableSpec(
    name="installments",
    key=("loan_id", "installment_no"),
    unique_key=True,
    date_column="due_date",
    description="The repayment schedule: one row per instalment.",
    columns=(
        _c("loan_id", "id", "Loan identifier; joins `loans`."),
        _c(
            "installment_no",
            "int",
            "Instalment number, from 1.",
            minimum=1,
            maximum=MAX_INSTALLMENT_NO,
        ),
        _c(
            "due_date",
            "date",
            "Date the instalment falls due; non-decreasing in `installment_no` within a loan.",
        ),
        _c("amount_due", "amount", "Amount scheduled for this instalment.", minimum=0),
        _c(
            "principal_due",
            "amount",
            "Principal part of `amount_due`; when absent, "
            "principal is spread over the schedule in proportion to the amounts due.",
            required=False,
            minimum=0,
        ),
    ),
)

PAYMENTS = TableSpec(
    name="payments",
    key=("loan_id", "payment_date"),
    unique_key=False,
    date_column="payment_date",
    description="Money received: one row per payment.",
    columns=(
        _c("loan_id", "id", "Loan identifier; joins `loans`."),
        _c("payment_date", "date", "Date the money was received."),
        _c("amount", "amount", "Amount received.", minimum=0, strict=True),
        _c(
            "installment_no",
            "int",
            "Instalment the lender allocated the payment to; "
            "missing means oldest unpaid first (FIFO).",
            required=False,
            nullable=True,
            minimum=1,
            maximum=MAX_INSTALLMENT_NO,
        ),
    ),
)

STATEMENTS = TableSpec(
    name="statements",
    key=("loan_id", "statement_date"),
    unique_key=True,
    date_column="statement_date",
    description="Monthly statements for revolving credit and bureau-style data.",
    columns=(
        _c("loan_id", "id", "Loan identifier; joins `loans`."),
        _c("statement_date", "date", "Statement (cycle end) date."),
        _c(
            "balance",
            "amount",
            "Balance owed at the statement date (negative for a credit balance).",
        ),
        _c("credit_limit", "amount", "Credit limit.", required=False, nullable=True, minimum=0),
        _c(
            "min_due",
            "amount",
            "Minimum payment due for the cycle.",
            required=False,
            nullable=True,
            minimum=0,
        ),
        _c(
            "amount_paid",
            "amount",
            "Amount paid against this statement's minimum due.",
            required=False,
            nullable=True,
            minimum=0,
        ),
        _c(
            "dpd",
            "int",
            "Days past due as reported by the lender or bureau.",
            required=False,
            nullable=True,
            minimum=0,
        ),
    ),
)

COLLECTIONS = TableSpec(
    name="collections",
    key=("loan_id", "action_date"),
    unique_key=False,
    date_column="action_date",
    description="The collection action log: one row per action taken.",
    columns=(
        _c("loan_id", "id", "Loan identifier; joins `loans`."),
        _c("action_date", "date", "Date of the action."),
        _c("action", "category", "What was done.", allowed=ACTIONS),
        _c(
            "outcome",
            "category",
            "What came of it.",
            required=False,
            nullable=True,
            allowed=OUTCOMES,
        ),
        _c(
            "promise_date",
            "date",
            "Date by which the customer promised to pay.",
            required=False,
            nullable=True,
        ),
        _c(
            "promise_amount", "amount", "Amount promised.", required=False, nullable=True, minimum=0
        ),
        _c("cost", "amount", "Cost of the action.", required=False, nullable=True, minimum=0),
        _c(
            "propensity",
            "float",
            "Probability with which the logged policy chose this action, in (0, 1].",
            required=False,
            nullable=True,
            minimum=0,
            strict=True,
            maximum=1,
        ),
        _c(
            "holdout",
            "bool",
            "True when the account was in a random (challenger or holdout) cell.",
            required=False,
            nullable=True,
        ),
    ),
)

CUSTOMERS = TableSpec(
    name="customers",
    key=("customer_id",),
    unique_key=True,
    extra_columns=True,
    description="Customer attributes; every extra column is kept.",
    columns=(_c("customer_id", "id", "Customer identifier, unique."),),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (LOANS, INSTALLMENTS, PAYMENTS, STATEMENTS, COLLECTIONS, CUSTOMERS)
}
