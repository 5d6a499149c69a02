"""What a feature family sees: the rows to fill and the sorted ledger arrays.

Rows are one per (loan, as-of date) for loans started by that date, in the
ledger's order: loans in the order of ``portfolio.loans``, then dates. Every
family returns one array per feature, aligned with these rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from .._dates import NAT
from ..contract import Portfolio
from ..ledger import CHUNK, Ledger

__all__ = ["FeatureContext"]

NAT = NAT
NEVER = np.iinfo(np.int64).max // 4  # a day that never comes, safe to add small offsets to


class FeatureContext:
    """The rows being computed and everything families share.

    Attributes
    ----------
    portfolio : Portfolio
        The validated portfolio.
    ledger : Ledger
        Its ledger: sorted event tables and cumulative sums in minor units.
    days : ndarray of int64
        The sorted as-of dates, as days since 1970.
    code : ndarray of int64
        Each row's loan: its position in ``portfolio.loans``.
    day : ndarray of int64
        Each row's as-of date, as days since 1970.
    eff : ndarray of int64
        The date the loan's state is read at: the as-of date, or the
        ``closed_date`` of a loan closed before it (its state is frozen).
    state : DataFrame
        The ledger at every row (``LedgerSnapshot.table()``), row-aligned.
    """

    def __init__(self, portfolio: Portfolio, ledger: Ledger, days: np.ndarray):
        self.portfolio = portfolio
        self.ledger = ledger
        self.days = days
        self.state = ledger.at(pd.to_datetime(days, unit="D")).table()
        first = np.searchsorted(days, ledger.start_days, side="left")
        counts = days.size - first
        self.code = np.repeat(np.arange(ledger.n_loans, dtype=np.int64), counts)
        row0 = np.cumsum(counts) - counts
        pos = np.arange(self.code.size) - np.repeat(row0, counts) + np.repeat(first, counts)
        self.day = days[pos]
        self.eff = np.minimum(self.day, ledger.closed_days[self.code])
        self._row0 = np.append(row0, self.code.size)
        self._cache: dict[str, Any] = {}
        self.exclude: frozenset[str] = frozenset()  # loans/customers columns not to use
        self.families: frozenset[str] = frozenset()  # the families being built
        self._buffer: np.ndarray | None = None
        self._slots: dict[str, int] = {}

    def allocate(self, names: list[str]) -> None:
        """One float32 buffer for the declared numeric features, feature-major.

        Families write straight into it (:meth:`out`), and the result frame is
        a zero-copy view of it: the feature matrix is never held twice.
        """
        self._slots = {name: i for i, name in enumerate(names)}
        # Filled up front: one sequential pass takes the page faults, and any value
        # a family does not write reads as missing.
        self._buffer = np.full((len(names), self.n_rows), np.nan, np.float32)

    @property
    def buffer(self) -> np.ndarray:
        return self._buffer

    def has_slot(self, name: str) -> bool:
        return name in self._slots

    def out(self, name: str, fill: float | None = None) -> np.ndarray:
        """The column to write feature ``name`` into (scratch if it is not kept)."""
        column = (
            self._buffer[self._slots[name]]
            if name in self._slots
            else np.empty(self.n_rows, np.float32)
        )
        if fill is not None:
            column.fill(fill)
        return column

    @property
    def n_rows(self) -> int:
        return self.code.size

    @property
    def index(self) -> pd.MultiIndex:
        return self.state.index

    def blocks(self, rows: int | None = None) -> Iterator[tuple[slice, slice]]:
        """``(row slice, loan slice)`` blocks of whole loans, about ``rows`` rows each.

        Working a block at a time keeps temporaries small; the loan slice
        bounds the searches of :meth:`overdue_risk.ledger.EventTable.upto`.
        """
        rows = rows or CHUNK
        n = self.ledger.n_loans
        per_loan = max(self.days.size, 1)
        step = max(rows // per_loan, 1)
        for a in range(0, n, step):
            b = min(a + step, n)
            r = slice(int(self._row0[a]), int(self._row0[b]))
            if r.stop > r.start:
                yield r, slice(a, b)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """Compute ``make()`` once per build and share it between families."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def empty(self) -> np.ndarray:
        """A float32 column of NaN, one value per row."""
        return np.full(self.n_rows, np.nan, np.float32)
