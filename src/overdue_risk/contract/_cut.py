"""The portfolio as it was known at a date: :func:`cut_portfolio`."""

from __future__ import annotations

import dataclasses

import pandas as pd

from .._dates import day_of
from ._portfolio import Portfolio
from ._schema import TABLES

__all__ = ["cut_portfolio"]


def cut_portfolio(portfolio: Portfolio, as_of: pd.Timestamp) -> Portfolio:
    """The portfolio as it was known at ``as_of``.

    Loans started by then; records of every dated table on or before it; a
    ``closed_date`` after it reads as missing. The instalment schedule of a
    started loan is known in full from its start, so it is kept whole.

    Parameters
    ----------
    portfolio : Portfolio
        Validated (its dates parsed), as :func:`validate` returns it.
    as_of : Timestamp or date-like
        The last day whose records count as known (one date, in its local
        calendar date when it carries a timezone).

    Returns
    -------
    Portfolio
        New frames, not validated again; ``portfolio`` is left unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk.contract import Portfolio, cut_portfolio, validate
    >>> loans = pd.DataFrame({"loan_id": [1, 2], "customer_id": [7, 8],
    ...     "product_type": ["instalment"] * 2, "start_date": ["2024-01-01", "2024-03-01"],
    ...     "principal": [300.0, 300.0]})
    >>> schedule = pd.DataFrame({"loan_id": [1, 1, 2], "installment_no": [1, 2, 1],
    ...     "due_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
    ...     "amount_due": [150.0, 150.0, 300.0]})
    >>> payments = pd.DataFrame({"loan_id": [1, 1], "amount": [150.0, 150.0],
    ...     "payment_date": ["2024-02-01", "2024-03-01"]})
    >>> p = validate(Portfolio(loans=loans, installments=schedule, payments=payments))
    >>> cut_portfolio(p, pd.Timestamp("2024-02-15")).summary()["rows"].tolist()
    [1, 2, 1]
    """
    as_of = pd.Timestamp(day_of(as_of, "as_of"), unit="D")
    loans = portfolio.loans
    loans = loans.loc[loans["start_date"] <= as_of].copy()
    if "closed_date" in loans:
        loans["closed_date"] = loans["closed_date"].where(loans["closed_date"] <= as_of)
    started = pd.Index(loans["loan_id"])
    tables: dict[str, pd.DataFrame | None] = {"loans": loans}
    for f in dataclasses.fields(Portfolio):
        name = f.name
        if name in ("loans", "validated") or getattr(portfolio, name) is None:
            continue
        df = getattr(portfolio, name)
        if "loan_id" in df:
            df = df.loc[started.get_indexer(df["loan_id"]) >= 0]
        spec = TABLES[name]
        if spec.date_column and name != "installments":
            df = df.loc[df[spec.date_column] <= as_of]
        tables[name] = df
    return Portfolio(**tables)
