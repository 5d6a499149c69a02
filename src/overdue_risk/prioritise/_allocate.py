"""``allocate``: which action each overdue account gets today, within capacities.

The problem is a bipartite b-matching (a transportation problem): ``n``
accounts, ``m`` actions, ``value[i, a]`` the expected net value of giving
action ``a`` to account ``i``. Each account gets at most one action (none is
"wait", worth 0), action ``a`` at most ``capacity[a]`` accounts, only eligible
pairs of positive value. Its constraint matrix is totally unimodular, so the
linear relaxation has an integral optimum.

Every method first reduces the problem, without changing its optimum. An
action whose capacity covers every account that could take it is
*unlimited*; each account's best unlimited pair (its *fallback*, worth
``u[i]``, 0 if none) is always within reach, so only pairs of *limited*
actions worth more than ``u[i]`` compete for anything. On the benchmark's
book (calls and visits limited) that leaves about one pair per account.

Methods
-------
``"lp"``
    The exact optimum: ``scipy.optimize.linprog`` (HiGHS interior point and
    crossover, a vertex) with one variable per competing pair, rounded and
    checked; ``scipy.optimize.milp`` if the vertex is ever fractional or
    infeasible.
``"lagrangian"``
    Prices ``lambda[a] >= 0`` on the limited actions relax the capacities;
    the dual function ``D(lambda) = sum_i max(u[i], max_a value[i, a] -
    lambda[a]) + lambda @ capacity`` bounds the optimum from above for any
    prices. Coordinate descent lowers it, each price in turn set to the
    ``(cap + 1)``-th largest *bid* (an account's margin of that action over
    its best alternative); where it stalls (ties in the values make corners
    where only prices moving together help), the steepest joint direction,
    from a tiny LP over the accounts grouped by their tied actions, and an
    exact line search take over. At optimal prices an assignment is optimal
    exactly when every account takes one of its best reduced options and
    every priced action is full: a small transportation problem over those
    groups finds it. When the prices are optimal only to ``tol``, the greedy
    assignment on the reduced values ``value - lambda`` is repaired instead
    (rejected accounts move to their next option; spare capacity is filled).
    The gap reported is against ``D``, a certificate rather than an estimate.
``"greedy"``
    The baseline: pairs by decreasing value, each taken if its account is
    free and its action has room. Its upper bound is the same dual bound.

Greedy assignments are computed as the stable matching of the globally
ranked pairs (it is unique and equals the sequential greedy), by deferred
acceptance in vectorised rounds: no Python loop runs over accounts or pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._params import Interval, Options, check
from ..exceptions import AllocationError

__all__ = ["LP_MAX_PAIRS", "METHODS", "Allocation", "allocate"]

logger = logging.getLogger(__name__)

METHODS = ("auto", "lp", "lagrangian", "greedy")
# method="auto" solves the exact LP when it has at most this many variables
# (competing pairs): 1-2 s of HiGHS on one core, growing faster than linearly
# beyond (90,000 took 1.5-2.2 s, 270,000 about 6 s, 320,000 about 10 s; see
# benchmarks/allocate.py). The Lagrangian method takes a small fraction of
# that and is most often exact, always with a certified gap.
LP_MAX_PAIRS = 100_000
_INTEGRAL_TOL = 1e-6  # how far from 0/1 a HiGHS vertex may be and still count as integral
_TIE = 1e-10  # reduced values this close (relative to the largest) count as tied


@dataclass(frozen=True, eq=False)
class Allocation:
    """The actions chosen for one day, with a bound on how far from optimal they are.

    Attributes
    ----------
    action : ndarray of int64, shape (n,)
        Index of the action given to each account; -1 means wait.
    value : ndarray of float64, shape (n,)
        The value of each account's chosen pair (0 for wait).
    objective : float
        Total value, ``value.sum()``.
    upper_bound : float
        An upper bound on the best achievable total: the LP optimum for
        ``"lp"`` (equal to ``objective``), the Lagrangian dual bound otherwise.
    gap : float
        ``(upper_bound - objective) / max(|upper_bound|, tiny)``, >= 0; an
        upper bound on the relative loss against the optimum.
    method : str
        The method that ran: ``"lp"``, ``"lagrangian"`` or ``"greedy"``.
    iterations : int
        HiGHS iterations (``"lp"``), rounds of price updates
        (``"lagrangian"``), or rounds of deferred acceptance (``"greedy"``).
    capacity : ndarray of float64, shape (m,)
        The capacities as given (``inf`` when unlimited).
    prices : ndarray of float64, shape (m,)
        Shadow price of one more unit of each action's capacity (0 where it
        does not bind): the LP's duals, or the prices of the dual bound.

    Examples
    --------
    >>> result = allocate([[5.0, 3.0], [4.0, -1.0]], None, [1, 1])
    >>> result.action.tolist(), float(result.objective), float(result.gap)
    ([1, 0], 7.0, 0.0)
    """

    action: np.ndarray
    value: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    method: str
    iterations: int
    capacity: np.ndarray
    prices: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """Number of accounts given each action, shape (m,)."""
        chosen = self.action[self.action >= 0]
        return np.bincount(chosen, minlength=self.capacity.size)

    def table(self) -> pd.DataFrame:
        """One row per action: accounts given it, capacity, total value and price.

        Returns
        -------
        DataFrame
            Indexed by ``action`` (the column index of ``value``), with
            columns ``accounts``, ``capacity``, ``value`` and ``price``.
        """
        chosen = self.action >= 0
        totals = np.bincount(
            self.action[chosen], weights=self.value[chosen], minlength=self.capacity.size
        )
        return pd.DataFrame(
            {
                "accounts": self.counts,
                "capacity": self.capacity,
                "value": totals,
                "price": self.prices,
            },
            index=pd.RangeIndex(self.capacity.size, name="action"),
        )

    def to_dict(self) -> dict[str, Any]:
        """A summary as plain data (no per-account arrays), e.g. for a run log.

        ``capacity`` lists ``None`` for an unlimited action, so the result is
        valid JSON.
        """
        return {
            "method": self.method,
            "accounts": int(self.action.size),
            "assigned": int(np.count_nonzero(self.action >= 0)),
            "objective": float(self.objective),
            "upper_bound": float(self.upper_bound),
            "gap": float(self.gap),
            "iterations": int(self.iterations),
            "counts": [int(c) for c in self.counts],
            "capacity": [None if np.isinf(c) else int(c) for c in self.capacity],
            "prices": [float(p) for p in self.prices],
        }


# -- validation ---------------------------------------------------------------


def _check_inputs(value, eligible, capacity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.asarray(value)
    if v.dtype.kind not in "iuf":
        raise AllocationError(f"value must be an array of real numbers; got dtype {v.dtype}.")
    if v.ndim != 2:
        raise AllocationError(
            f"value must be 2-D (accounts x actions); got {v.ndim}-D with shape {v.shape}."
        )
    v = v.astype(np.float64, copy=False)  # never written to
    n, m = v.shape
    if eligible is None:
        e = np.ones((n, m), dtype=bool)
    else:
        e = np.asarray(eligible)
        if e.dtype != bool:
            raise AllocationError(f"eligible must be a boolean array; got dtype {e.dtype}.")
        if e.shape != v.shape:
            raise AllocationError(
                f"eligible must have the shape of value {v.shape}; got {e.shape}."
            )
    bad = e & ~np.isfinite(v)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise AllocationError(
            f"value must be finite where eligible; got {v[rows[0], cols[0]]} at account "
            f"{rows[0]}, action {cols[0]} ({rows.size} such pairs). Mark a pair that has "
            "no value as ineligible."
        )
    c = np.asarray(capacity)
    if c.dtype.kind not in "iuf":
        raise AllocationError(f"capacity must be numbers; got dtype {c.dtype}.")
    c = c.astype(np.float64)
    if c.shape != (m,):
        raise AllocationError(
            f"capacity must have one entry per action, shape ({m},); got shape {c.shape}."
        )
    if np.isnan(c).any():
        raise AllocationError(
            f"capacity must not be NaN; got NaN at action {np.argmax(np.isnan(c))}."
        )
    if (c < 0).any():
        a = int(np.argmax(c < 0))
        raise AllocationError(f"capacity must be >= 0; got {c[a]} at action {a}.")
    finite = np.isfinite(c)
    if (c[finite] != np.floor(c[finite])).any():
        a = int(np.flatnonzero(finite & (c != np.floor(c)))[0])
        raise AllocationError(
            f"capacity must be a whole number of accounts or inf; got {c[a]} at action {a}."
        )
    return v, e, c


def _check_options(method, lp_max_pairs, max_iter, tol) -> None:
    rules = {
        "method": (Options(METHODS), method),
        "lp_max_pairs": (Interval(int, 0), lp_max_pairs),
        "max_iter": (Interval(int, 1), max_iter),
        "tol": (Interval(float, 0, 1, closed="left"), tol),
    }
    for name, (rule, value) in rules.items():
        check(rule, value, key=name, error=AllocationError)


# -- the problem, reduced -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Problem:
    """Candidate pairs, the unlimited fallback of each account, the competing pairs."""

    key: np.ndarray  # (n, m) value of candidate pairs, -inf elsewhere
    given: np.ndarray  # (m,) capacities as given
    cap: np.ndarray  # (m,) capacities, inf where unlimited
    limited: np.ndarray  # (k,) indices of limited actions
    fallback: np.ndarray  # (n,) best unlimited action, -1 if none
    base: np.ndarray  # (n,) its value, 0 if none
    rows: np.ndarray  # (r,) accounts with a competing pair
    compete: np.ndarray  # (k, r) value of competing pairs, -inf elsewhere
    outside: float  # total fallback value of the accounts not in rows


def _reduce(v: np.ndarray, e: np.ndarray, cap: np.ndarray) -> _Problem:
    n = v.shape[0]
    key = np.where(e & (v > 0), v, -np.inf)
    candidates = np.count_nonzero(key > -np.inf, axis=0)
    given = cap
    limited = np.flatnonzero(cap < candidates)
    unlimited = np.flatnonzero(cap >= candidates)
    cap = np.where(cap >= candidates, np.inf, cap)
    if unlimited.size and n:
        sub = key[:, unlimited]
        best = np.argmax(sub, axis=1)  # first maximum: ties go to the lower action
        base = sub[np.arange(n), best]
        fallback = np.where(base > -np.inf, unlimited[best], -1)
        base = np.maximum(base, 0.0)
    else:
        fallback = np.full(n, -1, dtype=np.int64)
        base = np.zeros(n)
    compete = np.ascontiguousarray(key[:, limited].T)  # (k, n): one row per limited action
    compete[compete <= base] = -np.inf
    rows = np.flatnonzero((compete > -np.inf).any(axis=0))
    if rows.size < n:
        compete = compete[:, rows]
    elsewhere = np.ones(n, dtype=bool)
    elsewhere[rows] = False
    outside = float(base[elsewhere].sum())
    return _Problem(
        key, given, cap, limited, fallback.astype(np.int64), base, rows, compete, outside
    )


# -- greedy by deferred acceptance ---------------------------------------------


def _top(ids: np.ndarray, score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``ids`` into the ``k`` best by score (ties: lower id) and the rest."""
    if k <= 0:
        return ids[:0], ids
    cut = score.size - k
    threshold = np.partition(score, cut)[cut]
    keep = score > threshold
    tied = np.flatnonzero(score == threshold)
    need = k - int(np.count_nonzero(keep))
    if tied.size > need:
        tied = tied[np.argsort(ids[tied], kind="stable")[:need]]
    keep[tied] = True
    return ids[keep], ids[~keep]


