"""The prioritiser's strategy: actions, who may get them, and the contact rules.

A :class:`Strategy` is a tree of frozen dataclasses, read and written by the
configuration kernel (:mod:`overdue_risk._config`): tables walked the same way
as the simulator scenario's, unknown keys rejected with the nearest valid key
suggested, and a summary that marks what was set. Each value declares its rule
once (:mod:`overdue_risk._params`), in its field's metadata;
:meth:`Strategy.__post_init__` walks the tree and checks every value, so a
message names the full key (``strategy.actions.visit.min_dpd``) however the
strategy was built, and every problem is a :class:`StrategyError`.

Shipped profiles (``profiles/*.toml``, package data) are complete strategy files
read through the same path as a user's file; a user file may start from one
with ``extends = "<profile>"`` and change only what differs.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from .._config import SECTION, ConfigRoot, setting, summary, to_dict, to_toml
from .._params import (
    Boolean,
    Interval,
    Invalid,
    Limit,
    Names,
    Options,
    Rule,
    Text,
    Time,
    check,
)
from ..contract import (
    CHANNELS,
    CONTACT_ACTIONS,
    DEFAULT_CHANNEL,
    LOGGED_ACTIONS,
    TREATMENTS,
    WAIT,
)
from ..exceptions import StrategyError
from ._objective import Value
from ._profiles import _check_strategy_name, _profile_dir, _profile_name, _profile_names

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "COUNT",
    "FLAGS",
    "MAX_COUNT",
    "OPT_OUT",
    "ActionSpec",
    "Actions",
    "Flags",
    "Hours",
    "Rules",
    "Strategy",
    "StrategyError",
    "Value",
    "WaitSpec",
]

# The actions a strategy chooses from, in the order of every action axis: the
# treatments of the action vocabulary, then waiting (the decision to do nothing).
ACTIONS = (*TREATMENTS, WAIT)
# The account flags, and the channel each opt-out flag blocks.
FLAGS = (
    "opt_out_sms",
    "opt_out_voice",
    "opt_out_field",
    "opt_out_letter",
    "cease_contact",
    "hardship",
    "vulnerable",
    "restructure_ineligible",
)
OPT_OUT = {
    "sms": "opt_out_sms",
    "voice": "opt_out_voice",
    "field": "opt_out_field",
    "letter": "opt_out_letter",
}

# -- value rules -----------------------------------------------------------------------

_AMOUNT = Interval(float, 0)
# Capacities, caps and day limits: a whole number up to MAX_COUNT, or inf for no limit.
# A larger number means no limit in practice but would not fit the solvers' integers
# (1e300 is a whole float): it is refused when the strategy is read, naming its key.
MAX_COUNT = 1_000_000_000


@dataclass(frozen=True)
class _Count(Limit):
    """A :class:`Limit` whose finite values are at most ``high``."""

    high: int = MAX_COUNT

    def clean(self, value: Any) -> Any:
        clean = super().clean(value)
        if clean != math.inf and clean > self.high:
            raise Invalid(f"; the largest finite limit is {self.high:,} (inf: no limit).")
        return clean


COUNT = _Count()
# Capacities scale with the book: this many attempts a day per BOOK_UNIT accounts.
BOOK_UNIT = 10_000


@dataclass(frozen=True)
class _Rate(Rule):
    """A capacity per :data:`BOOK_UNIT` accounts: a number >= 0 (fractions allowed) up to
    :data:`MAX_COUNT`, or ``inf`` for no limit."""

    def describe(self) -> str:
        return "a number >= 0, or inf for no limit"

    def clean(self, value: Any) -> Any:
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not real or not value >= 0:  # NaN fails the comparison
            raise Invalid
        if value == math.inf:
            return math.inf
        if value > MAX_COUNT:
            raise Invalid(f"; the largest finite rate is {MAX_COUNT:,} (inf: no limit).")
        return float(value)


_RATE = _Rate()
_DAYS = Interval(int, 0, whole_floats=True)  # 15.0 in a file is 15
_LOGGED = Names(among=LOGGED_ACTIONS, empty=True)
_DECIDED = Names(among=ACTIONS, empty=True)


# -- sections --------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One action: its cost, daily capacity, channel, and which accounts may get it.

    An account is eligible when every threshold holds: ``min_dpd <= dpd <=
    max_dpd``, ``overdue_amount >= min_overdue``, ``balance >= min_balance``,
    ``failed_contacts >= min_failed_contacts``, restructuring was considered
    when ``requires_restructure_considered``, and its product is in
    ``products`` when that is given. ``capacity`` is a number of attempts a
    day (``inf``: unlimited) and ``capacity_per_10k`` the same per 10,000
    accounts of the book (loans open at the as-of date, overdue or not); the
    day's capacity is the smaller of ``capacity`` and ``capacity_per_10k x
    book / 10,000`` rounded down (:meth:`Strategy.capacities`). A disabled
    action is left out of the strategy. ``complaint_probability`` is the chance
    that one attempt brings a complaint, charged at ``value.complaint_cost``.
    """

    cost: float = setting(0.0, _AMOUNT)
    capacity: float = setting(math.inf, COUNT)
    capacity_per_10k: float = setting(math.inf, _RATE)
    channel: str = setting("none", Options(CHANNELS))
    enabled: bool = setting(True, Boolean())
    min_dpd: int = setting(1, _DAYS)
    max_dpd: float = setting(math.inf, COUNT)
    min_overdue: float = setting(0.0, _AMOUNT)
    min_balance: float = setting(0.0, _AMOUNT)
    min_failed_contacts: int = setting(0, _DAYS)
    requires_restructure_considered: bool = setting(False, Boolean())
    products: tuple[str, ...] | None = setting(None, [None, Names()])
    complaint_probability: float = setting(0.0, Interval(float, 0, 1))


