"""Run-time parameters and bookkeeping of the engine: the scenario as arrays, the
recorder of the history, the tracker of forward runs, and one run's environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _codes as C
from ._calendar import NEVER
from ._causes import CauseArrays
from ._population import Population
from ._scenario import RESPONSE_TYPES, Scenario

__all__ = ["Env", "Params", "Recorder", "Tracker"]


@dataclass(frozen=True)
class Params:
    """The scenario as lookup arrays for the vectorised step."""

    s: Scenario
    complexity: np.ndarray  # by product
    prepay: np.ndarray  # monthly, by product (instalment loans)
    hazard: np.ndarray  # daily arrears hazard by response type
    lift: np.ndarray  # (action, 5): confused, then response types
    contact: np.ndarray
    cost: np.ndarray
    effect_days: np.ndarray
    promise_rate: np.ndarray
    pay_now: np.ndarray
    keep: np.ndarray  # by response type
    accept: np.ndarray  # by response type
    bonus: np.ndarray  # willingness bonus after a restructuring, by response type
    card_min_share: float
    card_min_floor: int
    card_grace: int
    card_rate: float
    causes: CauseArrays | None = None  # the cause model, when the scenario enables it

    @classmethod
    def from_scenario(cls, s: Scenario) -> Params:
        p, b, a = s.products, s.behaviour, s.actions
        kinds = ("confused", *RESPONSE_TYPES)
        n_act = len(C.ACTIONS)
        lift = np.ones((n_act, len(kinds)))
        contact = np.zeros(n_act)
        cost = np.zeros(n_act)
        days = np.zeros(n_act, np.int32)
        promise = np.zeros(n_act)
        pay_now = np.zeros(n_act)
        for code, name in enumerate(C.ACTIONS):
            if name in ("none", "restructure"):
                continue
            ap = getattr(a, name)
            lift[code] = [getattr(ap, f"lift_{k}") for k in kinds]
            contact[code], cost[code], days[code] = ap.contact_rate, ap.cost, ap.effect_days
            promise[code], pay_now[code] = ap.promise_rate, ap.pay_now_rate
        r = a.restructure
        contact[C.RESTRUCTURE], cost[C.RESTRUCTURE] = r.contact_rate, r.cost
        bonus = np.full(len(RESPONSE_TYPES), r.willingness_bonus)
        bonus[RESPONSE_TYPES.index("restructure_only")] = r.restructure_only_bonus
        return cls(
            s=s,
            complexity=np.array([p.pos.complexity, p.cash.complexity, p.card.complexity]),
            prepay=np.array([p.pos.prepay_monthly, p.cash.prepay_monthly, p.cash.prepay_monthly]),
            hazard=np.array([getattr(b, f"hazard_{t}") for t in RESPONSE_TYPES]),
            lift=lift,
            contact=contact,
            cost=cost,
            effect_days=days,
            promise_rate=promise,
            pay_now=pay_now,
            keep=np.array([getattr(a, f"keep_{t}") for t in RESPONSE_TYPES]),
            accept=np.array([getattr(r, f"accept_{t}") for t in RESPONSE_TYPES]),
            bonus=bonus,
            card_min_share=p.card.min_share,
            card_min_floor=round(p.card.min_floor * 100),
            card_grace=p.card.grace_days,
            card_rate=p.card.rate / 12,
            causes=CauseArrays.from_scenario(s),
        )


@dataclass
class Recorder:
    """Events of the generated history, as lists of per-day arrays."""

    payments: list = field(default_factory=list)  # slot, seg, day, cents
    collections: list = field(default_factory=list)
    statements: list = field(default_factory=list)
    segments: list = field(default_factory=list)  # new loans from restructuring
    closures: list = field(default_factory=list)  # slot, seg, day


@dataclass
class Tracker:
    """Per-row outcomes of a forward or Monte Carlo run."""

    n: int
    track_from: int = 0  # first day whose payments count
    window_end: int = NEVER  # last day whose payments count
    seg0: np.ndarray = None
    hit30: np.ndarray = None
    recovered: np.ndarray = None
    first_pay: np.ndarray = None
    cost: np.ndarray = None
    contacts: np.ndarray = None
    harsh: np.ndarray = None
    blocked: np.ndarray = None
    restructured: np.ndarray = None
    complaints: np.ndarray = None
    delinquent: np.ndarray = None
    cured: np.ndarray = None
    actions: np.ndarray = None

    def __post_init__(self) -> None:
        n = self.n
        self.seg0 = np.zeros(n, np.int16)
        self.complaints = np.zeros(n, np.int32)
        self.delinquent = np.zeros(n, bool)
        self.cured = np.zeros(n, bool)
        self.hit30 = np.zeros(n, bool)
        self.recovered = np.zeros(n, np.int64)
        self.first_pay = np.full(n, NEVER, np.int32)
        self.cost = np.zeros(n)
        self.contacts = np.zeros(n, np.int32)
        self.harsh = np.zeros(n, np.int32)
        self.blocked = np.zeros(n, np.int32)
        self.restructured = np.zeros(n, bool)
        self.actions = np.zeros(len(C.ACTIONS), np.int64)


@dataclass
class Env:
    """What one run needs besides the state."""

    pop: Population
    params: Params
    seed: int
    stream: int  # loan-level draws
    cstream: int  # customer-level draws
    policy: Callable | None = None
    forced: dict | None = None  # day -> action codes for every row (action response)
    recorder: Recorder | None = None
    tracker: Tracker | None = None
    snapshot_days: tuple[int, ...] = ()
    snapshots: dict = field(default_factory=dict)