def _greedy(key: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, int]:
    """Pairs by decreasing key (ties: account, then action) taken while there is room.

    Computed as the stable matching of accounts (preferring their pairs by key)
    and actions (preferring accounts by key): with one global ranking of the
    pairs it is unique and equals the sequential greedy. Each round every free
    account proposes to its next action; an action keeps its best proposals up
    to capacity and rejects the others, who try again next round.
    """
    n, m = key.shape
    action = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return action, 0
    order = np.argsort(-key, axis=1, kind="stable").astype(np.min_scalar_type(m))
    options = np.count_nonzero(key > -np.inf, axis=1)
    held = [np.empty(0, dtype=np.int64) for _ in range(m)]
    following = np.zeros(n, dtype=np.int64)
    free = np.flatnonzero(options > 0)
    rounds = 0
    while free.size:
        rounds += 1
        to = order[free, following[free]].astype(np.int64)
        following[free] += 1
        by_action = np.argsort(to, kind="stable")
        free, to = free[by_action], to[by_action]
        bounds = np.searchsorted(to, np.arange(m + 1))
        rejected = []
        for a in range(m):
            new = free[bounds[a] : bounds[a + 1]]
            if not new.size:
                continue
            pool = np.concatenate([held[a], new]) if held[a].size else new
            if pool.size <= cap[a]:
                held[a] = pool
                continue
            held[a], out = _top(pool, key[pool, a], int(cap[a]))
            rejected.append(out)
        free = np.concatenate(rejected) if rejected else free[:0]
        free = free[following[free] < options[free]]
    for a in range(m):
        action[held[a]] = a
    return action, rounds


