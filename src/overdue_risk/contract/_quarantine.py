"""Quarantine: the loans that break the data contract set aside, the rest validated.

:func:`validate` fails a whole run for one bad row. :func:`quarantine` takes
the row-level problems the same checks find (each comes with the rows that
break it, see :class:`~overdue_risk.contract._problems.Collector`), sets aside
every loan they touch, with all of its rows in every table, and validates what
is left. Problems of a whole table (a missing table or column, a column of the
wrong type, duplicate column names) cannot be set aside and still raise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import DataQualityWarning, DataValidationError
from ._keys import id_kind
from ._normalise import _nested
from ._portfolio import Portfolio
from ._problems import Collector
from ._schema import TABLES
from ._validate import check_portfolio, collect, validated

__all__ = ["REJECTED_COLUMNS", "quarantine"]

#: The columns of the rejected table, in order.
REJECTED_COLUMNS = ("loan_id", "customer_id", "table", "column", "rule", "rows", "message")

#: The rule of a loan set aside because the loan it was restructured from was.
SOURCE_RULE = "source_rejected"
_SOURCE_MESSAGE = (
    "restructured_from names a loan that is set aside; a restructured loan goes with it."
)


def _well_formed(ids: pd.Series) -> np.ndarray:
    """Which key values can name a loan or a customer: present and single values."""
    ok = ids.notna().to_numpy(dtype=bool)
    nested = _nested(ids)
    return ok if nested is None else ok & ~nested


class _Codes:
    """Key values of several columns as shared integer codes.

    Code ``k < n`` is the k-th distinct well-formed value, ``n`` (the sentinel)
    a missing or malformed key; ``values[k]`` is the value as given (None for
    the sentinel). Values are equal exactly when codes are, as
    :func:`~overdue_risk.contract._keys.code_loan_ids` compares them.
    """

    def __init__(self, columns: dict[str, pd.Series]) -> None:
        ok = {name: _well_formed(s) for name, s in columns.items()}
        kept = [s[ok[name]] for name, s in columns.items() if ok[name].any()]
        # concat warns on empty frames under pandas 2.2: only non-empty parts are joined.
        if kept:
            joined, uniques = pd.factorize(pd.concat(kept, ignore_index=True))
            uniques = np.asarray(uniques, dtype=object)
        else:
            joined, uniques = np.zeros(0, np.int64), np.zeros(0, object)
        self.n = len(uniques)
        self.values = np.append(uniques, None)
        self.codes: dict[str, np.ndarray] = {}
        start = 0
        for name, s in columns.items():
            coded = np.full(len(s), self.n, np.int64)
            stop = start + int(ok[name].sum())
            coded[ok[name]] = joined[start:stop]
            self.codes[name] = coded
            start = stop
        # Each value as its first column holds it: joining int ids with a float column
        # (a blank id makes one) would show loan 7 as 7.0.
        for name in reversed(columns):
            codes, first = np.unique(self.codes[name], return_index=True)
            here = codes < self.n
            self.values[codes[here]] = np.asarray(columns[name].iloc[first[here]], dtype=object)

    def flags(self) -> np.ndarray:
        """One False per code, the sentinel's included."""
        return np.zeros(self.n + 1, bool)


