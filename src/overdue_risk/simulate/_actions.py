"""Collection actions: what the policy sees, what it chooses and what each action does.

An action costs money, may reach the customer, and if it does may bring a
payment on the spot, a promise to pay (kept or broken: an intention decided
when it is made), a lift of the customer's daily chance of paying for some
days, a complaint (over-contact), or a restructuring.
"""

from __future__ import annotations

import numpy as np

from . import _codes as C
from . import _crn
from ._calendar import NEVER
from ._causes import cause_complaints, cause_response, down_payments
from ._observe import Obs, annuity_payment, remaining_principal
from ._params import Env
from ._policy import PolicyContext, to_codes
from ._population import PRODUCTS
from ._state import State

__all__ = ["act", "choose", "contacts_7d"]

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.int8)


def contacts_7d(st: State, rows: np.ndarray, day: int, *, voice: bool = False) -> np.ndarray:
    """Contact attempts (or calls and visits only) on the 7 days before ``day``."""
    shift = np.minimum(day - st.cmask_day[rows], 15).astype(np.uint16)
    bits = st.vmask[rows] if voice else st.cmask[rows]
    mask = (bits.astype(np.uint32) << shift) & 0xFE  # days day-1 .. day-7
    return _POPCOUNT[mask]


def _context(env: Env, st: State, rows: np.ndarray, ob: Obs, day: int, u: np.ndarray):
    pop = env.pop

    def loan_ids() -> np.ndarray:
        ids = pop.loan_ids[st.slot[rows]].copy()
        seg = st.seg[rows]
        for i in np.flatnonzero(seg > 0):
            ids[i] = f"{ids[i]}-R{seg[i]}"
        return ids

    last_c = st.last_contact[rows]
    last_p = st.last_pay[rows]
    return PolicyContext(
        day=day,
        dpd=ob.dpd,
        overdue_amount=ob.ov_start / 100,
        balance=ob.exposure,
        product=np.asarray(PRODUCTS, dtype=object)[st.prod[rows]],
        days_since_last_contact=np.where(last_c == NEVER, np.nan, day - last_c.astype(np.float64)),
        days_since_last_payment=np.where(last_p == NEVER, np.nan, day - last_p.astype(np.float64)),
        contacts_7d=contacts_7d(st, rows, day).astype(np.int64),
        promise_pending=(st.promise_amt[rows] > 0) & (st.promise_date[rows] >= day),
        opted_out=st.opt_out[rows].copy(),
        in_legal=st.in_legal[rows].copy(),
        holdout=st.holdout[rows].copy(),
        broken_promises=st.n_broken[rows].astype(np.int64),
        restructures=st.n_restr[rows].astype(np.int64),
        uniform=u,
        replicate=st.rep[rows].copy(),
        account=rows.astype(np.int64),
        product_type=np.where(st.kind[rows] == 1, "revolving", "instalment").astype(object),
        promise_date=np.where(
            st.promise_date[rows] == NEVER, np.nan, st.promise_date[rows].astype(np.float64)
        ),
        contact_days=PolicyContext._recent_days(st.cmask[rows], st.cmask_day[rows], day),
        voice_days=PolicyContext._recent_days(st.vmask[rows], st.cmask_day[rows], day),
        days_since_restructure=np.where(
            st.seg[rows] > 0, day - st.start[rows].astype(np.float64), np.nan
        ),
        _loan_ids=loan_ids,
    )


def choose(env: Env, st: State, rows: np.ndarray, ob: Obs, day: int, dr: _crn.Draws):
    """Actions (codes) and propensities for the rows worked on today."""
    m = rows.size
    codes_out = np.zeros(m, np.int8)
    prop = np.ones(m)
    if env.forced is not None and day in env.forced:
        forced = env.forced[day]
        return forced[rows].copy(), prop
    if env.policy is None:
        return codes_out, prop
    over = np.flatnonzero(ob.dpd >= 1)
    if not over.size:
        return codes_out, prop
    sub = Obs(*(getattr(ob, f)[over] for f in Obs.__dataclass_fields__))
    ctx = _context(env, st, rows[over], sub, day, dr.u(_crn.U_POLICY, rows[over]))
    out = env.policy(ctx)
    if isinstance(out, tuple):
        codes, p = out
        p = np.asarray(p, np.float64)
    else:
        codes, p = out, None
    codes_out[over] = to_codes(codes, over.size)
    if p is not None:
        prop[over] = p
    return codes_out, prop