def _improve(p: _Problem, action: np.ndarray, val: np.ndarray) -> int:
    """Move accounts into capacity left spare while that gains value; moves made."""
    m = p.key.shape[1]
    counts = np.bincount(action[action >= 0], minlength=m)
    moves = 0
    for _ in range(2 * m):
        moved = False
        for a in range(m):
            spare = p.cap[a] - counts[a]
            if spare <= 0:
                continue
            gain = p.key[:, a] - val
            gain[action == a] = -np.inf
            who = np.flatnonzero(gain > 0)
            if not who.size:
                continue
            if who.size > spare:
                who, _ = _top(who, gain[who], int(spare))
            old = action[who]
            counts -= np.bincount(old[old >= 0], minlength=m)
            counts[a] += who.size
            action[who] = a
            val[who] = p.key[who, a]
            moves += who.size
            moved = True
        if not moved:
            break
    return moves


# -- prices ---------------------------------------------------------------------


def _dual(p: _Problem, lam: np.ndarray, best: np.ndarray | None = None) -> float:
    """The Lagrangian dual function at prices ``lam`` on the limited actions: an upper bound.

    ``best``, if given, is each competing account's best reduced value at ``lam``.
    """
    if best is None:
        best = p.base[p.rows].copy()
        for j in range(lam.size):
            np.maximum(best, p.compete[j] - lam[j], out=best)
    return float(best.sum() + p.outside + lam @ p.cap[p.limited])


