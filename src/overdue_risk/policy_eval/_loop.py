"""The policies of a closed-loop run, as the simulator calls them every morning.

A :class:`LoopPolicy` builds the morning's state of the overdue accounts from
what the lender observes (:func:`~._daily.daily_state`), applies the
strategy's rules and the simulator's hard ones (no call or visit after an
opt-out, one legal action, the restructuring limit), lets its chooser pick
the day's actions, and records what it did: its own log (the history of the
next mornings), the day's actions per path, the actions the rules forbid and
those beyond a day's capacity. Choosers that allocate fill each path's
capacity separately: a path is a lender of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .._dates import to_datetime
from ..contract import WAIT
from ..exceptions import OverdueRiskError
from ..prioritise import Strategy, action_values, allocate, eligibility
from ._daily import ACTION_CODES, RunLog, daily_state
from ._ladder import heuristic_actions, ladder_level

__all__ = [
    "DAY_COLUMNS",
    "LoopPolicy",
    "ladder_chooser",
    "oracle_chooser",
    "value_chooser",
]

_NAMES = tuple(ACTION_CODES)  # by code
# Per day and path: accounts overdue that morning, actions taken by kind, and breaches.
DAY_COLUMNS = (
    "overdue",
    "treated",
    *(f"n_{a}" for a in _NAMES[1:]),
    "rule_violations",
    "over_capacity",
)


def per_path(replicate: np.ndarray, choose: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``choose(rows)`` for the rows of each path in turn: one lender, one capacity, per path."""
    out = np.full(replicate.size, -1, np.int64)
    for p in np.unique(replicate):
        rows = np.flatnonzero(replicate == p)
        out[rows] = choose(rows)
    return out


class LoopPolicy:
    """One policy of a closed-loop run.

    Parameters
    ----------
    choose : callable, optional
        ``choose(policy, ctx, state, eligible, lookahead)`` -> the chosen
        column of ``policy.names`` per account (-1: wait).
    inner : callable, optional
        A simulator policy (``inner(ctx)`` -> actions) whose actions are
        taken as they are, capacities and rules notwithstanding: they are
        only counted against them. One of ``choose`` and ``inner``.
    strategy : Strategy
    scenario : Scenario
        The simulator's, for the ladder's thresholds and the restructuring limit.
    capacity : dict of str to float
        Each action's capacity per day and path.
    n_paths, first : int
        The run's paths and first day.
    scorer : callable, optional
        ``scorer(state)`` -> a risk score per account, joined as ``risk_score``.
    last : int, optional
        The last day the policy decides; on later days (a run-off) ``then``
        acts instead (no action when None), unrecorded: the decisions, their
        counts and the rule checks cover the policy's days alone.
    then : callable, optional
        The simulator policy of the run-off.
    """

    def __init__(
        self,
        choose=None,
        *,
        inner=None,
        strategy: Strategy,
        scenario,
        capacity: dict,
        n_paths: int,
        first: int,
        scorer=None,
        last: int | None = None,
        then=None,
    ):
        self.choose, self.inner = choose, inner
        self.last, self.then = last, then
        self.strategy, self.scenario, self.scorer = strategy, scenario, scorer
        self.names = tuple(a for a in strategy.action_names if a != WAIT)
        self.cap = np.array([capacity[a] for a in self.names], dtype=np.float64)
        self.n_paths = n_paths
        self.log = RunLog(first)
        self.days: list[np.ndarray] = []  # per morning: (paths, DAY_COLUMNS)
        self.dates: list[int] = []
        self.first_choice: tuple[np.ndarray, np.ndarray] | None = None
        self.first_gain: tuple[np.ndarray, np.ndarray] | None = None
        # The simulator code of each column of names, and the column of each code.
        self._code = np.array([ACTION_CODES[a] for a in self.names], np.int8)
        self._column = np.full(len(_NAMES), -1, np.int64)
        self._column[self._code] = np.arange(len(self.names))

    def __call__(self, ctx, lookahead=None):
        n = len(ctx)
        if self.last is not None and int(ctx.day) > self.last:  # the run-off
            if self.then is None:
                return np.zeros(n, np.int8)
            out = self.then(ctx)
            return _as_codes(out[0] if isinstance(out, tuple) else out, n)
        state = daily_state(
            ctx, self.strategy, self.log, self.scenario.collections.max_restructures
        )
        if self.scorer is not None:
            state["risk_score"] = self._scores(state)
        rules = eligibility(self.strategy, state)
        columns = [rules.actions.index(a) for a in self.names]
        eligible = rules.eligible[:, columns] & self._engine_allows(ctx)
        if self.inner is not None:
            out = self.inner(ctx)
            codes = _as_codes(out[0] if isinstance(out, tuple) else out, n)
        else:
            chosen = self.choose(self, ctx, state, eligible, lookahead)
            codes = np.where(chosen >= 0, self._code[np.maximum(chosen, 0)], 0).astype(np.int8)
            out = codes
        self._record(ctx, codes, eligible)
        return out

    def columns_of(self, codes: np.ndarray) -> np.ndarray:
        """The column of ``names`` of each simulator action code (-1: none, or not enabled)."""
        return self._column[codes]

    def _scores(self, state: pd.DataFrame) -> np.ndarray:
        scores = np.asarray(self.scorer(state), dtype=np.float64).reshape(-1)
        if scores.shape != (len(state),) or not np.all((scores >= 0) & (scores <= 1)):
            raise OverdueRiskError(
                "scorer must return one probability in [0, 1] per account of the state "
                f"({len(state)}); got shape {scores.shape}"
                + ("" if scores.shape != (len(state),) else ", with values outside [0, 1]")
                + "."
            )
        return scores

    def _engine_allows(self, ctx) -> np.ndarray:
        """The simulator's hard rules, which no strategy can lift."""
        allows = np.ones((len(ctx), len(self.names)), bool)
        for j, a in enumerate(self.names):
            if a in ("call", "visit"):
                allows[:, j] = ~np.asarray(ctx.opted_out, bool)
            elif a == "legal":
                allows[:, j] = ~np.asarray(ctx.in_legal, bool)
            elif a == "restructure":
                limit = self.scenario.collections.max_restructures
                allows[:, j] = np.asarray(ctx.restructures) < limit
        return allows

    def _record(self, ctx, codes: np.ndarray, eligible: np.ndarray) -> None:
        day, rep, paths = int(ctx.day), np.asarray(ctx.replicate, np.int64), self.n_paths
        self.log.record(day, ctx.account, codes)
        if self.first_choice is None:
            self.first_choice = (ctx.account.copy(), codes.copy())
        k = len(_NAMES)
        counts = np.bincount(rep * k + codes, minlength=paths * k).reshape(paths, k)
        column = self._column[codes]
        taken = codes > 0
        rows = np.arange(codes.size)
        # An action the strategy does not enable, or one its rules forbid today.
        broken = taken & ((column < 0) | ~eligible[rows, np.maximum(column, 0)])
        finite = np.isfinite(self.cap)
        over = np.maximum(counts[:, self._code[finite]] - self.cap[finite], 0).sum(axis=1)
        self.days.append(
            np.column_stack(
                [
                    np.bincount(rep, minlength=paths),
                    counts[:, 1:].sum(axis=1),
                    counts[:, 1:],
                    np.bincount(rep[broken], minlength=paths),
                    over,
                ]
            ).astype(np.float64)
        )
        self.dates.append(day)

    def decisions(self) -> pd.DataFrame:
        """One row per morning and path: :data:`DAY_COLUMNS`."""
        if not self.days:
            index = pd.MultiIndex.from_arrays([[], []], names=["date", "path"])
            return pd.DataFrame(columns=list(DAY_COLUMNS), index=index, dtype=np.float64)
        values = np.concatenate(self.days)
        dates = np.repeat(np.asarray(self.dates, np.int64), self.n_paths)
        paths = np.tile(np.arange(self.n_paths), len(self.dates))
        index = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex(to_datetime(dates)), paths], names=["date", "path"]
        )
        return pd.DataFrame(values, index=index, columns=list(DAY_COLUMNS))


