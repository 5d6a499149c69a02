"""The day-step engine shared by history generation, ground truth and forward simulation.

One function, :func:`run`, advances a :class:`~._state.State` day by day. Each
day it

1. moves customers' hardship clocks that ring today;
2. picks the rows that need work (``next_check <= day``: accounts in arrears,
   with an instalment or statement due, a promise pending, ...), so idle loans
   cost nothing;
3. shows the policy the observable state of the overdue ones and applies its
   actions (cost, contact, promise, lift, complaint, restructuring);
4. draws payments: the habitual payment of the next instalment, the arrears
   hazard, kept promises, payments on the spot;
5. closes loans paid in full, issues card statements, settles promises;
6. sets each row's next check day.

Everything is vectorised over rows; the only Python loop is over days. All
randomness comes from :mod:`._crn`, indexed by the row's slot and replicate.
Step 3 lives in :mod:`._actions`, the contract arithmetic behind the
start-of-day state in :mod:`._observe`.
"""

from __future__ import annotations

import numpy as np

from . import _crn
from ._actions import act, choose
from ._calendar import NEVER, dom_of, due_day, month_of
from ._causes import cause_hazard, cause_miss
from ._observe import Obs, annuity_payment, jitter, next_mon_dom, observe, remaining_principal
from ._params import Env, Params
from ._population import CARD, PARTIAL, Population
from ._state import State