@dataclass(frozen=True)
class WaitSpec:
    """Doing nothing today: always eligible, unlimited; ``cost`` is its cost per account."""

    cost: float = setting(0.0, _AMOUNT)

    @property
    def capacity(self) -> float:
        return math.inf

    @property
    def capacity_per_10k(self) -> float:
        return math.inf

    @property
    def channel(self) -> str:
        return "none"

    @property
    def enabled(self) -> bool:
        return True


def _spec(action: str, **values: Any):
    return lambda: ActionSpec(channel=DEFAULT_CHANNEL[action], **values)


@dataclass(frozen=True)
class Actions:
    """The actions, in the order of every action axis (:data:`ACTIONS`).

    ``letter`` is disabled by default: a strategy that wants it enables it.
    """

    sms: ActionSpec = field(default_factory=_spec("sms", cost=0.05), metadata=SECTION)
    call: ActionSpec = field(default_factory=_spec("call", cost=1.5), metadata=SECTION)
    visit: ActionSpec = field(
        default_factory=_spec("visit", cost=25.0, min_dpd=15, min_overdue=100.0),
        metadata=SECTION,
    )
    letter: ActionSpec = field(
        default_factory=_spec("letter", cost=0.8, enabled=False), metadata=SECTION
    )
    restructure: ActionSpec = field(
        default_factory=_spec("restructure", cost=10.0, min_dpd=30), metadata=SECTION
    )
    legal: ActionSpec = field(
        default_factory=_spec(
            "legal",
            cost=150.0,
            min_dpd=90,
            min_balance=500.0,
            min_failed_contacts=3,
            requires_restructure_considered=True,
        ),
        metadata=SECTION,
    )
    wait: WaitSpec = field(default_factory=WaitSpec, metadata=SECTION)


@dataclass(frozen=True)
class Rules:
    """The contact rules, and how the account state behind them is counted.

    ``counted_actions`` (logged actions, as in the ``collections`` table) are
    the channel group that the caps and the cool-down count and block: the
    attempts of those actions in the 7 days ending today, today, and today's
    conversations (an outcome that reached the customer) must stay below
    ``max_attempts_7d``, ``max_attempts_day`` and ``max_conversations_day``;
    for ``cooldown_days`` after a conversation through one of them, none of
    them is eligible. ``promise_pause`` blocks every action but ``wait``
    until the day after a pending promise's date. ``attempt_actions`` are the
    logged actions counted as contact attempts by ``min_failed_contacts``.
    Restructuring was considered when a restructuring offer was made in the
    last ``restructure_lookback_days`` days or the account was assessed
    ineligible for it. Accounts flagged ``hardship`` or ``vulnerable`` may
    only get ``hardship_actions`` or ``vulnerable_actions`` (and ``wait``).
    """

    counted_actions: tuple[str, ...] = setting(("call",), _LOGGED)
    max_attempts_7d: float = setting(math.inf, COUNT)
    max_attempts_day: float = setting(math.inf, COUNT)
    max_conversations_day: float = setting(math.inf, COUNT)
    cooldown_days: int = setting(0, _DAYS)
    promise_pause: bool = setting(True, Boolean())
    attempt_actions: tuple[str, ...] = setting(CONTACT_ACTIONS, _LOGGED)
    restructure_lookback_days: int = setting(180, Interval(int, 1, whole_floats=True))
    hardship_actions: tuple[str, ...] = setting(("restructure",), _DECIDED)
    vulnerable_actions: tuple[str, ...] = setting(("restructure",), _DECIDED)


