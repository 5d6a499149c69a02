"""Integer codes of actions and outcomes, shared by the engine and the policies.

The names come from the action vocabulary (:mod:`overdue_risk.contract`): code 0
is no action (``"none"``), then the treatments in contract order; outcome codes
are the contract's outcomes in order, -1 for none.
"""

from __future__ import annotations

from ..contract import CONTACT_ACTIONS, NO_ACTION, OUTCOMES, TREATMENTS

__all__ = ["ACTIONS", "ACTION_CODES", "CONTACTS", "OUTCOMES"]

ACTIONS = (NO_ACTION, *TREATMENTS)
ACTION_CODES = {name: code for code, name in enumerate(ACTIONS)}
NONE, SMS, CALL, VISIT, LETTER, RESTRUCTURE, LEGAL = (
    ACTION_CODES[a] for a in (NO_ACTION, "sms", "call", "visit", "letter", "restructure", "legal")
)
# Count towards contacts and over-contact.
CONTACTS = tuple(ACTION_CODES[a] for a in CONTACT_ACTIONS)

NO_CONTACT, CONTACTED, PROMISE, PAID, REFUSED, DISPUTE = (
    OUTCOMES.index(o) for o in ("no_contact", "contacted", "promise", "paid", "refused", "dispute")
)
