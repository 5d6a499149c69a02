"""``allocate``: which action each overdue account gets today, within capacities.

The problem is a bipartite b-matching (a transportation problem): ``n``
accounts, ``m`` actions, ``value[i, a]`` the expected net value of giving
action ``a`` to account ``i``. Each account gets at most one action (none is
"wait", worth 0), action ``a`` at most ``capacity[a]`` accounts, only eligible
pairs of positive value. Its constraint matrix is totally unimodular, so the
linear relaxation has an integral optimum.

Every method first reduces the problem, without changing its optimum, to the
pairs of limited actions that compete for capacity (``_problem.py``). This
module checks the inputs, runs a method on the reduced problem and builds the
:class:`Allocation`.

Methods
-------
``"lp"``
    The exact optimum: the LP with one variable per competing pair
    (``_lp.py``), its HiGHS vertex rounded and checked;
    ``scipy.optimize.milp`` if the vertex is ever fractional or infeasible.
``"lagrangian"``
    Prices on the limited actions that minimise the dual bound
    (``_lagrangian.py``), and the assignment that complementary slackness
    allows at them. When the prices are optimal only to ``tol``, the greedy
    assignment on the reduced values ``value - lambda`` is repaired instead
    (rejected accounts move to their next option; spare capacity is filled).
    The gap reported is against the dual bound, a certificate rather than an
    estimate.
``"greedy"``
    The baseline: pairs by decreasing value, each taken if its account is
    free and its action has room (``_greedy.py``). Its upper bound is the
    same dual bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._params import Interval, Options, check
from ..exceptions import AllocationError
from ._greedy import _greedy, _improve
from ._lagrangian import _complementary, _prices
from ._lp import _INTEGRAL_TOL, _feasible, _linprog, _lp_arrays, _milp
from ._problem import _Problem, _reduce

__all__ = ["LP_MAX_PAIRS", "METHODS", "Allocation", "allocate"]

logger = logging.getLogger(__name__)

METHODS = ("auto", "lp", "lagrangian", "greedy")
# method="auto" solves the exact LP when it has at most this many variables
# (competing pairs): 1-2 s of HiGHS on one core, growing faster than linearly
# beyond (90,000 took 1.5-2.2 s, 270,000 about 6 s, 320,000 about 10 s; see
# benchmarks/allocate.py). The Lagrangian method takes a small fraction of
# that and is most often exact, always with a certified gap.
LP_MAX_PAIRS = 100_000


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


# -- methods ----------------------------------------------------------------------
# Each method runs the kernels of _greedy.py, _lagrangian.py and _lp.py on the reduced
# problem, looked up here: tests replace _complementary, _linprog and _milp on this module.


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
