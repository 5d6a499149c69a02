"""Collection policies: what the simulated lender does to overdue accounts each day.

A policy is any callable that takes a :class:`PolicyContext` (the observable
state of the day's overdue accounts) and returns one action per account:
action names (``"none"``, ``"sms"``, ``"call"``, ``"visit"``, ``"letter"``,
``"restructure"``, ``"legal"``) or their codes. It may also return a pair
``(actions, propensity)``, as the logged policy does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dates import day_of, to_date
from ..exceptions import OverdueRiskError
from . import _codes as C
from ._scenario import Scenario

__all__ = [
    "LoggedPolicy",
    "NoAction",
    "PolicyContext",
    "RandomPolicy",
    "WorklistPolicy",
    "as_policy",
]


@dataclass(frozen=True, eq=False)
class PolicyContext:
    """The observable state of the overdue accounts on one day.

    Every array has one entry per account (per account and replicate in a
    Monte Carlo run). Nothing hidden (capacity, willingness, habits, response
    type, hardship) is here: only what a lender's systems know.

    Attributes
    ----------
    day : int
        The day, as days since 1970-01-01; ``date`` gives it as a Timestamp.
    dpd : ndarray of int
        Days past due this morning (before today's payments); at least 1.
    overdue_amount, balance : ndarray of float
        Overdue amount and outstanding exposure.
    product : ndarray of str
        ``pos``, ``cash`` or ``card``.
    days_since_last_contact, days_since_last_payment : ndarray of float
        NaN when never.
    contacts_7d : ndarray of int
        Contact attempts (SMS, call, visit, letter) in the previous 7 days.
    promise_pending, opted_out, in_legal, holdout : ndarray of bool
        A promise to pay not yet due; calls and visits refused after a
        complaint; legal action started; the account is in the challenger cell.
    broken_promises, restructures : ndarray of int
    uniform : ndarray of float
        A uniform random number per account for randomised policies, drawn
        from the common random numbers so that runs are reproducible.
    replicate : ndarray of int
        The Monte Carlo path of each row (0 in a single run).
    account : ndarray of int
        A key of the account (and path) that stays the same on every day of
        a run, so that a policy can keep its own log of what it did; the
        same account has the same key in two runs from the same state.
    product_type : ndarray of str
        ``instalment`` or ``revolving``: how the current loan is repaid (a
        restructured card is an instalment loan; ``product`` stays ``card``).
    promise_date : ndarray of float
        The date of the latest promise to pay made on the current loan, as
        days since 1970-01-01, kept or broken or pending; NaN when none.
    contact_days, voice_days : ndarray of uint16
        The days of the last 15 with a contact attempt (SMS, call, visit,
        letter), and with a call or visit: bit ``k`` is set when there was
        one ``k`` days ago (``k`` = 1 .. 15; bit 0, today, is never set).
        Older attempts are not kept.
    days_since_restructure : ndarray of float
        Days since the current loan replaced a restructured one (the day the
        restructuring offer was accepted); NaN for a loan never restructured.

    Notes
    -----
    What the simulator does not record is not here: whether an attempt
    reached the customer (the lender's outcome codes other than a promise,
    a payment on the spot or a complaint), offers that were refused, and
    contact attempts older than 15 days.

    Examples
    --------
    A policy that calls accounts from 10 DPD unless they opted out, and sends
    an SMS otherwise:

    >>> import numpy as np
    >>> def calls_from_10(ctx):
    ...     return np.where((ctx.dpd >= 10) & ~ctx.opted_out, "call", "sms")
    >>> import overdue_risk as odr
    >>> _, truth = odr.simulate_portfolio(300, "2024-01-01", "2024-06-30", seed=1)
    >>> from overdue_risk.simulate import simulate_policy
    >>> result = simulate_policy(truth, "2024-05-01", 14, calls_from_10)
    >>> bool(result.summary()["n_call"] > 0)
    True
    """

    day: int
    dpd: np.ndarray
    overdue_amount: np.ndarray
    balance: np.ndarray
    product: np.ndarray
    days_since_last_contact: np.ndarray
    days_since_last_payment: np.ndarray
    contacts_7d: np.ndarray
    promise_pending: np.ndarray
    opted_out: np.ndarray
    in_legal: np.ndarray
    holdout: np.ndarray
    broken_promises: np.ndarray
    restructures: np.ndarray
    uniform: np.ndarray
    replicate: np.ndarray
    account: np.ndarray
    product_type: np.ndarray
    promise_date: np.ndarray
    contact_days: np.ndarray
    voice_days: np.ndarray
    days_since_restructure: np.ndarray
    _loan_ids: Callable[[], np.ndarray] = field(repr=False)

    @staticmethod
    def _recent_days(bits: np.ndarray, bits_day: np.ndarray, day: int) -> np.ndarray:
        """A contact bitmask kept as of ``bits_day`` (bit ``i`` = day ``bits_day - i``),
        re-aligned to ``day``: bit ``k`` = ``k`` days before ``day``, for k = 1 .. 15."""
        shift = day - np.asarray(bits_day, np.int64)
        moved = np.asarray(bits, np.uint32) << np.minimum(shift, 16).astype(np.uint32)
        return np.where(shift >= 16, 0, moved & 0xFFFE).astype(np.uint16)

    @property
    def date(self) -> pd.Timestamp:
        return pd.Timestamp(to_date(self.day))

    @property
    def loan_id(self) -> np.ndarray:
        """The loan id of each account (built on first use)."""
        return self._loan_ids()

    def __len__(self) -> int:
        return self.dpd.size

    def frame(self) -> pd.DataFrame:
        """The context as a DataFrame, one row per account."""
        names = [
            "dpd",
            "overdue_amount",
            "balance",
            "product",
            "days_since_last_contact",
            "days_since_last_payment",
            "contacts_7d",
            "promise_pending",
            "opted_out",
            "in_legal",
            "holdout",
            "broken_promises",
            "restructures",
            "replicate",
            "account",
            "product_type",
            "promise_date",
            "contact_days",
            "voice_days",
            "days_since_restructure",
        ]
        df = pd.DataFrame({n: getattr(self, n) for n in names})
        df.insert(0, "loan_id", self.loan_id)
        return df


def to_codes(actions, n: int) -> np.ndarray:
    """Action names or codes as an int8 array of codes; rejects anything else."""
    if actions is None:
        return np.zeros(n, np.int8)
    a = np.asarray(actions)
    if a.shape != (n,):
        raise OverdueRiskError(f"A policy must return one action per account ({n}); got {a.shape}.")
    if a.dtype.kind in "iu":
        if n and (a.min() < 0 or a.max() >= len(C.ACTIONS)):
            raise OverdueRiskError(f"Action codes must be in [0, {len(C.ACTIONS) - 1}].")
        return a.astype(np.int8)
    if a.dtype.kind in "UO":
        names = pd.Series(a, dtype=object).fillna("none").replace("", "none")
        codes = names.map(C.ACTION_CODES)
        if codes.isna().any():
            bad = sorted(set(names[codes.isna()].astype(str)))[:3]
            raise OverdueRiskError(
                f"Unknown action(s) {', '.join(map(repr, bad))}; use one of {', '.join(C.ACTIONS)}."
            )
        return codes.to_numpy(dtype=np.int8)
    raise OverdueRiskError(f"A policy must return action names or codes; got dtype {a.dtype}.")


class NoAction:
    """A policy that never acts: the baseline for self-cure.

    Examples
    --------
    >>> from overdue_risk.simulate import NoAction
    >>> NoAction()
    NoAction()
    """

    def __call__(self, ctx: PolicyContext) -> np.ndarray:
        return np.zeros(len(ctx), np.int8)

    def __repr__(self) -> str:
        return "NoAction()"


def _cadence(dpd: np.ndarray, start: int, every: int, until: int) -> np.ndarray:
    return (dpd >= start) & (dpd <= until) & ((dpd - start) % every == 0)


class RandomPolicy:
    """Randomised actions: the challenger cell's policy.

    Each day, each overdue account gets an action with probability ``rate``,
    drawn uniformly from those it is eligible for: SMS and letter always; a
    call unless opted out; a visit from ``visit_from`` DPD unless opted out;
    a restructuring offer from 30 DPD while restructurings are left; legal
    action from ``legal_from`` DPD, once. Accounts under legal action get
    nothing more. The propensity of each chosen action is
    ``rate / (number of eligible actions)``.

    Parameters
    ----------
    scenario : Scenario, optional
        Supplies ``collections`` thresholds; the defaults otherwise.
    rate : float, optional
        Daily chance of an action; ``scenario.collections.challenger_rate`` by default.

    Examples
    --------
    >>> from overdue_risk.simulate import RandomPolicy
    >>> RandomPolicy(rate=0.2).rate
    0.2
    """

    def __init__(self, scenario: Scenario | None = None, *, rate: float | None = None):
        self.scenario = scenario or Scenario()
        c = self.scenario.collections
        self.rate = c.challenger_rate if rate is None else float(rate)
        if not 0.0 <= self.rate <= 1.0:
            raise OverdueRiskError(f"rate must be in [0, 1]; got {rate!r}.")

    def eligible(self, ctx: PolicyContext) -> np.ndarray:
        """(accounts, 7) booleans: which actions each account may get (column 0 unused)."""
        c = self.scenario.collections
        n = len(ctx)
        e = np.zeros((n, len(C.ACTIONS)), bool)
        free = ~ctx.in_legal
        e[:, C.SMS] = free
        e[:, C.LETTER] = free
        e[:, C.CALL] = free & ~ctx.opted_out
        e[:, C.VISIT] = free & ~ctx.opted_out & (ctx.dpd >= c.visit_from)
        e[:, C.RESTRUCTURE] = free & (ctx.restructures < c.max_restructures) & (ctx.dpd >= 30)
        e[:, C.LEGAL] = free & (ctx.dpd >= c.legal_from)
        return e

    def choose(self, ctx: PolicyContext, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = self.eligible(ctx)
        count = e.sum(axis=1)
        act = (u < self.rate) & (count > 0)
        # Reuse the same uniform: below the rate, u / rate is again uniform.
        v = np.where(act, u / max(self.rate, 1e-300), 0.0)
        k = np.minimum((v * count).astype(np.int64), np.maximum(count - 1, 0))
        rank = np.cumsum(e, axis=1) - 1  # rank of each eligible action in its row
        pick = np.argmax(e & (rank == k[:, None]), axis=1)
        codes = np.where(act, pick, 0).astype(np.int8)
        prop = np.where(act, self.rate / np.maximum(count, 1), 1.0)
        return codes, prop

    def __call__(self, ctx: PolicyContext) -> tuple[np.ndarray, np.ndarray]:
        return self.choose(ctx, ctx.uniform)

    def __repr__(self) -> str:
        return f"RandomPolicy(rate={self.rate:g})"


class LoggedPolicy:
    """The lender's logged policy: champion rules, with a randomised challenger cell.

    Champion accounts follow ``scenario.collections``: SMS from DPD 1, calls
    from DPD 5, letters on fixed days, visits from DPD 30 for large balances,
    a restructuring offer at DPD 60 and legal action from DPD 90, the harshest
    first, at most one action a day. Accounts in the challenger cell
    (``holdout``) get :class:`RandomPolicy` actions. The propensity is the
    probability of the action within the account's cell: 1 for champion
    actions, ``rate / eligible`` for challenger ones.

    Examples
    --------
    >>> from overdue_risk.simulate import LoggedPolicy
    >>> LoggedPolicy().challenger
    RandomPolicy(rate=0.3)
    """

    def __init__(self, scenario: Scenario | None = None):
        self.scenario = scenario or Scenario()
        self.challenger = RandomPolicy(self.scenario)

    def champion(self, ctx: PolicyContext) -> np.ndarray:
        c = self.scenario.collections
        dpd = ctx.dpd
        free = ~ctx.in_legal
        waiting = ctx.promise_pending
        can_talk = free & ~ctx.opted_out & ~waiting
        a = np.zeros(len(ctx), np.int8)
        # Lowest priority first: later assignments win.
        a[free & ~waiting & _cadence(dpd, c.sms_from, c.sms_every, c.sms_until)] = C.SMS
        a[free & np.isin(dpd, c.letter_days)] = C.LETTER
        a[can_talk & _cadence(dpd, c.call_from, c.call_every, c.call_until)] = C.CALL
        visit = _cadence(dpd, c.visit_from, c.visit_every, c.visit_until)
        a[can_talk & visit & (ctx.balance >= c.visit_min_balance)] = C.VISIT
        a[free & (dpd == c.restructure_at) & (ctx.restructures < c.max_restructures)] = (
            C.RESTRUCTURE
        )
        a[free & (dpd >= c.legal_from)] = C.LEGAL
        return a

    def __call__(self, ctx: PolicyContext) -> tuple[np.ndarray, np.ndarray]:
        a = self.champion(ctx)
        prop = np.ones(len(ctx))
        h = ctx.holdout
        if h.any():
            sub = _subset(ctx, np.flatnonzero(h))
            a[h], prop[h] = self.challenger.choose(sub, sub.uniform)
        return a, prop

    def __repr__(self) -> str:
        return f"LoggedPolicy(challenger_share={self.scenario.collections.challenger_share:g})"


def _subset(ctx: PolicyContext, rows: np.ndarray) -> PolicyContext:
    values = {}
    for name in PolicyContext.__dataclass_fields__:
        v = getattr(ctx, name)
        if name == "_loan_ids":
            values[name] = lambda v=v: v()[rows]
        elif isinstance(v, np.ndarray):
            values[name] = v[rows]
        else:
            values[name] = v
    return PolicyContext(**values)


class WorklistPolicy:
    """A policy given as worklists: ``{date: DataFrame(loan_id, action)}``.

    Accounts not on the day's worklist get no action; listed loans that are
    not overdue that day are ignored.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk.simulate import WorklistPolicy
    >>> w = WorklistPolicy({"2024-03-01": pd.DataFrame({"loan_id": ["L0000001"],
    ...                                                  "action": ["call"]})})
    >>> sorted(w.days)
    [19783]
    """

    def __init__(self, worklists: Mapping):
        self.days: dict[int, pd.DataFrame] = {}
        for key, df in worklists.items():
            if not isinstance(df, pd.DataFrame) or not {"loan_id", "action"} <= set(df.columns):
                raise OverdueRiskError(
                    "Each worklist must be a DataFrame with columns loan_id and action."
                )
            day = day_of(key, "worklist date")
            df = df[["loan_id", "action"]].drop_duplicates("loan_id", keep="first")
            codes = to_codes(df["action"].to_numpy(dtype=object), len(df))
            self.days[day] = pd.Series(codes, index=pd.Index(df["loan_id"].astype(str)))

    def __call__(self, ctx: PolicyContext) -> np.ndarray:
        wl = self.days.get(ctx.day)
        if wl is None or not len(ctx):
            return np.zeros(len(ctx), np.int8)
        pos = wl.index.get_indexer(pd.Index(ctx.loan_id.astype(str)))
        return np.where(pos >= 0, wl.to_numpy()[np.maximum(pos, 0)], 0).astype(np.int8)


def as_policy(policy) -> Callable[[PolicyContext], object]:
    """A callable policy from a callable, a worklist mapping, or None (no action)."""
    if policy is None:
        return NoAction()
    if isinstance(policy, Mapping):
        return WorklistPolicy(policy)
    if callable(policy):
        return policy
    raise OverdueRiskError(
        "policy must be a callable (PolicyContext) -> actions, or a mapping "
        f"{{date: DataFrame(loan_id, action)}}; got {type(policy).__name__}."
    )
