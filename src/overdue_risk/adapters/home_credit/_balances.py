"""``POS_CASH_balance.csv`` and ``credit_card_balance.csv``: monthly statements of the
Home Credit loans, and the cards' monthly payments.

The rows are held as columns of plain arrays (a dict), not a DataFrame: the files
are large and every step selects or sorts whole columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._dates import FIRST_DAY
from ...contract import MAX_AMOUNT
from ._calendar import month_days, whole
from ._files import FILES, Reader
from ._frames import concat
from ._log import Log, RowReasons

__all__ = ["COLUMNS", "STATEMENT_COLUMNS", "Balances", "Columns", "later_duplicates", "take"]

Columns = dict[str, np.ndarray]

#: The statement columns every source fills (blank where it has no value).
STATEMENT_COLUMNS = (
    "balance",
    "credit_limit",
    "min_due",
    "amount_paid",
    "dpd",
    "dpd_with_tolerance",
)
_POS = "POS_CASH_balance"
_CARD = "credit_card_balance"
# Kaggle column -> statement column, per file.
_MAPS = {
    _POS: {"SK_DPD": "dpd", "SK_DPD_DEF": "dpd_with_tolerance"},
    _CARD: {
        "AMT_BALANCE": "balance",
        "AMT_CREDIT_LIMIT_ACTUAL": "credit_limit",
        "AMT_INST_MIN_REGULARITY": "min_due",
        "AMT_PAYMENT_TOTAL_CURRENT": "amount_paid",
        "SK_DPD": "dpd",
        "SK_DPD_DEF": "dpd_with_tolerance",
    },
}
#: The columns read from each file.
COLUMNS = {
    name: ("SK_ID_PREV", "SK_ID_CURR", "MONTHS_BALANCE", "CNT_INSTALMENT_FUTURE", *kaggle)
    for name, kaggle in _MAPS.items()
}
_PRIORITY = {_CARD: 0, _POS: 1}  # a card's statement wins over a POS one on the same date
_ROW_REASONS = ("no_statement_date", "no_balance", "amount_too_large", "duplicate_statement")


def take(cols: Columns, rows: np.ndarray) -> Columns:
    """The ``rows`` (a mask or positions) of every column; a mask of every row: no copy."""
    if rows.dtype == bool and rows.all():
        return dict(cols)
    return {k: v[rows] for k, v in cols.items()}


def later_duplicates(cols: Columns, key: list[str], content: list[str]) -> np.ndarray:
    """Rows whose (id, day) ``key`` an earlier row has, rows ordered by key then
    ``content`` (NaN last): which row is kept does not depend on the order of the rows."""
    ids, days = (cols[c] for c in key)
    later = np.zeros(ids.size, bool)
    if not ids.size:
        return later
    offset = days - FIRST_DAY
    if ids.min() >= 0 and ids.max() < 2**45 and offset.min() >= 0 and offset.max() < 2**17:
        packed = (ids.astype(np.int64) << 17) | offset.astype(np.int64)
        dup = pd.Series(packed).duplicated(keep=False).to_numpy()
    else:  # pragma: no cover - ids beyond 2**45
        dup = pd.DataFrame({"a": ids, "b": days}).duplicated(keep=False).to_numpy()
    if not dup.any():
        return later
    rows = np.flatnonzero(dup)
    order = np.lexsort([cols[c][rows].astype(np.float64) for c in reversed(key + content)])
    same = np.ones(rows.size - 1, bool)
    for c in key:
        values = cols[c][rows][order]
        same &= values[1:] == values[:-1]
    later[rows[order[1:][same]]] = True
    return later


class Balances:
    """The statement rows of both files, read once; :meth:`finish` keeps those of the
    loans that enter and logs the rest."""

    def __init__(self, reader: Reader, reference: np.datetime64, log: Log):
        self.log = log
        chunks: dict[str, list[np.ndarray]] = {}
        pairs = []
        for name in (_CARD, _POS):
            if name not in reader.files:
                continue
            file = FILES[name].file_name
            for part in reader.batches(name, COLUMNS[name]):
                n = len(next(iter(part.values())))

                def get(column, part=part, n=n):
                    return part.get(column, np.full(n, np.nan))

                prev, curr = get("SK_ID_PREV"), get("SK_ID_CURR")
                blank = np.isnan(prev) | np.isnan(curr)
                log.add(file, "row", "blank_id", blank)
                ok = ~blank
                prev = prev[ok].astype(np.int64)
                pair = pd.DataFrame({"prev": prev, "curr": curr[ok]})
                pairs.append(pair.drop_duplicates())  # a loan's rows run together: few pairs
                paid = get("AMT_PAYMENT_TOTAL_CURRENT") if name == _CARD else np.zeros(n)
                frame = {
                    "prev": prev,
                    "day": month_days(get("MONTHS_BALANCE")[ok], reference),
                    "future": get("CNT_INSTALMENT_FUTURE")[ok],
                    "priority": np.full(prev.size, _PRIORITY[name], np.int8),
                    "payment": paid[ok],
                }
                for column in STATEMENT_COLUMNS:
                    kaggle = {v: k for k, v in _MAPS[name].items()}.get(column)
                    frame[column] = get(kaggle)[ok] if kaggle else np.full(prev.size, np.nan)
                for column, values in frame.items():
                    chunks.setdefault(column, []).append(values)
        empty = {"prev": np.int64, "priority": np.int8}
        columns = ["prev", "day", "future", "priority", "payment", *STATEMENT_COLUMNS]
        self.rows: Columns = {
            c: np.concatenate(chunks[c]) if c in chunks else np.empty(0, empty.get(c, float))
            for c in columns
        }
        customers = concat(pairs) if pairs else pd.DataFrame({"prev": [], "curr": []})
        self.customers = customers.groupby("prev")["curr"].min().astype(np.int64)
        r = self.rows
        self.cards = np.unique(r["prev"][r["priority"] == 0])
        self.loan_ids = np.unique(r["prev"])

    def build(self, annuity: pd.Series) -> None:
        """Each row's statement, or the reason it has none; ``annuity`` (AMT_ANNUITY by
        SK_ID_PREV) prices a POS loan's balance: instalments left x annuity."""
        r = self.rows
        code, loans = pd.factorize(r["prev"], sort=True)
        self.code, self.loans = code, np.asarray(loans, np.int64)
        card = r["priority"] == 0
        per_loan = annuity.reindex(self.loans).to_numpy(np.float64)
        pos_balance = r["future"] * (per_loan[code] if code.size else np.empty(0))
        pos_balance[r["future"] < 0] = np.nan
        r["balance"] = np.where(card, r["balance"], pos_balance)
        reason = RowReasons(code.size, _ROW_REASONS)
        reason.set("amount_too_large", np.abs(r["balance"]) > MAX_AMOUNT)
        reason.set("no_balance", np.isnan(r["balance"]))
        reason.set("no_statement_date", np.isnan(r["day"]))
        # (statement column, reason, rows): values left blank, the row kept.
        self.blanked: list[tuple[str, str, np.ndarray]] = []
        for column in ("credit_limit", "min_due", "amount_paid"):
            values = r[column]
            for rule, bad in (
                ("negative_amount", values < 0),
                ("amount_too_large", values > MAX_AMOUNT),
            ):
                self.blanked.append((column, rule, bad))
            r[column] = np.where((values < 0) | (values > MAX_AMOUNT), np.nan, values)
        for column in ("dpd", "dpd_with_tolerance"):
            values = r[column]
            bad = np.isfinite(values) & ~whole(values, 0, 2**31 - 1)
            self.blanked.append((column, "bad_dpd", bad))
            r[column] = np.where(bad, np.nan, values)
        payment = r["payment"]
        # The money a card's row pays (its payments may come from installments_payments
        # instead: see finish); an amount beyond MAX_AMOUNT is no payment of the contract.
        self.too_large = np.isfinite(payment) & (payment > MAX_AMOUNT)
        r["payment"] = np.where(np.isfinite(payment) & (payment > 0), payment, 0.0)
        ok = reason.ok
        later = np.zeros(code.size, bool)
        later[ok] = later_duplicates(
            take(r, ok), ["prev", "day"], ["priority", *STATEMENT_COLUMNS, "payment"]
        )
        reason.set("duplicate_statement", later)
        self.reason = reason

    def _by_loan(self, ids: np.ndarray) -> np.ndarray:
        """Which rows belong to the loans ``ids`` (SK_ID_PREV)."""
        return np.isin(self.loans, ids)[self.code]

    def _per_loan(self, column: str, how: str) -> pd.Series:
        ok = self.reason.ok
        return pd.Series(self.rows[column][ok]).groupby(self.rows["prev"][ok]).agg(how)

    def first_days(self) -> pd.Series:
        return self._per_loan("day", "min")

    def card_limits(self) -> pd.Series:
        """The highest credit limit of each card, by SK_ID_PREV."""
        return self._per_loan("credit_limit", "max")

    def finish(
        self, kept: np.ndarray, dropped: dict[str, np.ndarray], paid_from_cards: np.ndarray
    ) -> tuple[Columns, Columns]:
        """The statements of the loans ``kept``, and the payments of the cards in
        ``paid_from_cards`` (``AMT_PAYMENT_TOTAL_CURRENT`` > 0 on the statement date);
        the rows of the loans ``dropped`` (SK_ID_PREV by reason) are logged with their
        loan's reason."""
        r, log = self.rows, self.log
        keep = self._by_loan(kept)
        card = r["priority"] == 0
        from_card = self._by_loan(paid_from_cards) & card
        money = np.where(from_card, r["payment"], 0.0)
        for name, priority in _PRIORITY.items():
            file = FILES[name].file_name
            mine = r["priority"] == priority
            for reason, ids in dropped.items():
                log.add(file, "row", reason, mine & self._by_loan(ids), money)
            for reason in _ROW_REASONS:
                log.add(file, "row", reason, mine & keep & self.reason.of(reason), money)
            entered = mine & keep & self.reason.ok
            kaggle = {v: k for k, v in _MAPS[name].items()}
            for column, reason, bad in self.blanked:
                if column in kaggle:
                    log.add(file, kaggle[column], reason, entered & bad, action="blanked")
            if name == _CARD:
                too_large = entered & from_card & self.too_large
                log.add(file, "payment", "amount_too_large", too_large, money)
        entered = keep & self.reason.ok
        statements = take({c: r[c] for c in ("prev", "day", *STATEMENT_COLUMNS)}, entered)
        statements["day"] = statements["day"].astype(np.int64)
        pay = entered & (money > 0) & ~self.too_large
        payments = {
            "prev": r["prev"][pay],
            "day": r["day"][pay].astype(np.int64),
            "installment_no": np.full(int(pay.sum()), np.nan),
            "amount": money[pay],
        }
        self.payment_total = float(money.sum())
        return statements, payments
