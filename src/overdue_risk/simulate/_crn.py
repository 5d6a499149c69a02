"""Common random numbers: a counter-based generator keyed by (seed, stream, day).

Every uniform the simulator uses is a pure function of ``(seed, stream, day,
replicate, slot, j)``: ``slot`` is the loan's (or customer's) fixed position and
``j`` one of a fixed set of uses (payment attempt, contact, promise, ...). No
draw depends on which other draws were made, so two policies simulated from
the same state see the same numbers for every account and day, and any subset
of accounts can be drawn without drawing the rest.

The generator is SplitMix64 (Steele, Lea and Flood, 2014): a Weyl sequence
``base + counter * golden`` passed through a 64-bit finaliser. ``base`` mixes
the seed, the stream and the day; ``counter`` packs replicate, slot and use.
SplitMix64 passes BigCrush; here it is evaluated at chosen counters, like
Philox, but vectorised over arbitrary subsets in numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Draws", "uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 1.0 / (1 << 53)
_MASK = (1 << 64) - 1

# Streams: independent families of draws.
HISTORY = 1  # the generated history
CUSTOMER = 2  # customer-level events (hardship), in the history
JITTER = 3  # per-instalment habit jitter: part of the hidden habit, never replicated
TRUTH = 4  # ground-truth Monte Carlo
RESPONSE = 5  # action-response Monte Carlo
FORWARD = 6  # forward policy simulation
POPULATION = 7  # static population and economy (through numpy's own generators)

# Uses of a loan's uniforms on one day (j in the counter).
U_ATTEMPT, U_AMOUNT, U_HAZARD, U_PREPAY, U_CONTACT, U_OUTCOME = range(6)
U_PROMISE, U_POLICY, U_SPEND, U_CONFUSE, U_PAYDAY, U_KEEP = range(6, 12)
U_CUSTOMER_CLOCK, U_CUSTOMER_RESET = 0, 1


def _mix_scalar(x: int) -> int:
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _base(seed: int, stream: int, day: int) -> np.uint64:
    key = _mix_scalar(_mix_scalar(seed * 0x9E3779B97F4A7C15 + stream) + day)
    return np.uint64(_mix_scalar(key + 0x632BE59BD9B4E019))


def uniform(
    seed: int, stream: int, day: int, slot: np.ndarray, j: int, rep: np.ndarray | int = 0
) -> np.ndarray:
    """Uniforms in [0, 1) for each ``slot`` (and replicate) on ``day``, use ``j``.

    Parameters
    ----------
    seed, stream, day : int
        The key: the same triple always gives the same numbers.
    slot : ndarray of int
        Positions of the loans (or customers) to draw for, in any order.
    j : int
        The use, in [0, 16).
    rep : ndarray of int or int, default 0
        Replicate (Monte Carlo path) of each slot.

    Examples
    --------
    >>> import numpy as np
    >>> a = uniform(7, 1, 19000, np.arange(5), 0)
    >>> b = uniform(7, 1, 19000, np.array([3, 1]), 0)
    >>> bool(np.all(a[[3, 1]] == b)), bool(0 <= a.min() and a.max() < 1)
    (True, True)
    """
    ctr = np.asarray(slot, dtype=np.uint64) << np.uint64(4)
    ctr |= np.uint64(j)
    if not (np.isscalar(rep) and rep == 0):
        ctr |= np.asarray(rep, dtype=np.uint64) << np.uint64(40)
    ctr *= _GOLDEN
    ctr += _base(seed, stream, day)
    # The SplitMix64 finaliser, in place to spare temporaries.
    x = ctr
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    x >>= _S11
    return x.astype(np.float64) * _TO_UNIT


class Draws:
    """The uniforms of one stream on one day, for a fixed set of rows.

    ``u(j, rows)`` gives use ``j`` for the rows at positions ``rows`` of the
    state (all rows when None); the numbers depend only on each row's slot and
    replicate, never on which rows are asked for.
    """

    def __init__(self, seed: int, stream: int, day: int, slot: np.ndarray, rep: np.ndarray):
        self.seed, self.stream, self.day = seed, stream, day
        self.slot, self.rep = slot, rep

    def u(self, j: int, rows: np.ndarray | None = None) -> np.ndarray:
        slot = self.slot if rows is None else self.slot[rows]
        rep = self.rep if rows is None else self.rep[rows]
        return uniform(self.seed, self.stream, self.day, slot, j, rep)
