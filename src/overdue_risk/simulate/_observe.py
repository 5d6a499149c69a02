"""Contract arithmetic and the observable state of loans at the start of a day.

Instalment ``k`` of a loan falls due in month ``m0 + k`` on day ``dom``; with
equal instalments the oldest unpaid one is ``paid // pmt``, so DPD and the
overdue amount need no per-loan loop. Cards carry their arrears explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _crn
from ._calendar import NEVER, dom_of, due_day, month_of
from ._params import Env
from ._population import LATE
from ._state import State

__all__ = [
    "Obs",
    "annuity_payment",
    "dpd_tonight",
    "jitter",
    "n_due",
    "next_mon_dom",
    "observe",
    "remaining_principal",
]


def n_due(st: State, rows: np.ndarray, day: int, mon: int, dom: int) -> np.ndarray:
    """Instalments due on or before ``day`` (whose month is ``mon``, day of month ``dom``)."""
    k = mon - st.m0[rows] - (dom < st.dom[rows])
    return np.clip(k, 0, st.n[rows]).astype(np.int64)


def remaining_principal(princ, rate, n, k) -> np.ndarray:
    """Annuity principal outstanding after ``k`` of ``n`` instalments, in cents (float)."""
    princ = np.asarray(princ, np.float64)
    rate = np.asarray(rate, np.float64)
    n = np.asarray(n, np.float64)
    k = np.minimum(np.asarray(k, np.float64), n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = (1 + rate) ** n
        gk = (1 + rate) ** k
        out = np.where(rate > 1e-9, princ * (g - gk) / (g - 1), princ * (n - k) / n)
    return np.nan_to_num(out)


def annuity_payment(princ: np.ndarray, rate: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The monthly instalment in whole cents, rounded up."""
    princ = np.asarray(princ, np.float64)
    rate = np.asarray(rate, np.float64)
    n = np.asarray(n, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exact = np.where(rate > 1e-9, princ * rate / (1 - (1 + rate) ** -n), princ / n)
    return np.ceil(np.nan_to_num(exact) - 1e-6).astype(np.int64)


def jitter(env: Env, st: State, rows: np.ndarray, due: np.ndarray) -> np.ndarray:
    """Habit offset of the obligation due on ``due``: the customer's offset plus jitter.

    The jitter is keyed by (slot, segment, due day) in its own stream and never
    by replicate: it is part of the customer's hidden habit, the same on every path.
    """
    offset = st.offset[rows].astype(np.int64)
    w = round(env.params.s.behaviour.habit_jitter_days)
    if w == 0 or rows.size == 0:
        return offset
    ok = np.flatnonzero(due != NEVER)
    key = due[ok].astype(np.int64) * 16 + st.seg[rows[ok]]  # the "replicate" field of the counter
    u = _crn.uniform(env.seed, _crn.JITTER, 0, st.slot[rows[ok]], 0, key)
    out = offset.copy()
    out[ok] += np.floor(u * (2 * w + 1)).astype(np.int64) - w
    habit = st.habit[rows]
    # Early payers stay early, late payers late; on-time payers are sometimes early.
    out = np.where(habit == LATE, np.maximum(out, 1), np.minimum(out, 0))
    return out


@dataclass
class Obs:
    """Start-of-day quantities of the rows worked on today."""

    due_k: np.ndarray  # due day of the oldest unpaid obligation (NEVER if none)
    need: np.ndarray  # amount that clears that obligation
    ov_start: np.ndarray  # overdue this morning
    ov_today: np.ndarray  # everything due up to today (or the whole minimum for cards)
    dpd: np.ndarray
    due_today: np.ndarray  # instalments due up to today (instalment rows)
    exposure: np.ndarray


def observe(
    st: State, rows: np.ndarray, day: int, mon: int, dom: int, *, mutate: bool = True
) -> Obs:
    """Start-of-day state of ``rows``; with ``mutate``, card minimums past due join the arrears."""
    m = rows.size
    kind = st.kind[rows]
    inst = np.flatnonzero(kind == 0)
    card = np.flatnonzero(kind == 1)
    due_k = np.full(m, NEVER, np.int64)
    need = np.zeros(m, np.int64)
    ov_start = np.zeros(m, np.int64)
    ov_today = np.zeros(m, np.int64)
    due_today = np.zeros(m, np.int64)
    exposure = np.zeros(m)
    if inst.size:
        r = rows[inst]
        pmt, paid, n = st.pmt[r], st.paid[r], st.n[r].astype(np.int64)
        prev_mon, prev_dom = (mon, dom - 1) if dom > 1 else (mon - 1, 31)
        due_prev = n_due(st, r, day - 1, prev_mon, prev_dom)
        due_now = n_due(st, r, day, mon, dom)
        j = np.minimum(paid // pmt, n)
        due_k[inst] = np.where(j < n, due_day(st.m0[r], j + 1, st.dom[r]), NEVER)
        need[inst] = np.where(j < n, (j + 1) * pmt - paid, 0)
        ov_start[inst] = np.maximum(due_prev * pmt - paid, 0)
        ov_today[inst] = np.maximum(due_now * pmt - paid, 0)
        due_today[inst] = due_now
        ahead = np.maximum(paid - due_prev * pmt, 0)
        rest = remaining_principal(st.princ[r], st.rate[r], n, due_prev)
        exposure[inst] = (ov_start[inst] + np.maximum(rest - ahead, 0)) / 100
    if card.size:
        r = rows[card]
        # A minimum left unpaid past its due date joins the arrears.
        late = (st.min_rem[r] > 0) & (st.due_day[r] < day)
        arrears = st.arrears[r] + np.where(late, st.min_rem[r], 0)
        delinq = np.where(late & (st.arrears[r] == 0), st.due_day[r], st.delinq[r])
        min_rem = np.where(late, 0, st.min_rem[r])
        due_on = np.where(late, NEVER, st.due_day[r])
        if mutate and late.any():
            roll = r[late]
            st.arrears[roll], st.delinq[roll] = arrears[late], delinq[late]
            st.min_rem[roll], st.due_day[roll] = 0, NEVER
        due_k[card] = np.where(arrears > 0, delinq, np.where(min_rem > 0, due_on, NEVER))
        need[card] = np.where(arrears > 0, arrears, min_rem)
        ov_start[card] = arrears
        ov_today[card] = arrears + min_rem
        exposure[card] = st.bal[r] / 100
    dpd = np.where(due_k < day, day - due_k, 0)
    return Obs(due_k, need, ov_start, ov_today, dpd, due_today, exposure)


def next_mon_dom(day: int, mon: int, dom: int) -> tuple[int, int]:
    """Month and day of the month of ``day + 1``."""
    m = int(month_of(np.array([day + 1]))[0])
    return m, int(dom_of(np.array([day + 1]), np.array([m]))[0])


def dpd_tonight(st: State, rows: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray, Obs]:
    """DPD at the end of ``day`` for ``rows`` (the state must be as at that day's end).

    Returns the true DPD, the DPD the ledger shows (cards: the last statement's
    DPD, aged while above 0) and the next morning's observation. Closed loans
    have DPD 0. Does not change the state.
    """
    mon, dom = next_mon_dom(day, 0, 0)
    ob = observe(st, rows, day + 1, mon, dom, mutate=False)
    closed = st.closed[rows] <= day
    dpd = np.where(closed, 0, np.maximum(ob.dpd - 1, 0))
    card = st.kind[rows] == 1
    stmt = np.where(st.stmt_dpd[rows] > 0, st.stmt_dpd[rows] + (day - st.stmt_day[rows]), 0)
    ledger = np.where(closed, 0, np.where(card, stmt, dpd))
    return dpd, ledger, ob
