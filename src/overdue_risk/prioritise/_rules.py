"""The contact-rule engine: the state of each overdue account, and what it may get today.

:func:`account_state` builds, for every loan overdue at the as-of date, the
facts the rules read: the ledger's DPD, overdue amount and balance, and what
the action log says about contact attempts, conversations, promises, failed
contacts and restructuring offers, with the account flags (opt-outs,
cease-contact, hardship, vulnerability). :func:`eligibility` applies a
:class:`~overdue_risk.prioritise._strategy.Strategy` to that state and
returns, for every (account, action), whether the action is allowed and
otherwise the first rule that blocked it.

Time. The batch runs on the morning of ``as_of`` and plans that day's
actions. Collection rows dated before ``as_of`` are history; rows dated
``as_of`` are actions already taken today (an earlier run, an automated
message) and count as well: towards today's and the 7-day caps, and a
conversation or a promise today starts its cool-down or pause. Rows dated
after ``as_of`` never count. Everything is aggregated with order-free
reductions (counts and maxima), so the order of the rows never matters.

Everything is vectorised: one pass of boolean masks, ``np.bincount`` and
``np.maximum.at`` over the action log, and one mask per (rule, action) over
the accounts; no Python loop runs over accounts or log rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dates import NAT, AsOf, parse_as_of, since, to_datetime, to_days
from ..contract import (
    CONTACT_ACTIONS,
    LOGGED_ACTIONS,
    OUTCOMES,
    REACHED_OUTCOMES,
    Portfolio,
    validate,
)
from ..exceptions import OverdueRiskError
from ..ledger import Ledger
from ._inputs import check_flags, loans_flags
from ._lender_view import statement_cleared
from ._log import actions_in, latest_offer, log_columns, outcomes_in
from ._strategy import FLAGS, OPT_OUT, Strategy

__all__ = ["RULES", "STATE_COLUMNS", "Eligibility", "account_state", "eligibility"]

# The rules in the order they are checked: ``blocked_by`` holds the position of
# the first one that blocks an action, 0 ("eligible") when none does.
RULES = (
    "eligible",
    "product",
    "cease_contact",
    "opt_out",
    "hardship",
    "vulnerable",
    "restructure_ineligible",
    "min_dpd",
    "max_dpd",
    "min_overdue",
    "min_balance",
    "min_failed_contacts",
    "restructure_considered",
    "promise_pending",
    "cooldown",
    "max_attempts_7d",
    "max_attempts_day",
    "max_conversations_day",
)
_CODE = {name: np.int8(k) for k, name in enumerate(RULES)}

# The columns of the account state, with their dtypes.
STATE_COLUMNS = {
    "dpd": "int64",
    "overdue_amount": "float64",
    "balance": "float64",
    "product_type": "category",
    "product": "category",
    "attempts_7d": "int64",
    "contacts_7d": "int64",
    "attempts_today": "int64",
    "conversations_today": "int64",
    "days_since_conversation": "float64",
    "promise_date": "datetime64[ns]",
    "days_to_promise": "float64",
    "failed_contacts": "int64",
    "days_since_restructure_offer": "float64",
    "days_since_payment": "float64",
    "legal_started": "bool",
    **dict.fromkeys(FLAGS, "bool"),
}
# The columns the rules read: legal_started and days_since_payment inform the value model only.
_RULE_COLUMNS = tuple(
    c for c in STATE_COLUMNS if c not in ("legal_started", "days_since_payment", "contacts_7d")
)

# Outcomes that reached the customer: a conversation.
_REACHED = tuple(OUTCOMES.index(o) for o in REACHED_OUTCOMES)
_PROMISE = OUTCOMES.index("promise")
# Outcomes after which contacts are no longer failing: a promise, or money on the spot.
_RESET = (_PROMISE, OUTCOMES.index("paid"))
_RESTRUCTURE = LOGGED_ACTIONS.index("restructure")
_LEGAL = LOGGED_ACTIONS.index("legal")
_WINDOW = 7  # days of the attempt cap: the 7 consecutive days ending today


# -- the account state -------------------------------------------------------------------


def account_state(
    strategy: Strategy,
    portfolio: Portfolio,
    as_of: AsOf,
    *,
    flags: pd.DataFrame | None = None,
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """The state the contact rules read, for every loan overdue at ``as_of``.

    Overdue: open, with DPD above 0 in the ledger, and not a card whose
    payments since its last statement cover the shortfall that statement left
    (the ledger ages a statement's DPD until the next one; the lender's
    collection system sees the payment).

    Parameters
    ----------
    strategy : Strategy
        Says which logged actions the caps count (``rules.counted_actions``),
        which count as contact attempts (``rules.attempt_actions``) and which
        columns the flags are read from (``flags``).
    portfolio : Portfolio
        Validated on entry if it is not yet.
    as_of : date-like
        One date: the day the actions are planned for.
    flags : DataFrame, optional
        Boolean columns indexed by ``loan_id`` (or with a ``loan_id``
        column), named as in ``strategy.flags``, checked by
        :func:`check_flags`: every column a rule of the strategy reads must
        be there and no other; a loan absent from it reads False. Without
        it the flags are read from the loans table's columns of those
        names, and a flag without a column reads False (:func:`prioritise`
        warns).
    ledger : Ledger, optional
        A ledger of ``portfolio`` already built (it is built otherwise).

    Returns
    -------
    DataFrame
        Indexed by ``loan_id``, one row per loan with DPD > 0 at ``as_of``
        that is not closed, in the order of the loans table. Columns
        (:data:`STATE_COLUMNS`): ``dpd``, ``overdue_amount`` and ``balance``
        (outstanding principal; the balance for statement loans) from the
        ledger; ``product_type`` and ``product``; ``attempts_7d`` (counted
        actions dated in the 7 days ending ``as_of``, ``as_of - 6`` to
        ``as_of``), ``attempts_today`` and ``conversations_today`` (those
        dated ``as_of``, and those of them that reached the customer);
        ``days_since_conversation`` (since the last counted action that
        reached the customer; NaN if none); ``promise_date`` (the latest
        date among the promises made so far; NaT if none) and
        ``days_to_promise`` (``promise_date - as_of``: the promise is pending
        while it is >= 0); ``failed_contacts`` (contact attempts dated after
        the last payment, the last promise and the last payment on the spot,
        up to ``as_of``); ``days_since_restructure_offer`` (since the last
        logged ``restructure`` action, or the start of a loan that replaces a
        restructured one; NaN if none); ``days_since_payment`` (since the
        last payment received; NaN if none: a customer paying part of the
        arrears shows here, one who stopped paying does not);
        ``legal_started`` (a ``legal`` action is logged); and one boolean
        column per flag.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk import Strategy
    >>> from overdue_risk.prioritise import account_state
    >>> state = account_state(Strategy(), odr.load_portfolio("data/sample"), "2024-06-30")
    >>> len(state)
    235
    >>> state.loc["L0000047", ["dpd", "attempts_7d", "days_since_conversation",
    ...                        "failed_contacts"]].astype(int).tolist()
    [21, 2, 4, 14]
    """
    if not isinstance(strategy, Strategy):
        raise OverdueRiskError(f"strategy must be a Strategy; got {type(strategy).__name__}.")
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    today = int(days[0])
    p = validate(portfolio)
    loans = p.loans
    ledger = _check_ledger(ledger, p)

    snap = ledger.at(as_of).table()
    started = np.flatnonzero(to_days(loans["start_date"].to_numpy()) <= today)
    dpd = snap["dpd"].to_numpy()
    keep = (dpd > 0) & ~snap["is_closed"].to_numpy()
    # A card that has paid its statement's shortfall since is current to the lender.
    cards = np.flatnonzero(keep & (snap["source"] == "statements").to_numpy())
    owed = snap["overdue_amount"].to_numpy(dtype=np.float64, na_value=np.nan)[cards]
    paid_up = statement_cleared(ledger, started[cards], np.full(cards.size, today), owed)
    keep[cards[paid_up]] = False
    code = started[keep]  # position in loans of each account
    n = code.size
    # row[c]: the account of loan c, -1 for loans that are not (and for code -1).
    row = np.full(len(loans) + 1, -1, np.int64)
    row[code] = np.arange(n)
    last_pay = to_days(snap["last_payment_date"].to_numpy()[keep])

    log = _Log(p.collections, ledger, row, today)
    r = strategy.rules
    counted = log.action_in(r.counted_actions)
    reached = log.outcome_in(_REACHED)
    is_today = log.day == today
    conversation = counted & reached
    promise = (log.outcome == _PROMISE) & (log.pdate != NAT)
    # Failed contacts start after the latest payment, promise or payment on the spot.
    reset = np.maximum(last_pay, log.latest(log.outcome_in(_RESET), log.day, n))
    failed = log.action_in(r.attempt_actions) & (log.day > reset[log.acct])
    offer = latest_offer(log.latest(log.action == _RESTRUCTURE, log.day, n), loans, code)
    promise_day = log.latest(promise, log.pdate, n)

    data = {
        "dpd": dpd[keep].astype(np.int64),
        "overdue_amount": snap["overdue_amount"].to_numpy()[keep],
        "balance": snap["outstanding_principal"].to_numpy()[keep],
        "product_type": loans["product_type"].array.take(code),
        "product": (
            loans["product"].array.take(code)
            if "product" in loans
            else pd.Categorical(np.full(n, np.nan))
        ),
        "attempts_7d": log.count(counted & (log.day > today - _WINDOW), n),
        "contacts_7d": log.count(log.action_in(CONTACT_ACTIONS) & (log.day > today - _WINDOW), n),
        "attempts_today": log.count(counted & is_today, n),
        "conversations_today": log.count(conversation & is_today, n),
        "days_since_conversation": since(today, log.latest(conversation, log.day, n)),
        "promise_date": to_datetime(promise_day),
        "days_to_promise": -since(today, promise_day),
        "failed_contacts": log.count(failed, n),
        "days_since_restructure_offer": since(today, offer),
        "days_since_payment": since(today, last_pay),
        "legal_started": log.latest(log.action == _LEGAL, log.day, n) != NAT,
    }
    ids = pd.Index(loans["loan_id"].iloc[code], name="loan_id")
    data.update(_read_flags(strategy, loans, code, ids, flags))
    return pd.DataFrame(data, index=ids)


def _check_ledger(ledger: Ledger | None, p: Portfolio) -> Ledger:
    """``ledger`` if it is a ledger of the validated portfolio ``p``; one built if None."""
    if ledger is None:
        return Ledger(p)
    if not isinstance(ledger, Ledger):
        raise OverdueRiskError(f"ledger must be a Ledger; got {type(ledger).__name__}.")
    if ledger.n_loans != len(p.loans) or not np.array_equal(
        ledger.loan_ids, p.loans["loan_id"].to_numpy()
    ):
        raise OverdueRiskError("ledger must be built from the same portfolio.")
    return ledger


class _Log:
    """The collection rows of today's accounts dated on or before today, as arrays."""

    def __init__(self, log: pd.DataFrame | None, ledger: Ledger, row: np.ndarray, today: int):
        if log is None or not len(log):
            empty = np.empty(0, np.int64)
            self.acct, self.day, self.pdate = empty, empty, empty
            self.action = self.outcome = np.empty(0, np.int8)
            return
        cols = log_columns(log, ledger)
        acct = row[cols["code"]]
        use = (acct >= 0) & (cols["day"] <= today)  # later rows never count
        self.acct = acct[use]
        self.day, self.action = cols["day"][use], cols["action"][use]
        self.outcome, self.pdate = cols["outcome"][use], cols["pdate"][use]

    def action_in(self, names: tuple[str, ...]) -> np.ndarray:
        return actions_in(self.action, names)

    def outcome_in(self, codes: tuple[int, ...]) -> np.ndarray:
        return outcomes_in(self.outcome, codes)

    def count(self, mask: np.ndarray, n: int) -> np.ndarray:
        """Rows in ``mask`` per account."""
        return np.bincount(self.acct[mask], minlength=n).astype(np.int64, copy=False)

    def latest(self, mask: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
        """The largest of ``values`` over the rows in ``mask``, per account (NAT: none)."""
        out = np.full(n, NAT)
        np.maximum.at(out, self.acct[mask], values[mask])
        return out


def _read_flags(
    strategy: Strategy,
    loans: pd.DataFrame,
    code: np.ndarray,
    ids: pd.Index,
    flags: pd.DataFrame | None,
) -> dict[str, np.ndarray]:
    """Each flag of every account: from the checked flags table, or the loans table."""
    if flags is None:
        source, take = loans_flags(strategy, loans), code
    else:
        checked = check_flags(flags, strategy, loan_ids=loans["loan_id"])
        source = {c: checked[c].to_numpy() for c in checked.columns}
        take = checked.index.get_indexer(ids)
    out = {}
    for name in FLAGS:
        column = getattr(strategy.flags, name)
        if column not in source:  # no rule reads it, or no loans column holds it
            out[name] = np.zeros(code.size, bool)
            continue
        values = np.append(source[column], False)
        out[name] = values[take]  # take -1 (a loan not in flags) reads the appended False
    return out


# -- eligibility -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Eligibility:
    """Which actions each account may get today, and what blocked the others.

    Attributes
    ----------
    loan_id : Index
        The accounts, in the order of the state.
    actions : tuple of str
        The strategy's enabled actions, in order; ``wait`` is always eligible.
    eligible : ndarray of bool, shape (n, m)
        ``eligible[i, j]``: account ``i`` may get ``actions[j]`` today.
    blocked_by : ndarray of int8, shape (n, m)
        The first rule that blocked the pair, as a position in ``rules``;
        0 (``"eligible"``) where none did.
    strategy : Strategy
    state : DataFrame
        The strategy and the account state the rules were applied to.
    rules : tuple of str
        The rule names, in the order they are checked (:data:`RULES`).
    """

    loan_id: pd.Index
    actions: tuple[str, ...]
    eligible: np.ndarray
    blocked_by: np.ndarray
    strategy: Strategy = field(repr=False)
    state: pd.DataFrame = field(repr=False)
    rules: tuple[str, ...] = RULES

    def table(self) -> pd.DataFrame:
        """One row per account, one column per action: the rule that blocked it, or ``eligible``."""
        return pd.DataFrame(
            {
                a: pd.Categorical.from_codes(self.blocked_by[:, j], categories=list(self.rules))
                for j, a in enumerate(self.actions)
            },
            index=self.loan_id,
        )

    def summary(self) -> pd.DataFrame:
        """Accounts per rule (rows, ``eligible`` first) and action (columns)."""
        k = len(self.rules)
        counts = {
            a: np.bincount(self.blocked_by[:, j], minlength=k) for j, a in enumerate(self.actions)
        }
        return pd.DataFrame(counts, index=pd.Index(self.rules, name="rule"))

    def explain(self) -> pd.Series:
        """Per account, the rules that blocked its actions, as text for a worklist.

        For example ``"visit: min_dpd 15 > 12; legal: min_balance 500 > 320.1"``:
        each blocked action, the first rule that blocked it, the rule's limit
        and the account's value; ``""`` when every action is eligible.
        """
        n = len(self.loan_id)
        text = np.full(n, "", dtype=object)
        for j, a in enumerate(self.actions):
            column = self.blocked_by[:, j]
            rows = np.flatnonzero(column)
            if not rows.size:
                continue
            part = np.empty(rows.size, dtype=object)
            codes = column[rows]
            for k in np.unique(codes).tolist():
                hit = codes == k
                part[hit] = self._render(a, self.rules[k], rows[hit])
            before = text[rows]
            text[rows] = np.where(before == "", part, before + "; " + part)
        return pd.Series(text, index=self.loan_id, name="blocked")

    def _render(self, action: str, rule: str, rows: np.ndarray) -> np.ndarray | str:
        """The text of ``rule`` blocking ``action`` for the accounts ``rows``."""
        s, r = self.strategy, self.strategy.rules
        spec = getattr(s.actions, action)
        head = f"{action}: {rule}"

        def values(column: str, digits: int | None = None) -> np.ndarray:
            x = self.state[column].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
            shown = np.round(x, digits).astype(str) if digits else x.astype(np.int64).astype(str)
            return np.where(np.isnan(x), "unknown", shown).astype(object)

        limits = {
            "min_dpd": (spec, ">", "dpd", None),
            "max_dpd": (spec, "<", "dpd", None),
            "min_overdue": (spec, ">", "overdue_amount", 2),
            "min_balance": (spec, ">", "balance", 2),
            "min_failed_contacts": (spec, ">", "failed_contacts", None),
            "cooldown": (r, ">", "days_since_conversation", None),
            "max_attempts_7d": (r, "<=", "attempts_7d", None),
            "max_attempts_day": (r, "<=", "attempts_today", None),
            "max_conversations_day": (r, "<=", "conversations_today", None),
        }
        if rule in limits:
            owner, op, column, digits = limits[rule]
            limit = getattr(owner, "cooldown_days" if rule == "cooldown" else rule)
            return f"{head} {_fmt(limit)} {op} " + values(column, digits)
        if rule == "opt_out":
            return f"{head} {spec.channel}"
        if rule == "restructure_considered":
            return f"{head} none in {r.restructure_lookback_days} days"
        if rule == "promise_pending":
            dates = self.state["promise_date"].to_numpy("datetime64[ns]")[rows]
            return f"{head} until " + np.datetime_as_string(dates, unit="D").astype(object)
        if rule == "product":
            st = self.state.iloc[rows]
            label = st["product"].astype(object).where(st["product"].notna(), st["product_type"])
            allowed = ", ".join(spec.products)
            return f"{head} " + label.astype(str).to_numpy(dtype=object) + f" not in {allowed}"
        return head


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"


def _flag(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=bool, na_value=False)


def eligibility(strategy: Strategy, state: pd.DataFrame) -> Eligibility:
    """Which of the strategy's actions each account may get today.

    Parameters
    ----------
    strategy : Strategy
    state : DataFrame
        As returned by :func:`account_state` (with every column of
        :data:`STATE_COLUMNS`), built with the same strategy.

    Returns
    -------
    Eligibility
        ``eligible`` and ``blocked_by`` with one row per account and one
        column per action of ``strategy.action_names``.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk import Strategy
    >>> from overdue_risk.prioritise import account_state, eligibility
    >>> s = Strategy.profile("us_reg_f")
    >>> state = account_state(s, odr.load_portfolio("data/sample"), "2024-06-30")
    >>> result = eligibility(s, state)
    >>> result.actions
    ('sms', 'call', 'visit', 'restructure', 'legal', 'wait')
    >>> result.eligible.shape, int(result.summary().loc["cooldown", "call"])
    ((235, 6), 49)
    >>> result.explain()["L0000047"]
    'call: cooldown 7 > 4; restructure: min_dpd 30 > 21; legal: min_dpd 90 > 21'
    """
    if not isinstance(strategy, Strategy):
        raise OverdueRiskError(f"strategy must be a Strategy; got {type(strategy).__name__}.")
    if not isinstance(state, pd.DataFrame):
        raise OverdueRiskError(f"state must be a DataFrame; got {type(state).__name__}.")
    missing = [c for c in _RULE_COLUMNS if c not in state.columns]
    if missing:
        raise OverdueRiskError(f"state is missing the columns {', '.join(missing)}.")
    n, names, r = len(state), strategy.action_names, strategy.rules

    def num(column: str) -> np.ndarray:
        return state[column].to_numpy(dtype=np.float64, na_value=np.nan)

    dpd = num("dpd")
    overdue, balance, failed = num("overdue_amount"), num("balance"), num("failed_contacts")
    flag = {name: _flag(state[name]) for name in FLAGS}
    # Comparisons with NaN are False: no conversation, no promise, no offer.
    ineligible = flag["restructure_ineligible"]
    considered = (num("days_since_restructure_offer") < r.restructure_lookback_days) | ineligible
    account_rules = {
        "promise_pending": num("days_to_promise") >= 0 if r.promise_pause else None,
        "cooldown": num("days_since_conversation") < r.cooldown_days if r.cooldown_days else None,
        "max_attempts_7d": _at_limit(num("attempts_7d"), r.max_attempts_7d),
        "max_attempts_day": _at_limit(num("attempts_today"), r.max_attempts_day),
        "max_conversations_day": _at_limit(num("conversations_today"), r.max_conversations_day),
    }
    counted = ("cooldown", "max_attempts_7d", "max_attempts_day", "max_conversations_day")
    product = state["product"]
    product_type = state["product_type"]

    blocked = np.zeros((n, len(names)), np.int8)
    for j, a in enumerate(names):
        if a == "wait":
            continue
        spec = getattr(strategy.actions, a)
        checks = {
            "product": None
            if spec.products is None
            else ~(product.isin(spec.products) | product_type.isin(spec.products)).to_numpy(),
            "cease_contact": flag["cease_contact"] if spec.channel != "none" else None,
            "opt_out": flag[OPT_OUT[spec.channel]] if spec.channel in OPT_OUT else None,
            "hardship": flag["hardship"] if a not in r.hardship_actions else None,
            "vulnerable": flag["vulnerable"] if a not in r.vulnerable_actions else None,
            "restructure_ineligible": ineligible if a == "restructure" else None,
            "min_dpd": dpd < spec.min_dpd,
            "max_dpd": dpd > spec.max_dpd if spec.max_dpd != math.inf else None,
            "min_overdue": ~(overdue >= spec.min_overdue) if spec.min_overdue > 0 else None,
            "min_balance": ~(balance >= spec.min_balance) if spec.min_balance > 0 else None,
            "min_failed_contacts": failed < spec.min_failed_contacts,
            "restructure_considered": ~considered if spec.requires_restructure_considered else None,
            "promise_pending": account_rules["promise_pending"],
        }
        for name in counted:
            checks[name] = account_rules[name] if a in r.counted_actions else None
        column = np.zeros(n, np.int8)
        for name in reversed(RULES[1:]):  # the first rule that blocks is written last
            mask = checks[name]
            if mask is not None:
                column[mask] = _CODE[name]
        blocked[:, j] = column
    return Eligibility(
        loan_id=state.index,
        actions=names,
        eligible=blocked == 0,
        blocked_by=blocked,
        strategy=strategy,
        state=state,
    )


def _at_limit(count: np.ndarray, limit: float) -> np.ndarray | None:
    """Accounts whose ``count`` has reached ``limit`` (None: no limit)."""
    return None if limit == math.inf else count >= limit
