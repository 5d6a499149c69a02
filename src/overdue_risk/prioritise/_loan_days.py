"""Sorted (loan, day) keys and the event queries the logged decisions are built from.

Every decision row, log row and payment gets one int64 key ``code * span +
(day - base)``, so a loan's records lie in one sorted run and "the loan's
events before the day" is a range of keys. A count, a latest value or a
windowed sum over the whole grid of decision rows is then a pair of
``np.searchsorted`` calls, with no Python loop over loans, days or log rows.
"""

from __future__ import annotations

import numpy as np

from .._dates import NAT

__all__ = ["Events", "Keys", "Rows", "keys_for"]


class Rows:
    """Parallel arrays, one entry per row; ``take`` selects rows (indices or a mask)."""

    def __init__(self, **arrays: np.ndarray):
        self.__dict__.update(arrays)
        self._names = tuple(arrays)

    @property
    def size(self) -> int:
        return getattr(self, self._names[0]).size

    def take(self, idx: np.ndarray) -> Rows:
        return Rows(**{n: getattr(self, n)[idx] for n in self._names})


class Keys:
    """``code * span + (day - base)``: one sorted int64 key per (loan, day)."""

    def __init__(self, base: int, span: int):
        self.base, self.span = base, max(int(span), 1)

    def of(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        return code.astype(np.int64) * self.span + (np.asarray(day, np.int64) - self.base)


def keys_for(log: Rows, grid: Rows, pay_days: np.ndarray, last: int, window: int) -> Keys:
    """Keys wide enough for every record, window start and horizon end to keep its loan.

    ``log`` holds the log rows (``day``, promise day ``pdate``), ``grid`` the
    decision rows (``day``), ``last`` the last day a horizon reaches and
    ``window`` the longest look-back of a count.
    """
    days = [log.day, log.pdate[log.pdate != NAT] + 1, pay_days, grid.day - window, [last]]
    lo = min(int(np.min(d)) for d in days if len(d))
    hi = max(int(np.max(d)) for d in days if len(d))
    return Keys(lo - 2, hi - lo + 4)


class Events:
    """Dated events sorted by key, queried per decision row (key ``q``: its loan and day)."""

    def __init__(self, keys: np.ndarray, code: np.ndarray, values: np.ndarray):
        self.keys, self.code, self.values = keys, code, values

    def count(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Events with key in ``[lo, hi)``."""
        n = np.searchsorted(self.keys, hi, side="left") - np.searchsorted(
            self.keys, lo, side="left"
        )
        return n.astype(np.int64)

    def last(self, q: np.ndarray, code: np.ndarray) -> np.ndarray:
        """The value of the loan's latest event before the day (NAT: none)."""
        if not self.keys.size:
            return np.full(q.size, NAT)
        i = np.searchsorted(self.keys, q, side="left") - 1
        j = np.maximum(i, 0)
        return np.where((i >= 0) & (self.code[j] == code), self.values[j], NAT)

    def running_max(self, q: np.ndarray, code: np.ndarray) -> np.ndarray:
        """The largest value among the loan's events before the day (NAT: none)."""
        if not self.keys.size:
            return np.full(q.size, NAT)
        # Offsetting each loan's values above all earlier loans' values keeps the
        # running maximum within the loan.
        lo, width = self.values.min(), int(self.values.max() - self.values.min()) + 1
        shifted = self.code.astype(np.int64) * width + (self.values - lo)
        cummax = np.maximum.accumulate(shifted) - self.code.astype(np.int64) * width + lo
        return Events(self.keys, self.code, cummax).last(q, code)
