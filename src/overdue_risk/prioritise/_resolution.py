"""When a decision's window ends, and what a write-off inside it loses.

A decision's window ends at its horizon, or with ``"resolution"`` at the first
of: the loan family (the loan and the loans that replace it after a
restructuring) is **cured** (back to current from arrears), **closed** (its
last loan's ``closed_date``), or **written off** (DPD reaches the write-off
threshold), and at the latest ``cap`` days after the decision.

Everything is read from the ledger's sorted tables, with no loop over loans or
rows:

* A loan's DPD only falls on the days money or a statement arrives; between
  two of its records (instalments falling due, payments, statements) it is
  either 0 throughout or grows by one a day. So DPD reaches a threshold ``W``
  for the first time inside the first such stretch whose last day is at ``W``
  or above, on ``max(first day, last day - (DPD on the last day - W))``: one
  ledger query per stretch finds every loan's write-off day at once.
* A cure is a payment or statement day at whose end the loan is current and at
  whose eve it was overdue (the test that makes a morning a decision day); the
  payment that closes a restructured loan moves its arrears to the new loan and
  is no cure, and a new loan that starts current was never overdue.
"""

from __future__ import annotations

import math

import numpy as np

from ..contract import Portfolio
from ..ledger import Ledger
from ._loan_days import Keys
from ._rewards import families

__all__ = ["NEVER", "window_ends"]

# A day after every real day: "no such event". Small enough to add days to.
NEVER = np.iinfo(np.int64).max // 4


def window_ends(
    p: Portfolio,
    ledger: Ledger,
    code: np.ndarray,
    day: np.ndarray,
    *,
    horizon: int | None,
    cap: int,
    write_off_dpd: float,
    rate: float,
    last: int,
) -> dict[str, np.ndarray]:
    """The last day of each row's window, and the write-off loss inside it.

    Parameters
    ----------
    code, day : ndarray
        The rows' loan codes and decision days.
    horizon : int or None
        A fixed window of ``horizon`` days; None: to resolution, capped at ``cap`` days.
    write_off_dpd : int or inf
        The DPD at which a loan is written off; ``inf``: never.
    rate : float
        The annual discount rate of the write-off loss.
    last : int
        The last day the data cover; no window reaches past it.

    Returns
    -------
    dict
        ``end`` (the window's last day, inclusive); with ``horizon=None``,
        ``resolved`` (cured, closed or written off within the cap); with a
        finite ``write_off_dpd``, ``write_off_amount`` (the balance at the
        write-off, discounted to the decision day, when the loan family is
        written off inside the window; else 0).
    """
    root, has_successor = families(p, ledger)
    in_family = np.zeros(ledger.n_loans, bool)
    in_family[root[code]] = True
    in_family = in_family[root]  # every loan of a family a row belongs to
    fam = root[code]
    stop = np.minimum(ledger.closed_days, last)  # no record counts after closing or the data
    woff_day = np.full(ledger.n_loans, NEVER)
    woff_loan = np.zeros(ledger.n_loans, np.int64)
    if math.isfinite(write_off_dpd):
        woff_day, woff_loan = _write_off_days(ledger, root, in_family, stop, int(write_off_dpd))
    out: dict[str, np.ndarray] = {}
    if horizon is not None:
        end = day + (horizon - 1)
    else:
        cap_end = day + (cap - 1)
        cure = _first_cure(ledger, root, has_successor, in_family, stop, fam, day)
        terminal = ~has_successor & (ledger.closed_days <= last)
        closed = np.full(ledger.n_loans, NEVER)
        np.minimum.at(closed, root[terminal], ledger.closed_days[terminal])
        close = np.where(closed[fam] >= day, closed[fam], NEVER)
        woff = np.where(woff_day[fam] >= day, woff_day[fam], NEVER)
        event = np.minimum(np.minimum(cure, close), woff)
        end = np.minimum(cap_end, event)
        out["resolved"] = event <= cap_end
    out["end"] = end
    if math.isfinite(write_off_dpd):
        out["write_off_amount"] = _write_off_loss(ledger, woff_day, woff_loan, fam, day, end, rate)
    return out


def _events(ledger: Ledger, with_schedule: bool) -> tuple[np.ndarray, np.ndarray]:
    """(loan code, day) of the records after which a loan's DPD may change course."""
    tables = [ledger.payments, ledger.statements]
    if with_schedule:
        tables.append(ledger.schedule)
    codes, days = [], []
    for t in tables:
        if t is not None and len(t):
            codes.append(t.codes())
            days.append(t.day_at(np.arange(len(t))))
    if not codes:
        e = np.empty(0, np.int64)
        return e, e
    return np.concatenate(codes).astype(np.int64), np.concatenate(days).astype(np.int64)


