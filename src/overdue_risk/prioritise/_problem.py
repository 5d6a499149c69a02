"""The allocation problem, reduced to the pairs that compete for capacity.

Every method of :func:`~overdue_risk.prioritise.allocate` first reduces the
problem, without changing its optimum. An action whose capacity covers every
account that could take it is *unlimited*; each account's best unlimited pair
(its *fallback*, worth ``u[i]``, 0 if none) is always within reach, so only
pairs of *limited* actions worth more than ``u[i]`` compete for anything. On
the benchmark's book (calls and visits limited) that leaves about one pair
per account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__: list[str] = []


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
