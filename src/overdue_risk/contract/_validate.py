"""Contract validation: the checks within and across tables, and :func:`validate`.

Each table is normalised on a copy (:mod:`~overdue_risk.contract._normalise`),
its unique key and its links to loans checked
(:mod:`~overdue_risk.contract._keys`); the rules that read several tables
(dates before the loan's start, the schedule, allocated payments) follow here,
and so do the warnings about suspicious but legal data. Every problem is
collected before anything is raised.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from .._sorting import duplicated, lexsort2, pack, presorted
from ..exceptions import DataQualityWarning, DataValidationError, OverdueRiskError
from ._keys import (
    LoanCodes,
    check_keys,
    check_links,
    code_loan_ids,
    id_kind,
    isin,
    loan_attr,
    with_codes,
)
from ._normalise import normalise_table
from ._portfolio import Portfolio
from ._problems import N_EXAMPLES, Collector, examples_of, show_value
from ._schema import TABLES

__all__ = ["check_portfolio", "collect", "validate", "validated"]


def _check_before_start(
    name: str,
    df: pd.DataFrame,
    loans: pd.DataFrame,
    codes: LoanCodes,
    c: Collector,
    *,
    as_error: bool,
) -> None:
    spec = TABLES[name]
    col = spec.date_column
    early = df[col].to_numpy() < loan_attr(name, df, loans, codes, "start_date")
    if early.any():
        if as_error:
            c.add(
                name,
                col,
                "before_loan_start",
                int(early.sum()),
                examples_of(df, early, spec.key),
                f"{col} is before the loan's start_date.",
                rows=early,
            )
        else:
            c.warn(f"{name}: {int(early.sum())} rows have {col} before the loan's start_date.")


def _check_schedule(df: pd.DataFrame, codes: np.ndarray, c: Collector) -> None:
    key = ("loan_id", "installment_no")
    if presorted(with_codes(df, key, codes), key)[0] == 2:
        order = slice(None)  # already in (loan, instalment) order
    else:
        order = lexsort2(codes, df["installment_no"].to_numpy())
    sorted_codes = codes[order]
    due = df["due_date"].to_numpy()[order]
    back = (sorted_codes[1:] == sorted_codes[:-1]) & (due[1:] < due[:-1])
    if back.any():
        # The offending rows: each instalment due before the one numbered just below it.
        went_back = np.arange(codes.size)[order][1:][back]
        bad = np.zeros(int(codes.max()) + 1, bool)
        bad[sorted_codes[1:][back]] = True
        # Name the loans as before: a missing id first, then the others in the
        # order they first appear in the table.
        rows = np.flatnonzero(bad[codes])
        _, first = np.unique(codes[rows], return_index=True)
        ids = df["loan_id"].iloc[rows[np.sort(first)]]
        ids = ids.iloc[np.argsort(ids.notna().to_numpy(), kind="stable")]
        examples = ids.iloc[:N_EXAMPLES].to_numpy()
        c.add(
            "installments",
            "due_date",
            "due_dates_out_of_order",
            int(bad.sum()),
            tuple(f"loan_id={show_value(v)}" for v in examples),
            "Due dates must not decrease as installment_no increases.",
            rows=went_back,
        )
    if (df["amount_due"].to_numpy() == 0).any():
        c.warn(f"installments: {int((df['amount_due'] == 0).sum())} instalments have amount_due 0.")


def _known_pairs(
    pay_codes: np.ndarray, pay_no: np.ndarray, inst_codes: np.ndarray, inst_no: np.ndarray
) -> np.ndarray:
    """Whether each (loan code, instalment number) of a payment is in the schedule.

    Whole instalment numbers (the rule) are packed with the loan code into one
    int64 key, for which ``np.isin`` is a table lookup; others take a MultiIndex.
    """
    inst_codes, inst_no = inst_codes[~np.isnan(inst_no)], inst_no[~np.isnan(inst_no)]
    numbers = np.concatenate([pay_no, inst_no])
    if np.all(np.abs(numbers) < 2**53) and np.all(numbers == np.round(numbers)):
        packed = pack([np.concatenate([pay_codes, inst_codes]), numbers.astype(np.int64)])
        if packed is not None:
            key = packed[0]
            return np.isin(key[: pay_codes.size], key[pay_codes.size :])
    known = pd.MultiIndex.from_arrays([inst_codes, inst_no])
    return pd.MultiIndex.from_arrays([pay_codes, pay_no]).isin(known)


def _check_allocated(pay: pd.DataFrame, inst: pd.DataFrame, codes: LoanCodes, c: Collector) -> None:
    tagged = pay["installment_no"].notna().to_numpy()
    if not tagged.any():
        return
    unknown = tagged.copy()
    unknown[tagged] = ~_known_pairs(
        codes.codes["payments"][tagged],
        pay["installment_no"].to_numpy(np.float64)[tagged],
        codes.codes["installments"],
        inst["installment_no"].to_numpy(np.float64),
    )
    if unknown.any():
        c.add(
            "payments",
            "installment_no",
            "unknown_installment",
            int(unknown.sum()),
            examples_of(pay, unknown, ("loan_id", "payment_date", "installment_no")),
            "Payment allocated to an instalment that is not in the schedule.",
            rows=unknown,
        )


def _check_tables_present(tables: dict[str, pd.DataFrame], c: Collector) -> None:
    has = set(tables)
    if "installments" in has and "payments" not in has:
        c.add(
            "payments",
            "",
            "missing_table",
            1,
            (),
            "A schedule needs a payments table (it may be empty).",
            rows=None,
        )
    if not has & {"installments", "statements"}:
        # One problem, not two: payments without a schedule is the same missing table.
        c.add(
            "installments",
            "",
            "missing_table",
            1,
            (),
            "Payments need a schedule (installments) to be allocated to."
            if "payments" in has
            else "A portfolio needs installments with payments, or statements.",
            rows=None,
        )


def _cross_checks(t: dict[str, pd.DataFrame], codes: LoanCodes, c: Collector) -> None:
    loans = t["loans"]
    bad_close = (
        (loans["closed_date"] < loans["start_date"]).to_numpy()
        if "closed_date" in loans
        else np.zeros(len(loans), bool)
    )
    if bad_close.any():
        c.add(
            "loans",
            "closed_date",
            "date_order",
            int(bad_close.sum()),
            examples_of(loans, bad_close, ("loan_id",)),
            "closed_date is before start_date.",
            rows=bad_close,
        )
    if "restructured_from" in loans:
        source = loans["restructured_from"]
        orphan = source.notna().to_numpy() & ~isin(source, loans["loan_id"])
        if orphan.any():
            c.add(
                "loans",
                "restructured_from",
                "orphan",
                int(orphan.sum()),
                examples_of(loans, orphan, ("loan_id", "restructured_from")),
                "restructured_from names a loan that is not in loans.",
                rows=orphan,
            )
    linked = {
        n: check_links(n, t[n], loans, codes, c)
        for n in ("installments", "payments", "statements", "collections")
        if n in t
    }
    if "customers" in t:
        cust = t["customers"]
        if id_kind(cust["customer_id"]) != id_kind(loans["customer_id"]):
            c.add(
                "loans",
                "customer_id",
                "id_type_mismatch",
                len(loans),
                (),
                "customer_id has a different type in loans and customers.",
                rows=None,  # the whole column: no row alone is to blame
            )
        else:
            orphan = ~isin(loans["customer_id"], cust["customer_id"])
            if orphan.any():
                c.add(
                    "loans",
                    "customer_id",
                    "orphan",
                    int(orphan.sum()),
                    examples_of(loans, orphan, ("loan_id", "customer_id")),
                    "customer_id not found in customers.",
                    rows=orphan,
                )
    if linked.get("installments"):
        _check_schedule(t["installments"], codes.codes["installments"], c)
        _check_before_start("installments", t["installments"], loans, codes, c, as_error=False)
    for name in ("payments", "statements", "collections"):
        if linked.get(name):
            _check_before_start(name, t[name], loans, codes, c, as_error=True)
    if linked.get("payments") and linked.get("installments") and "installment_no" in t["payments"]:
        _check_allocated(t["payments"], t["installments"], codes, c)
    if "collections" in t and "promise_date" in t["collections"]:
        col = t["collections"]
        bad = (col["promise_date"] < col["action_date"]).to_numpy()
        if bad.any():
            c.add(
                "collections",
                "promise_date",
                "date_order",
                int(bad.sum()),
                examples_of(col, bad, ("loan_id", "action_date")),
                "promise_date is before action_date.",
                rows=bad,
            )
    _suspicious(t, linked, codes, c)


def _suspicious(
    t: dict[str, pd.DataFrame], linked: dict[str, bool], codes: LoanCodes, c: Collector
) -> None:
    """Legal but odd: reported as DataQualityWarning, never as errors."""
    loans = t["loans"]
    if linked.get("installments") or linked.get("statements"):
        covered = np.zeros(codes.n, bool)
        for name in ("installments", "statements"):
            if linked.get(name):
                covered[codes.codes[name][codes.in_loans(name)]] = True
        # A loan with a missing id never counts as covered.
        bare_rows = ~covered[codes.codes["loans"]] | loans["loan_id"].isna().to_numpy()
        bare = int(bare_rows.sum())
        if bare:
            c.warn(
                f"loans: {bare} loans have neither a schedule nor statements; "
                "they are never overdue."
            )
    if linked.get("payments"):
        pay = t["payments"]
        key = ("loan_id", "payment_date", "amount")
        dups = int(duplicated(with_codes(pay, key, codes.codes["payments"]), key).sum())
        if dups:
            c.warn(f"payments: {dups} rows repeat another payment's loan, date and amount.")
        if "closed_date" in loans:
            late = pay["payment_date"].to_numpy() > loan_attr(
                "payments", pay, loans, codes, "closed_date"
            )
            if late.any():
                c.warn(f"payments: {int(late.sum())} payments are dated after the loan closed.")


def validate(portfolio: Portfolio) -> Portfolio:
    """Check a portfolio against the data contract and normalise its dtypes.

    Every problem is collected before anything is raised, so one run lists all
    of them. Suspicious but legal data (duplicate-looking payments, loans with
    no repayment data, payments after closing) emits one
    :class:`~overdue_risk.DataQualityWarning` per finding.

    Parameters
    ----------
    portfolio : Portfolio
        Raw or already validated tables; the caller's frames are not modified.

    Returns
    -------
    Portfolio
        A new portfolio with normalised dtypes and ``validated=True``.

    Raises
    ------
    DataValidationError
        Listing every broken rule: table, column, rule, count and first keys.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Portfolio, validate, DataValidationError
    >>> loans = pd.DataFrame({"loan_id": [1, 1], "customer_id": [7, 7],
    ...     "product_type": ["instalment", "card"], "start_date": ["2024-01-01", "x"],
    ...     "principal": [300.0, -5.0]})
    >>> try:
    ...     validate(Portfolio(loans=loans, statements=pd.DataFrame(
    ...         {"loan_id": [], "statement_date": [], "balance": []})))
    ... except DataValidationError as err:
    ...     print(sorted(err.table()["rule"]))
    ['allowed_values', 'positive', 'unique', 'unparseable_date']
    """
    check_portfolio(portfolio)
    if portfolio.validated:
        return portfolio
    c, tables = collect(portfolio)
    if c.problems:
        raise DataValidationError(c.problems)
    for message in c.warnings:
        warnings.warn(DataQualityWarning(message), stacklevel=2)
    return validated(tables)


def check_portfolio(portfolio: object) -> None:
    """Refuse anything that is not a :class:`Portfolio` (a folder path names the loader)."""
    if not isinstance(portfolio, Portfolio):
        path = isinstance(portfolio, str | os.PathLike)
        hint = " (read a folder with load_portfolio)" if path else ""
        raise OverdueRiskError(
            f"portfolio must be a Portfolio{hint}; got {type(portfolio).__name__}."
        )


def validated(tables: dict[str, pd.DataFrame]) -> Portfolio:
    """The normalised tables of a portfolio that broke no rule, marked validated."""
    checked = Portfolio(**tables)
    object.__setattr__(checked, "validated", True)  # frozen: only validation marks it
    return checked


def collect(portfolio: Portfolio) -> tuple[Collector, dict[str, pd.DataFrame]]:
    """Every problem and warning of a raw portfolio, and its normalised tables.

    Nothing is raised or warned: :func:`validate` and
    :func:`~overdue_risk.contract.quarantine` decide what to do with the problems.
    """
    c = Collector()
    tables: dict[str, pd.DataFrame] = {}
    for name, raw in portfolio.tables().items():
        df = normalise_table(TABLES[name], raw, c)
        if df is not None:
            tables[name] = df
    raw_tables = portfolio.tables()
    if "loans" not in raw_tables:
        c.add(
            "loans", "", "missing_table", 1, (), "Every portfolio needs a loans table.", rows=None
        )
    _check_tables_present(raw_tables, c)
    codes = None
    if "loans" in tables:
        # Code every table's loan_id once: keys, links and lookups reuse the codes.
        others = {n: df["loan_id"] for n, df in tables.items() if n != "loans" and "loan_id" in df}
        codes = code_loan_ids(tables["loans"]["loan_id"], others)
    for name, df in tables.items():
        check_keys(TABLES[name], df, c, None if codes is None else codes.codes.get(name))
    if codes is not None:
        _cross_checks(tables, codes, c)
    return c, tables
