"""Collection prioritisation: which overdue account gets which action today.

A :class:`Strategy` holds the actions (cost, daily capacity, eligibility) and
the contact rules; :func:`account_state` and :func:`eligibility` apply the rules
to the accounts overdue at an as-of date. A value model (:class:`ResponseModel`,
learned from the randomised cell of the collections log, or the non-causal
:class:`RiskBasedValue`; :class:`ShrunkUplift`, the learned uplift shrunk toward
the :class:`ArrearsRule`'s average per action and bagged) gives each action's expected recovery, and
:func:`prioritise` allocates the day's capacity (:func:`allocate`) into a
:class:`Worklist`; :func:`plan_worklist` does the same from account states
built chunk by chunk and the book they add up to (:func:`book_size`, the base
of every capacity per 10,000 loans). :func:`check_flags` and
:func:`check_scores` check its inputs beside the portfolio; :func:`flag_rules`
names the flags a strategy's rules read, :func:`warn_unenforced_flags` the
rules left unenforced without a flags table. :func:`randomised_cell` names the
loans of the log's randomised cell, which :func:`logged_decisions` reads.
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
from ._decisions import logged_decisions, randomised_cell
from ._fallback import DEFAULT_LIFTS, RiskBasedValue
from ._inputs import check_flags, check_scores, flag_rules, warn_unenforced_flags
from ._ladder_rule import LADDER, LADDER_MIN_BALANCE, LADDER_THRESHOLDS, LadderRule
from ._ope import OffPolicyEstimate, off_policy_value
from ._response import DEFAULT_FEATURES, ResponseModel
from ._rules import Eligibility, account_state, eligibility
from ._shrunk import ShrunkUplift
from ._strategy import Strategy
from ._worklist import action_values, book_size, capacity_shares, plan_worklist, prioritise
from ._worklist_result import Worklist

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
    "book_size",
    "capacity_shares",
    "check_flags",
    "check_scores",
    "eligibility",
    "flag_rules",
    "logged_decisions",
    "off_policy_value",
    "plan_worklist",
    "prioritise",
    "randomised_cell",
    "warn_unenforced_flags",
]
