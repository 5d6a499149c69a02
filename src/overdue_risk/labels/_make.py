"""``make_labels``: realised outcomes after each as-of date, exactly as the ledger sees them.

The label of a (loan, as-of date) row looks at the ledger's DPD on every day
``u`` of the horizon ``(a, b]`` with ``b = a + horizon``, without evaluating
every day. Between two *events* of a loan (a payment for a schedule, a
statement for a statement loan) its DPD can only grow, by one a day or not
at all, and a closed loan's state is frozen. Records dated ``e`` count from
day ``e`` on, so:

* the maximum of DPD over ``(a, b]`` is attained at ``b`` or on the day
  before an event, ``e - 1`` for an event ``e`` in ``(a + 1, b]``;
* the minimum over ``(a, b]`` of a loan overdue at ``a`` is attained on an
  event day ``e`` in ``(a, b]`` (or at a closing, whose state then holds).

Each row therefore needs the ledger at ``b`` and at its events' days only;
all such (loan, day) pairs are answered at once by the ledger's sorted
searches and reduced per row with ``maximum.reduceat`` / ``minimum.reduceat``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._dates import AsOf, day_text, parse_as_of
from ..contract import Portfolio, observation_window, validate
from ..exceptions import OverdueRiskError
from ..ledger import Ledger, LedgerConfig, cum0, ranges
from ._targets import CureTarget, DpdTarget, Target, as_target

__all__ = ["make_labels", "observation_end"]

_ROWS = 1 << 20  # (loan, as-of) rows labelled at a time: bounds the temporaries


def observation_end(portfolio: Portfolio) -> pd.Timestamp:
    """The last day the portfolio has observed: the latest date of any record.

    That is the latest ``start_date`` or ``closed_date`` of a loan,
    ``payment_date``, ``statement_date`` or collection ``action_date``. The
    schedule's due dates are not observations (they lie in the future) and
    neither are promise dates. The contract computes it
    (:func:`~overdue_risk.contract.observation_window`), for every package.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.

    Returns
    -------
    Timestamp

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> observation_end(load_portfolio("data/sample"))
    Timestamp('2024-12-31 00:00:00')
    """
    return pd.Timestamp(observation_window(validate(portfolio))[1], unit="D")


def make_labels(
    portfolio: Portfolio,
    as_of: AsOf,
    target: Target | str,
    ledger_config: LedgerConfig | None = None,
    *,
    observed_until: AsOf | None = None,
) -> pd.Series:
    """The realised label of every eligible loan at one or many as-of dates.

    The label follows the ledger's DPD day by day (FIFO, lender-allocated
    payments, statements, tolerance, closing: see ``docs/ledger.md``), so a
    label and the ``dpd`` feature never disagree. See ``docs/labels.md``.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.
    as_of : date-like or iterable of date-likes
        One date or many.
    target : DpdTarget, CureTarget or str
        What to label, e.g. ``DpdTarget(threshold=30, horizon_days=90)`` or
        its name ``"dpd30_90d"``; ``CureTarget()`` or ``"cure_30d"``.
    ledger_config : LedgerConfig, optional
        Tolerance used for DPD (default: ``LedgerConfig()``).
    observed_until : date-like, optional
        The last day the data describe. Default: the latest date of any
        record (:func:`observation_end`); a later date is an error, as the
        data cannot tell what happened after their last record. Rows whose
        horizon ends after it are dropped, never labelled 0: what happened
        after it is not known.

    Returns
    -------
    Series
        Named ``label``, int8 0/1, indexed by ``(loan_id, as_of)`` in the
        ledger's row order, with only the eligible rows whose horizon is fully
        observed. Empty when no as-of date has its horizon observed.

    Examples
    --------
    >>> from overdue_risk import DpdTarget, load_portfolio, make_labels
    >>> portfolio = load_portfolio("data/sample")
    >>> y = make_labels(portfolio, ["2024-03-31", "2024-06-30"], DpdTarget())
    >>> y.index.names
    FrozenList(['loan_id', 'as_of'])
    >>> sorted(y.unique().tolist())
    [0, 1]
    >>> len(make_labels(portfolio, "2024-12-01", "dpd30_90d"))  # not observed yet
    0
    """
    lab = labelled(portfolio, as_of, target, ledger_config, observed_until)
    ledger, kept, keep = lab.ledger, lab.kept, lab.keep
    index = ledger.row_index(kept, np.searchsorted(kept, ledger.start_days, side="left"))
    return pd.Series(lab.label[keep], index=index[keep], name="label")


@dataclass(frozen=True)
class Labelled:
    """Labels in the ledger's row order, for :func:`make_labels` and training sets."""

    portfolio: Portfolio  # validated
    target: Target
    ledger: Ledger
    end: int  # the last observed day
    kept: np.ndarray  # as-of days with at least one labelled row
    keep: np.ndarray  # which ledger rows at those days are labelled
    label: np.ndarray


def labelled(
    portfolio: Portfolio,
    as_of: AsOf,
    target: Target | str,
    ledger_config: LedgerConfig | None,
    observed_until: AsOf | None,
) -> Labelled:
    """Validate the inputs and label every eligible row whose horizon is observed."""
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    target = as_target(target)
    days = parse_as_of(as_of)
    p = validate(portfolio)
    end = _observed_day(p, observed_until, days)
    ledger = Ledger(p, ledger_config)
    kept, keep, label = label_rows(ledger, days, target, end)
    return Labelled(p, target, ledger, end, kept, keep, label)


