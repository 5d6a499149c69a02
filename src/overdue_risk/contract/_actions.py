"""The one action vocabulary: what a lender can do to an overdue account, and what came of it.

Every other list of actions derives from the names declared here: the data
contract's ``collections.action`` categories, the strategy's action axis, the
decisions' and value tables' action axis, and the simulator's action codes.

Doing nothing has two names, on purpose, and one mapping between them:

* ``"wait"`` (:data:`WAIT`) is a *decision*: the strategy's and the worklist's
  choice to do nothing to an account today. It has a cost, it is always
  eligible, and a worklist row says ``"wait"``.
* ``"none"`` (:data:`NO_ACTION`) is a *record*: the collections log, the logged
  decisions, the value tables and the simulator write ``"none"`` for a day on
  which nothing was done (simulator action code 0).

:data:`AS_LOGGED` maps the first to the second, e.g. to read a value table's
``"none"`` column as the worklist's ``"wait"``.

Examples
--------
>>> from overdue_risk.contract import AS_LOGGED, DECISION_ACTIONS, TREATMENTS, WAIT
>>> TREATMENTS
('sms', 'call', 'visit', 'letter', 'restructure', 'legal')
>>> DECISION_ACTIONS[0], AS_LOGGED[WAIT]
('none', 'none')
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "AS_LOGGED",
    "CHANNELS",
    "CONTACT_ACTIONS",
    "DECISION_ACTIONS",
    "DEFAULT_CHANNEL",
    "HARSH_ACTIONS",
    "LOGGED_ACTIONS",
    "NO_ACTION",
    "OTHER",
    "OUTCOMES",
    "REACHED_OUTCOMES",
    "TREATMENTS",
    "WAIT",
]

# The treatments, in the order of every action axis (contract, strategy, simulator).
TREATMENTS = ("sms", "call", "visit", "letter", "restructure", "legal")
# A logged action outside the treatments (a lender's own channel); never decided or simulated.
OTHER = "other"
# What the collections log may say was done: the contract's ``collections.action``.
LOGGED_ACTIONS = (*TREATMENTS, OTHER)

# The record of no action (log, decisions, value tables, simulator code 0).
NO_ACTION = "none"
# The decision to do nothing today (strategy, worklist).
WAIT = "wait"
# The recorded name of a decision that has one of its own.
AS_LOGGED = MappingProxyType({WAIT: NO_ACTION})
# The action axis of the logged decisions and the value tables: no action first.
DECISION_ACTIONS = (NO_ACTION, *LOGGED_ACTIONS)

# Treatments that try to reach the customer: the contact attempts a strategy counts
# by default, and the contacts behind the simulator's over-contact.
CONTACT_ACTIONS = ("sms", "call", "visit", "letter")
# Treatments a customer feels as coercive: what a policy comparison counts as harsh.
HARSH_ACTIONS = ("visit", "legal")

# How an action reaches the customer: what an opt-out or a cease-contact blocks
# ("none": nothing the customer can refuse, such as legal action or waiting).
CHANNELS = ("sms", "voice", "field", "letter", "none")
# Each treatment's usual channel (a strategy may route an action otherwise).
DEFAULT_CHANNEL = MappingProxyType(
    {
        "sms": "sms",
        "call": "voice",
        "visit": "field",
        "letter": "letter",
        "restructure": "letter",
        "legal": "none",
    }
)

# What came of an action: the contract's ``collections.outcome``.
OUTCOMES = ("no_contact", "contacted", "promise", "paid", "refused", "dispute")
# Outcomes that reached the customer: a conversation.
REACHED_OUTCOMES = tuple(o for o in OUTCOMES if o != "no_contact")
