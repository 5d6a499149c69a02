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
allows. Nothing here reads the clock: every as-of date is explicit, and the
words pandas reads as the clock (``today``, ``now``) are not dates.

A date is a full calendar date: ISO 8601 text ``YYYY-MM-DD`` (optionally with a
time and a UTC offset), a date, a Timestamp or a ``datetime64``. A year and
month (``2024-03``), a year (``2024``) and numbers (``20240331``) are not dates:
they are refused wherever a date is read, in data and in as-of dates alike.

A timestamp with a UTC offset or a timezone is taken in its own local calendar
date: ``2023-01-29T23:30:00+08:00`` is 2023-01-29, wherever the code runs
(:func:`local_times`). One column of data holds one timezone (or none); the
contract reports a column that mixes them.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .exceptions import OverdueRiskError

__all__ = [
    "CLOCK_WORDS",
    "FIRST_DAY",
    "NAT",
    "NEVER",
    "AsOf",
    "day_of",
    "day_precision",
    "day_text",
    "local_times",
    "parse_as_of",
    "since",
    "to_date",
    "to_datetime",
    "to_days",
    "zone_outliers",
]

NAT = np.iinfo(np.int64).min
NEVER = np.iinfo(np.int32).max
NS_PER_DAY = 86_400 * 10**9
_LOW, _HIGH = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
FIRST_DAY = (_LOW - pd.Timestamp("1970-01-01")).days  # the earliest day the contract allows
# Words pandas turns into the machine's clock: never a date here.
CLOCK_WORDS = ("today", "now")

AsOf = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64 | Iterable

_DATE_HINT = "ISO 8601 text such as 2024-03-31, dates or Timestamps"
# A full date in ISO 8601 text: YYYY-MM-DD first (a time and an offset may follow).
_FULL_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}(?![\d-])")
# An ISO date and time with a UTC offset: the local part, then the offset.
_ZONED = re.compile(
    r"^\s*(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"
)


