"""``installments_payments.csv``: the schedule of each Home Credit loan and its payments.

A row holds an instalment (``NUM_INSTALMENT_NUMBER``, ``DAYS_INSTALMENT``,
``AMT_INSTALMENT``, in schedule version ``NUM_INSTALMENT_VERSION``) and a payment
towards it (``DAYS_ENTRY_PAYMENT``, ``AMT_PAYMENT``; both blank when nothing was
paid). The file is read in blocks into compact arrays; everything after that is
sorting and segment reductions over whole arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._dates import FIRST_DAY
from ...contract import MAX_AMOUNT
from ._calendar import day_numbers, whole
from ._files import FILES, Reader
from ._frames import concat
from ._log import Log

__all__ = ["Instalments"]

FILE = FILES["installments_payments"].file_name
_COLUMNS = FILES["installments_payments"].columns
_MAX_NO = 2**16 - 1  # the contract's largest instalment number

# What became of each row's payment part and instalment part.
_PAY_REASONS = {
    2: "payment_without_date",
    3: "payment_without_amount",
    4: "payment_not_positive",
    5: "amount_too_large",
}
_INST_REASONS = {
    1: "revolving_schedule",
    2: "no_instalment_number",
    3: "no_due_date",
    4: "no_amount_due",
    5: "superseded_version",
}


def _packed(code: np.ndarray, day: np.ndarray, number: np.ndarray) -> np.ndarray | None:
    """(loan code, day, instalment number) in one int64 that sorts as the triple does;
    None when the codes are too many to fit (then sort by the three columns)."""
    if code.size and code.max() >= 2**30:  # pragma: no cover - a billion loans
        return None
    day = day.astype(np.int64) - FIRST_DAY  # a contract day: in [0, 2**17)
    return (code.astype(np.int64) << 33) | (day << 16) | number.astype(np.int64)


def _sort_by(code: np.ndarray, day: np.ndarray, number: np.ndarray, last=None) -> np.ndarray:
    """The order by loan, day, number (then ``last``)."""
    packed = _packed(code, day, number)
    if packed is None:  # pragma: no cover - a billion loans
        keys = (code, day, number) if last is None else (code, day, number, last)
        return np.lexsort(keys[::-1])
    return np.argsort(packed, kind="stable") if last is None else np.lexsort((last, packed))


def _segments(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal values in a sorted ``key``, and each value's run."""
    head = np.ones(key.size, bool)
    head[1:] = key[1:] != key[:-1]
    return np.flatnonzero(head), np.cumsum(head) - 1