__all__ = ["init_state", "reset_clocks", "run"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# -- customers -------------------------------------------------------------------------


def _onset(env: Env, st: State, crow: np.ndarray, day: int, u: np.ndarray) -> np.ndarray:
    """Day of the next hardship onset after ``day``, by inverting the cumulative hazard."""
    eco = env.pop.economy
    e = -np.log1p(-u) / st.shock_mult[crow]
    out = np.full(crow.size, NEVER, np.int64)
    i0 = eco.index(day)
    region = st.region[crow]
    for r in np.unique(region):
        m = region == r
        cum = eco.cum_hazard[r]
        target = cum[i0] + e[m]
        idx = np.searchsorted(cum, target, side="left")
        out[m] = np.where(idx < cum.size, eco.day0 + idx, NEVER)
    return np.maximum(out, day + 1)


def _duration(env: Env, u: np.ndarray) -> np.ndarray:
    mean = env.params.s.economy.hardship_mean_days
    return np.maximum(np.ceil(-np.log1p(-u) * mean), 1).astype(np.int64)


def reset_clocks(env: Env, st: State, day: int, *, stationary: bool) -> None:
    """Draw every customer's next hardship transition afresh from ``day``.

    Onsets and durations are memoryless, so redrawing them at any day leaves
    the law of the future unchanged; Monte Carlo paths do this at their
    start, so that no path inherits the history's future. With
    ``stationary``, whether a customer starts in hardship is drawn too.
    """
    crow = np.arange(st.cslot.size)
    u = _crn.uniform(env.seed, env.cstream, day, st.cslot, _crn.U_CUSTOMER_RESET, st.crep)
    if stationary:
        e = env.params.s.economy
        x = e.shock_rate * e.hardship_mean_days / 365.0
        v = _crn.uniform(env.seed, env.cstream, day, st.cslot, _crn.U_CUSTOMER_CLOCK, st.crep)
        st.hard[:] = v < x / (1 + x)
    hard = st.hard
    nxt = np.empty(crow.size, np.int64)
    nxt[hard] = day + _duration(env, u[hard])
    nxt[~hard] = _onset(env, st, crow[~hard], day, u[~hard])
    st.hs_next[:] = np.minimum(nxt, NEVER)


def _customers(env: Env, st: State, day: int) -> None:
    crow = np.flatnonzero(st.hs_next == day)
    if not crow.size:
        return
    u = _crn.uniform(
        env.seed, env.cstream, day, st.cslot[crow], _crn.U_CUSTOMER_CLOCK, st.crep[crow]
    )
    starting = ~st.hard[crow]
    st.hard[crow] = starting
    nxt = np.empty(crow.size, np.int64)
    nxt[starting] = day + _duration(env, u[starting])
    nxt[~starting] = _onset(env, st, crow[~starting], day, u[~starting])
    st.hs_next[crow] = np.minimum(nxt, NEVER)


# -- the initial state -----------------------------------------------------------------


def init_state(pop: Population, params: Params) -> State:
    """Every loan of the population at its origination, not yet started."""
    n, nc = pop.n_loans, pop.n_customers
    st = State(n, nc)
    st.slot[:] = np.arange(n)
    st.cust[:] = pop.cust
    st.prod[:] = pop.product
    card = pop.product == CARD
    st.kind[:] = card
    st.start[:] = pop.start_day
    st.m0[:] = month_of(pop.start_day)
    st.dom[:] = np.minimum(dom_of(pop.start_day), 28)
    st.n[:] = pop.term
    st.princ[:] = pop.principal
    st.rate[:] = pop.annual_rate / 12
    inst = ~card
    st.pmt[inst] = annuity_payment(pop.principal[inst], st.rate[inst], pop.term[inst])
    # Cards: the first statement a month after opening, on the cycle day.
    st.next_stmt[card] = due_day(st.m0[card], 1, st.dom[card])
    c = pop.cust
    st.cap[:] = pop.capacity[c]
    st.will[:] = pop.willingness[c]
    st.habit[:] = pop.habit[c]
    st.offset[:] = pop.habit_offset[c]
    st.rtype[:] = pop.response_type[c]
    if pop.cause is not None:
        st.cause[:] = pop.cause[c]
    st.pshare[:] = pop.pay_share[c]
    st.spend[:] = pop.spend_rate[c]
    st.holdout[:] = pop.holdout
    st.next_check[:] = pop.start_day  # first looked at on its start day
    st.cslot[:] = np.arange(nc)
    st.region[:] = pop.region
    st.shock_mult[:] = pop.shock_mult
    return st


# -- one day ---------------------------------------------------------------------------


def _payments(
    env: Env,
    st: State,
    rows: np.ndarray,
    ob: Obs,
    pay_now: np.ndarray,
    skip: np.ndarray,
    day: int,
    dr: _crn.Draws,
) -> np.ndarray:
    """Today's payment of each row, in cents (0 for none).

    A restructured row (``skip``) pays only what it paid on the spot (a down
    payment on its new plan).
    """
    p = env.params
    b = p.s.behaviour
    cz = p.causes
    pay = pay_now.copy()
    live = ~skip & (ob.due_k != NEVER)
    if not live.any():
        return np.where(skip, pay_now, pay)
    idx = np.flatnonzero(live)
    r = rows[idx]
    due_k = ob.due_k[idx]
    o_k = jitter(env, st, r, due_k)
    t = day - due_k
    kind = st.kind[r]
    hard = st.hard[st.cust[r]]
    attempt = (t == o_k) & ~((kind == 1) & (st.arrears[r] > 0))
    dpd = ob.dpd[idx]
    window = (dpd >= 1) & (t < o_k)  # a habitual late payer before their day
    arrears = (dpd >= 1) & ~attempt & ~window
    boost = np.where(st.boost_until[r] >= day, st.boost[r], 1.0)
    amount = np.zeros(idx.size, np.int64)

    # 1. The habitual payment of the oldest obligation.
    ai = np.flatnonzero(attempt)
    if ai.size:
        ra = r[ai]
        prod = st.prod[ra]
        if cz is None:
            first = (kind[ai] == 0) & (st.paid[ra] < st.pmt[ra])
            conf_p = p.complexity[prod] * np.where(first, 3.0, 1.0)
            confused = dr.u(_crn.U_CONFUSE, ra) < conf_p
            region = st.region[st.cust[ra]]
            excess = env.pop.economy.excess[region, env.pop.economy.index(day)]
            logit = (
                b.miss_intercept
                - b.miss_capacity * st.cap[ra]
                - b.miss_willingness * (st.will[ra] + st.bonus[ra])
                + b.miss_hardship * hard[ai]
                + b.miss_unemployment * excess
            )
            missed = confused | (dr.u(_crn.U_ATTEMPT, ra) < _sigmoid(logit))
        else:  # the customer's cause decides; a short payment is partial, not missed
            missed, confused = cause_miss(cz, st, ra, hard[ai], day, dr)
        ok = ~missed
        ua = dr.u(_crn.U_AMOUNT, ra)
        need = ob.need[idx[ai]]
        is_card = kind[ai] == 1
        full = np.where(
            is_card,
            st.min_rem[ra] + np.round(st.pshare[ra] * np.maximum(st.bal[ra] - st.min_rem[ra], 0)),
            need,
        ).astype(np.int64)
        partial = st.habit[ra] == PARTIAL
        short = partial if cz is None else partial | confused
        frac = b.partial_min + (b.partial_max - b.partial_min) * ua
        amt = np.where(short, np.maximum(np.round(need * frac), 1), full).astype(np.int64)
        # Early repayment of an instalment loan, alongside a regular payment.
        prepay = (
            ok & ~is_card & (dr.u(_crn.U_PREPAY, ra) < p.prepay[prod] * np.exp(0.3 * st.cap[ra]))
        )
        if cz is not None:
            prepay &= ~confused
        if prepay.any():
            rp = ra[prepay]
            due_now = ob.due_today[idx[ai][prepay]]
            ahead = np.maximum(st.paid[rp] - due_now * st.pmt[rp], 0)
            rest = remaining_principal(st.princ[rp], st.rate[rp], st.n[rp], due_now)
            payoff = ob.ov_today[idx[ai][prepay]] + np.maximum(np.round(rest) - ahead, 0)
            amt[prepay] = np.maximum(payoff.astype(np.int64), 1)
            st.closed[rp] = day  # marks the payoff; the loan closes below
        amount[ai] = np.where(ok, amt, 0)
        new_reason = np.where(confused | (ok & partial), 1, np.where(missed, 2, 0))
        st.reason[ra] = new_reason.astype(np.int8)
        st.reason_due[ra] = due_k[ai]

    # 2. Paying off arrears, or paying before the habitual late day.
    hi = np.flatnonzero((window | arrears) & ~attempt)
    if hi.size:
        rh = r[hi]
        rtype = st.rtype[rh]
        reason = st.reason[rh]
        traits = np.exp(b.hazard_traits * (st.cap[rh] + st.will[rh] + st.bonus[rh]))
        if cz is None:
            base = np.where(
                window[hi],
                b.late_window_hazard,
                np.where(reason == 1, b.confusion_hazard, p.hazard[rtype] * traits),
            )
            h = base * np.where(hard[hi], b.hardship_hazard, 1.0) * boost[hi]
            full = (reason == 1) | window[hi] | (dr.u(_crn.U_AMOUNT, rh) < b.full_cure_share)
        else:
            h, full = cause_hazard(cz, st, rh, hard[hi], dr.u(_crn.U_AMOUNT, rh))
            h = np.where(window[hi], b.late_window_hazard, h)
            full |= window[hi]
        fire = dr.u(_crn.U_HAZARD, rh) < np.minimum(h, 0.95)
        amt = np.where(full, ob.ov_today[idx[hi]], ob.need[idx[hi]])
        amount[hi] = np.where(fire, amt, 0)

    # 3. Kept promises.
    kp = (st.promise_pay[r] == day) & (st.promise_amt[r] > 0)
    if kp.any():
        amount[kp] = np.maximum(amount[kp], np.minimum(st.promise_amt[r[kp]], ob.ov_today[idx[kp]]))
    # 4. Cures an SMS, a letter or legal action brought: everything overdue.
    if cz is not None:
        cp = st.cure_pay[r] == day
        amount[cp] = np.maximum(amount[cp], ob.ov_today[idx[cp]])
    pay[idx] = np.maximum(pay[idx], amount)
    return np.where(skip, pay_now, pay)


def _apply_payments(env: Env, st: State, rows: np.ndarray, pay: np.ndarray, day: int) -> None:
    pi = np.flatnonzero(pay > 0)
    if not pi.size:
        return
    r = rows[pi]
    x = pay[pi]
    kind = st.kind[r]
    inst = kind == 0
    # Never more than what is owed.
    x = np.where(
        inst,
        np.minimum(x, st.n[r].astype(np.int64) * st.pmt[r] - st.paid[r]),
        np.minimum(x, st.bal[r]),
    )
    ok = x > 0
    r, x, inst = r[ok], x[ok], inst[ok]
    if not r.size:
        return
    st.paid[r[inst]] += x[inst]
    rc, xc = r[~inst], x[~inst]
    if rc.size:
        to_arrears = np.minimum(xc, st.arrears[rc])
        st.arrears[rc] -= to_arrears
        st.delinq[rc] = np.where(st.arrears[rc] == 0, NEVER, st.delinq[rc])
        to_min = np.minimum(xc - to_arrears, st.min_rem[rc])
        st.min_rem[rc] -= to_min
        st.bal[rc] -= xc
        st.paid_cycle[rc] += xc
    pending = st.promise_amt[r] > 0
    st.promise_paid[r[pending]] += x[pending]
    st.last_pay[r] = day
    tr = env.tracker
    if tr is not None and day >= tr.track_from and day <= tr.window_end:
        tr.recovered[r] += x
        tr.first_pay[r] = np.minimum(tr.first_pay[r], day)
    if env.recorder is not None:
        env.recorder.payments.append(
            (st.slot[r].copy(), st.seg[r].copy(), np.full(r.size, day, np.int32), x)
        )


def _close(env: Env, st: State, r: np.ndarray, day: int) -> None:
    st.closed[r] = day
    st.next_check[r] = NEVER
    if env.recorder is not None and r.size:
        env.recorder.closures.append(
            (st.slot[r].copy(), st.seg[r].copy(), np.full(r.size, day, np.int32))
        )


def _statements(env: Env, st: State, rows: np.ndarray, day: int, mon: int, dr: _crn.Draws) -> None:
    p = env.params
    r = rows[(st.kind[rows] == 1) & (st.next_stmt[rows] == day) & (st.closed[rows] == NEVER)]
    if not r.size:
        return
    dpd = np.where(st.arrears[r] > 0, day - st.delinq[r], 0)
    good = (dpd == 0) & (st.arrears[r] == 0) & ~st.in_legal[r]
    # Closing a card in good standing: pay off and close, with a final statement.
    closing = good & (dr.u(_crn.U_PREPAY, r) < p.s.products.card.closure_monthly)
    if closing.any():
        rc = r[closing]
        _apply_payments(env, st, rc, np.maximum(st.bal[rc], 0), day)
    interest = np.where(st.bal[r] > 0, np.round(st.bal[r] * p.card_rate), 0).astype(np.int64)
    interest[closing] = 0
    room = np.maximum(st.princ[r] - st.bal[r] - interest, 0)
    want = np.round(st.princ[r] * st.spend[r] * (0.5 + dr.u(_crn.U_SPEND, r))).astype(np.int64)
    spend = np.where(good & ~closing, np.minimum(want, room), 0)
    st.bal[r] += interest + spend
    bal = st.bal[r]
    new_min = np.where(
        bal > 0, np.minimum(bal, np.maximum(np.round(bal * p.card_min_share), p.card_min_floor)), 0
    ).astype(np.int64)
    if env.recorder is not None:
        env.recorder.statements.append(
            (
                st.slot[r].copy(),
                st.seg[r].copy(),
                np.full(r.size, day, np.int32),
                bal.copy(),
                st.princ[r].copy(),
                st.min_prev[r].copy(),
                st.paid_cycle[r].copy(),
                dpd.astype(np.int32),
            )
        )
    st.min_prev[r] = new_min + st.arrears[r]
    st.min_rem[r] = new_min
    st.due_day[r] = np.where(new_min > 0, day + p.card_grace, NEVER)
    st.paid_cycle[r] = 0
    st.stmt_day[r] = day
    st.stmt_dpd[r] = dpd
    st.next_stmt[r] = due_day(np.full(r.size, mon), 1, st.dom[r])
    if closing.any():
        _close(env, st, r[closing], day)


def _settle_promises(env: Env, st: State, rows: np.ndarray, day: int) -> None:
    r = rows[st.promise_amt[rows] > 0]
    if not r.size:
        return
    kept = st.promise_paid[r] >= st.promise_amt[r]
    broken = ~kept & (st.promise_date[r] <= day)
    st.n_broken[r[broken]] += 1
    done = r[kept | broken]
    st.promise_amt[done] = 0
    st.promise_pay[done] = NEVER


def _end_of_day(env: Env, st: State, rows: np.ndarray, day: int, mon: int, dom: int) -> None:
    """DPD at the end of the day, labels, and each row's next check day."""
    r = rows[st.closed[rows] == NEVER]
    if not r.size:
        return
    ob = observe(st, r, day + 1, *(next_mon_dom(day, mon, dom)))
    # ob.dpd is the DPD tomorrow morning; the DPD tonight is one less.
    dpd_tonight = np.maximum(ob.dpd - 1, 0)
    kind = st.kind[r]
    card = kind == 1
    obs = np.where(
        card,
        np.where(st.stmt_dpd[r] > 0, st.stmt_dpd[r] + (day - st.stmt_day[r]), 0),
        dpd_tonight,
    )
    tr = env.tracker
    if tr is not None and day >= tr.track_from and day <= tr.window_end:
        same = st.seg[r] == tr.seg0[r]
        tr.hit30[r] |= same & (obs >= 30)
        # A cure: back to current after being overdue, on the same loan.
        tr.cured[r] |= same & tr.delinquent[r] & (ob.dpd == 0)
    # The reason for arrears ends with the obligation it explained.
    st.reason[r[(st.reason[r] > 0) & (ob.due_k > st.reason_due[r])]] = 0
    daily = (ob.dpd >= 1) | (st.promise_amt[r] > 0) | (card & (st.stmt_dpd[r] > 0))
    nxt = np.full(r.size, day + 1, np.int64)
    calm = np.flatnonzero(~daily)
    if calm.size:
        rc = r[calm]
        due_k = ob.due_k[calm]
        o_k = jitter(env, st, rc, due_k)
        habit_day = np.where(due_k == NEVER, NEVER, due_k + o_k)
        check = np.where(habit_day > day, np.minimum(habit_day, due_k + 1), due_k + 1)
        check = np.where(due_k == NEVER, NEVER, check)
        check = np.where(card[calm], np.minimum(check, st.next_stmt[rc]), check)
        nxt[calm] = np.maximum(check, day + 1)
    st.next_check[r] = np.minimum(nxt, NEVER)


def _step(env: Env, st: State, day: int) -> None:
    """One day: hardship clocks, then the rows due for work (see the module docstring)."""
    mon = int(month_of(np.array([day]))[0])
    dom = int(dom_of(np.array([day]), np.array([mon]))[0])
    _customers(env, st, day)
    rows = np.flatnonzero(st.next_check <= day)
    if rows.size:
        dr = _crn.Draws(env.seed, env.stream, day, st.slot, st.rep)
        ob = observe(st, rows, day, mon, dom)
        if env.tracker is not None:
            env.tracker.delinquent[rows[ob.dpd >= 1]] = True
        actions, prop = choose(env, st, rows, ob, day, dr)
        pay_now, restructured = act(env, st, rows, ob, actions, prop, day, mon, dom, dr)
        pay = _payments(env, st, rows, ob, pay_now, restructured, day, dr)
        _apply_payments(env, st, rows, pay, day)
        # Paid in full, or paid off early (marked in _payments): the loan closes.
        inst = rows[(st.kind[rows] == 0) & ~restructured]
        done = inst[
            (st.paid[inst] >= st.n[inst].astype(np.int64) * st.pmt[inst]) | (st.closed[inst] == day)
        ]
        _close(env, st, done, day)
        if env.tracker is not None:
            tr = env.tracker
            tr.cured[done] |= tr.delinquent[done] & (tr.seg0[done] == st.seg[done])
        _statements(env, st, rows, day, mon, dr)
        _settle_promises(env, st, rows, day)
        _end_of_day(env, st, rows, day, mon, dom)
    st.day = day


def run(env: Env, st: State, first: int, last: int) -> State:
    """Simulate days ``first`` .. ``last`` (inclusive), in place; returns ``st``."""
    for day in range(first, last + 1):
        _step(env, st, day)
        if day in env.snapshot_days:
            env.snapshots[day] = st.copy()
    return st
