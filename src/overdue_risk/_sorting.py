"""Sorting and duplicate detection for tables of millions of rows.

numpy sorts int64 *values* with SIMD code, but ``argsort(kind="stable")`` is
a much slower merge sort. When a key leaves enough low bits free, the row
number is packed below it: sorting the values then yields the stable order.
Rows that come sorted already are detected in one pass and not sorted again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["duplicated", "lexsort2", "pack", "presorted", "sort_in_place"]


def sort_in_place(key: np.ndarray, bits: int) -> np.ndarray | None:
    """Sort int64 ``key`` in place, ties in input order; the permutation applied.

    ``bits`` bounds the key: ``0 <= key < 2**bits``. Returns None when ``key``
    was sorted already.
    """
    n = key.size
    if n < 2 or bool(np.all(key[1:] >= key[:-1])):
        return None
    row_bits = (n - 1).bit_length()
    if bits + row_bits > 63:
        order = np.argsort(key, kind="stable")
        key[:] = key[order]
        return order
    key <<= row_bits
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    order = key & ((1 << row_bits) - 1)
    key >>= row_bits
    return order


def pack(columns: list[np.ndarray]) -> tuple[np.ndarray, int] | None:
    """One int64 key that orders rows as the tuple of integer ``columns`` does.

    Returns the key and how many bits it uses, or None when the columns are not
    integers or do not fit in 63 bits together with a row number.
    """
    if not columns or any(c.dtype.kind not in "iu" for c in columns):
        return None
    n = columns[0].size
    if not n:
        return np.zeros(0, np.int64), 0
    lows = [int(c.min()) for c in columns]
    widths = [(int(c.max()) - lo).bit_length() for c, lo in zip(columns, lows, strict=True)]
    bits = sum(widths)
    if bits + (n - 1).bit_length() > 63:
        return None
    key = np.zeros(n, np.int64)
    for c, lo, width in zip(columns, lows, widths, strict=True):
        key <<= width
        key |= c.astype(np.int64) - lo
    return key, bits


def lexsort2(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """``np.lexsort((minor, major))``: order by ``major``, then ``minor``, then row."""
    packed = pack([major, minor])
    if packed is None:
        return np.lexsort((minor, major))
    order = sort_in_place(*packed)
    return np.arange(major.size) if order is None else order


def presorted(df: pd.DataFrame, cols: tuple[str, ...]) -> tuple[int, np.ndarray]:
    """How many leading ``cols`` the rows are sorted by, and which rows equal the previous.

    Returns ``m`` and, for every row but the first, whether it agrees with the
    row before on ``cols[:m]``. Only numeric and date columns without missing
    values count as sorted.
    """
    same = np.ones(max(len(df) - 1, 0), bool)
    for m, col in enumerate(cols):
        a = df[col].to_numpy()
        if a.dtype.kind not in "iufM" or (a.dtype.kind in "fM" and pd.isna(a).any()):
            return m, same
        if (same & (a[1:] < a[:-1])).any():
            return m, same
        same &= a[1:] == a[:-1]
    return len(cols), same


def duplicated(df: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray:
    """``df.duplicated(subset=cols, keep="first")``, much faster on large tables.

    Rows are taken in an order sorted by the leading columns: as they come when
    they are sorted already, else sorted by those of the leading columns that
    are integers or dates. A duplicate can then only sit in a run of rows that
    agree on those columns, so only such runs are compared.
    """
    m, same = presorted(df, cols)
    order = None
    if m == 0:
        arrays = [_as_int(df[col].to_numpy()) for col in cols]
        packed = None
        for k in range(1, len(cols) + 1):  # as many leading columns as pack into int64
            longer = pack(arrays[:k])
            if longer is None:
                break
            m, packed = k, longer
        if packed is None:
            return df.duplicated(subset=list(cols), keep="first").to_numpy()
        key, bits = packed
        order = sort_in_place(key, bits)  # stable: first copies stay first
        same = key[1:] == key[:-1]
    dup = np.zeros(len(df), bool)
    if m == len(cols):  # sorted by the whole key: a duplicate follows its first copy
        in_order = np.zeros(len(df), bool)
        in_order[1:] = same
        if order is None:
            return in_order
        dup[order] = in_order
        return dup
    runs = np.zeros(len(df), bool)
    runs[1:] = same
    runs[:-1] |= same
    rows = np.flatnonzero(runs)
    if 2 * rows.size > len(df):
        return df.duplicated(subset=list(cols), keep="first").to_numpy()
    if order is not None:
        rows = np.sort(order[rows])
    dup[rows] = df.iloc[rows].duplicated(subset=list(cols), keep="first").to_numpy()
    return dup


def _as_int(a: np.ndarray) -> np.ndarray:
    """Dates as int64 days (or ns when not whole days); other arrays unchanged."""
    if a.dtype.kind != "M":
        return a
    ns = a.astype("datetime64[ns]").view(np.int64)
    day = 86_400 * 10**9
    return ns // day if not (ns % day).any() else ns
