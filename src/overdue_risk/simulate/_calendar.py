"""Months as integers, so the daily loop never touches datetime objects.

Days follow the library's one convention (:mod:`overdue_risk._dates`: int days
since 1970-01-01, :data:`~overdue_risk._dates.NEVER` for a day that never
comes); a month is an int count of months since 1970-01. Due dates fall on a
fixed day of the month no later than the 28th, so "instalment k" is plain
month arithmetic.
"""

from __future__ import annotations

import numpy as np

from .._dates import NEVER

__all__ = ["MONTH_START", "NEVER", "dom_of", "due_day", "month_of"]

_N_MONTHS = 12 * 231  # 1970 .. 2200, the dates the data contract allows
# First day of every month since 1970-01, as a day number.
MONTH_START = np.arange(_N_MONTHS).astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)


def month_of(days: np.ndarray) -> np.ndarray:
    """Month number of each day."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int32)


def dom_of(days: np.ndarray, months: np.ndarray | None = None) -> np.ndarray:
    """Day of the month (1-31) of each day."""
    days = np.asarray(days)
    months = month_of(days) if months is None else months
    return (days - MONTH_START[months] + 1).astype(np.int32)


def due_day(m0: np.ndarray, k: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """Day of instalment ``k`` (1 = the first) of loans that start in month ``m0``."""
    return MONTH_START[np.minimum(m0 + k, _N_MONTHS - 1)] + dom - 1