@dataclass(frozen=True)
class Flags:
    """The boolean columns the account flags are read from; an absent column reads False."""

    opt_out_sms: str = setting("opt_out_sms", Text())
    opt_out_voice: str = setting("opt_out_call", Text())
    opt_out_field: str = setting("opt_out_visit", Text())
    opt_out_letter: str = setting("opt_out_letter", Text())
    cease_contact: str = setting("cease_contact", Text())
    hardship: str = setting("hardship", Text())
    vulnerable: str = setting("vulnerable", Text())
    restructure_ineligible: str = setting("restructure_ineligible", Text())


@dataclass(frozen=True)
class Hours:
    """The contact window, in the customer's local time: data for the dialler and field staff.

    The daily batch decides who gets what on a day; it cannot enforce a time
    of day. The worklist carries this window so that the systems that place
    the calls, send the messages and plan the visits can.
    """

    start: str = setting("08:00", Time())
    end: str = setting("21:00", Time())


# -- the strategy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    """What the prioritiser may do to overdue accounts, and the rules it must keep.

    Sections: ``actions`` (cost, daily capacity, fixed and per 10,000 accounts
    of the book, channel and eligibility of sms, call, visit, letter,
    restructure, legal and wait; letter is disabled by default; every capacity
    is unlimited by default, and :meth:`capacities` gives a day's), ``rules`` (contact caps,
    cool-down, promise pause, hardship and vulnerability routing, what counts
    as a failed contact and as restructuring considered), ``flags`` (the
    columns the account flags are read from), ``hours`` (the contact
    window, carried for the dialler) and ``value`` (the window a decision is
    judged over, discounting, write-off, and the complaint, over-contact and
    court-record costs the objective charges: :class:`Value`). Values are
    validated on construction; an invalid one raises :class:`StrategyError`
    naming its full key.
    ``extends`` names the shipped profile a strategy starts from.

    Examples
    --------
    >>> from overdue_risk import Strategy
    >>> s = Strategy.from_dict({"actions": {"visit": {"min_dpd": 20, "capacity": 40}}})
    >>> s.actions.visit.min_dpd, s.actions.visit.capacity, s.actions.call.capacity
    (20, 40, inf)
    >>> s.action_names
    ('sms', 'call', 'visit', 'restructure', 'legal', 'wait')
    >>> s.summary().query("source == 'user'")["key"].tolist()
    ['actions.visit.capacity', 'actions.visit.min_dpd']
    >>> Strategy.profile("us_reg_f").rules.max_attempts_7d
    7
    """

    name: str = setting("default", Text())
    extends: str | None = setting(None, [None, Text()])
    actions: Actions = field(default_factory=Actions, metadata=SECTION)
    rules: Rules = field(default_factory=Rules, metadata=SECTION)
    flags: Flags = field(default_factory=Flags, metadata=SECTION)
    hours: Hours = field(default_factory=Hours, metadata=SECTION)
    value: Value = field(default_factory=Value, metadata=SECTION)

    def __post_init__(self) -> None:
        _ROOT.validate(self)  # checks and normalises every value
        _check_consistency(self)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strategy:
        """A strategy from nested dicts, as in a TOML file; missing keys keep their defaults.

        With ``extends = "<profile>"`` the missing keys take the profile's
        values instead. Unknown keys raise :class:`StrategyError` with the
        nearest valid key suggested.
        """
        base = data.get("extends") if isinstance(data, dict) else None
        if base is None:
            return _ROOT.build(cls, data)
        return _ROOT.merge(cls.profile(_profile_name(base, "strategy.extends")), data)

    @classmethod
    def from_toml(cls, path: str | Path) -> Strategy:
        """Read a strategy from a TOML file (one table per section).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from overdue_risk import Strategy, StrategyError
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = f.write_text('extends = "uk_eu"\\n[actions.visit]\\nmin_dp = 20\\n')
        >>> try:
        ...     Strategy.from_toml(f)
        ... except StrategyError as err:
        ...     print(err)
        Unknown key strategy.actions.visit.min_dp; did you mean min_dpd?
        """
        return cls.from_dict(_ROOT.read_toml(path))

    @classmethod
    def load(cls, strategy: Strategy | str | os.PathLike) -> Strategy:
        """A strategy from itself, a shipped profile's name or a TOML file.

        A name in :meth:`profiles` is a profile; any other text or path is a
        TOML file read by :meth:`from_toml`. An empty name is an error, and so
        is a name that is no file and looks like a profile's (no folder, no
        suffix: ``defualt``, ``uk-eu``), with the nearest profile suggested.

        Examples
        --------
        >>> from overdue_risk import Strategy
        >>> Strategy.load("uk_eu").extends
        'uk_eu'
        """
        if isinstance(strategy, Strategy):
            return strategy
        if isinstance(strategy, str) and strategy in cls.profiles():
            return cls.profile(strategy)
        if isinstance(strategy, str | os.PathLike):
            _check_strategy_name(os.fspath(strategy))
            return cls.from_toml(strategy)
        raise StrategyError(
            "strategy must be a Strategy, a profile name or a TOML file; "
            f"got {type(strategy).__name__}."
        )

    @classmethod
    def profile(cls, name: str) -> Strategy:
        """A shipped profile: ``default``, ``us_reg_f``, ``china`` or ``uk_eu``.

        The profile's strategy has ``extends`` set to its name, so that
        :meth:`summary` marks its values as the profile's.
        """
        name = _profile_name(name)
        text = _profile_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
        data = _ROOT.parse_toml(text, f"Profile {name!r}")
        data.pop("extends", None)  # a profile is complete: it starts from the defaults
        return replace(_ROOT.build(cls, data), extends=name)

    @staticmethod
    def profiles() -> tuple[str, ...]:
        """The names of the shipped profiles."""
        return _profile_names()

    def replace(self, **sections: dict[str, Any] | Any) -> Strategy:
        """A copy with some values changed: ``s.replace(rules={"cooldown_days": 3})``.

        Each keyword names a key or a section; a section takes a dict of its
        keys (nested dicts for subsections) or a whole section object.
        """
        return _ROOT.merge(self, sections)

    # -- reading ---------------------------------------------------------------------

    @property
    def action_names(self) -> tuple[str, ...]:
        """The enabled actions, in :data:`ACTIONS` order; ``wait`` is always last."""
        return tuple(a for a in ACTIONS if getattr(self.actions, a).enabled)

    def capacities(self, accounts: int) -> dict[str, float]:
        """The day's capacity of each enabled action, for a book of ``accounts`` loans.

        The capacity of an action is ``min(capacity, floor(capacity_per_10k x
        accounts / 10,000))``: the smaller of its fixed capacity and its rate per
        10,000 accounts scaled to the book, rounded down to whole attempts. The
        product is computed exactly on the rate as written (2.3 per 10,000 of
        100,000 accounts is 23, where floating point would give 22). ``inf``
        where both are unlimited; ``wait`` is always unlimited.

        Parameters
        ----------
        accounts : int
            The book: the loans open at the as-of date (started on or before
            it and not closed), overdue or not. :func:`prioritise` and the
            policy evaluation count it from the portfolio.

        Returns
        -------
        dict
            ``{action: capacity}`` in :attr:`action_names` order: an int, or
            ``inf`` for no limit.

        Examples
        --------
        >>> from overdue_risk import Strategy
        >>> Strategy.profile("default").capacities(25_000)
        {'sms': inf, 'call': 450, 'visit': 60, 'restructure': 30, 'legal': 15, 'wait': inf}
        >>> s = Strategy().replace(actions={"call": {"capacity": 100, "capacity_per_10k": 180}})
        >>> s.capacities(2_522)["call"], s.capacities(10_000)["call"]
        (45, 100)
        """
        n = check(Interval(int, 0), accounts, key="accounts", error=StrategyError)
        return {a: _day_capacity(getattr(self.actions, a), n) for a in self.action_names}

    def capacity_shares(self, book: int, overdue: int) -> dict[str, float]:
        """Each limited action's capacity for a book of ``book`` loans, as a share of
        ``overdue`` accounts: ``capacities(book)[a] / overdue``.

        A share above 1 is 1 (the action can take every overdue account), and
        every share is 1 when no account is overdue. Unlimited actions (and
        ``wait``) are left out. This is the ``capacity`` a
        :class:`ShrunkUplift` judges its candidate policies under.

        Parameters
        ----------
        book : int
            The loans open at the as-of date (:func:`book_size`).
        overdue : int
            The accounts overdue then (the rows of :func:`account_state`).

        Examples
        --------
        >>> from overdue_risk import Strategy
        >>> Strategy.profile("default").capacity_shares(25_000, 300)
        {'call': 1.0, 'visit': 0.2, 'restructure': 0.1, 'legal': 0.05}
        """
        book = check(Interval(int, 0), book, key="book", error=StrategyError)
        n = check(Interval(int, 0), overdue, key="overdue", error=StrategyError)
        caps = self.capacities(book)
        return {
            a: (1.0 if n == 0 else min(1.0, c / n))
            for a, c in caps.items()
            if a != WAIT and math.isfinite(c)
        }

    def action_table(self) -> pd.DataFrame:
        """One row per enabled action: cost, capacities, channel and eligibility thresholds."""
        rows = {}
        for a in self.action_names:
            spec = getattr(self.actions, a)
            rows[a] = {
                "cost": spec.cost,
                "capacity": spec.capacity,
                "capacity_per_10k": spec.capacity_per_10k,
                "channel": spec.channel,
            }
            if isinstance(spec, ActionSpec):
                rows[a].update(
                    {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in rows[a]}
                )
        # A strategy that only waits has no thresholds (and no "enabled") to show.
        table = pd.DataFrame.from_dict(rows, orient="index").drop(
            columns="enabled", errors="ignore"
        )
        table.index.name = "action"
        return table

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts of every value (``inf`` for no limit; absent values omitted)."""
        return to_dict(self)

    def to_toml(self) -> str:
        """The strategy as TOML text that :meth:`from_toml` reads back to an equal strategy."""
        return to_toml(self)

    def summary(self) -> pd.DataFrame:
        """One row per key: ``key``, ``value``, ``default`` and ``source``.

        ``source`` is ``"user"`` where the value differs from the profile the
        strategy ``extends`` (from the library defaults without one),
        ``"profile"`` where it is the profile's and differs from the default,
        and ``"default"`` elsewhere.
        """
        base = Strategy.profile(self.extends) if self.extends else None
        return summary(self, Strategy(), base)


_ROOT = ConfigRoot("strategy", StrategyError)


def _day_capacity(spec: ActionSpec | WaitSpec, accounts: int) -> float:
    """``min(capacity, floor(capacity_per_10k * accounts / BOOK_UNIT))``, exactly."""
    rate = spec.capacity_per_10k
    if rate == math.inf:  # inf x 0 accounts would be NaN: no rate, no limit from it
        return spec.capacity
    # repr gives the shortest decimal that reads back as the rate: the value as written.
    return min(spec.capacity, math.floor(Fraction(repr(rate)) * accounts / BOOK_UNIT))


# -- consistency across keys, and profiles -----------------------------------------------


def _check_consistency(s: Strategy) -> None:
    for name in TREATMENTS:
        spec = getattr(s.actions, name)
        if spec.min_dpd > spec.max_dpd:
            raise StrategyError(
                f"strategy.actions.{name}.min_dpd must be <= max_dpd; "
                f"got {spec.min_dpd} > {spec.max_dpd}."
            )
    if s.hours.start >= s.hours.end:
        raise StrategyError(
            f"strategy.hours.start must be before hours.end; got {s.hours.start} >= {s.hours.end}."
        )
    if s.extends is not None:
        _profile_name(s.extends, "strategy.extends")