class Instalments:
    """The rows of ``installments_payments.csv``, read once, turned into a schedule and
    payments per loan (:meth:`build`), and accounted for (:meth:`finish`)."""

    def __init__(self, reader: Reader, reference_day: int, log: Log):
        chunks: dict[str, list[np.ndarray]] = {}
        pairs = []
        self.amount_read = 0.0
        for part in reader.batches("installments_payments", _COLUMNS):
            n = len(next(iter(part.values())))

            def get(column, part=part, n=n):
                return part.get(column, np.full(n, np.nan))

            prev, curr, amount = get("SK_ID_PREV"), get("SK_ID_CURR"), get("AMT_PAYMENT")
            self.amount_read += float(np.nansum(amount))
            blank = np.isnan(prev) | np.isnan(curr)
            log.add(FILE, "row", "blank_id", blank, amount)
            ok = ~blank
            prev = prev[ok].astype(np.int64)
            pair = pd.DataFrame({"prev": prev, "curr": curr[ok].astype(np.int64)})
            pairs.append(pair.drop_duplicates())  # a loan's rows run together: few pairs
            version = get("NUM_INSTALMENT_VERSION")[ok]
            for name, values in (
                ("prev", prev),
                ("version", np.where(np.isnan(version), -1.0, version).astype(np.float32)),
                ("number", get("NUM_INSTALMENT_NUMBER")[ok].astype(np.float32)),
                ("due", day_numbers(get("DAYS_INSTALMENT")[ok], reference_day)),
                ("day", day_numbers(get("DAYS_ENTRY_PAYMENT")[ok], reference_day)),
                ("amount_due", get("AMT_INSTALMENT")[ok]),
                ("amount", amount[ok]),
            ):
                if name in ("due", "day"):
                    values = values.astype(np.float32)  # whole days are exact in float32
                chunks.setdefault(name, []).append(values)
        empty = {
            "prev": np.int64,
            "version": np.float32,
            "number": np.float32,
            "due": np.float32,
            "day": np.float32,
        }
        self.cols = {
            name: np.concatenate(chunks[name])
            if name in chunks
            else np.empty(0, empty.get(name, np.float64))
            for name in ("prev", "version", "number", "due", "day", "amount_due", "amount")
        }
        code, loans = pd.factorize(self.cols["prev"], sort=True)
        self.code = code.astype(np.int64)
        self.loans = np.asarray(loans, dtype=np.int64)  # SK_ID_PREV of each code, sorted
        customers = concat(pairs) if pairs else pd.DataFrame({"prev": [], "curr": []})
        # The loan's customer: the smallest SK_ID_CURR its rows name (one, in Kaggle's data).
        self.customers = customers.groupby("prev")["curr"].min().astype(np.int64)

    def version_zero_only(self) -> np.ndarray:
        """SK_ID_PREV of the loans whose every row is schedule version 0 (cards)."""
        if not self.code.size:
            return np.empty(0, np.int64)
        top = pd.Series(self.cols["version"]).groupby(self.code).max().to_numpy()
        return self.loans[top == 0]

    def build(self, revolving: np.ndarray) -> None:
        """The schedule and payments of every loan; ``revolving`` holds the SK_ID_PREV of
        cards, whose rows give payments only."""
        c = self.cols
        n = self.code.size
        rev = np.isin(self.loans, revolving)[self.code]
        amount, day = c["amount"], c["day"]
        has_a, has_d = np.isfinite(amount), np.isfinite(day)
        pay = np.zeros(n, np.int8)  # 0: no payment in the row, 1: a payment
        pay[has_a & ~has_d] = 2
        pay[~has_a & has_d] = 3
        both = has_a & has_d
        pay[both & (amount <= 0)] = 4
        pay[both & (amount > MAX_AMOUNT)] = 5
        pay[both & (amount > 0) & (amount <= MAX_AMOUNT)] = 1
        inst = np.zeros(n, np.int8)  # 0: in the schedule
        number, due, amount_due = c["number"], c["due"], c["amount_due"]
        good_amount = np.isfinite(amount_due) & (amount_due >= 0) & (amount_due <= MAX_AMOUNT)
        good_no = whole(number, 1, _MAX_NO)
        inst[~good_amount] = 4
        inst[~np.isfinite(due)] = 3
        inst[~good_no] = 2
        inst[rev] = 1
        self._schedule(inst)
        self.pay_reason, self.inst_reason = pay, inst
        self._payments(pay == 1, good_no & ~rev)

    def _schedule(self, inst: np.ndarray) -> None:
        """The latest version of each instalment, renumbered by due date within its loan."""
        c = self.cols
        rows = np.flatnonzero(inst == 0)
        key = self.code[rows] * (_MAX_NO + 1) + c["number"][rows].astype(np.int64)
        order = rows[np.lexsort((-c["version"][rows], key))]
        key = self.code[order] * (_MAX_NO + 1) + c["number"][order].astype(np.int64)
        version = c["version"][order]
        starts, group = _segments(key)
        older = version < version[starts][group]
        inst[order[older]] = 5
        order, key = order[~older], key[~older]
        starts, _ = _segments(key)
        due = np.minimum.reduceat(c["due"][order], starts) if key.size else np.zeros(0)
        amount = np.maximum.reduceat(c["amount_due"][order], starts) if key.size else np.zeros(0)
        key = key[starts]
        code = key // (_MAX_NO + 1)
        number = key % (_MAX_NO + 1)
        # installment_no: the rank by due date (then Kaggle's number) within the loan.
        rank = _sort_by(code, due, number)
        first = np.zeros(code.size, np.int64)
        if code.size:
            loan_start, seg = _segments(code[rank])
            first[rank] = np.arange(code.size) - loan_start[seg]
        self._keys = key  # sorted (loan code, Kaggle number) of each instalment
        self._no = first + 1
        self.schedule = pd.DataFrame(
            {
                "prev": self.loans[code],
                "installment_no": first + 1,
                "due_day": due.astype(np.int64),
                "amount_due": amount,
            },
            copy=False,
        ).iloc[rank]

    def _payments(self, paid: np.ndarray, numbered: np.ndarray) -> None:
        """Payments summed per (loan, day, instalment); the instalment is the one the
        row names when it is in the schedule, else blank (oldest unpaid first)."""
        c = self.cols
        rows = np.flatnonzero(paid)
        no = np.zeros(rows.size, np.int64)
        look = numbered[rows]
        if self._keys.size and look.any():
            key = self.code[rows[look]] * (_MAX_NO + 1) + c["number"][rows[look]].astype(np.int64)
            at = np.minimum(np.searchsorted(self._keys, key), self._keys.size - 1)
            no[look] = np.where(self._keys[at] == key, self._no[at], 0)
        code, day, amount = self.code[rows], c["day"][rows].astype(np.int64), c["amount"][rows]
        # Amounts sorted within a group too: the sums do not depend on the rows' order.
        order = _sort_by(code, day, no, amount)
        code, day, no, amount = code[order], day[order], no[order], amount[order]
        head = np.ones(rows.size, bool)
        head[1:] = (code[1:] != code[:-1]) | (day[1:] != day[:-1]) | (no[1:] != no[:-1])
        starts = np.flatnonzero(head)
        self.payments = pd.DataFrame(
            {
                "prev": self.loans[code[starts]],
                "day": day[starts],
                "installment_no": np.where(no[starts] > 0, no[starts], np.nan),
                "amount": np.add.reduceat(amount, starts) if rows.size else amount,
            },
            copy=False,
        )

    def first_days(self) -> pd.Series:
        """The first due or payment day of each loan (from :meth:`build`), by SK_ID_PREV."""
        days = concat(
            [
                self.schedule.set_index("prev")["due_day"],
                self.payments.set_index("prev")["day"],
            ]
        )
        return days.groupby(level=0).min()

    def scheduled(self) -> pd.Series:
        """The amount scheduled over each loan's instalments, by SK_ID_PREV."""
        return self.schedule.groupby("prev")["amount_due"].sum()

    def finish(
        self, kept: np.ndarray, dropped: dict[str, np.ndarray], log: Log
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The schedule and payments of the loans ``kept`` (SK_ID_PREV); every row of
        the file that does not enter whole is logged with its reason and money, the
        rows of the loans ``dropped`` (SK_ID_PREV by reason) with their loan's reason."""
        keep_row = np.isin(self.loans, kept)[self.code]
        amount = self.cols["amount"]
        for reason, ids in dropped.items():
            log.add(FILE, "row", reason, np.isin(self.loans, ids)[self.code], amount)
        for code, reason in _PAY_REASONS.items():
            log.add(FILE, "payment", reason, keep_row & (self.pay_reason == code), amount)
        for code, reason in _INST_REASONS.items():
            action = "replaced" if reason == "superseded_version" else "dropped"
            mask = keep_row & (self.inst_reason == code)
            log.add(FILE, "instalment", reason, mask, action=action)
        schedule = self.schedule[self.schedule["prev"].isin(kept)]
        payments = self.payments[self.payments["prev"].isin(kept)]
        return schedule.reset_index(drop=True), payments.reset_index(drop=True)
