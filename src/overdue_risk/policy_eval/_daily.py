"""The lender's view of a closed-loop morning: the prioritiser's state from what it observes.

Each morning of a closed-loop run a policy sees the simulator's
:class:`~overdue_risk.simulate.PolicyContext` of the overdue accounts: the
ledger's facts (DPD, arrears, balance, product), the promise and payment dates,
opt-outs, legal action, restructurings, and the days of the last 15 with a
contact attempt (all contacts, and calls and visits). Its own log of the run
(:class:`RunLog`: the action it took on each account each day) completes the
history. From both, :func:`daily_state` builds the columns
:func:`~overdue_risk.prioritise.account_state` gives from a portfolio
(:data:`~overdue_risk.prioritise._rules.STATE_COLUMNS`), so that the strategy's rules
(:func:`~overdue_risk.prioritise.eligibility`) and the value models read the
same columns with the same meaning, with these differences, each on the side
of the rules (never looser than them):

* conversations: the simulator does not record whether an attempt reached the
  customer, so every counted attempt is taken as a conversation: the
  cool-down starts at each one, stricter than the rule;
* the days before the run are known through the 15-day contact masks, which
  tell contacts (SMS, calls, visits, letters) and calls-and-visits apart but
  not calls from visits: a cap on calls counts the visits too (stricter), and
  failed contacts count only the attempts of a group the strategy's
  ``attempt_actions`` hold whole (fewer, so ``min_failed_contacts`` binds
  longer); attempts older than 15 days before a morning are not known;
* restructuring offers refused before the run are not recorded: only an
  accepted one (the loan that replaced the restructured one) counts as
  restructuring considered before the run, so legal action may wait for an
  offer of the run's own;
* failed contacts start after the latest payment or the date of the latest
  promise (the day a promise was made is not recorded; its date is later);
* flags: a customer who complained is opted out of calls and visits
  (``opt_out_voice``, ``opt_out_field``), and an account at the simulator's
  restructuring limit is ``restructure_ineligible``; the simulator has no
  cease-contact requests, no SMS or letter opt-outs and no vulnerable
  customers, and its hardship is hidden, so those flags are False.

``attempts_today`` and ``conversations_today`` are 0: the policy decides each
morning before any action of the day, and the simulated lender takes one
action per account a day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import to_datetime
from ..contract import CONTACT_ACTIONS, NO_ACTION, TABLES, TREATMENTS
from ..prioritise import Strategy

__all__ = ["ACTION_CODES", "RunLog", "daily_state"]

# The simulator's action codes: no action, then the treatments (contract order).
ACTION_CODES = {name: code for code, name in enumerate((NO_ACTION, *TREATMENTS))}
_PRODUCT_TYPES = next(c.allowed for c in TABLES["loans"].columns if c.name == "product_type")
_VOICE = ("call", "visit")  # the actions of the simulator's call-and-visit mask
_MASK_DAYS = 15  # the days the contact masks keep
_WEEK = 6  # attempts_7d: the 6 days before today (today has none yet)

_BITS = (np.arange(1 << 16, dtype=np.uint16)[:, None] >> np.arange(16, dtype=np.uint16)) & 1
_POPCOUNT = _BITS.sum(axis=1).astype(np.int8)
# The lowest set bit of each 16-bit mask (-1 for none): the most recent day in it.
_LOWEST = np.where(_BITS.any(axis=1), np.argmax(_BITS, axis=1), -1).astype(np.int8)
del _BITS


class RunLog:
    """The action a policy took on each account on each day of a run (0: none).

    Parameters
    ----------
    first : int
        The run's first day (days since 1970-01-01).
    """

    def __init__(self, first: int):
        self.first = first
        self.codes = np.zeros((8, 0), np.int8)  # days x accounts, grown on demand

    def record(self, day: int, accounts: np.ndarray, codes: np.ndarray) -> None:
        k = day - self.first
        rows, cols = self.codes.shape
        need = int(accounts.max()) + 1 if accounts.size else 0
        if k >= rows or need > cols:
            grown = np.zeros((max(rows, 2 * k + 1), max(cols, 2 * need)), np.int8)
            grown[:rows, :cols] = self.codes
            self.codes = grown
        self.codes[k, accounts] = codes

    def history(self, day: int, accounts: np.ndarray) -> np.ndarray:
        """(days of the run before ``day``, accounts): the codes logged on each."""
        k = day - self.first
        out = np.zeros((k, accounts.size), np.int8)
        rows, cols = self.codes.shape
        known = accounts < cols
        out[: min(k, rows), known] = self.codes[: min(k, rows)][:, accounts[known]]
        return out


def _codes(names) -> list[int]:
    """The simulator codes of logged action names (``other`` has none)."""
    return [ACTION_CODES[a] for a in names if a in ACTION_CODES]


def _days_since_last(mask: np.ndarray, k: int) -> np.ndarray:
    """Days since the last day of the run's history in ``mask`` (days x accounts); NaN: none."""
    if not k:
        return np.full(mask.shape[1], np.nan)
    last = k - 1 - np.argmax(mask[::-1], axis=0)
    return np.where(mask.any(axis=0), k - last, np.nan).astype(np.float64)