def _sweep(p: _Problem, lam: np.ndarray) -> float:
    """One round of coordinate descent, each price in turn minimising the dual alone; the dual.

    The dual in ``lam[j]`` alone is ``sum_i max(0, bid_i - lam[j]) + lam[j] * cap``
    plus a constant, where ``bid_i`` is account ``i``'s margin of action ``j``
    over its best alternative; its minimum over ``lam[j] >= 0`` is at the
    ``(cap + 1)``-th largest bid, or 0 if that is negative.
    """
    k = lam.size
    caps = p.cap[p.limited].astype(np.int64)
    r = p.rows.size
    # the best alternative to action j is the best of the fallback and the
    # actions before j (prices of this round) and after j (of the last one):
    # a running maximum and the suffix maxima, instead of k - 1 passes each
    after = np.empty((k, r))
    after[k - 1] = -np.inf
    for j in range(k - 2, -1, -1):
        np.maximum(after[j + 1], p.compete[j + 1] - lam[j + 1], out=after[j])
    before = p.base[p.rows].copy()
    alt = np.empty(r)
    bids = np.empty(r)
    for j in range(k):
        np.maximum(before, after[j], out=alt)
        np.subtract(p.compete[j], alt, out=bids)
        if caps[j] >= r:
            lam[j] = 0.0
        else:
            cut = r - caps[j] - 1
            bids.partition(cut)
            lam[j] = max(0.0, float(bids[cut]))
        np.subtract(p.compete[j], lam[j], out=alt)
        np.maximum(before, alt, out=before)
    return _dual(p, lam, before)


def _tied_sets(p: _Problem, lam: np.ndarray) -> np.ndarray | None:
    """Per competing account, the bit mask of the options tied for its best reduced value.

    Bit ``j < k`` is limited action ``p.limited[j]``, bit ``k`` the account's
    fallback (its best unlimited action, or wait). None for more than 62 limited
    actions, which an int64 mask cannot hold.
    """
    k = lam.size
    if k > 62:
        return None
    base = p.base[p.rows]
    reduced = p.compete - lam[:, None]
    best = np.maximum(base, reduced.max(axis=0))
    best -= _TIE * max(1.0, float(np.abs(best).max()))
    code = np.zeros(best.size, dtype=np.int64)
    for j in range(k):
        code[reduced[j] >= best] |= 1 << j
    code[base >= best] |= 1 << k
    return code


