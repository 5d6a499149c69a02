"""Days and months as integers, so the daily loop never touches datetime objects.

A day is an int count of days since 1970-01-01; a month is an int count of
months since 1970-01. Due dates fall on a fixed day of the month no later than
the 28th, so "instalment k" is plain month arithmetic.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..exceptions import OverdueRiskError

__all__ = [
    "MONTH_START",
    "NEVER",
    "day_of",
    "dom_of",
    "due_day",
    "month_of",
    "to_date",
    "to_datetime64",
]

NEVER = np.iinfo(np.int32).max  # "no such day": later than any real day
_N_MONTHS = 12 * 231  # 1970 .. 2200, the dates the data contract allows
# First day of every month since 1970-01, as a day number.
MONTH_START = np.arange(_N_MONTHS).astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)


def day_of(value, name: str = "date") -> int:
    """One date-like (ISO text, date, Timestamp) as a day number."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise OverdueRiskError(f"{name} must be a date (YYYY-MM-DD); got {value!r}.") from exc
    if ts is pd.NaT or not (pd.Timestamp("1900-01-01") <= ts < pd.Timestamp("2200-01-01")):
        raise OverdueRiskError(f"{name} must be a date between 1900 and 2200; got {value!r}.")
    return int((ts.normalize() - pd.Timestamp("1970-01-01")).days)


def to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def to_datetime64(days: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns] (NEVER becomes NaT)."""
    days = np.asarray(days)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days == NEVER] = np.datetime64("NaT")
    return out


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