def _observed_day(p: Portfolio, observed_until: AsOf | None, days: np.ndarray) -> int:
    """The last day labels may look at: ``observed_until``, never after the last record,
    never before the first, and not before every as-of date ``days``."""
    first, end = observation_window(p)
    if observed_until is None:
        return end
    day = parse_as_of(observed_until, "observed_until")
    if day.size != 1:
        raise OverdueRiskError(f"observed_until must be one date; got {day.size}.")
    if day[0] > end:
        raise OverdueRiskError(
            f"observed_until must be on or before {day_text(end)}, the data's last record: "
            f"what happened after it is not in the data; got {day_text(day[0])!r}."
        )
    if day[0] < first:
        raise OverdueRiskError(
            f"observed_until must be on or after {day_text(first)}, the data's first record: "
            f"before it nothing is observed; got {day_text(day[0])!r}."
        )
    if day[0] < days[0]:
        raise OverdueRiskError(
            f"observed_until {day_text(day[0])!r} is before every as-of date (the first is "
            f"{day_text(days[0])}): no horizon after an as-of date can be observed by then."
        )
    return int(day[0])


def label_rows(
    ledger: Ledger, days: np.ndarray, target: Target, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels over the rows of ``ledger.at(kept)``.

    Returns the as-of dates whose horizon ends by ``end`` (``kept``, int days),
    which of the rows of ``ledger.at(kept)`` are eligible (``keep``) and the
    label of every row (int8; meaningless where not eligible).
    """
    h = target.horizon_days
    kept = days[days + h <= end]
    first = np.searchsorted(kept, ledger.start_days, side="left")
    counts = kept.size - first
    row0 = cum0(counts)
    n_rows = int(row0[-1])
    keep = np.zeros(n_rows, bool)
    label = np.zeros(n_rows, np.int8)
    if not n_rows:
        return kept, keep, label
    # Whole loans at a time, about _ROWS rows each.
    loan_at = np.searchsorted(row0, np.arange(0, n_rows, _ROWS), side="right") - 1
    bounds = np.append(np.unique(loan_at), ledger.n_loans)
    for c0, c1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        a0, a1 = int(row0[c0]), int(row0[c1])
        n = counts[c0:c1]
        code = np.repeat(np.arange(c0, c1), n)
        pos = np.arange(a1 - a0) - np.repeat(row0[c0:c1] - row0[c0] - first[c0:c1], n)
        as_of = kept[pos]
        eligible, hit = _label_block(ledger, code, as_of, target)
        keep[a0:a1] = eligible
        label[a0:a1] = hit
    return kept, keep, label


def _label_block(
    ledger: Ledger, code: np.ndarray, a: np.ndarray, target: Target
) -> tuple[np.ndarray, np.ndarray]:
    """Eligibility and label of rows (loan ``code`` sorted, as-of day ``a``)."""
    dpd_a = ledger.query(code, a)["dpd"]
    eligible = np.ones(code.size, bool)
    if target.exclude_closed:
        eligible &= a < ledger.closed_days[code]
    if isinstance(target, DpdTarget):
        if target.exclude_at_threshold:
            eligible &= dpd_a < target.threshold
    else:
        eligible &= dpd_a > 0
    hit = np.zeros(code.size, np.int8)
    rows = np.flatnonzero(eligible)
    if not rows.size:
        return eligible, hit
    c, a = code[rows], a[rows]
    b = a + target.horizon_days
    cure = isinstance(target, CureTarget)
    # Candidate days of each row: b first, then the days its events decide.
    # DPD: the day before each event in (a + 1, b]. Cure: each event in (a, b],
    # and the closing day when the loan closes in the horizon.
    lag = 0 if cure else 1
    tables = [t for t in (ledger.payments, ledger.statements) if t is not None and len(t)]
    everything = slice(0, ledger.n_loans)
    spans = []
    for t in tables:
        lo = t.upto(c, a + lag, everything)
        spans.append((t, lo, t.upto(c, b, everything) - lo))
    closing = (a < ledger.closed_days[c]) & (ledger.closed_days[c] <= b) if cure else None
    m = np.ones(rows.size, np.int64)  # candidates per row
    for _, _, n in spans:
        m += n
    if cure:
        m += closing
    g0 = cum0(m)[:-1]  # each row's first candidate
    qday = np.empty(int(g0[-1] + m[-1]), np.int64)
    qday[g0] = b
    at = g0 + 1
    for t, lo, n in spans:
        if n.any():
            within = np.arange(int(n.sum())) - np.repeat(cum0(n)[:-1], n)
            qday[np.repeat(at, n) + within] = t.day_at(ranges(lo, n)) - lag
        at = at + n
    if cure and closing.any():
        qday[at[closing]] = ledger.closed_days[c[closing]]
    dpd = ledger.query(np.repeat(c, m), qday)["dpd"]
    if cure:
        hit[rows] = np.minimum.reduceat(dpd, g0) == 0
    else:
        hit[rows] = np.maximum.reduceat(dpd, g0) >= target.threshold
    return eligible, hit
