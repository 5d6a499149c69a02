"""Integer codes of actions and outcomes, shared by the engine and the policies."""

from __future__ import annotations

__all__ = ["ACTIONS", "ACTION_CODES", "CONTACTS", "HARSH", "OUTCOMES"]

# Action codes; 0 is "no action". Names match the data contract's actions.
NONE, SMS, CALL, VISIT, LETTER, RESTRUCTURE, LEGAL = range(7)
ACTIONS = ("none", "sms", "call", "visit", "letter", "restructure", "legal")
ACTION_CODES = {name: code for code, name in enumerate(ACTIONS)}
CONTACTS = (SMS, CALL, VISIT, LETTER)  # count towards contacts and over-contact
HARSH = (VISIT, LEGAL)

# Outcome codes: the data contract's outcomes, -1 for none.
NO_CONTACT, CONTACTED, PROMISE, PAID, REFUSED, DISPUTE = range(6)
OUTCOMES = ("no_contact", "contacted", "promise", "paid", "refused", "dispute")