def _set_aside(
    frames: dict[str, pd.DataFrame], c: Collector
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The rejected rows of one round and which rows of each table are kept.

    Every problem has rows here (whole-table problems were raised before). Each
    offending row becomes an event (problem, loan code, customer code); the
    events are counted once at the end.
    """
    loans = frames["loans"]
    loan_tables = {name: df["loan_id"] for name, df in frames.items() if name != "customers"}
    if "restructured_from" in loans:
        loan_tables["restructured_from"] = loans["restructured_from"]
    lk = _Codes(loan_tables)
    ck = _Codes(
        {"loans": loans["customer_id"]}
        | ({"customers": frames["customers"]["customer_id"]} if "customers" in frames else {})
    )
    own, own_customer = lk.codes["loans"], ck.codes["loans"]
    in_loans = lk.flags()
    in_loans[own[own < lk.n]] = True
    # Each loan's customer: that of its first row in loans (the sentinel for other ids).
    loan_customer = np.full(lk.n + 1, ck.n, np.int64)
    firsts, first_row = np.unique(own, return_index=True)
    loan_customer[firsts] = own_customer[first_row]
    loan_customer[lk.n] = ck.n
    rejected, rejected_customers = lk.flags(), ck.flags()
    alone = {name: np.zeros(len(df), bool) for name, df in frames.items()}
    tags = [(p.table, p.column, p.rule, p.message) for p in c.problems]
    events: list[pd.DataFrame] = []
    by_customer: list[pd.DataFrame] = []
    for i, p in enumerate(c.problems):
        pos = c.positions(i)
        if p.table == "customers":
            cc = ck.codes["customers"][pos]
            good = cc < ck.n
            rejected_customers[cc[good]] = True
            alone["customers"][pos[~good]] = True
            by_customer.append(pd.DataFrame({"tag": i, "customer": cc}))
            continue
        lc = lk.codes[p.table][pos]
        tied = in_loans[lc]
        rejected[lc[tied]] = True
        alone[p.table][pos[~tied]] = True
        cust = loan_customer[lc]
        if p.table == "loans":  # a loans row of no loan still names its customer
            cust = np.where(tied, cust, own_customer[pos])
        events.append(pd.DataFrame({"tag": i, "loan": lc, "customer": cust}))
    if by_customer:  # a customer set aside takes every loan of theirs along
        pairs = pd.DataFrame({"loan": own, "customer": own_customer})
        pairs = pairs[(own < lk.n) & (own_customer < ck.n)].drop_duplicates()
        merged = pd.concat(by_customer, ignore_index=True).merge(pairs, on="customer", how="left")
        merged["loan"] = merged["loan"].fillna(lk.n).astype(np.int64)
        events.append(merged)
    customer_loans = rejected_customers[own_customer]
    rejected[own[customer_loans]] = True
    rejected[lk.n] = False
    # A loan restructured from a loan set aside goes too, down the whole chain.
    if "restructured_from" in lk.codes:
        source = lk.codes["restructured_from"]
        tags.append(("loans", "restructured_from", SOURCE_RULE, _SOURCE_MESSAGE))
        while True:
            hit = rejected[source] & (own < lk.n) & ~rejected[own]
            if not hit.any():
                break
            rejected[own[hit]] = True
            events.append(
                pd.DataFrame(
                    {"tag": len(tags) - 1, "loan": own[hit], "customer": loan_customer[own[hit]]}
                )
            )
    keep = {
        name: ~rejected[lk.codes[name]] & ~alone[name] for name in frames if name != "customers"
    }
    keep["loans"] &= ~customer_loans
    if "customers" in frames:
        keep["customers"] = ~rejected_customers[ck.codes["customers"]] & ~alone["customers"]
    counted = (
        pd.concat(events, ignore_index=True)
        .groupby(["tag", "loan", "customer"], sort=False)
        .size()
        .reset_index(name="rows")
    )
    tag = np.array(tags, dtype=object)[counted["tag"].to_numpy()]
    found = pd.DataFrame(
        {
            "loan_id": lk.values[counted["loan"].to_numpy()],
            "customer_id": ck.values[counted["customer"].to_numpy()],
            "table": tag[:, 0],
            "column": tag[:, 1],
            "rule": tag[:, 2],
            "rows": counted["rows"].to_numpy(np.int64),
            "message": tag[:, 3],
        }
    )
    return found, keep


def _rank(values: pd.Series) -> np.ndarray:
    """A sort key of ids: numbers by value, text by text, missing ones last."""
    present = values.notna().to_numpy(dtype=bool)
    out = np.full(len(values), np.inf)
    if present.any():
        v = values[present]
        key = pd.to_numeric(v) if id_kind(v) == "number" else v.astype(str)
        out[present] = key.rank(method="dense").to_numpy(dtype=np.float64)
    return out


def _rejected_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (loan, customer, table, column, rule), sorted by those."""
    if not parts:
        # The dtypes a non-empty table has: ids as objects, text as pandas' strings.
        empty = {name: pd.Series([], dtype=str) for name in REJECTED_COLUMNS}
        empty |= {
            "loan_id": pd.Series([], dtype=object),
            "customer_id": pd.Series([], dtype=object),
        }
        empty["rows"] = pd.Series([], dtype=np.int64)
        return pd.DataFrame(empty)
    keys = ["loan_id", "customer_id", "table", "column", "rule"]
    found = pd.concat(parts, ignore_index=True)
    # Grouped on codes: grouping on the ids themselves would turn int ids into floats.
    coded = pd.DataFrame(
        {k: pd.factorize(found[k], use_na_sentinel=False)[0] for k in [*keys, "message"]}
    )
    rows = found["rows"].groupby(coded.groupby([*keys, "message"]).ngroup()).transform("sum")
    first = ~coded.duplicated([*keys, "message"]).to_numpy()
    found = found.assign(rows=rows)[first].reset_index(drop=True)
    coded = coded[first].reset_index(drop=True)
    # Two problems of one rule on one column (two kinds of wrong type) make one row.
    if coded.duplicated(keys).any():
        group = coded.groupby(keys).ngroup()
        found = found.assign(
            rows=found["rows"].groupby(group).transform("sum"),
            message=found["message"].groupby(group).transform(" ".join),
        )[~coded.duplicated(keys).to_numpy()]
        found = found.reset_index(drop=True)
    order = pd.DataFrame(
        {
            "loan": _rank(found["loan_id"]),
            "customer": _rank(found["customer_id"]),
            "table": found["table"].map({name: k for k, name in enumerate(TABLES)}).to_numpy(),
            "column": found["column"].to_numpy(),
            "rule": found["rule"].to_numpy(),
        }
    ).sort_values(["loan", "customer", "table", "column", "rule"], kind="stable")
    out = found.iloc[order.index.to_numpy()].reset_index(drop=True)
    out["rows"] = out["rows"].astype(np.int64)
    for name in ("table", "column", "rule", "message"):
        out[name] = out[name].astype(str)
    for name in ("loan_id", "customer_id"):
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out[list(REJECTED_COLUMNS)]


def quarantine(portfolio: Portfolio) -> tuple[Portfolio, pd.DataFrame]:
    """Set aside the loans that break the data contract; validate and return the rest.

    The unit set aside is the loan: a problem on any row of a loan (in
    ``loans``, ``installments``, ``payments``, ``statements`` or ``collections``)
    sets aside that loan with all of its rows in every table. A problem on a
    ``customers`` row sets aside that customer's rows and every loan of theirs;
    a loan restructured from a loan set aside goes too (rule
    ``source_rejected``). A row that names no loan of ``loans`` (an unknown,
    missing or malformed ``loan_id``; a missing ``customer_id`` in
    ``customers``) is dropped alone. What is left is validated: a rule that an
    earlier problem kept from running (a table left out of later rules) is
    checked on it, and anything it finds is set aside in turn.

    Parameters
    ----------
    portfolio : Portfolio
        Raw or already validated tables; the caller's frames are not modified.

    Returns
    -------
    valid : Portfolio
        What :func:`~overdue_risk.validate` returns for the portfolio without the
        rows set aside (its warnings are emitted as ``validate`` emits them).
    rejected : DataFrame
        One row per (loan, customer, table, column, rule) with columns
        ``loan_id``, ``customer_id`` (when known), ``table``, ``column``,
        ``rule``, ``rows`` (that loan's offending rows of that table; for a
        customer's problem, the customer's offending rows) and ``message``,
        sorted by ``loan_id``, ``customer_id``, table (in contract order),
        ``column`` and ``rule``. ``loan_id`` is the value as given for a row
        of an unknown loan, and None for a missing or malformed one.

    Raises
    ------
    DataValidationError
        Naming the problems of whole tables, which no loan can be set aside
        for: a missing table or required column, duplicate column names, a
        column whose type fails as a whole, ids of different types.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Portfolio
    >>> from overdue_risk.contract import quarantine
    >>> loans = pd.DataFrame({"loan_id": ["A", "B"], "customer_id": ["c", "d"],
    ...     "product_type": "revolving", "start_date": "2024-01-01", "principal": 500.0})
    >>> statements = pd.DataFrame({"loan_id": ["A", "B", "Z"],
    ...     "statement_date": ["2024-01-31", "2023-12-31", "2024-01-31"],
    ...     "balance": [100.0, 50.0, 10.0]})
    >>> valid, rejected = quarantine(Portfolio(loans=loans, statements=statements))
    >>> valid.loans["loan_id"].tolist()
    ['A']
    >>> rejected[["loan_id", "table", "rule", "rows"]].to_dict("records")
    [{'loan_id': 'B', 'table': 'statements', 'rule': 'before_loan_start', 'rows': 1}, \
{'loan_id': 'Z', 'table': 'statements', 'rule': 'orphan', 'rows': 1}]
    """
    check_portfolio(portfolio)
    if portfolio.validated:
        return portfolio, _rejected_table([])
    frames, current = portfolio.tables(), portfolio
    parts: list[pd.DataFrame] = []
    while True:
        c, tables = collect(current)
        if not c.problems:
            break
        whole = [p for p, rows in zip(c.problems, c.rows, strict=True) if rows is None]
        if whole:
            raise DataValidationError(whole)
        frames = {name: df.reset_index(drop=True) for name, df in frames.items()}
        found, keep = _set_aside(frames, c)
        if all(k.all() for k in keep.values()):  # every problem names rows: cannot happen
            raise RuntimeError("quarantine found problems but no row to set aside.")
        parts.append(found)
        frames = {name: df[keep[name]] for name, df in frames.items()}
        current = Portfolio(**frames)
    for message in c.warnings:
        warnings.warn(DataQualityWarning(message), stacklevel=2)
    return validated(tables), _rejected_table(parts)
