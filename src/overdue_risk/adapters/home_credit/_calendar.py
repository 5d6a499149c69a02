"""Relative days and months as days of the calendar, from the application date (day 0)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._dates import FIRST_DAY

__all__ = ["NOT_APPLICABLE", "day_numbers", "month_days", "whole"]

#: Kaggle's "not applicable" in every ``DAYS_*`` column.
NOT_APPLICABLE = 365243
# The contract's calendar ends before 2200-01-01.
_LAST_DAY = (pd.Timestamp("2200-01-01") - pd.Timestamp("1970-01-01")).days - 1


def whole(values: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Which values are whole numbers within ``[low, high]`` (NaN: never)."""
    ok = np.isfinite(values) & (values == np.round(values))
    if low is not None:
        ok &= values >= low
    if high is not None:
        ok &= values <= high
    return ok


def day_numbers(days: np.ndarray, reference_day: int) -> np.ndarray:
    """``DAYS_*`` values as days since 1970 (float64): NaN for blanks, 365243, fractions
    and days outside the contract's calendar (1900 to 2199)."""
    days = np.asarray(days, dtype=np.float64)
    out = reference_day + days
    bad = ~whole(days) | (days == NOT_APPLICABLE) | (out < FIRST_DAY) | (out > _LAST_DAY)
    out[bad] = np.nan
    return out


def month_days(months: np.ndarray, reference: np.datetime64) -> np.ndarray:
    """``MONTHS_BALANCE`` values as days since 1970 (float64; NaN when blank or not whole).

    Month ``m`` is the reference date moved by ``m`` calendar months, on the same
    day of the month (the month's last day when it is shorter): with a reference
    date of 2018-05-17, month -1 is 2018-04-17 and month 0 the reference date.
    """
    months = np.asarray(months, dtype=np.float64)
    ok = whole(months, -12 * 250, 12 * 150)
    out = np.full(months.shape, np.nan)
    if not ok.any():
        return out
    ref_day = np.datetime64(reference, "D")
    ref_month = ref_day.astype("datetime64[M]")
    day_in_month = int((ref_day - ref_month.astype("datetime64[D]")).astype(np.int64))
    target = ref_month + months[ok].astype(np.int64)
    first = target.astype("datetime64[D]").astype(np.int64)
    length = (target + 1).astype("datetime64[D]").astype(np.int64) - first
    day = first + np.minimum(day_in_month, length - 1)
    day = np.where((day < FIRST_DAY) | (day > _LAST_DAY), np.nan, day)
    out[ok] = day
    return out
