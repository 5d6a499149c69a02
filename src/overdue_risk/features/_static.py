"""Families ``static`` (attributes of the loan and customer) and ``customer``
(the customer's other loans at the as-of date)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import TABLES, Portfolio
from ._context import FeatureContext
from ._registry import REGISTRY, FeatureSpec

# Contract columns that identify, place in time, or are not known at origination.
_NOT_ATTRIBUTES = {"loan_id", "customer_id", "start_date", "closed_date", "restructured_from"}

STATIC_SPECS = [
    FeatureSpec(
        "<loans column>",
        "static",
        "Every column of `loans` except ids and dates (contract and extra columns): "
        "numbers as float32, text as category; `restructured` (1 when the loan "
        "replaces a restructured one) when `restructured_from` is given.",
        dtype="float32",
        inputs=("loans",),
        uses_as_of=False,
    ),
    FeatureSpec(
        "customer_<column>",
        "static",
        "Every extra column of `customers`, prefixed `customer_`: numbers as float32, "
        "text as category.",
        dtype="float32",
        inputs=("customers",),
        uses_as_of=False,
    ),
]


def _is_date(values: pd.Series) -> bool:
    """A date is not a feature as is; derive one with a CustomFeature."""
    dtype = values.dtype
    return pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype)


def _customer_columns(customers: pd.DataFrame) -> list[str]:
    """The customers columns that are attributes: every one outside the contract."""
    known = set(TABLES["customers"].column_map)
    return [c for c in customers.columns if c not in known and not _is_date(customers[c])]


def attribute_columns(portfolio: Portfolio) -> set[str]:
    """The loans and customers columns the static family turns into features (of a
    validated portfolio), and the names of those features: ``restructured`` (from
    ``restructured_from``), and ``customer_<column>`` as well as ``<column>`` for a
    customers column."""
    loans = portfolio.loans
    names = {c for c in loans.columns if c not in _NOT_ATTRIBUTES and not _is_date(loans[c])}
    if "restructured_from" in loans:
        names.update(("restructured_from", "restructured"))
    if portfolio.customers is not None:
        for col in _customer_columns(portfolio.customers):
            names.update((col, f"customer_{col}"))
    return names


_RESTRUCTURED = (
    "The loan replaces one that was restructured (1) or not (0), from restructured_from."
)


def _sentence(text: str) -> str:
    """A contract description as the tail of a sentence: "Amount lent." -> "amount lent"."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def attribute_descriptions(portfolio: Portfolio) -> dict[str, str]:
    """What each attribute feature of the static family means, in words.

    A ``loans`` column of the data contract reads "Loan attribute principal at
    origination: amount lent; ..." (its contract description); any other
    ``loans`` column "Loan attribute region at origination (a column of the
    loans table)"; a ``customers`` column "Customer attribute birth_year (as
    given in the customers table)". Every attribute the portfolio has is
    described, whether or not a build leaves it out.

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> texts = attribute_descriptions(load_portfolio("data/sample"))
    >>> texts["customer_birth_year"]
    'Customer attribute birth_year (as given in the customers table)'
    >>> texts["application_score"]
    'Loan attribute application_score at origination (a column of the loans table)'
    """
    known = TABLES["loans"].column_map
    loans = portfolio.loans
    out = {}
    for col in loans.columns:
        if col in _NOT_ATTRIBUTES or _is_date(loans[col]):
            continue
        spec = known.get(col)
        out[col] = (
            f"Loan attribute {col} at origination: {_sentence(spec.description)}"
            if spec is not None and spec.description
            else f"Loan attribute {col} at origination (a column of the loans table)"
        )
    if "restructured_from" in loans:
        out["restructured"] = _RESTRUCTURED
    if portfolio.customers is not None:
        for col in _customer_columns(portfolio.customers):
            out[f"customer_{col}"] = f"Customer attribute {col} (as given in the customers table)"
    return out


def static_attributes(portfolio: Portfolio, loan_ids) -> pd.DataFrame:
    """The static family's attribute features of the loans ``loan_ids``, row by row.

    Named and typed as :func:`~overdue_risk.build_features` gives them (numbers
    as float32, text as category), without the ledger: the attributes of a
    loan do not change with the as-of date. An unknown loan id gives missing
    values. For reports on attributes left out of a model, such as the groups
    of a fairness table.

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> frame = static_attributes(load_portfolio("data/sample"), ["L0000002", "nope"])
    >>> frame["region"].tolist(), frame["customer_birth_year"].tolist()
    (['west', nan], [1990.0, nan])
    """
    loans = portfolio.loans
    ids = pd.Index(loans["loan_id"])
    at = ids.get_indexer(pd.Index(loan_ids))
    out: dict[str, np.ndarray | pd.Categorical] = {}
    for col in loans.columns:
        if col not in _NOT_ATTRIBUTES:
            value = _attribute(loans[col], at)
            if value is not None:
                out[col] = value
    if "restructured_from" in loans:
        restructured = loans["restructured_from"].notna().to_numpy().astype(np.float32)
        out["restructured"] = np.where(at >= 0, restructured[np.maximum(at, 0)], np.nan).astype(
            np.float32
        )
    customers = portfolio.customers
    if customers is not None:
        at_customer = pd.Index(customers["customer_id"]).get_indexer(loans["customer_id"])
        at_c = np.where(at >= 0, at_customer[np.maximum(at, 0)], -1)
        for col in _customer_columns(customers):
            out[f"customer_{col}"] = _attribute(customers[col], at_c)
    return pd.DataFrame(out, index=pd.RangeIndex(len(at)))


