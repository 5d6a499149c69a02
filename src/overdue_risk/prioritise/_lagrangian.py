"""Prices on the limited actions: the Lagrangian dual bound and the assignment it certifies.

Prices ``lambda[a] >= 0`` on the limited actions relax the capacities; the
dual function ``D(lambda) = sum_i max(u[i], max_a value[i, a] - lambda[a]) +
lambda @ capacity`` bounds the optimum from above for any prices. Coordinate
descent lowers it, each price in turn set to the ``(cap + 1)``-th largest
*bid* (an account's margin of that action over its best alternative); where
it stalls (ties in the values make corners where only prices moving together
help), the steepest joint direction, from a tiny LP over the accounts grouped
by their tied actions, and an exact line search take over. At optimal prices
an assignment is optimal exactly when every account takes one of its best
reduced options and every priced action is full: a small transportation
problem over those groups finds it.
"""

from __future__ import annotations

import numpy as np

from ._lp import _INTEGRAL_TOL
from ._problem import _Problem

__all__: list[str] = []

_TIE = 1e-10  # reduced values this close (relative to the largest) count as tied


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
