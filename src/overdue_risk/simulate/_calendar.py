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

__all__ = [
    "FIRST_START",
    "LAST_DAY",
    "MONTH_START",
    "NEVER",
    "dom_of",
    "due_day",
    "latest_end",
    "month_of",
]

_N_MONTHS = 12 * 231  # 1970 .. 2200, the dates the data contract allows
# First day of every month since 1970-01, as a day number.
MONTH_START = np.arange(_N_MONTHS).astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)
# The economy is drawn from the month before the start: the first start the calendar holds.
FIRST_START = int(MONTH_START[1])
# The last day a written table may hold: the data contract's dates end before 2200.
LAST_DAY = int(np.datetime64("2199-12-31", "D").astype(np.int64))


def latest_end(schedule_months: int, horizon_days: int) -> int:
    """The last ``end`` of a simulation whose dates all fit the calendar.

    A loan taken (or restructured) by the end runs a schedule of up to
    ``schedule_months`` months, whose due dates must fall by :data:`LAST_DAY`;
    the economy is kept ``horizon_days`` past the end, and a month beyond.
    """
    last_month = int(month_of(np.array([LAST_DAY]))[0]) - schedule_months
    by_schedule = int(MONTH_START[last_month + 1]) - 1  # the last day of that month
    by_economy = int(MONTH_START[_N_MONTHS - 2]) - horizon_days - 1
    return min(by_schedule, by_economy)


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