def _unique(code: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (code, day) pairs, sorted by code then day."""
    if not code.size:
        return code, day
    lo = int(day.min())
    keys = Keys(lo, int(day.max()) - lo + 1)
    k = np.unique(keys.of(code, day))
    return k // keys.span, k % keys.span + lo


def _write_off_days(
    ledger: Ledger, root: np.ndarray, in_family: np.ndarray, stop: np.ndarray, dpd: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per family root: the first day a loan of it is at ``dpd`` or more, and that loan."""
    n = ledger.n_loans
    start = ledger.start_days
    code, day = _events(ledger, with_schedule=True)
    alive = np.flatnonzero(in_family & (start <= stop))
    code = np.concatenate([code, alive])
    day = np.concatenate([day, start[alive]])
    keep = in_family[code] & (day >= start[code]) & (day <= stop[code])
    code, day = _unique(code[keep], day[keep])
    # Each stretch runs from a record's day to the day before the loan's next record.
    same = np.zeros(code.size, bool)
    same[:-1] = code[1:] == code[:-1]
    stretch_end = np.where(same, np.roll(day, -1) - 1, stop[code])
    level = ledger.query(code, stretch_end)["dpd"]
    hit = level >= dpd
    first = np.maximum(day, stretch_end - (level - dpd))[hit]
    hit_code = code[hit]
    # The first stretch that reaches the threshold holds the loan's first day at it
    # (DPD never falls within a stretch); then the earliest loan of each family.
    order = np.lexsort((first, root[hit_code]))
    fam_sorted = root[hit_code][order]
    head = np.ones(order.size, bool)
    head[1:] = fam_sorted[1:] != fam_sorted[:-1]
    woff_day = np.full(n, NEVER)
    woff_loan = np.zeros(n, np.int64)
    woff_day[fam_sorted[head]] = first[order][head]
    woff_loan[fam_sorted[head]] = hit_code[order][head]
    return woff_day, woff_loan


def _overdue(ledger: Ledger, code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Overdue at the end of the day: DPD >= 1, or a schedule amount overdue above tolerance."""
    s = ledger.query(code, day, ("dpd", "overdue_amount", "source"))
    schedule = s["source"] == 1
    return (s["dpd"] >= 1) | (schedule & (s["overdue_amount"] > ledger.config.tolerance))


def _first_cure(
    ledger: Ledger,
    root: np.ndarray,
    has_successor: np.ndarray,
    in_family: np.ndarray,
    stop: np.ndarray,
    fam: np.ndarray,
    day: np.ndarray,
) -> np.ndarray:
    """Each row's first cure of its family on or after its day (``NEVER``: none)."""
    start = ledger.start_days
    code, when = _events(ledger, with_schedule=False)
    keep = in_family[code] & (when >= start[code]) & (when <= stop[code])
    code, when = _unique(code[keep], when[keep])
    if not code.size or not day.size:
        return np.full(day.size, NEVER)
    cured = _overdue(ledger, code, when - 1) & ~_overdue(ledger, code, when)
    # Closing a restructured loan moves its arrears to the new loan: no cure.
    cured &= ~(has_successor[code] & (when == ledger.closed_days[code]))
    c_fam, c_day = root[code[cured]], when[cured]
    lo = int(min(c_day.min(initial=day.min()), day.min())) - 1
    keys = Keys(lo, int(max(c_day.max(initial=day.max()), day.max())) - lo + 2)
    k = keys.of(c_fam, c_day)
    order = np.argsort(k, kind="stable")
    k, c_fam, c_day = k[order], c_fam[order], c_day[order]
    if not k.size:
        return np.full(day.size, NEVER)
    i = np.searchsorted(k, keys.of(fam, day), side="left")
    j = np.minimum(i, k.size - 1)
    return np.where((i < k.size) & (c_fam[j] == fam), c_day[j], NEVER)


def _write_off_loss(
    ledger: Ledger,
    woff_day: np.ndarray,
    woff_loan: np.ndarray,
    fam: np.ndarray,
    day: np.ndarray,
    end: np.ndarray,
    rate: float,
) -> np.ndarray:
    """The balance at the write-off, discounted to the decision day, for write-offs in
    ``[day, end]``; 0 elsewhere."""
    when = woff_day[fam]
    inside = (when >= day) & (when <= end)
    loss = np.zeros(day.size)
    if not inside.any():
        return loss
    # One balance per written-off family, at the end of its write-off day.
    roots = np.unique(fam[inside])
    loans = woff_loan[roots]
    order = np.argsort(loans, kind="stable")
    balance = np.empty(roots.size)
    balance[order] = ledger.query(loans[order], woff_day[roots][order], ("outstanding_principal",))[
        "outstanding_principal"
    ]
    amount = balance[np.searchsorted(roots, fam[inside])]
    if rate:
        amount = amount * np.exp(-np.log1p(rate) * (when[inside] - day[inside]) / 365.0)
    loss[inside] = amount
    return loss
