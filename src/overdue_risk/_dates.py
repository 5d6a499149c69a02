"""One date convention for the whole library.

A day is an int count of days since 1970-01-01, so that array code never
touches datetime objects. Two sentinels mark days that do not exist:

* :data:`NAT`, numpy's NaT read as int64: a missing day (no payment yet, no
  promise). It sorts before every real day, and :func:`to_datetime` turns it
  back into NaT.
* :data:`NEVER`, the largest int32: a day that never comes (a loan never
  closed, a clock that never fires). It sorts after every real day, so
  ``day >= NEVER`` is never true; the simulator's int32 clocks use it.

Dates must lie in ``[1900-01-01, 2200-01-01)``, the range the data contract
allows. Nothing here reads the clock: every as-of date is explicit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .exceptions import OverdueRiskError

__all__ = [
    "FIRST_DAY",
    "NAT",
    "NEVER",
    "AsOf",
    "day_of",
    "day_text",
    "parse_as_of",
    "since",
    "to_date",
    "to_datetime",
    "to_days",
]

NAT = np.iinfo(np.int64).min
NEVER = np.iinfo(np.int32).max
NS_PER_DAY = 86_400 * 10**9
_LOW, _HIGH = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
FIRST_DAY = (_LOW - pd.Timestamp("1970-01-01")).days  # the earliest day the contract allows

AsOf = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64 | Iterable


def parse_as_of(as_of: AsOf) -> np.ndarray:
    """Sorted unique as-of dates as int64 days since 1970.

    Accepts one date or many (strings in ISO 8601, dates, Timestamps).

    Examples
    --------
    >>> parse_as_of(["2024-01-02", "1970-01-11", "2024-01-02"]).tolist()
    [10, 19724]
    """
    values = [as_of] if isinstance(as_of, str | dt.date | dt.datetime | np.datetime64) else None
    if values is None:
        values = list(as_of)
    if not values:
        raise OverdueRiskError("as_of must name at least one date.")
    series = pd.Series(values, dtype=object)
    parsed = pd.to_datetime(series, format="ISO8601", errors="coerce")
    bad = series[parsed.isna() & series.notna()]
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.head(3))
        raise OverdueRiskError(f"as_of must be dates in ISO 8601 (YYYY-MM-DD); got {shown}.")
    if parsed.isna().any():
        raise OverdueRiskError("as_of must not contain missing dates.")
    outside = parsed[(parsed < _LOW) | (parsed >= _HIGH)]
    if len(outside):
        raise OverdueRiskError(f"as_of must be between 1900 and 2200; got {outside.iloc[0]}.")
    return np.unique(to_days(parsed.to_numpy()))


def day_of(value, name: str = "date") -> int:
    """One date-like (ISO text, date, Timestamp) as a day number.

    Examples
    --------
    >>> day_of("1970-02-01")
    31
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise OverdueRiskError(f"{name} must be a date (YYYY-MM-DD); got {value!r}.") from exc
    if ts is pd.NaT or not (_LOW <= ts < _HIGH):
        raise OverdueRiskError(f"{name} must be a date between 1900 and 2200; got {value!r}.")
    return int((ts.normalize() - pd.Timestamp("1970-01-01")).days)


def to_days(values: np.ndarray) -> np.ndarray:
    """datetime64 values as int64 days since 1970, rounded down (NaT -> :data:`NAT`)."""
    values = np.asarray(values)
    if values.dtype != "datetime64[ns]":
        return values.astype("datetime64[D]").astype(np.int64)
    ns = values.view(np.int64)
    out = ns // NS_PER_DAY  # one pass instead of two casts
    nat = ns == NAT
    if nat.any():
        out[nat] = NAT
    return out


def to_datetime(day: np.ndarray, missing: int = NAT) -> np.ndarray:
    """int days since 1970 as datetime64[ns]; ``missing`` (:data:`NAT` or :data:`NEVER`) -> NaT.

    Examples
    --------
    >>> to_datetime(np.array([0, NAT])).tolist()
    [0, None]
    """
    day = np.asarray(day, dtype=np.int64)
    # The sentinels wrap around here (array ufuncs do not check); they are overwritten next.
    ns = np.multiply(day, NS_PER_DAY, out=np.empty(day.shape, np.int64))
    ns[day == missing] = NAT
    return ns.view("datetime64[ns]")


def to_date(day: int) -> dt.date:
    """One day number as a ``datetime.date``."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def day_text(day: int) -> str:
    """One day number as ``YYYY-MM-DD``."""
    return str(np.datetime64(int(day), "D"))


def since(day: np.ndarray | int, event: np.ndarray) -> np.ndarray:
    """Days from ``event`` to ``day``, as float; NaN where ``event`` is :data:`NAT`.

    Examples
    --------
    >>> since(10, np.array([7, NAT])).tolist()
    [3.0, nan]
    """
    return np.where(event == NAT, np.nan, (day - event).astype(np.float64))