def _restructure(
    env: Env,
    st: State,
    rows: np.ndarray,
    ob_idx: np.ndarray,
    ob: Obs,
    day: int,
    mon: int,
    dom: int,
) -> None:
    """Close each row's loan today and open a longer one for what is owed."""
    p = env.params
    rec = env.recorder
    r = rows
    kind = st.kind[r]
    inst = kind == 0
    owed = np.zeros(r.size, np.int64)
    transfer = np.zeros(r.size, np.int64)
    n_new = np.zeros(r.size, np.int64)
    if inst.any():
        ri = r[inst]
        due_now = ob.due_today[ob_idx[inst]]
        paid = st.paid[ri]
        ahead = np.maximum(paid - due_now * st.pmt[ri], 0)
        rest = remaining_principal(st.princ[ri], st.rate[ri], st.n[ri], due_now)
        transfer[inst] = ob.ov_today[ob_idx[inst]]
        owed[inst] = transfer[inst] + np.maximum(np.round(rest) - ahead, 0).astype(np.int64)
        n_new[inst] = np.maximum(st.n[ri].astype(np.int64) - due_now, 1)
    if (~inst).any():
        rc = r[~inst]
        transfer[~inst] = st.bal[rc]
        owed[~inst] = st.bal[rc]
        n_new[~inst] = 12
        if rec is not None:  # the card's last statement: balance moved to the new loan
            rec.statements.append(
                (
                    st.slot[rc].copy(),
                    st.seg[rc].copy(),
                    np.full(rc.size, day, np.int32),
                    np.zeros(rc.size, np.int64),
                    st.princ[rc].copy(),
                    st.min_prev[rc].copy(),
                    st.paid_cycle[rc] + st.bal[rc],
                    np.zeros(rc.size, np.int32),
                )
            )
    owed = np.maximum(owed, 100)
    n_new = np.minimum(n_new + p.s.actions.restructure.extension_months, 120)
    if rec is not None:
        has = transfer > 0
        rec.payments.append(
            (st.slot[r][has], st.seg[r][has], np.full(has.sum(), day, np.int32), transfer[has])
        )
        rec.closures.append((st.slot[r].copy(), st.seg[r].copy(), np.full(r.size, day, np.int32)))
    rate = st.rate[r] * p.s.actions.restructure.rate_factor
    st.seg[r] += 1
    st.kind[r] = 0
    st.start[r] = day
    st.m0[r] = mon
    st.dom[r] = min(dom, 28)
    st.n[r] = n_new
    st.princ[r] = owed
    st.rate[r] = rate
    st.pmt[r] = annuity_payment(owed, rate, n_new)
    st.paid[r] = 0
    for name in (
        "bal",
        "min_rem",
        "arrears",
        "paid_cycle",
        "min_prev",
        "promise_amt",
        "promise_paid",
    ):
        getattr(st, name)[r] = 0
    for name in (
        "due_day",
        "delinq",
        "next_stmt",
        "stmt_day",
        "promise_date",
        "promise_pay",
        "cure_pay",
    ):
        getattr(st, name)[r] = NEVER
    st.stmt_dpd[r] = 0
    st.reason[r] = 0
    st.boost[r] = 1.0
    st.boost_until[r] = -1
    st.n_restr[r] += 1
    st.in_legal[r] = False
    st.bonus[r] += p.bonus[st.rtype[r]]
    if rec is not None:
        rec.segments.append(
            (
                st.slot[r].copy(),
                st.seg[r].copy(),
                np.full(r.size, day, np.int32),
                owed.copy(),
                n_new.astype(np.int64),
                rate.copy(),
                st.pmt[r].copy(),
            )
        )


