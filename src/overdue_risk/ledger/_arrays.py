"""The shared array kernel: event tables sorted by (loan, day) and their helpers.

Records are sorted once per table by an int64 key ``(loan code, day,
instalment no)``; every (loan, as-of date) query is then a handful of
``searchsorted`` calls into those arrays, so many as-of dates cost little more
than one. Feature and label code builds its own :class:`EventTable` of
collection actions or statements with the same machinery.
"""

from __future__ import annotations

import numpy as np

from .._sorting import sort_in_place

__all__ = ["CHUNK", "MAX_CODE", "EventTable", "code_dtype", "cum0", "ranges"]

_NO_BITS = 16  # instalment numbers are clipped to 16 bits in the sort key
MAX_CODE = (1 << 29) - 1  # loan code, day offset and instalment no fit in 63 bits
CHUNK = 1 << 14  # query rows answered at a time: their temporaries stay in L2 cache


def cum0(values: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """``[0, v0, v0 + v1, ...]``, in ``dtype`` (default: that of ``values``)."""
    out = np.empty(values.size + 1, dtype=dtype or values.dtype)
    out[0] = 0
    out[1:] = values
    np.cumsum(out[1:], out=out[1:])
    return out


def code_dtype(n: int) -> type:
    """The integer type pandas uses for the codes of ``n`` categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if n < np.iinfo(dtype).max:
            return dtype
    return np.int64


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices ``start, ..., start + length - 1`` of every range, concatenated."""
    skip = np.cumsum(lengths) - lengths
    return np.repeat(starts - skip, lengths) + np.arange(lengths.sum())


class EventTable:
    """One event table sorted by (loan, day[, no]) with its per-loan segments.

    The sort key packs the loan code, the day as an offset from the table's
    first day and, for the schedule, the instalment number into one int64.
    Only the key is kept: the loan and day of any record are read back from it.
    ``code`` and ``day`` must be int64 arrays the caller does not need again.
    """

    def __init__(
        self,
        code: np.ndarray,
        day: np.ndarray,
        n_loans: int,
        no: np.ndarray | None = None,
        **columns: np.ndarray,
    ):
        n = code.size
        self.day0 = int(day.min()) if n else 0
        day_bits = (int(day.max()) - self.day0 + 1).bit_length() if n else 1
        no_bits = 0
        if no is not None and n:
            top = int(no.max())
            no_bits = min(max(top, 1).bit_length(), _NO_BITS)
            if top >= 1 << no_bits:
                no = np.minimum(no, (1 << no_bits) - 1)
        self._day_shift = no_bits
        self._day_mask = (1 << day_bits) - 1  # also holds (last day + 1) - day0
        self._code_shift = no_bits + day_bits
        counts = np.bincount(code, minlength=n_loans)
        # The key is built in the memory of ``code`` and ``day``: both are consumed.
        key = np.left_shift(code, self._code_shift, out=code)
        day -= self.day0
        day <<= no_bits
        key |= day
        if no_bits:
            key |= no
        order = sort_in_place(key, self._code_shift + max(n_loans - 1, 0).bit_length())
        self.key = key
        self.cols = {k: v if order is None else v[order] for k, v in columns.items()}
        self._set_segments(counts)

    def _set_segments(self, counts: np.ndarray) -> None:
        self.end = np.cumsum(counts)
        self.start = self.end - counts

    def __len__(self) -> int:
        return self.key.size

    def codes(self) -> np.ndarray:
        """The loan code of every record."""
        return self.key >> self._code_shift

    def code_at(self, i: np.ndarray | slice) -> np.ndarray:
        """The loan code of records ``i``."""
        return self.key[i] >> self._code_shift

    def day_at(self, i: np.ndarray) -> np.ndarray:
        """The day of records ``i``."""
        return ((self.key[i] >> self._day_shift) & self._day_mask) + self.day0

    def upto(self, qcode: np.ndarray, qday: np.ndarray, loans: slice) -> np.ndarray:
        """Index one past the last record of each query's loan dated <= its day.

        ``loans`` bounds the queries' loan codes; only their records are searched.
        """
        lo, hi = self.start[loans.start], self.end[loans.stop - 1]
        offset = np.clip(qday + (1 - self.day0), 0, self._day_mask)
        q = (qcode << self._code_shift) | (offset << self._day_shift)
        return np.searchsorted(self.key[lo:hi], q, side="left") + lo
