"""The one-step oracle's run: a policy that sees, each morning, the truth's value of each action.

Every morning of the run the overdue accounts' exact hidden state is branched:
for each (account, action) pair the policy asks about, the action is forced
that day in a short Monte Carlo look-ahead, the logged policy acting on the
following days, and the expected money recovered less every collection cost
is compared with that of no action today. The look-aheads draw from another
stream than the run (the oracle never sees its own future) and share their
draws across the actions of an account (common random numbers). Between the
mornings the run is the engine's, exactly as :func:`simulate_policy` runs it.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import OverdueRiskError
from . import _codes as C
from . import _crn
from ._actions import _context
from ._calendar import dom_of, month_of
from ._engine import reset_clocks
from ._forward import ForwardRun, PolicyResult, SimulationState, _run_days, _start, forward_run
from ._observe import Obs, observe
from ._params import Env, Tracker
from ._policy import LoggedPolicy, as_policy, to_codes

__all__ = ["simulate_oracle"]


class _Lookahead:
    """The truth's one-step values on one morning of a run: see :func:`simulate_oracle`."""

    def __init__(self, source: SimulationState, accounts, day, horizon, n_paths, seed, then):
        self.source, self.accounts, self.day = source, accounts, day
        self.horizon, self.n_paths, self.seed, self.then = horizon, n_paths, seed, then

    def __call__(self, actions, eligible) -> np.ndarray:
        names = [actions] if isinstance(actions, str) else list(actions)
        unknown = [a for a in names if a not in C.ACTION_CODES or a == C.ACTIONS[0]]
        if unknown or not names:
            raise OverdueRiskError(
                f"lookahead actions must be among {', '.join(C.ACTIONS[1:])}; "
                f"got {unknown or names!r}."
            )
        eligible = np.asarray(eligible, dtype=bool)
        m = self.accounts.size
        if eligible.shape != (m, len(names)):
            raise OverdueRiskError(
                f"lookahead eligible must have shape (accounts, actions) = ({m}, {len(names)}); "
                f"got {eligible.shape}."
            )
        gain = np.full(eligible.shape, np.nan)
        i, j = np.nonzero(eligible)
        if not i.size:
            return gain
        base = np.unique(i)  # the accounts valued: their "none" is the baseline
        codes = np.asarray([C.ACTION_CODES[a] for a in names], np.int8)
        fr = forward_run(
            self.source,
            np.concatenate([self.accounts[base], self.accounts[i]]),
            self.day,
            self.horizon,
            self.then,
            seed=self.seed,
            stream=_crn.RESPONSE,
            n_paths=self.n_paths,
            forced_codes=np.concatenate([np.zeros(base.size, np.int8), codes[j]]),
        )
        tr = fr.tracker
        net = (tr.recovered / 100 - tr.cost).reshape(self.n_paths, -1).mean(axis=0)
        gain[i, j] = net[base.size :] - net[np.searchsorted(base, i)]
        return gain


def simulate_oracle(
    source,
    start_date,
    days: int,
    policy,
    *,
    horizon_days: int = 30,
    lookahead_paths: int = 10,
    then=None,
    seed: int | None = None,
    n_paths: int = 1,
    loans=None,
) -> PolicyResult:
    """The one-step oracle's run: see :meth:`SimulationTruth.simulate_oracle`."""
    for name, value in (("horizon_days", horizon_days), ("lookahead_paths", lookahead_paths)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise OverdueRiskError(f"{name} must be a positive integer; got {value!r}.")
    if not callable(policy):
        raise OverdueRiskError(
            f"policy must be a callable (PolicyContext, lookahead) -> actions; got "
            f"{type(policy).__name__}."
        )
    state, rows, first = _start(source, start_date, days, n_paths, loans)
    truth = state._truth
    then = LoggedPolicy(truth.scenario) if then is None else as_policy(then)
    seed = truth.seed if seed is None else int(seed)
    n_paths = int(n_paths)
    sub = state._state.take(rows, n_paths)
    last = first + int(days) - 1
    tracker = Tracker(sub.n_rows, track_from=first, window_end=last)
    tracker.seg0[:] = sub.seg
    env = Env(
        pop=truth._pop,
        params=truth._params,
        seed=seed,
        stream=_crn.FORWARD,
        cstream=_crn.FORWARD + 100,
        tracker=tracker,
    )
    reset_clocks(env, sub, first, stationary=False)

    def morning(day: int) -> None:
        # What the engine would show a policy this morning (see _actions.choose).
        codes = np.zeros(sub.n_rows, np.int8)
        due = np.flatnonzero(sub.next_check <= day)
        mon = int(month_of(np.array([day]))[0])
        dom = int(dom_of(np.array([day]), np.array([mon]))[0])
        ob = observe(sub, due, day, mon, dom, mutate=False)
        over = np.flatnonzero(ob.dpd >= 1)
        if over.size:
            acct = due[over]
            seen = Obs(*(getattr(ob, f)[over] for f in Obs.__dataclass_fields__))
            u = _crn.uniform(seed, _crn.FORWARD, day, sub.slot[acct], _crn.U_POLICY, sub.rep[acct])
            ctx = _context(env, sub, acct, seen, day, u)
            look = _Lookahead(
                SimulationState(truth, day - 1, sub),
                acct,
                day,
                horizon_days,
                lookahead_paths,
                seed,
                then,
            )
            out = policy(ctx, look)
            codes[acct] = to_codes(out[0] if isinstance(out, tuple) else out, acct.size)
        env.forced = {day: codes}

    totals = _run_days(env, sub, first, last, morning)
    fr = ForwardRun(sub, tracker, rows, n_paths, 1, first, last, totals)
    return PolicyResult(fr, state, policy)
