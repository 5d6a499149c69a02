"""``bureau.csv`` and ``bureau_balance.csv``: the customer's credits at other lenders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...contract import MAX_AMOUNT
from ._balances import Columns, later_duplicates, take
from ._calendar import day_numbers, month_days, whole
from ._files import FILES, Reader, read_whole
from ._log import Log, RowReasons
from ._previous import first_by_content

__all__ = ["COLUMNS", "STATUS_DPD", "Bureau"]

#: bureau_balance STATUS -> the DPD written on the month's statement: the lowest DPD
#: of the status's band (1: 1-30, 2: 31-60, 3: 61-90, 4: 91-120, 5: over 120, sold or
#: written off), so each band lands in its own bucket; C (closed) -> 0 with a balance
#: of 0; X (unknown) -> blank.
STATUS_DPD: dict[str, float] = {
    "0": 0,
    "1": 1,
    "2": 31,
    "3": 61,
    "4": 91,
    "5": 121,
    "C": 0,
    "X": np.nan,
}
_CLOSED, _UNKNOWN = 6, -1  # status codes besides 0-5 (C) and X (7)
_CODES = {s: i for i, s in enumerate(STATUS_DPD)}
_ROW_REASONS = (
    "update_before_start",
    "amount_too_large",
    "no_balance",
    "no_statement_date",
    "unknown_loan",
    "duplicate_statement",
)
_BUREAU = "bureau"
_BALANCE = "bureau_balance"
COLUMNS = (
    "SK_ID_CURR",
    "SK_ID_BUREAU",
    "CREDIT_ACTIVE",
    "DAYS_CREDIT",
    "CREDIT_DAY_OVERDUE",
    "DAYS_ENDDATE_FACT",
    "AMT_CREDIT_SUM",
    "AMT_CREDIT_SUM_DEBT",
    "AMT_CREDIT_SUM_LIMIT",
    "CREDIT_TYPE",
    "DAYS_CREDIT_UPDATE",
    "AMT_ANNUITY",
)


def _read_bureau(reader: Reader, log: Log) -> pd.DataFrame:
    raw = read_whole(reader, _BUREAU, COLUMNS)
    if raw.empty:
        return pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in COLUMNS})
    file = FILES[_BUREAU].file_name
    blank = raw["SK_ID_BUREAU"].isna().to_numpy() | raw["SK_ID_CURR"].isna().to_numpy()
    log.add(file, "row", "blank_id", blank)
    raw = raw.loc[~blank].reset_index(drop=True)
    raw["SK_ID_BUREAU"] = raw["SK_ID_BUREAU"].astype(np.int64)
    later = first_by_content(raw, "SK_ID_BUREAU")
    log.add(file, "row", "duplicate_id", later)
    return raw.loc[~later].sort_values("SK_ID_BUREAU").reset_index(drop=True)


def _positive(*columns: np.ndarray) -> np.ndarray:
    """The first value > 0 (and within MAX_AMOUNT) of the columns, row by row."""
    out = np.full(columns[0].shape, np.nan)
    for values in reversed(columns):
        ok = np.isfinite(values) & (values > 0) & (values <= MAX_AMOUNT)
        out = np.where(ok, values, out)
    return out


class Bureau:
    """The bureau's credits (:attr:`loans`, by SK_ID_BUREAU) and their statements."""

    def __init__(self, reader: Reader, reference: np.datetime64, reference_day: int, log: Log):
        self.log = log
        raw = _read_bureau(reader, log)
        active = raw["CREDIT_ACTIVE"].to_numpy(object)
        credit = raw["AMT_CREDIT_SUM"].to_numpy(np.float64)
        debt = raw["AMT_CREDIT_SUM_DEBT"].to_numpy(np.float64)
        limit = raw["AMT_CREDIT_SUM_LIMIT"].to_numpy(np.float64)
        # The balance the bureau gives (current debt); when blank, 0 for a closed
        # credit and the credit amount for any other.
        debt = np.where(np.isnan(debt), np.where(active == "Closed", 0.0, credit), debt)
        kind = raw["CREDIT_TYPE"].to_numpy(object)
        closed = day_numbers(raw["DAYS_ENDDATE_FACT"].to_numpy(), reference_day)
        ids = raw["SK_ID_BUREAU"].to_numpy(np.int64)
        self.loans = pd.DataFrame(
            {
                "customer": raw["SK_ID_CURR"].to_numpy(np.float64).astype(np.int64),
                "revolving": kind == "Credit card",
                "product": pd.Series(kind, dtype=object).str.lower().to_numpy(object),
                "annuity": raw["AMT_ANNUITY"].to_numpy(np.float64),
                "principal": _positive(credit, limit, debt),
                "start_day": day_numbers(raw["DAYS_CREDIT"].to_numpy(), reference_day),
                "closed_day": np.where(closed <= reference_day, closed, np.nan),
            },
            index=pd.Index(ids, name="SK_ID_BUREAU"),
        )
        file = FILES[_BUREAU].file_name
        overdue = raw["CREDIT_DAY_OVERDUE"].to_numpy(np.float64)
        bad_dpd = np.isfinite(overdue) & ~whole(overdue, 0, 2**31 - 1)
        negative_limit = limit < 0
        self._blanked = [
            (file, "CREDIT_DAY_OVERDUE", "bad_dpd", bad_dpd),
            (file, "AMT_CREDIT_SUM_LIMIT", "negative_amount", negative_limit),
        ]
        limit = np.where(negative_limit | (limit > MAX_AMOUNT), np.nan, limit)
        # bureau.csv's own record of each credit comes first, then the months.
        update = {
            "bureau": ids,
            "day": day_numbers(raw["DAYS_CREDIT_UPDATE"].to_numpy(), reference_day),
            "balance": debt,
            "credit_limit": limit,
            "dpd": np.where(bad_dpd, np.nan, overdue),
            "status": np.full(ids.size, -2, np.int8),  # -2: bureau.csv's own record
            "priority": np.zeros(ids.size, np.int8),
            "at": np.arange(ids.size),
        }
        monthly = self._read_balance(reader, reference, debt, limit)
        self.rows: Columns = {k: np.concatenate([update[k], monthly[k]]) for k in update}
        self._reasons()

    def _read_balance(
        self, reader: Reader, reference: np.datetime64, debt: np.ndarray, limit: np.ndarray
    ) -> Columns:
        file = FILES[_BALANCE].file_name
        ids, days, codes = [], [], []
        if _BALANCE in reader.files:
            for part in reader.batches(_BALANCE, FILES[_BALANCE].columns):
                n = len(next(iter(part.values())))
                bureau = part.get("SK_ID_BUREAU", np.full(n, np.nan))
                blank = np.isnan(bureau)
                self.log.add(file, "row", "blank_id", blank)
                ids.append(bureau[~blank].astype(np.int64))
                month = part.get("MONTHS_BALANCE", np.full(n, np.nan))[~blank]
                days.append(month_days(month, reference).astype(np.float32))
                status = part.get("STATUS")
                if status is None:
                    code = np.full(n, _UNKNOWN, np.int8)
                else:
                    lut = np.array(
                        [_CODES.get(str(c).strip().upper(), _UNKNOWN) for c in status.categories]
                        + [_UNKNOWN],
                        np.int8,
                    )
                    code = lut[np.asarray(status.codes)]  # code -1 (blank) -> the last entry
                codes.append(code[~blank])
        bureau = np.concatenate(ids) if ids else np.empty(0, np.int64)
        status = np.concatenate(codes) if codes else np.empty(0, np.int8)
        at = self.loans.index.get_indexer(bureau)  # the credit's row, -1 when unknown
        dpd_of = np.array([*STATUS_DPD.values(), np.nan], np.float64)
        # An unknown credit (-1) reads the blank appended after the known ones.
        safe = np.where(at >= 0, at, debt.size)
        balance = np.where(status == _CLOSED, 0.0, np.append(debt, np.nan)[safe])
        return {
            "bureau": bureau,
            "day": np.concatenate(days).astype(np.float64) if days else np.empty(0),
            "balance": np.where(at >= 0, balance, np.nan),
            "credit_limit": np.append(limit, np.nan)[safe],
            "dpd": dpd_of[status],  # -1 (unknown) reads the last entry: blank
            "status": status,
            "priority": np.ones(bureau.size, np.int8),
            "at": at,
        }

    def _reasons(self) -> None:
        r = self.rows
        reason = RowReasons(r["at"].size, _ROW_REASONS)
        # A last update before the credit began is an error of the record (some are a
        # century old): it would move the credit's start; it is dropped instead.
        n = len(self.loans)
        early = np.zeros(r["at"].size, bool)
        early[:n] = r["day"][:n] < self.loans["start_day"].to_numpy()
        reason.set("update_before_start", early)
        reason.set("amount_too_large", np.abs(r["balance"]) > MAX_AMOUNT)
        reason.set("no_balance", np.isnan(r["balance"]))
        reason.set("no_statement_date", np.isnan(r["day"]))
        reason.set("unknown_loan", r["at"] < 0)
        ok = reason.ok
        later = np.zeros(ok.size, bool)
        cols = ["priority", "balance", "credit_limit", "dpd", "status"]
        later[ok] = later_duplicates(take(r, ok), ["bureau", "day"], cols)
        reason.set("duplicate_statement", later)
        self.reason = reason

    def _per_credit(self, rows: np.ndarray) -> pd.Series:
        return pd.Series(self.rows["day"][rows]).groupby(self.rows["bureau"][rows]).min()

    def first_days(self) -> pd.Series:
        return self._per_credit(self.reason.ok)

    def first_closed_days(self) -> pd.Series:
        """The first month with STATUS C of each credit."""
        return self._per_credit(self.reason.ok & (self.rows["status"] == _CLOSED))

    def finish(self, kept: np.ndarray, dropped: dict[str, np.ndarray]) -> Columns:
        """The statements of the credits ``kept``; the other rows are logged, those of
        the credits ``dropped`` (SK_ID_BUREAU by reason) with their credit's reason."""
        r, log, reason = self.rows, self.log, self.reason
        ids = self.loans.index
        at = r["at"]
        safe = np.where(at >= 0, at, len(ids))  # an unknown credit reads the False appended

        def of_rows(loan: np.ndarray) -> np.ndarray:
            return np.append(loan, False)[safe]

        keep = of_rows(np.isin(ids.to_numpy(), kept))
        monthly = r["priority"] == 1
        balance_file = FILES[_BALANCE].file_name
        # bureau.csv's rows are the credits: the credits' reasons are logged with them.
        log.add(balance_file, "row", "unknown_loan", monthly & reason.of("unknown_loan"))
        for why, dropped_ids in dropped.items():
            log.add(balance_file, "row", why, monthly & of_rows(ids.isin(dropped_ids)))
        for priority, name in ((0, _BUREAU), (1, _BALANCE)):
            file = FILES[name].file_name
            part = "row" if priority == 1 else "statement"
            mine = (r["priority"] == priority) & keep
            for why in _ROW_REASONS:
                if why != "unknown_loan":
                    log.add(file, part, why, mine & reason.of(why))
        entered = keep & reason.ok
        log.add(
            balance_file,
            "STATUS",
            "unknown_status",
            entered & monthly & (r["status"] == _UNKNOWN),
            action="blanked",
        )
        kept_rows = np.isin(ids.to_numpy(), kept)
        for file, column, why, bad in self._blanked:
            log.add(file, column, why, bad & kept_rows, action="blanked")
        out = take({c: r[c] for c in ("bureau", "day", "balance", "credit_limit", "dpd")}, entered)
        out["day"] = out["day"].astype(np.int64)
        return out
