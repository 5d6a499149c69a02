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

The heuristics fill capacity in a priority order (:func:`heuristic_actions`) down the
lender's treatment ladder (:data:`LADDER`, harshest first), each account starting from
the rung the champion rules give it (:func:`ladder_level`). :data:`CONTACTS` and
:data:`HARSH` are the actions a comparison counts as contacts and as harsh.
"""

from ._compare import PolicyComparison, compare_policies
from ._ladder import CONTACTS, HARSH, LADDER, heuristic_actions, ladder_level
from ._simulated import MAX_LOANS, MAX_PATHS, simulated_comparison

__all__ = [
    "CONTACTS",
    "HARSH",
    "LADDER",
    "MAX_LOANS",
    "MAX_PATHS",
    "PolicyComparison",
    "compare_policies",
    "heuristic_actions",
    "ladder_level",
    "simulated_comparison",
]
