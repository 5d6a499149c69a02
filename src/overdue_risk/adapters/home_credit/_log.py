"""What did not enter the portfolio as given: the rows dropped and the values changed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._files import FILES

__all__ = ["ACTIONS", "REASONS", "Log", "RowReasons"]

#: What happened to the rows of an entry: dropped (the row, or the part of it
#: named by ``part``, is not in the portfolio), blanked (the value is left blank),
#: replaced (a later schedule version took the instalment's place), adjusted (a
#: loan's start moved earlier to its first record).
ACTIONS = ("dropped", "blanked", "replaced", "adjusted")

#: Every reason, with the sentence the table shows.
REASONS: dict[str, str] = {
    "blank_id": "An id column (SK_ID_*) is blank.",
    "duplicate_id": "The id repeats an earlier row of the file; one row per id is kept.",
    "not_a_credit": "A previous application not approved (or not the last one of its "
    "contract, FLAG_LAST_APPL_PER_CONTRACT = N) with no records in the other files: no loan.",
    "no_customer": "No file gives the loan's customer (SK_ID_CURR); the loan's rows in "
    "every file are dropped.",
    "no_start_date": "The loan has an amount but no start date, neither its own nor a dated "
    "record; the loan's rows in every file are dropped.",
    "no_principal": "The loan has no amount > 0 (credit amount, limit, or scheduled amounts), "
    "whatever its dates; the loan's rows in every file are dropped.",
    "unknown_loan": "The row's SK_ID_BUREAU is not in bureau.csv, which gives its customer.",
    "payment_without_date": "AMT_PAYMENT given, DAYS_ENTRY_PAYMENT blank or not a date.",
    "payment_without_amount": "DAYS_ENTRY_PAYMENT given, AMT_PAYMENT blank.",
    "payment_not_positive": "AMT_PAYMENT is 0 or negative.",
    "amount_too_large": "The amount exceeds the contract's MAX_AMOUNT (1e12).",
    "no_instalment_number": "NUM_INSTALMENT_NUMBER is blank, not whole, < 1 or > 65535.",
    "no_due_date": "DAYS_INSTALMENT is blank or not a date.",
    "no_amount_due": "AMT_INSTALMENT is blank, negative or beyond MAX_AMOUNT.",
    "superseded_version": "A later NUM_INSTALMENT_VERSION of the same instalment replaces it.",
    "revolving_schedule": "A card's rows: its payments are kept, its AMT_INSTALMENT is no "
    "schedule (cards have statements).",
    "no_statement_date": "MONTHS_BALANCE is blank or not whole.",
    "no_balance": "No balance for the statement (see the file's mapping).",
    "duplicate_statement": "Another statement of the loan falls on the same date; one is kept.",
    "bad_dpd": "The DPD is negative or not a whole number.",
    "negative_amount": "An amount that must be >= 0 is negative.",
    "unknown_status": "STATUS is none of 0-5, C, X.",
    "update_before_start": "The bureau's last update (DAYS_CREDIT_UPDATE) is before the "
    "credit began (DAYS_CREDIT): no statement from bureau.csv.",
    "closed_before_start": "The closing date is before the loan's start.",
    "target_not_binary": "TARGET is blank or not 0/1: the customer is kept, without a label.",
    "start_before_application": "A record is dated before the loan's own start date "
    "(DAYS_DECISION, DAYS_CREDIT): the start moves to the first record.",
}


# A row's parts first, then a loan's dates; a Kaggle column blanked comes after those.
_PARTS = ("row", "statement", "instalment", "payment", "start_date", "closed_date")
_FILE_RANK = {spec.file_name: i for i, spec in enumerate(FILES.values())}
_REASON_RANK = {reason: i for i, reason in enumerate(REASONS)}


def _rank(file: str, part: str, reason: str, action: str) -> tuple:
    """Where an entry goes in :meth:`Log.table`: by file (in the order of ``FILES``),
    part (a blanked column in the file's column order), reason (in the order of
    ``REASONS``), then action."""
    columns = FILES[file.removesuffix(".csv")].columns if file in _FILE_RANK else ()
    if part in _PARTS:
        where = (0, _PARTS.index(part))
    elif part in columns:
        where = (1, columns.index(part))
    else:
        where = (2, 0)
    file_rank = _FILE_RANK.get(file, len(_FILE_RANK))
    return (file_rank, where, part, _REASON_RANK[reason], ACTIONS.index(action))


class Log:
    """Counts per (file, part, reason, action): rows, and the money they held."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, str, str, str, int, float]] = []

    def add(
        self,
        file: str,
        part: str,
        reason: str,
        rows,
        amount=0.0,
        *,
        action: str = "dropped",
    ) -> None:
        """Record ``rows`` (a count or a boolean mask) and their ``amount`` (a total,
        or per-row amounts summed over the mask, blanks as 0)."""
        if reason not in REASONS or action not in ACTIONS:
            raise AssertionError(f"unknown reason or action: {reason}, {action}")
        if isinstance(rows, np.ndarray) and rows.dtype == bool:
            mask = rows
            n = int(mask.sum())
            if isinstance(amount, np.ndarray):
                amount = float(np.nansum(amount[mask])) if n else 0.0
        else:
            n = int(rows)
        if n:
            self._entries.append((file, part, reason, action, n, float(amount)))

    def table(self) -> pd.DataFrame:
        """One row per (file, part, reason, action), in a fixed order (:func:`_rank`):
        the same table whatever order the entries were recorded in."""
        cols = ["file", "part", "reason", "action", "rows", "amount"]
        df = pd.DataFrame(self._entries, columns=cols)
        df = df.groupby(cols[:4], sort=False, as_index=False)[["rows", "amount"]].sum()
        df["rows"] = df["rows"].astype(np.int64)
        df["message"] = df["reason"].map(REASONS).astype(object)
        keys = [_rank(*row) for row in df.iloc[:, :4].itertuples(index=False)]
        order = sorted(range(len(df)), key=keys.__getitem__)
        return df.iloc[order].reset_index(drop=True)


class RowReasons:
    """Why each row of a table does not enter (one reason per row, the last set wins),
    as int8 codes: comparing codes is cheap where comparing text is not."""

    def __init__(self, n: int, names: tuple[str, ...]):
        self.names = ("", *names)
        self.codes = np.zeros(n, np.int8)

    def set(self, name: str, mask: np.ndarray) -> None:
        self.codes[mask] = self.names.index(name)

    def of(self, name: str) -> np.ndarray:
        return self.codes == self.names.index(name)

    @property
    def ok(self) -> np.ndarray:
        return self.codes == 0
