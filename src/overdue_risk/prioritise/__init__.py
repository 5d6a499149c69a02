"""Collection prioritisation: which overdue account gets which action today.

A :class:`Strategy` holds the actions (cost, daily capacity, eligibility) and
the contact rules; :func:`account_state` and :func:`eligibility` apply the rules
to the accounts overdue at an as-of date. A value model (:class:`ResponseModel`,
learned from the randomised cell of the collections log, or the non-causal
:class:`RiskBasedValue`; :class:`ShrunkUplift`, the learned uplift shrunk toward
the :class:`ArrearsRule`'s average per action and bagged) gives each action's expected recovery, and
:func:`prioritise` allocates the day's capacity (:func:`allocate`) into a
:class:`Worklist`. :func:`check_flags` and :func:`check_scores` check its
inputs beside the portfolio; :func:`flag_rules` names the flags a strategy's
rules read.
:func:`action_values` turns a value model's predictions into each action's uplift
over waiting and net value; :data:`DEFAULT_FEATURES` are the state columns a
:class:`ResponseModel` reads by default, :data:`DEFAULT_LIFTS` the fallback's
largest uplifts per action. :class:`ArrearsRule` (a flat lift × the arrears) and
:class:`LadderRule` (the lender's treatment ladder, :data:`LADDER`, filled harshest
rung first in a priority order) are the rules any value model is compared with.
"""

from ..exceptions import AllocationError, StrategyError
from ._allocate import Allocation, allocate
from ._arrears import ARREARS_LIFTS, ArrearsRule
from ._decisions import logged_decisions
from ._fallback import DEFAULT_LIFTS, RiskBasedValue
from ._inputs import check_flags, check_scores, flag_rules
from ._ladder_rule import LADDER, LADDER_MIN_BALANCE, LADDER_THRESHOLDS, LadderRule
from ._ope import OffPolicyEstimate, off_policy_value
from ._response import DEFAULT_FEATURES, ResponseModel
from ._rules import Eligibility, account_state, eligibility
from ._shrunk import ShrunkUplift
from ._strategy import Strategy
from ._worklist import Worklist, action_values, capacity_shares, prioritise

__all__ = [
    "ARREARS_LIFTS",
    "DEFAULT_FEATURES",
    "DEFAULT_LIFTS",
    "LADDER",
    "LADDER_MIN_BALANCE",
    "LADDER_THRESHOLDS",
    "Allocation",
    "AllocationError",
    "ArrearsRule",
    "Eligibility",
    "LadderRule",
    "OffPolicyEstimate",
    "ResponseModel",
    "RiskBasedValue",
    "ShrunkUplift",
    "Strategy",
    "StrategyError",
    "Worklist",
    "account_state",
    "action_values",
    "allocate",
    "capacity_shares",
    "check_flags",
    "check_scores",
    "eligibility",
    "flag_rules",
    "logged_decisions",
    "off_policy_value",
    "prioritise",
]