def _complementary(p: _Problem, lam: np.ndarray) -> np.ndarray | None:
    """An assignment optimal at prices ``lam`` by complementary slackness, or None.

    If ``lam`` minimises the dual, an assignment is optimal exactly when every
    account takes an option tied for its best reduced value and every priced
    action is full. Accounts with the same tied set are interchangeable, so
    how many of each set take each option is a tiny transportation problem
    (integral, as every such problem is). Within a set, lower account indices
    take lower action indices. None when no such assignment exists (the
    prices are not optimal, or not to the precision ties are read with).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    k = lam.size
    action = p.fallback.copy()
    if not p.rows.size or not k:
        return action
    code = _tied_sets(p, lam)
    if code is None:
        return None
    masks, counts = np.unique(code, return_counts=True)
    bits = (masks[:, None] >> np.arange(k + 1)) & 1
    group, option = np.nonzero(bits)  # variables: (tied set, option), option k = fallback
    nvar = group.size
    limited = option < k
    rows = np.concatenate([group, masks.size + option[limited]])
    cols = np.concatenate([np.arange(nvar), np.flatnonzero(limited)])
    matrix = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(masks.size + k, nvar))
    caps = p.cap[p.limited]
    priced = lam > 0
    fixed = np.concatenate([np.ones(masks.size, dtype=bool), priced])
    rhs = np.concatenate([counts.astype(np.float64), caps])
    res = linprog(
        np.zeros(nvar),
        A_ub=matrix[~fixed] if (~fixed).any() else None,
        b_ub=rhs[~fixed] if (~fixed).any() else None,
        A_eq=matrix[fixed],
        b_eq=rhs[fixed],
        bounds=(0, None),
        method="highs-ds",
    )
    if res.status != 0:
        return None
    y = np.round(res.x).astype(np.int64)
    if np.abs(res.x - y).max(initial=0.0) > _INTEGRAL_TOL:
        return None
    order = np.argsort(code, kind="stable")  # by tied set, then account
    starts = np.searchsorted(code[order], masks)
    for g in range(masks.size):
        members = p.rows[order[starts[g] : starts[g] + counts[g]]]
        taken = 0
        for var in np.flatnonzero(group == g):
            if option[var] < k and y[var]:
                action[members[taken : taken + y[var]]] = p.limited[option[var]]
            taken += y[var]
    return action


def _descent(p: _Problem, lam: np.ndarray) -> np.ndarray | None:
    """A direction of descent of the dual at ``lam``, or None if ``lam`` is optimal.

    Coordinate descent stalls where only moving several prices together
    helps (ties in the values make such corners common). The directional
    derivative of the dual along ``d`` is ``cap @ d + sum_i max_{j in A_i} -d[j]``,
    ``A_i`` the actions (and wait, with ``-d = 0``) tied for account ``i``'s
    best reduced value. Accounts with the same ``A_i`` are counted together,
    so the steepest direction in the box ``|d| <= 1`` is a tiny LP; none with
    a negative derivative means 0 is a subgradient: ``lam`` is optimal.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    k = lam.size
    code = _tied_sets(p, lam)
    if code is None:
        return None
    masks, counts = np.unique(code, return_counts=True)
    bits = (masks[:, None] >> np.arange(k + 1)) & 1
    group, action = np.nonzero(bits[:, :k])
    # variables: d (k), then t_S per tied set S; rows: -d_j - t_S <= 0 for j in S
    nrow = group.size
    a_ub = sparse.csr_matrix(
        (
            -np.ones(2 * nrow),
            (np.tile(np.arange(nrow), 2), np.concatenate([action, k + group])),
        ),
        shape=(nrow, k + masks.size),
    )
    c = np.concatenate([p.cap[p.limited], counts.astype(np.float64)])
    bounds = [(0.0 if lam[j] <= 0 else -1.0, 1.0) for j in range(k)]
    bounds += [(0.0, None) if b else (None, None) for b in bits[:, k]]
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(nrow), bounds=bounds, method="highs")
    if res.status != 0 or res.fun >= -_TIE * (counts.sum() + c[:k].sum()):
        return None
    return np.asarray(res.x[:k])