def _offset_label(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _text_zone(zone: str) -> str:
    """A UTC offset written in ISO text (``Z``, ``+08``, ``+0800``, ``+08:00``) as ``+08:00``."""
    if zone in ("Z", "z"):
        return "+00:00"
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    return _offset_label(-minutes if zone[0] == "-" else minutes)


def _object_zone(value: dt.datetime) -> str:
    """The timezone of an aware datetime: its name when it has one, else its UTC offset."""
    tz = value.tzinfo
    name = getattr(tz, "key", None) or getattr(tz, "zone", None)  # zoneinfo, pytz
    if name and name not in ("UTC", "Etc/UTC"):
        return str(name)
    offset = value.utcoffset() or dt.timedelta(0)
    return _offset_label(int(offset.total_seconds()) // 60)


def _local_value(value) -> tuple[object, str | None]:
    """One value as a naive date-like in its own local time, and its zone (None: naive)."""
    if isinstance(value, str):
        if value in CLOCK_WORDS or not _FULL_DATE.match(value):
            return None, None  # the clock, a partial date or not a date
        m = _ZONED.match(value)
        return (m["local"], _text_zone(m["zone"])) if m else (value, None)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value, None
        return value.replace(tzinfo=None), _object_zone(value)
    if isinstance(value, dt.date | np.datetime64):
        return value, None
    return None, None  # numbers (20240131 too), lists, ...: not dates


def _partial(s: pd.Series) -> np.ndarray:
    """Which text values are not a full ISO date (``2024-03``, ``2024``, ``20240331``).

    Checked once per distinct value: a date column repeats its dates.
    """
    uniques = pd.unique(s[s.notna()].to_numpy(dtype=object))
    bad = [v for v in uniques if isinstance(v, str) and not _FULL_DATE.match(v)]
    if not bad:
        return np.zeros(len(s), bool)
    return s.isin(bad).to_numpy(dtype=bool)


def _parse_iso(values: pd.Series) -> pd.Series:
    with warnings.catch_warnings():
        # pandas 2.2 warns about mixed offsets instead of raising; they are handled here.
        warnings.simplefilter("ignore", FutureWarning)
        return pd.to_datetime(values, errors="coerce", format="ISO8601")


def _one_by_one(s: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """The slow path of :func:`local_times`: each value read in its own local time."""
    present = s.notna().to_numpy()
    local = np.empty(len(s), dtype=object)
    zone = np.empty(len(s), dtype=object)
    local[:] = None
    zone[:] = None
    for i in np.flatnonzero(present):
        local[i], zone[i] = _local_value(s.iloc[i])
    times = _parse_iso(pd.Series(local, index=s.index, dtype=object))
    dated = times.notna().to_numpy()  # a value that is not a date has no zone either
    zone[~dated] = None
    labels = {z for z in zone[dated] if z is not None}
    if not labels or (len(labels) == 1 and all(z is not None for z in zone[dated])):
        return times, None  # one zone, or none: nothing is mixed
    zone[dated & np.equal(zone, None)] = "none"
    return times, zone


def local_times(values: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """Each value's local wall-clock time, as naive datetimes, and its timezone.

    The rule: a timestamp with a UTC offset or a timezone is taken in its own
    local time, so its calendar date is the one written
    (``2023-01-29T23:30:00+08:00`` is 2023-01-29). Text must be ISO 8601;
    ``today`` and ``now`` (which pandas reads as the clock) are not dates.

    Parameters
    ----------
    values : Series
        Text, datetime objects, ``datetime64`` (naive or with a timezone) or
        Arrow timestamps.

    Returns
    -------
    times : Series
        Naive ``datetime64`` (any unit), NaT where a value is missing or not a date.
    zones : ndarray of object, or None
        None when the values carry one timezone or none. Otherwise each
        value's zone (``"+08:00"``, ``"Asia/Shanghai"``, ``"none"`` for a
        naive value; None where missing): the column mixes timezones.

    Examples
    --------
    >>> times, zones = local_times(pd.Series(["2023-01-29T23:30:00+08:00"]))
    >>> times.dt.strftime("%Y-%m-%d %H:%M").tolist(), zones
    (['2023-01-29 23:30'], None)
    >>> local_times(pd.Series(["2023-01-29T23:30+08:00", "2023-01-30T01:00Z"]))[1].tolist()
    ['+08:00', '+00:00']
    """
    s = values
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return s.dt.tz_localize(None), None
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_timestamp(arrow):
            if arrow.tz is None:
                return s.astype(f"datetime64[{arrow.unit}]"), None
            aware = s.astype(pd.DatetimeTZDtype(arrow.unit, arrow.tz))
            return aware.dt.tz_localize(None), None
        if pa.types.is_date(arrow):
            return s.astype("datetime64[ns]"), None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return s, None
    if isinstance(dtype, pd.CategoricalDtype):
        return local_times(s.astype(object))
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        # Numbers (20240131 too), booleans, durations: not dates.
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), None
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty", "date"):
        return _one_by_one(s)  # datetime objects (aware?), or mixed values
    try:
        times = _parse_iso(s)
    except (ValueError, TypeError):  # pandas 3: mixed offsets
        return _one_by_one(s)
    if times.dtype == object:  # pandas 2.2: mixed offsets
        return _one_by_one(s)
    if isinstance(times.dtype, pd.DatetimeTZDtype):  # one offset for every value
        times = times.dt.tz_localize(None)
    not_dates = _partial(s)  # the clock words fail the full-date rule too
    if not_dates.any():
        times = times.where(~not_dates)
    return times, None


def zone_outliers(zones: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The values outside a column's most common timezone, and the zones found.

    ``zones`` is what :func:`local_times` returns for a column that mixes
    timezones. Every caller counts the rows to fix alike: those not in the
    zone most rows use (the first in sorted order on a tie).

    Examples
    --------
    >>> mask, labels = zone_outliers(np.array(["+08:00", "+08:00", "-05:00", None], object))
    >>> mask.tolist(), labels
    ([False, False, True, False], ['+08:00', '-05:00'])
    """
    dated = pd.notna(zones)
    labels, counts = np.unique(zones[dated].astype(str), return_counts=True)
    common = labels[np.argmax(counts)]
    return dated & (zones != common), labels.tolist()


def day_precision(times: pd.Series) -> pd.Series:
    """Naive times as ``datetime64[ns]`` dates; NaT outside ``[1900-01-01, 2200-01-01)``.

    Out-of-range sentinels (``9999-12-31``) cannot be held in ns and become NaT,
    as do missing values.
    """
    times = times.where((times >= _LOW) & (times < _HIGH))
    return times.astype("datetime64[ns]").dt.floor("D")


def _as_values(as_of, name: str) -> list:
    """``as_of`` as a list of date-likes; an error for anything that is not dates."""
    scalar = (str, dt.date, np.datetime64)
    if isinstance(as_of, scalar):
        values = [as_of]
    elif isinstance(as_of, np.ndarray | pd.Index | pd.Series) and (
        pd.api.types.is_datetime64_any_dtype(as_of.dtype)
    ):
        values = list(as_of)
    elif isinstance(as_of, Iterable) and not isinstance(as_of, bytes | dict):
        values = list(as_of)
    else:
        raise OverdueRiskError(f"{name} must be a date or dates ({_DATE_HINT}); got {as_of!r}.")
    for v in values:
        if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            raise OverdueRiskError(f"{name} must not contain missing dates.")
        if isinstance(v, np.datetime64) and np.isnat(v):
            raise OverdueRiskError(f"{name} must not contain missing dates.")
        if isinstance(v, np.datetime64) and np.datetime_data(v.dtype)[0] in ("Y", "M", "W"):
            raise OverdueRiskError(
                f"{name} must be full dates (YYYY-MM-DD), not a year, month or week; got {v!r}."
            )
        if not isinstance(v, scalar):
            raise OverdueRiskError(f"{name} must be dates ({_DATE_HINT}); got {v!r}.")
        if isinstance(v, str) and v.strip().lower() in CLOCK_WORDS:
            raise OverdueRiskError(
                f"{name} must be explicit dates (YYYY-MM-DD): nothing reads the clock; got {v!r}."
            )
    return values


def parse_as_of(as_of: AsOf, name: str = "as_of") -> np.ndarray:
    """Sorted unique as-of dates as int64 days since 1970.

    Accepts one date or many: ISO 8601 text, dates, Timestamps or
    ``datetime64``. A date with a UTC offset or a timezone counts in its own
    local calendar date (``2024-03-31T00:00+08:00`` is 2024-03-31). Numbers,
    partial dates (``2024-03``, ``2024``), missing values and the clock
    (``today``, ``now``) are refused; ``name``
    names the parameter in the messages.

    Examples
    --------
    >>> parse_as_of(["2024-01-02", "1970-01-11", "2024-01-02"]).tolist()
    [10, 19724]
    >>> parse_as_of("1970-01-02T23:30+08:00").tolist()
    [1]
    """
    values = _as_values(as_of, name)
    if not values:
        raise OverdueRiskError(f"{name} must name at least one date.")
    series = pd.Series(values, dtype=object)
    parsed, _ = local_times(series)
    bad = series[parsed.isna().to_numpy()]
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.head(3))
        raise OverdueRiskError(
            f"{name} must be dates in ISO 8601 (a full date YYYY-MM-DD, optionally with a "
            f"time and a UTC offset); got {shown}."
        )
    outside = ((parsed < _LOW) | (parsed >= _HIGH)).to_numpy()
    if outside.any():
        raise OverdueRiskError(
            f"{name} must be between 1900 and 2200; got {series[outside].iloc[0]!r}."
        )
    return np.unique(to_days(parsed.to_numpy()))


def day_of(value, name: str = "date") -> int:
    """One date-like (ISO text, date, Timestamp) as a day number, in its local date.

    Examples
    --------
    >>> day_of("1970-02-01")
    31
    """
    if not isinstance(value, str | dt.date | np.datetime64) or (
        isinstance(value, str) and value.strip().lower() in CLOCK_WORDS
    ):
        raise OverdueRiskError(f"{name} must be a date (YYYY-MM-DD); got {value!r}.")
    times, _ = local_times(pd.Series([value], dtype=object))
    ts = times.iloc[0]
    if ts is pd.NaT:
        raise OverdueRiskError(f"{name} must be a date (YYYY-MM-DD); got {value!r}.")
    if not (_LOW <= ts < _HIGH):
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