def act(
    env: Env,
    st: State,
    rows: np.ndarray,
    ob: Obs,
    actions: np.ndarray,
    prop: np.ndarray,
    day: int,
    mon: int,
    dom: int,
    dr: _crn.Draws,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply today's actions; returns pay-on-the-spot amounts and restructured flags."""
    p = env.params
    s = p.s
    m = rows.size
    pay_now = np.zeros(m, np.int64)
    restructured = np.zeros(m, bool)
    ai = np.flatnonzero(actions > 0)
    if not ai.size:
        return pay_now, restructured
    r = rows[ai]
    a = actions[ai].astype(np.int64)
    # Hard rules no policy can break: opt-outs, one legal action, the restructuring cap.
    blocked = (
        (((a == C.CALL) | (a == C.VISIT)) & st.opt_out[r])
        | ((a == C.LEGAL) & st.in_legal[r])
        | ((a == C.RESTRUCTURE) & (st.n_restr[r] >= s.collections.max_restructures))
    )
    tr = env.tracker
    if tr is not None and blocked.any():
        np.add.at(tr.blocked, r[blocked], 1)
    keep = ~blocked
    ai, r, a = ai[keep], r[keep], a[keep]
    if not ai.size:
        return pay_now, restructured
    cost = p.cost[a].copy()
    is_contact = np.isin(a, C.CONTACTS)
    is_voice = (a == C.CALL) | (a == C.VISIT)
    # Over-contact is counted in calls and visits (as Regulation F counts call
    # attempts): each one beyond the free number dulls the customer's response.
    c7 = contacts_7d(st, r, day, voice=True).astype(np.int64)
    excess = np.maximum(c7 - s.actions.free_contacts_7d, 0)
    fatigue = s.actions.fatigue**excess
    rate = p.contact[a] * np.where(a == C.CALL, fatigue, 1.0)
    reached = dr.u(_crn.U_CONTACT, r) < rate
    cr = r[is_contact]
    shift = np.minimum(day - st.cmask_day[cr], 15).astype(np.uint32)
    st.cmask[cr] = ((st.cmask[cr].astype(np.uint32) << shift) | 1).astype(np.uint16)
    st.vmask[cr] = (
        (st.vmask[cr].astype(np.uint32) << shift) | is_voice[is_contact].astype(np.uint32)
    ).astype(np.uint16)
    st.cmask_day[cr] = day
    st.last_contact[r] = day
    outcome = np.where(reached, C.CONTACTED, C.NO_CONTACT).astype(np.int8)
    uo = dr.u(_crn.U_OUTCOME, r)
    talk = reached & is_voice
    over = talk & (c7 >= s.actions.complaint_after_7d)
    complaint = over & (uo < s.actions.complaint_rate * (c7 - s.actions.complaint_after_7d + 1))
    cz = p.causes
    if cz is not None:  # pressure on some causes brings complaints at any contact count
        complaint |= cause_complaints(cz, st, r, a, reached, dr)
    outcome[complaint] = C.DISPUTE
    st.opt_out[r[complaint]] = True
    cost[complaint] += s.actions.complaint_cost
    ok = reached & ~complaint
    hard = st.hard[st.cust[r]]
    rtype = st.rtype[r].astype(np.int64)
    if cz is None:
        # Lift: confusion, partial payment and the late-habit window respond like
        # forgetfulness (reminders work); real arrears by the customer's response type.
        reason = st.reason[r]
        forgetful = (reason == 1) | ((reason == 0) & (ob.dpd[ai] <= st.offset[r]))
        col = np.where(forgetful, 0, 1 + rtype)
        lift = 1 + (p.lift[a, col] - 1) * np.where(p.lift[a, col] > 1, fatigue, 1.0)
        boosting = ok & (p.effect_days[a] > 0)
        br = r[boosting]
        active = st.boost_until[br] >= day
        st.boost[br] = np.where(active, np.maximum(st.boost[br], lift[boosting]), lift[boosting])
        st.boost_until[br] = np.maximum(st.boost_until[br], day + p.effect_days[a[boosting]] - 1)
        # Calls and visits: payment on the spot, or a promise.
        pn = p.pay_now[a] * np.where(rtype == 3, 0.1, 1.0) * np.where(hard, 0.5, 1.0)
        promise_p = p.promise_rate[a]
        keep_all = p.keep[rtype] * np.where(hard, 0.5, 1.0)
        accept_p = np.minimum(p.accept[rtype] * np.where(hard, 1.5, 1.0), 1.0)
        stubborn = rtype == 3
    else:  # the cause decides: a cure (no lift), a promise, an acceptance
        res = cause_response(cz, st, r, a, ok, is_voice, day, dr)
        pn, promise_p, keep_all = res.pay_now, res.promise, res.keep
        accept_p, stubborn = res.accept, res.stubborn
    paid_now = ok & (uo < pn) & (ob.ov_today[ai] > 0)
    outcome[paid_now] = C.PAID
    pay_now[ai[paid_now]] = ob.ov_today[ai[paid_now]]
    promise = ok & ~paid_now & (uo < pn + promise_p) & (ob.ov_start[ai] > 0)
    promise &= ~((st.promise_amt[r] > 0) & (st.promise_date[r] >= day))
    outcome[promise] = C.PROMISE
    pr = r[promise]
    promise_date = np.full(ai.size, NEVER, np.int64)
    promise_amt = np.zeros(ai.size, np.int64)
    if pr.size:
        up = dr.u(_crn.U_PROMISE, pr)
        upd = dr.u(_crn.U_PAYDAY, pr)
        horizon = np.floor(up * s.actions.promise_days).astype(np.int64) + 1
        keep_p = keep_all[promise]
        # Keeping is decided now: a promise is an intention, part of the hidden state.
        kept = dr.u(_crn.U_KEEP, pr) < keep_p
        st.promise_date[pr] = day + horizon
        st.promise_amt[pr] = ob.ov_start[ai[promise]]
        st.promise_paid[pr] = 0
        st.promise_pay[pr] = np.where(
            kept, day + 1 + np.floor(upd * horizon).astype(np.int64), NEVER
        )
        promise_date[promise] = day + horizon
        promise_amt[promise] = ob.ov_start[ai[promise]]
    refused = ok & ~paid_now & ~promise & stubborn & (uo > 0.5) & talk
    outcome[refused] = C.REFUSED
    # Restructuring offers.
    offer = a == C.RESTRUCTURE
    accept = offer & ok & (uo < accept_p)
    outcome[offer & ok & ~accept] = C.REFUSED
    # Legal action starts whether or not the customer answers.
    legal = a == C.LEGAL
    st.in_legal[r[legal]] = True
    if tr is not None:
        np.add.at(tr.complaints, r[complaint], 1)
        np.add.at(tr.cost, r, cost)
        np.add.at(tr.contacts, r[is_contact], 1)
        np.add.at(tr.harsh, r[(a == C.VISIT) | legal], 1)
        tr.actions += np.bincount(a, minlength=len(C.ACTIONS))
    if env.recorder is not None:
        env.recorder.collections.append(
            (
                st.slot[r].copy(),
                st.seg[r].copy(),
                np.full(r.size, day, np.int32),
                a.astype(np.int8),
                outcome,
                promise_date.astype(np.int32),
                promise_amt,
                cost,
                prop[ai],
                st.holdout[r].copy(),
            )
        )
    if accept.any():
        if tr is not None:
            tr.restructured[r[accept]] = True
        _restructure(env, st, r[accept], ai[accept], ob, day, mon, dom)
        restructured[ai[accept]] = True
        if cz is not None:  # the new plan's first instalment, paid on signing
            pay_now[ai[accept]] = down_payments(cz, st, r[accept], dr)
    return pay_now, restructured