def _line_search(p: _Problem, lam: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The prices ``lam + s * d``, ``s >= 0`` minimising the dual (to float precision).

    The dual along the line is convex and piecewise linear; bisection on its
    right derivative keeps only the accounts whose term still bends between
    the two ends, so each step gets cheaper.
    """
    base = p.base[p.rows]
    const = float(p.cap[p.limited] @ d)

    def slopes(s: float, idx: np.ndarray | None) -> np.ndarray:
        """Right derivative of each account's term at ``lam + s * d``."""
        compete = p.compete if idx is None else p.compete[:, idx]
        fallback = base if idx is None else base[idx]
        reduced = compete - (lam + s * d)[:, None]
        best = np.maximum(fallback, reduced.max(axis=0))
        slope = np.where(fallback == best, 0.0, -np.inf)
        for j in range(d.size):
            np.maximum(slope, np.where(reduced[j] == best, -d[j], -np.inf), out=slope)
        return slope

    shrink = d < 0
    s_max = float(np.min(lam[shrink] / -d[shrink])) if shrink.any() else np.inf
    # steps are small next to the values once coordinate descent has run:
    # widen from a tiny one, so that the bracket is tight and most accounts settle
    scale = max(1.0, float(np.abs(p.compete.max())), float(base.max(initial=0.0)))
    lo, at_lo = 0.0, slopes(0.0, None)
    hi = min(1e-6 * scale, s_max)
    at_hi = slopes(hi, None)
    while const + at_hi.sum() < 0:
        if hi >= s_max:
            return np.maximum(lam + hi * d, 0.0)
        lo, at_lo = hi, at_hi
        hi = min(16.0 * hi, s_max)
        at_hi = slopes(hi, None)
    idx = np.arange(p.rows.size)
    for _ in range(200):
        settled = at_lo == at_hi  # slopes only grow: equal at both ends, linear between
        if settled.any():
            const += float(at_lo[settled].sum())
            idx, at_lo, at_hi = idx[~settled], at_lo[~settled], at_hi[~settled]
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        at_mid = slopes(mid, idx)
        if const + at_mid.sum() < 0:
            lo, at_lo = mid, at_mid
        else:
            hi, at_hi = mid, at_mid
    return np.maximum(lam + hi * d, 0.0)


def _prices(
    p: _Problem, max_iter: int, tol: float, joint: bool = True
) -> tuple[np.ndarray, float, int]:
    """Prices minimising the dual: prices, dual value (the upper bound), rounds made.

    Rounds of coordinate descent until one lowers the bound by less than
    ``tol`` (relative); then, if ``joint``, a step along the steepest joint
    direction, and on while that helps.
    """
    k = p.limited.size
    lam = np.zeros(k)
    bound = _dual(p, lam)
    if k == 0 or not p.rows.size:
        return lam, bound, 0
    rounds = 0
    while rounds < max_iter:
        rounds += 1
        new = _sweep(p, lam)
        if bound - new > tol * max(abs(new), 1.0):
            bound = new
            continue
        bound = min(bound, new)
        d = _descent(p, lam) if joint else None
        if d is None:
            break
        trial = _line_search(p, lam, d)
        new = _dual(p, trial)
        if bound - new <= tol * max(abs(new), 1.0):
            break
        lam, bound = trial, new
    return lam, bound, rounds


# -- methods ----------------------------------------------------------------------


def _finish(p, action, method, iterations, bound, prices) -> Allocation:
    """The result; ``bound=None`` for an exact method (its objective is the bound)."""
    val = _values(p, action)
    objective = float(val.sum())
    if bound is None:
        bound, gap = objective, 0.0
    else:
        # float rounding in the two sums must not put the bound below a feasible value
        bound = max(float(bound), objective)
        gap = max(0.0, (bound - objective) / max(abs(bound), np.finfo(np.float64).tiny))
    full = np.zeros(p.cap.size)
    full[p.limited] = prices
    for arr in (action, val, full, p.given):
        arr.setflags(write=False)
    return Allocation(
        action=action,
        value=val,
        objective=objective,
        upper_bound=bound,
        gap=gap,
        method=method,
        iterations=int(iterations),
        capacity=p.given,
        prices=full,
    )


def _solve_greedy(p: _Problem, max_iter: int, tol: float) -> Allocation:
    action, rounds = _greedy(p.key, p.cap)
    lam, bound, _ = _prices(p, max_iter, tol)
    return _finish(p, action, "greedy", rounds, bound, lam)


def _solve_lagrangian(p: _Problem, max_iter: int, tol: float) -> Allocation:
    lam, bound, sweeps = _prices(p, max_iter, tol)
    full = np.zeros(p.cap.size)
    full[p.limited] = lam
    action = _complementary(p, lam)
    if action is None:  # prices not exactly optimal: repair the greedy choice at them
        action, _ = _greedy(p.key - full, p.cap)
        _improve(p, action, _values(p, action))
    return _finish(p, action, "lagrangian", sweeps, bound, lam)


def _values(p: _Problem, action: np.ndarray) -> np.ndarray:
    chosen = action >= 0
    val = np.zeros(action.size)
    val[chosen] = p.key[np.flatnonzero(chosen), action[chosen]]
    return val


def _lp_arrays(p: _Problem):
    """Variables, objective and sparse constraints of the LP on the competing pairs."""
    from scipy import sparse

    k, r = p.compete.shape
    j, col = np.nonzero(p.compete > -np.inf)  # variable order: action, then account
    gain = p.compete[j, col] - p.base[p.rows[col]]
    nvar = j.size
    per_account = np.bincount(col, minlength=r)
    per_action = np.bincount(j, minlength=k)
    caps = p.cap[p.limited]
    # rows only where they can bind: accounts with two or more pairs, actions
    # with more pairs than capacity (a 0/1 bound does the rest)
    acc_rows = np.flatnonzero(per_account > 1)
    act_rows = np.flatnonzero(per_action > caps)
    acc_index = np.full(r, -1)
    acc_index[acc_rows] = np.arange(acc_rows.size)
    act_index = np.full(k, -1)
    act_index[act_rows] = acc_rows.size + np.arange(act_rows.size)
    var = np.arange(nvar)
    in_acc = acc_index[col] >= 0
    in_act = act_index[j] >= 0
    row_ids = np.concatenate([acc_index[col[in_acc]], act_index[j[in_act]]])
    var_ids = np.concatenate([var[in_acc], var[in_act]])
    shape = (acc_rows.size + act_rows.size, nvar)
    a_ub = sparse.csr_matrix((np.ones(row_ids.size), (row_ids, var_ids)), shape=shape)
    b_ub = np.concatenate([np.ones(acc_rows.size), caps[act_rows]])
    return j, col, gain, a_ub, b_ub, act_rows


def _feasible(p: _Problem, j, col, x: np.ndarray) -> bool:
    k, r = p.compete.shape
    per_account = np.bincount(col[x], minlength=r)
    per_action = np.bincount(j[x], minlength=k)
    return bool((per_account <= 1).all() and (per_action <= p.cap[p.limited]).all())


def _milp(gain, a_ub, b_ub) -> np.ndarray | None:
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        -gain,
        integrality=np.ones(gain.size),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(a_ub, -np.inf, b_ub),
    )
    return None if res.x is None else res.x