def _as_codes(actions, n: int) -> np.ndarray:
    """A simulator policy's actions (names or codes) as codes."""
    if actions is None:
        return np.zeros(n, np.int8)
    a = np.asarray(actions)
    if a.shape != (n,):
        raise OverdueRiskError(f"A policy must return one action per account ({n}); got {a.shape}.")
    if a.dtype.kind in "iu" and (not n or (a.min() >= 0 and a.max() < len(_NAMES))):
        return a.astype(np.int8)
    codes = pd.Series(a, dtype=object).map(ACTION_CODES)
    if codes.isna().any():
        bad = sorted(set(map(str, a[codes.isna().to_numpy()])))[:3]
        raise OverdueRiskError(f"Unknown action(s) {bad}; use one of {', '.join(_NAMES)}.")
    return codes.to_numpy(dtype=np.int8)


def value_chooser(model):
    """Allocate each path's capacity to the value model's net values (the prioritiser)."""

    def choose(policy: LoopPolicy, ctx, state, eligible, lookahead) -> np.ndarray:
        net = np.full(eligible.shape, np.nan)
        some = np.flatnonzero(eligible.any(axis=1))  # the others can only wait: not valued
        if some.size:
            net[some] = action_values(model, state.iloc[some], policy.names, policy.strategy)[1]
        usable = eligible & ~np.isnan(net)
        value = np.where(usable, net, 0.0)
        return per_path(
            ctx.replicate, lambda rows: allocate(value[rows], usable[rows], policy.cap).action
        )

    return choose


def ladder_chooser(priority: Callable[[pd.DataFrame], np.ndarray]):
    """Fill each path's capacity down the treatment ladder, highest ``priority`` first."""

    def choose(policy: LoopPolicy, ctx, state, eligible, lookahead) -> np.ndarray:
        level = ladder_level(state, policy.scenario)
        order = np.asarray(priority(state), dtype=np.float64)
        return per_path(
            ctx.replicate,
            lambda rows: heuristic_actions(
                order[rows], level[rows], eligible[rows], policy.names, policy.cap
            ),
        )

    return choose


def oracle_chooser(policy: LoopPolicy, ctx, state, eligible, lookahead) -> np.ndarray:
    """Allocate each path's capacity to the truth's one-step net gains (actions without
    capacity are not valued: the look-ahead is the oracle's whole cost)."""
    gain = lookahead(list(policy.names), eligible & (policy.cap > 0))
    if policy.first_gain is None:
        policy.first_gain = (ctx.account.copy(), gain.copy())
    usable = eligible & ~np.isnan(gain)
    value = np.where(usable, gain, 0.0)
    return per_path(
        ctx.replicate, lambda rows: allocate(value[rows], usable[rows], policy.cap).action
    )
