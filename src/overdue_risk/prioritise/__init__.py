"""Collection prioritisation: which overdue account gets which action today.

A :class:`Strategy` holds the actions (cost, daily capacity, eligibility) and
the contact rules; :func:`account_state` and :func:`eligibility` apply the rules
to the accounts overdue at an as-of date.
"""

from ..exceptions import StrategyError
from ._allocate import Allocation, AllocationError, allocate
from ._rules import Eligibility, account_state, eligibility
from ._strategy import Strategy

__all__ = [
    "Allocation",
    "AllocationError",
    "Eligibility",
    "Strategy",
    "StrategyError",
    "account_state",
    "allocate",
    "eligibility",
]
