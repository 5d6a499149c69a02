"""The greedy baseline, by deferred acceptance, and the repair that fills spare capacity.

Greedy assignments are computed as the stable matching of the globally
ranked pairs (it is unique and equals the sequential greedy), by deferred
acceptance in vectorised rounds: no Python loop runs over accounts or pairs.
"""

from __future__ import annotations

import numpy as np

from ._problem import _Problem

__all__ = ["best_actions"]


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


def best_actions(net: np.ndarray, share: np.ndarray | None) -> np.ndarray:
    """Each row's action under a candidate's net values: its best one, or, with
    capacity shares, the greedy allocation of the rows with ``share x rows`` of
    each action (column 0, no action, is unlimited)."""
    if share is None:
        return np.argmax(net, axis=1)  # ties: "none" first
    n = net.shape[0]
    cap = np.where(np.isfinite(share), np.floor(share * n), n).astype(np.int64)
    pick, _ = _greedy(net, cap)
    return np.maximum(pick, 0)
