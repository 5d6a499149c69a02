"""How far a portfolio is observed, and which as-of dates it can answer.

The data describe the days from their first record to their last: the
earliest and latest ``start_date`` or ``closed_date`` of a loan,
``payment_date``, ``statement_date`` or collection ``action_date``. The
schedule's due dates are not observations (they lie in the future), and
neither are promise dates.

An as-of date may lie from the first observed day to the morning after the
last one: a nightly batch runs on the morning after the data's last evening,
so ``as_of = last + 1`` is the day the worklist is for. A later date would
count every unpaid instalment as days late although nobody knows whether it
was paid: it is refused, or taken with a warning when the caller says so
(``allow_future=True``, ``--allow-future``). A date before the first record has
nothing to describe and is refused. :func:`check_as_of` is the one check every
command and workflow applies.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._dates import NAT, AsOf, day_text, parse_as_of, to_days
from ..exceptions import DataQualityWarning, OverdueRiskError
from ._portfolio import Portfolio

__all__ = ["DATED_COLUMNS", "check_as_of", "observation_window"]

# The columns whose dates are observations, by table.
DATED_COLUMNS = {
    "loans": ("start_date", "closed_date"),
    "payments": ("payment_date",),
    "statements": ("statement_date",),
    "collections": ("action_date",),
}


def observation_window(portfolio: Portfolio) -> tuple[int, int]:
    """The first and last observed days of a validated portfolio, as int days since 1970.

    Raises
    ------
    OverdueRiskError
        When no record is dated.
    """
    first, last = np.iinfo(np.int64).max, NAT
    for name, columns in DATED_COLUMNS.items():
        df = getattr(portfolio, name)
        if df is None or not len(df):
            continue
        for col in columns:
            if col not in df:
                continue
            days = to_days(df[col].to_numpy())
            days = days[days != NAT]
            if days.size:
                first, last = min(first, int(days.min())), max(last, int(days.max()))
    if last == NAT:
        raise OverdueRiskError("The portfolio has no dated record to tell how far it is observed.")
    return first, last


def check_as_of(
    portfolio: Portfolio | None,
    as_of: AsOf,
    *,
    allow_future: bool = False,
    name: str = "as_of",
    window: tuple[int, int] | None = None,
) -> np.ndarray:
    """The as-of dates as int days, checked against what the data observe.

    Every date must lie between the first observed day and the morning after
    the last one (see the module's docstring). ``allow_future=True`` takes
    later dates with a :class:`~overdue_risk.DataQualityWarning` instead.

    Parameters
    ----------
    portfolio : Portfolio
        Validated.
    as_of : date-like or date-likes
    allow_future : bool, default False
    name : str, default "as_of"
        The parameter the messages name.
    window : (int, int), optional
        The first and last observed days (:func:`observation_window`), when
        the caller already has them: a run reading the portfolio in chunks
        combines the chunks' windows (the earliest first, the latest last).
        ``portfolio`` is then not read and may be None.

    Returns
    -------
    ndarray of int64
        The sorted unique days, as :func:`overdue_risk._dates.parse_as_of` gives them.

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> p = load_portfolio("data/sample")
    >>> check_as_of(p, "2025-01-01").tolist()  # the morning after the last record
    [20089]
    >>> check_as_of(p, "2025-01-02")
    Traceback (most recent call last):
    ...
    overdue_risk.exceptions.OverdueRiskError: as_of must be on or before 2025-01-01 ...
    """
    if not isinstance(allow_future, bool):
        raise OverdueRiskError(f"allow_future must be True or False; got {allow_future!r}.")
    days = parse_as_of(as_of, name)
    first, last = observation_window(portfolio) if window is None else window
    if days[0] < first:
        raise OverdueRiskError(
            f"{name} must be on or after {day_text(first)}, the data's first record: "
            f"before it there is nothing to describe; got {day_text(days[0])!r}."
        )
    late = days[days > last + 1]
    if late.size:
        where = (
            f"the morning after the data's last observed day {day_text(last)}: what "
            "happened after it is not in the data"
        )
        if not allow_future:
            raise OverdueRiskError(
                f"{name} must be on or before {day_text(last + 1)} ({where}); pass "
                f"allow_future=True (--allow-future) to compute it anyway; "
                f"got {day_text(late[-1])!r}."
            )
        warnings.warn(
            DataQualityWarning(
                f"{name} {', '.join(day_text(d) for d in late[:3])}"
                f"{' ...' if late.size > 3 else ''} is after {day_text(last + 1)} ({where}); "
                "every instalment unpaid at the end of the data counts as late since."
            ),
            stacklevel=2,
        )
    return days