def daily_state(ctx, strategy: Strategy, log: RunLog, max_restructures: int) -> pd.DataFrame:
    """The morning's state of the overdue accounts in ``ctx``, as ``account_state`` gives it.

    Parameters
    ----------
    ctx : PolicyContext
        The simulator's view of the day's overdue accounts.
    strategy : Strategy
        Says which actions the caps count and which are contact attempts.
    log : RunLog
        What the policy did on the run's earlier days.
    max_restructures : int
        The simulator's limit of restructurings per loan.

    Returns
    -------
    DataFrame
        One row per account, indexed by ``ctx.account``: the columns of
        :data:`~overdue_risk.prioritise._rules.STATE_COLUMNS`, then
        ``promise_pending``, ``days_since_contact`` and ``broken_promises``
        (as :func:`~overdue_risk.prioritise.logged_decisions` has them).
    """
    day = int(ctx.day)
    k = day - log.first
    n = len(ctx)
    hist = log.history(day, ctx.account)
    r = strategy.rules
    # Days before the run in the masks: bits k+1 .. 15.
    before = (0xFFFF << min(k + 1, 16)) & 0xFFFF

    # Caps and cool-down: the smallest mask group holding the counted actions (an upper bound).
    counted = np.isin(hist, _codes(r.counted_actions))
    group = ctx.voice_days if set(r.counted_actions) <= set(_VOICE) else ctx.contact_days
    group = group.astype(np.int64) & before
    week = (1 << (_WEEK + 1)) - 2  # bits 1..6
    attempts_7d = counted[max(k - _WEEK, 0) :].sum(axis=0) + _POPCOUNT[group & week]
    lowest = _LOWEST[group].astype(np.float64)
    conversation = np.fmin(_days_since_last(counted, k), np.where(lowest >= 0, lowest, np.nan))
    if r.cooldown_days > _MASK_DAYS:
        # Older attempts are not kept: none in the last 15 days means at least 16 ago, and
        # no later than the last action of any kind; an account never acted on has none.
        old = np.maximum(ctx.days_since_last_contact, _MASK_DAYS + 1)
        conversation = np.where(np.isnan(conversation), old, conversation)

    # Failed contacts: the attempts after the latest payment or promise date (a lower bound).
    tried = np.isin(hist, _codes(r.attempt_actions))
    whole = set(r.attempt_actions)
    if set(CONTACT_ACTIONS) <= whole:
        before_tried = ctx.contact_days.astype(np.int64) & before
    elif set(_VOICE) <= whole:
        before_tried = ctx.voice_days.astype(np.int64) & before
    else:
        before_tried = np.zeros(n, np.int64)
    reset = np.fmax(day - ctx.days_since_last_payment, ctx.promise_date)
    after = np.where(np.isnan(reset), 16, np.clip(day - reset, 0, 16)).astype(np.int64)
    before_tried &= (1 << after) - 1  # days less than day - reset ago
    cum = np.vstack([np.zeros((1, n), np.int64), np.cumsum(tried, axis=0)])
    from_row = np.where(np.isnan(reset), 0, np.clip(reset - log.first + 1, 0, k)).astype(np.int64)
    failed = cum[k] - cum[from_row, np.arange(n)] + _POPCOUNT[before_tried]

    contact = np.isin(hist, _codes(CONTACT_ACTIONS))
    contact_before = ctx.contact_days.astype(np.int64) & before
    contacts_7d = contact[max(k - _WEEK, 0) :].sum(axis=0) + _POPCOUNT[contact_before & week]
    lowest_contact = _LOWEST[contact_before].astype(np.float64)
    days_since_contact = np.fmin(
        _days_since_last(contact, k), np.where(lowest_contact >= 0, lowest_contact, np.nan)
    )
    offer = np.fmin(
        _days_since_last(hist == ACTION_CODES["restructure"], k), ctx.days_since_restructure
    )
    promise = np.where(np.isnan(ctx.promise_date), np.iinfo(np.int64).min, ctx.promise_date)
    opted = np.asarray(ctx.opted_out, bool)
    no = np.zeros(n, bool)
    data = {
        "dpd": np.asarray(ctx.dpd, np.int64),
        "overdue_amount": np.asarray(ctx.overdue_amount, np.float64),
        "balance": np.asarray(ctx.balance, np.float64),
        "product_type": pd.Categorical(ctx.product_type, categories=list(_PRODUCT_TYPES)),
        "product": pd.Categorical(ctx.product),
        "attempts_7d": attempts_7d.astype(np.int64),
        "contacts_7d": contacts_7d.astype(np.int64),
        "attempts_today": np.zeros(n, np.int64),
        "conversations_today": np.zeros(n, np.int64),
        "days_since_conversation": conversation,
        "promise_date": to_datetime(promise.astype(np.int64)),
        "days_to_promise": ctx.promise_date - day,
        "failed_contacts": failed.astype(np.int64),
        "days_since_restructure_offer": offer,
        "days_since_payment": np.asarray(ctx.days_since_last_payment, np.float64),
        "legal_started": np.asarray(ctx.in_legal, bool),
        "opt_out_sms": no,
        "opt_out_voice": opted,
        "opt_out_field": opted,
        "opt_out_letter": no,
        "cease_contact": no,
        "hardship": no,
        "vulnerable": no,
        "restructure_ineligible": np.asarray(ctx.restructures) >= max_restructures,
        "promise_pending": ctx.promise_date >= day,
        "days_since_contact": days_since_contact,
        "broken_promises": np.asarray(ctx.broken_promises, np.int64),
    }
    return pd.DataFrame(data, index=pd.Index(ctx.account, name="account"))
