"""Policy evaluation on the simulator's truth: which way of filling the day's capacity
recovers most.

It sits above :mod:`overdue_risk.prioritise` and :mod:`overdue_risk.simulate` (no core
package imports it). :func:`simulated_comparison` simulates a lender, learns its risk
and response models from data dated before the decision dates and calls
:func:`compare_policies`, which lets every policy (the prioritiser, an oracle, the
``ceiling`` of a value model reading the same state, the heuristics, the logged policy,
no action) choose each decision date's actions under the same capacities and contact
rules, and scores them on the simulator's truth in a :class:`PolicyComparison`. Its
``off_policy()`` checks the IPW and doubly robust estimates of
:func:`overdue_risk.prioritise.off_policy_value` against the truth.

:func:`closed_loop_comparison` runs every policy every day for weeks inside the simulator
instead (a :class:`ClosedLoopComparison`): each decides every morning on the state its own
earlier actions left, under the strategy's daily capacities (per Monte Carlo path) and
rules, against a daily one-step oracle that sees the truth's value of each action and
the other :data:`BASELINES`.

The heuristics fill capacity in a priority order (:func:`heuristic_actions`) down the
lender's treatment ladder (:data:`LADDER`, harshest first), each account starting from
the rung the champion rules give it (:func:`ladder_level`). :data:`CONTACTS` and
:data:`HARSH` are the actions a comparison counts as contacts and as harsh.
"""

from ._closed_loop import BASELINES, ClosedLoopComparison, closed_loop_comparison
from ._compare import PolicyComparison, compare_policies
from ._ladder import CONTACTS, HARSH, LADDER, heuristic_actions, ladder_level
from ._simulated import MAX_LOANS, MAX_PATHS, simulated_comparison

__all__ = [
    "BASELINES",
    "CONTACTS",
    "HARSH",
    "LADDER",
    "MAX_LOANS",
    "MAX_PATHS",
    "ClosedLoopComparison",
    "PolicyComparison",
    "closed_loop_comparison",
    "compare_policies",
    "heuristic_actions",
    "ladder_level",
    "simulated_comparison",
]
