"""The exact LP on the competing pairs, solved by HiGHS.

One variable per competing pair, its gain over the account's fallback as the
objective; constraint rows only where they can bind. ``scipy.optimize.linprog``
(HiGHS interior point and crossover) returns a vertex, integral since the
constraint matrix is totally unimodular; ``scipy.optimize.milp`` is the
fallback should a vertex ever be fractional or infeasible.
"""

from __future__ import annotations

import numpy as np

from ._problem import _Problem

__all__: list[str] = []

_INTEGRAL_TOL = 1e-6  # how far from 0/1 a HiGHS vertex may be and still count as integral


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
