"""The lender's treatment ladder and the heuristics that fill capacity down it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..contract import CONTACT_ACTIONS, HARSH_ACTIONS

__all__ = ["CONTACTS", "HARSH", "LADDER", "heuristic_actions", "ladder_level"]

# Harshest first: the lender's treatment ladder. An account is offered the
# harshest rung its DPD (and balance) call for, and falls down the ladder when
# that rung is ineligible or full.
LADDER = ("legal", "restructure", "visit", "call", "sms")
# The actions a comparison counts as harsh, and as contacts: the attempts to reach
# the customer that a strategy's capacities ration (letters go out in bulk and are
# left out, so a logged policy's letters do not count against it).
HARSH = HARSH_ACTIONS
CONTACTS = tuple(a for a in CONTACT_ACTIONS if a != "letter")


def ladder_level(state: pd.DataFrame, scenario) -> np.ndarray:
    """The harshest rung (index into LADDER) the champion rules would give each account.

    Parameters
    ----------
    state : DataFrame
        One row per account with ``dpd`` and ``balance``.
    scenario : Scenario
        The simulator's scenario, whose ``collections`` hold the logged champion
        rules' thresholds (calls, visits and their least balance, restructuring,
        legal action).

    Returns
    -------
    ndarray of int
        Per account, the index into :data:`LADDER` of its harshest rung.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk.policy_eval import LADDER, ladder_level
    >>> from overdue_risk.simulate import Scenario
    >>> state = pd.DataFrame({"dpd": [2, 10, 40, 40, 70, 120],
    ...     "balance": [500.0, 500.0, 500.0, 2000.0, 500.0, 500.0]})
    >>> [LADDER[i] for i in ladder_level(state, Scenario())]
    ['sms', 'call', 'call', 'visit', 'restructure', 'legal']
    """
    c = scenario.collections
    dpd = state["dpd"].to_numpy()
    balance = state["balance"].to_numpy(dtype=np.float64, na_value=0.0)
    level = np.full(len(state), LADDER.index("sms"))
    level = np.where(dpd >= c.call_from, LADDER.index("call"), level)
    visit = (dpd >= c.visit_from) & (balance >= c.visit_min_balance)
    level = np.where(visit, LADDER.index("visit"), level)
    level = np.where(dpd >= c.restructure_at, LADDER.index("restructure"), level)
    return np.where(dpd >= c.legal_from, LADDER.index("legal"), level)


def heuristic_actions(
    priority: np.ndarray,
    level: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    capacity: Sequence[float],
) -> np.ndarray:
    """Fill each action's capacity in priority order, harshest rung first.

    Account ``i`` may take a rung at or below ``level[i]`` that it is
    eligible for; rungs are filled from the harshest down, each by the
    highest-priority accounts still unassigned.

    Parameters
    ----------
    priority : ndarray of shape (accounts,)
        Higher first; ties go to the earlier account.
    level : ndarray of shape (accounts,)
        Each account's harshest rung, an index into :data:`LADDER` (see
        :func:`ladder_level`).
    eligible : ndarray of bool, shape (accounts, actions)
        Which account may take which action.
    actions : sequence of str
        The columns of ``eligible`` and ``capacity``; actions not on the
        ladder are never chosen.
    capacity : sequence of float
        Per action, the day's capacity (``inf`` for none).

    Returns
    -------
    ndarray of int
        The chosen column of ``actions`` per account, -1 for wait.

    Examples
    --------
    >>> import numpy as np
    >>> from overdue_risk.policy_eval import heuristic_actions
    >>> actions = ("sms", "call", "visit")
    >>> level = np.array([2, 2, 3])  # visit, visit, call
    >>> eligible = np.ones((3, 3), bool)
    >>> heuristic_actions(np.array([1.0, 3.0, 2.0]), level, eligible, actions,
    ...     [np.inf, 1, 1]).tolist()
    [0, 2, 1]
    """
    n = len(priority)
    order = np.lexsort((np.arange(n), -np.asarray(priority, dtype=np.float64)))
    chosen = np.full(n, -1)
    for rung, name in enumerate(LADDER):
        if name not in actions:
            continue
        j = list(actions).index(name)
        want = (chosen[order] < 0) & (level[order] <= rung) & eligible[order, j]
        picked = order[want]
        cap = capacity[j]
        if np.isfinite(cap):
            picked = picked[: int(cap)]
        chosen[picked] = j
    return chosen
