"""Causes of delinquency: why a customer falls behind, and which action moves them.

In a scenario whose ``causes`` section is enabled, every customer has one
hidden cause (:data:`CAUSES`): forgetful, confused, hardship or strategic. The
engine then takes misses, the arrears hazard and the effect of every action
from the cause's :class:`~overdue_risk.simulate.CauseResponse` instead of the
behaviour section's miss model and the response types' lifts. Without causes
none of this runs, and the simulation is exactly what it was.

Causes are drawn once per seed with their own numpy generator, after the rest
of the population, so every other draw of the population is the same with and
without them. The daily draws of the cause model use counter uses 12-15 of
:mod:`._crn`, which the rest of the engine never touches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from . import _codes as C
from . import _crn
from ._calendar import month_of
from ._scenario import CAUSES, Scenario
from ._state import State

if TYPE_CHECKING:  # the population module calls draw_causes
    from ._population import Population

__all__ = [
    "CAUSES",
    "CauseArrays",
    "Response",
    "cause_complaints",
    "cause_hazard",
    "cause_miss",
    "cause_response",
    "down_payments",
    "draw_causes",
]

FORGETFUL, CONFUSED, HARDSHIP, STRATEGIC = range(len(CAUSES))
# The key of the cause draw's Philox generator is (seed, CAUSE_STREAM); the
# population's own generator is keyed (seed, _crn.POPULATION).
CAUSE_STREAM = 8
# Uses of a loan's uniforms on one day (j in the counter), beyond the engine's 0-11.
U_PARTIAL, U_COMPLAINT, U_CURE, U_DELAY = 12, 13, 14, 15
# Actions whose reaching the customer can cure them, and those that can bring a complaint.
_CURING = ("sms", "letter", "call", "visit", "legal")
PRESSURE = (C.CALL, C.VISIT, C.LEGAL)


@dataclass(frozen=True)
class CauseArrays:
    """The ``causes`` section as lookup arrays, indexed by cause (and action)."""

    miss: np.ndarray
    miss_in_hardship: np.ndarray
    miss_on_plan: np.ndarray
    partial: np.ndarray
    hazard: np.ndarray
    hazard_in_hardship: np.ndarray
    catch_up: np.ndarray
    cure: np.ndarray  # (action, cause); 0 for "none" and "restructure"
    promise: np.ndarray
    keep: np.ndarray
    complaint: np.ndarray
    accept: np.ndarray
    down_payment: np.ndarray
    card_factor: float
    early_factor: float
    early_months: int
    cure_days: int
    legal_days: int

    @classmethod
    def from_scenario(cls, s: Scenario) -> CauseArrays | None:
        """The arrays of an enabled ``causes`` section; None when causes are off."""
        z = s.causes
        if not z.enabled:
            return None
        each = [getattr(z, c) for c in CAUSES]

        def by_cause(name: str) -> np.ndarray:
            return np.array([getattr(r, name) for r in each])

        cure = np.zeros((len(C.ACTIONS), len(CAUSES)))
        for name in _CURING:
            cure[C.ACTION_CODES[name]] = by_cause(f"cure_{name}")
        return cls(
            miss=by_cause("miss"),
            miss_in_hardship=by_cause("miss_in_hardship"),
            miss_on_plan=by_cause("miss_on_plan"),
            partial=by_cause("partial"),
            hazard=by_cause("hazard"),
            hazard_in_hardship=by_cause("hazard_in_hardship"),
            catch_up=by_cause("catch_up"),
            cure=cure,
            promise=by_cause("promise"),
            keep=by_cause("keep"),
            complaint=by_cause("complaint"),
            accept=by_cause("accept"),
            down_payment=by_cause("down_payment"),
            card_factor=z.card_factor,
            early_factor=z.early_factor,
            early_months=z.early_months,
            cure_days=z.cure_days,
            legal_days=z.legal_days,
        )


def draw_causes(pop: Population, s: Scenario) -> Population:
    """``pop`` with a cause per customer, and hardship customers' shock rates raised.

    Log-odds per customer: the log of each cause's share, plus for
    ``strategic`` ``balance_tilt`` times the standardised log of the
    customer's largest principal (or credit limit) minus ``trait_tilt`` times
    willingness, and for ``hardship`` minus ``trait_tilt`` times capacity; the
    cause is drawn with Gumbel noise (an exact draw from the softmax).
    """
    z = s.causes
    nc = pop.n_customers
    largest = np.zeros(nc)
    np.maximum.at(largest, pop.cust, pop.principal.astype(np.float64))
    size = np.log(np.maximum(largest, 1.0))
    sd = size.std()
    size = (size - size.mean()) / sd if sd > 0 else np.zeros(nc)
    logits = np.tile(np.log([getattr(z, f"share_{c}") + 1e-12 for c in CAUSES]), (nc, 1))
    cap = pop.capacity.astype(np.float64)
    will = pop.willingness.astype(np.float64)
    logits[:, STRATEGIC] += z.balance_tilt * size - z.trait_tilt * will
    logits[:, HARDSHIP] -= z.trait_tilt * cap
    rng = np.random.Generator(np.random.Philox(key=[pop.seed, CAUSE_STREAM]))
    gumbel = -np.log(-np.log(rng.random((nc, len(CAUSES)))))
    cause = np.argmax(logits + gumbel, axis=1).astype(np.int8)
    shock = np.where(cause == HARDSHIP, z.hardship_shocks, 1.0) * pop.shock_mult
    return replace(pop, cause=cause, shock_mult=shock.astype(np.float32))


def cause_miss(
    cz: CauseArrays, st: State, rows: np.ndarray, hard: np.ndarray, day: int, dr: _crn.Draws
) -> tuple[np.ndarray, np.ndarray]:
    """On the habitual payment day: who pays nothing, and who pays only part.

    A confused customer's chance is raised on cards and in a loan's first
    months (capped at 1); a restructured loan (a plan) has its own chance.
    """
    c = st.cause[rows].astype(np.int64)
    mon = int(month_of(np.array([day]))[0])
    p = np.where(
        st.seg[rows] > 0,
        cz.miss_on_plan[c],
        np.where(hard, cz.miss_in_hardship[c], cz.miss[c]),
    )
    factor = np.where(st.kind[rows] == 1, cz.card_factor, 1.0) * np.where(
        mon - st.m0[rows] <= cz.early_months, cz.early_factor, 1.0
    )
    p = np.minimum(np.where(c == CONFUSED, p * factor, p), 1.0)
    miss = dr.u(_crn.U_ATTEMPT, rows) < p
    short = miss & (dr.u(U_PARTIAL, rows) < cz.partial[c])
    return miss & ~short, short


def cause_hazard(
    cz: CauseArrays, st: State, rows: np.ndarray, hard: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The daily chance of paying arrears unprompted, and whether such a payment
    clears them all (``u``: a uniform per row) rather than the oldest obligation."""
    c = st.cause[rows].astype(np.int64)
    return np.where(hard, cz.hazard_in_hardship[c], cz.hazard[c]), u < cz.catch_up[c]