def _linprog(gain, a_ub, b_ub):
    from scipy.optimize import linprog

    # Interior point then crossover (a vertex, hence integral): on these
    # instances it is 2-5 times faster than dual simplex, and presolve only
    # costs time (it was half of the run on 100,000 accounts).
    return linprog(
        -gain,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=(0, 1),
        method="highs-ipm",
        options={"presolve": False},
    )


def _solve_lp(p: _Problem) -> Allocation:
    action = p.fallback.copy()
    k = p.limited.size
    prices = np.zeros(k)
    iterations = 0
    if p.rows.size:
        j, col, gain, a_ub, b_ub, act_rows = _lp_arrays(p)
        res = _linprog(gain, a_ub, b_ub)
        x = None
        if res.status == 0:
            iterations = int(res.nit)
            marginals = np.asarray(res.ineqlin.marginals)
            prices[act_rows] = np.maximum(0.0, -marginals[b_ub.size - act_rows.size :])
            x = np.asarray(res.x)
            if np.abs(x - np.round(x)).max(initial=0.0) > _INTEGRAL_TOL or not _feasible(
                p, j, col, x > 0.5
            ):
                logger.info("HiGHS returned a fractional LP vertex; solving the MILP instead.")
                x = None
        else:  # no duals from a failed LP: the Lagrangian prices instead
            prices = _prices(p, 200, 1e-9)[0]
        if x is None:
            x = _milp(gain, a_ub, b_ub)
        if x is None or not _feasible(p, j, col, x > 0.5):
            raise AllocationError(
                "The LP solver failed on this instance; try method='lagrangian'. "
                f"HiGHS said: {res.message}"
            )
        take = x > 0.5
        action[p.rows[col[take]]] = p.limited[j[take]]
    # the LP optimum is the integer optimum: the objective is its own upper bound
    return _finish(p, action, "lp", iterations, None, prices)