def _attribute(values: pd.Series, at: np.ndarray) -> np.ndarray | pd.Categorical | None:
    """The column's value at rows ``at`` (-1: no row), as a feature, or None for dates."""
    dtype = values.dtype
    if _is_date(values):
        return None
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        num = values.to_numpy(dtype=np.float64, na_value=np.nan)
        num = np.where(np.isfinite(num), num, np.nan)
        out = num[np.maximum(at, 0)].astype(np.float32)
        out[at < 0] = np.nan
        return out
    # Text: categories sorted, so they never depend on row order.
    text = values.astype("object").where(values.notna(), None)
    codes, cats = pd.factorize(text.to_numpy(), sort=True, use_na_sentinel=True)
    picked = np.where(at >= 0, codes[np.maximum(at, 0)], -1)
    return pd.Categorical.from_codes(picked, categories=pd.Index(cats, dtype="object"))


@REGISTRY.family(
    "static",
    "Attributes of the loan and the customer known at origination.",
    STATIC_SPECS,
    dynamic=True,
)
def static(ctx: FeatureContext) -> dict[str, np.ndarray | pd.Categorical]:
    out: dict[str, np.ndarray | pd.Categorical] = {}
    loans = ctx.portfolio.loans
    for col in loans.columns:
        if col in _NOT_ATTRIBUTES or col in ctx.exclude:
            continue
        value = _attribute(loans[col], ctx.code)
        if value is not None:
            out[col] = value
    if "restructured_from" in loans and not ctx.exclude & {"restructured", "restructured_from"}:
        # The predecessor's id is no attribute; that there is one is.
        out["restructured"] = (
            loans["restructured_from"].notna().to_numpy()[ctx.code].astype(np.float32)
        )
    customers = ctx.portfolio.customers
    if customers is not None:
        at_customer = pd.Index(customers["customer_id"]).get_indexer(loans["customer_id"])
        at = at_customer[ctx.code]
        for col in _customer_columns(customers):
            if col not in ctx.exclude:
                out[f"customer_{col}"] = _attribute(customers[col], at)
    return out


CUSTOMER_SPECS = [
    FeatureSpec(
        "customer_n_loans",
        "customer",
        "The customer's loans started by the as-of date, this one included.",
        inputs=("loans",),
    ),
    FeatureSpec(
        "customer_n_active_loans",
        "customer",
        "The customer's loans started and not closed by the as-of date, this one included.",
        inputs=("loans",),
    ),
    FeatureSpec(
        "customer_other_max_dpd",
        "customer",
        "Worst current DPD among the customer's other loans (a loan closed in arrears "
        "keeps its DPD).",
        inputs=("installments", "payments", "statements"),
    ),
    FeatureSpec(
        "customer_other_overdue",
        "customer",
        "Total overdue amount of the customer's other loans.",
        inputs=("installments", "payments", "statements"),
    ),
    FeatureSpec(
        "customer_n_other_delinquent",
        "customer",
        "The customer's other loans with DPD above 0.",
        inputs=("installments", "payments", "statements"),
    ),
]


@REGISTRY.family("customer", "The customer's other loans at the as-of date.", CUSTOMER_SPECS)
def customer(ctx: FeatureContext) -> dict[str, np.ndarray]:
    n = ctx.n_rows
    cust = pd.factorize(ctx.portfolio.loans["customer_id"])[0].astype(np.int64)[ctx.code]
    dpd = ctx.state["dpd"].to_numpy(np.int64)
    overdue = np.nan_to_num(ctx.state["overdue_amount"].to_numpy(np.float64))
    active = ~ctx.state["is_closed"].to_numpy(bool)
    # Groups are (customer, as-of date); within a group rows run by DPD, worst first.
    # One packed int64 key (customer, date, worst DPD first) sorts faster than a lexsort.
    group = cust * ctx.days.size + np.searchsorted(ctx.days, ctx.day)
    dpd_bits = max(int(dpd.max(initial=0)).bit_length(), 1)
    if (int(group.max(initial=0)) + 1).bit_length() + dpd_bits <= 62:
        order = np.argsort((group << dpd_bits) | ((1 << dpd_bits) - 1 - dpd), kind="stable")
    else:
        order = np.lexsort((-dpd, group))
    g_key = group[order]
    head = np.ones(n, bool)
    head[1:] = g_key[1:] != g_key[:-1]
    starts = np.flatnonzero(head)
    group = np.cumsum(head) - 1  # group of each sorted row
    size = np.diff(np.append(starts, n))
    n_active = np.add.reduceat(active[order].astype(np.int64), starts) if n else size
    over = np.add.reduceat(overdue[order], starts) if n else overdue
    delinquent = np.add.reduceat((dpd[order] > 0).astype(np.int64), starts) if n else size
    d_sorted = dpd[order]
    top = d_sorted[starts]
    second = np.where(size > 1, d_sorted[np.minimum(starts + 1, n - 1)], -1)
    is_top = np.zeros(n, bool)
    is_top[starts] = True
    other_max = np.where(is_top, second[group], top[group]).astype(np.float64)
    has_other = size[group] > 1
    sorted_out = {
        "customer_n_loans": size[group].astype(np.float64),
        "customer_n_active_loans": n_active[group].astype(np.float64),
        "customer_other_max_dpd": np.where(has_other, other_max, np.nan),
        # Sums of others are the group total less the row's own: exact in cents.
        "customer_other_overdue": np.where(
            has_other, np.round(over[group] - overdue[order], 2), np.nan
        ),
        "customer_n_other_delinquent": np.where(
            has_other, delinquent[group] - (d_sorted > 0), np.nan
        ),
    }
    out = {}
    for name, values in sorted_out.items():
        col = np.empty(n, np.float32)
        col[order] = values
        out[name] = col
    return out
