"""The lender's treatment ladder and the heuristics that fill capacity down it.

The ladder itself is :class:`~overdue_risk.prioritise.LadderRule`: the comparison's
heuristic policies are its greedy allocations, in three priority orders.
:func:`heuristic_actions` fills capacity down the ladder directly, rung by rung: the
reference the rule is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..contract import CONTACT_ACTIONS, HARSH_ACTIONS
from ..prioritise import LADDER, LadderRule, Strategy, action_values, allocate

__all__ = ["CONTACTS", "HARSH", "LADDER", "heuristic_actions", "ladder_level"]

# The comparison's heuristic policies: the ladder in each of these priority orders.
HEURISTICS = {"highest_dpd": "dpd", "highest_balance": "balance", "expected_loss": "expected_loss"}
# The actions a comparison counts as harsh, and as contacts: the attempts to reach
# the customer that a strategy's capacities ration (letters go out in bulk and are
# left out, so a logged policy's letters do not count against it).
HARSH = HARSH_ACTIONS
CONTACTS = tuple(a for a in CONTACT_ACTIONS if a != "letter")


def ladder_level(state: pd.DataFrame, scenario) -> np.ndarray:
    """The harshest rung (index into LADDER) the champion rules would give each account.

    The levels of :meth:`LadderRule.from_collections
    <overdue_risk.prioritise.LadderRule.from_collections>` on the scenario's rules.

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
    return LadderRule.from_collections(scenario.collections).levels(state)


def _ladder_fill(
    rule: LadderRule,
    state: pd.DataFrame,
    names: np.ndarray,
    eligible: np.ndarray,
    capacity: np.ndarray,
    strategy: Strategy,
) -> np.ndarray:
    """The ladder's choice per account (column of ``names``, -1 for wait): the
    allocation of the rule's values by its own method (greedy)."""
    _, net = action_values(rule, state, tuple(names), strategy)
    usable = eligible & ~np.isnan(net)
    values = np.where(usable, net, 0.0)
    return allocate(values, usable, capacity, method=rule.allocation_method).action


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