def allocate(
    value,
    eligible,
    capacity,
    *,
    method: str = "auto",
    lp_max_pairs: int = LP_MAX_PAIRS,
    max_iter: int = 200,
    tol: float = 1e-9,
) -> Allocation:
    """Give each account at most one action, maximising total value within capacities.

    Parameters
    ----------
    value : array-like of float, shape (n, m)
        Expected net value of giving action ``a`` to account ``i`` (recovery
        uplift minus cost); may be negative. Read only where ``eligible``.
    eligible : array-like of bool, shape (n, m), or None
        Pairs the contact rules allow; None allows every pair.
    capacity : array-like of float, shape (m,)
        Most accounts each action can take today: whole numbers >= 0, or
        ``np.inf`` for unlimited.
    method : {"auto", "lp", "lagrangian", "greedy"}, default "auto"
        ``"lp"`` is exact; ``"lagrangian"`` is fast with a certified gap
        (most often 0); ``"greedy"`` is the baseline. ``"auto"`` runs the LP
        when it has at most ``lp_max_pairs`` variables, the Lagrangian
        method otherwise.
    lp_max_pairs : int, default LP_MAX_PAIRS (100,000)
        Largest LP ``"auto"`` solves (1-2 s of HiGHS). The LP's
        variables are the *competing* pairs: eligible, positive pairs of an
        action whose capacity can bind, worth more than the account's best
        pair among unlimited actions. With only unlimited actions there are
        none, and every account simply gets its best pair.
    max_iter : int, default 200
        Most rounds of price updates (for the dual bound of ``"lagrangian"``
        and ``"greedy"``).
    tol : float, default 1e-9
        Price updates stop when a round lowers the dual bound by less than
        ``tol`` times the bound.

    Returns
    -------
    Allocation

    Raises
    ------
    AllocationError
        Shapes that do not match, non-finite values of eligible pairs, a
        capacity that is negative, NaN or fractional, an unknown option.

    Notes
    -----
    A pair is never chosen if it is ineligible or its value is <= 0. The
    result is deterministic: the same input gives the same output. Ties are
    broken by account index, then action index: an account's fallback is its
    lowest-index best unlimited action, greedy steps take the lower account
    first, tied groups give lower accounts the lower actions. Among several
    optimal LP vertices HiGHS picks one, always the same. ``"lp"`` and
    ``"lagrangian"`` never spend a limited action on an account that an
    unlimited one serves as well.

    ``1,000,000 x 6`` takes about 1 s with ``"lagrangian"`` on the
    benchmark's book and 2-3 s with all six actions limited (one core);
    see ``benchmarks/allocate.py``.

    Examples
    --------
    >>> import numpy as np
    >>> value = np.array([[9.0, 5.0], [8.0, 1.0], [7.0, 6.0]])
    >>> result = allocate(value, None, [1, np.inf], method="lp")
    >>> result.action.tolist(), float(result.objective)
    ([1, 0, 1], 19.0)

    Greedy gives the one slot of action 0 to the highest value, not to the
    account that loses most without it:

    >>> greedy = allocate(value, None, [1, np.inf], method="greedy")
    >>> greedy.action.tolist(), float(greedy.objective)
    ([0, 1, 1], 16.0)
    """
    _check_options(method, lp_max_pairs, max_iter, tol)
    v, e, cap = _check_inputs(value, eligible, capacity)
    p = _reduce(v, e, cap)
    if method == "auto":
        pairs = int(np.count_nonzero(p.compete > -np.inf))
        method = "lp" if pairs <= lp_max_pairs else "lagrangian"
        logger.debug("allocate: %d competing pairs, method %s", pairs, method)
    if method == "lp":
        return _solve_lp(p)
    if method == "lagrangian":
        return _solve_lagrangian(p, max_iter, tol)
    return _solve_greedy(p, max_iter, tol)