@dataclass(frozen=True)
class Response:
    """What the reached customers of a cause do about an action (arrays over actions)."""

    cured: np.ndarray  # pays everything overdue: now (call, visit) or within days
    pay_now: np.ndarray  # 1 where the cure is a payment on the spot, else 0
    promise: np.ndarray  # chance of a promise (calls and visits that did not cure)
    keep: np.ndarray
    accept: np.ndarray
    stubborn: np.ndarray  # refuses outright when talked to and not moved


def cause_complaints(
    cz: CauseArrays, st: State, rows: np.ndarray, a: np.ndarray, reached: np.ndarray, dr
) -> np.ndarray:
    """Complaints a reached call, visit or legal action brings, by the customer's cause."""
    c = st.cause[rows].astype(np.int64)
    pressed = reached & np.isin(a, PRESSURE)
    return pressed & (dr.u(U_COMPLAINT, rows) < cz.complaint[c])


def cause_response(
    cz: CauseArrays,
    st: State,
    rows: np.ndarray,
    a: np.ndarray,
    ok: np.ndarray,
    is_voice: np.ndarray,
    day: int,
    dr: _crn.Draws,
) -> Response:
    """Cures, promises and acceptances of the reached customers (``ok``), by cause.

    A cure by an SMS, letter or legal action schedules the payment of the
    whole overdue amount on one of the next ``cure_days`` (legal:
    ``legal_days``) days, today included; a cure by a call or a visit is a
    payment on the spot.
    """
    c = st.cause[rows].astype(np.int64)
    cured = ok & (dr.u(U_CURE, rows) < cz.cure[a, c])
    later = cured & ~is_voice
    if later.any():
        span = np.where(a[later] == C.LEGAL, cz.legal_days, cz.cure_days)
        delay = np.floor(dr.u(U_DELAY, rows[later]) * span).astype(np.int64)
        st.cure_pay[rows[later]] = day + delay
    now = cured & is_voice
    return Response(
        cured=cured,
        pay_now=now.astype(np.float64),
        promise=np.where(is_voice & ~cured, cz.promise[c], 0.0),
        keep=cz.keep[c],
        accept=cz.accept[c],
        stubborn=c == STRATEGIC,
    )


def down_payments(cz: CauseArrays, st: State, rows: np.ndarray, dr: _crn.Draws) -> np.ndarray:
    """What customers who just accepted a plan pay at once: its first instalment, or 0.

    Call after the restructuring: ``st.pmt`` is then the new plan's instalment.
    """
    c = st.cause[rows].astype(np.int64)
    pays = dr.u(U_CURE, rows) < cz.down_payment[c]
    return np.where(pays, st.pmt[rows], 0).astype(np.int64)
