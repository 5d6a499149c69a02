"""The prioritiser's strategy: actions, who may get them, and the contact rules.

A :class:`Strategy` is a tree of frozen dataclasses, read from TOML with the
simulator scenario's machinery (``simulate/_scenario.py``): the same table
walking, unknown keys rejected with the nearest valid key suggested, and a
summary that marks what was set. Each value declares its rule once, in its
field's metadata; :meth:`Strategy.__post_init__` walks the tree and checks every
value, so a message names the full key (``strategy.actions.visit.min_dpd``)
however the strategy was built.

Shipped profiles (``profiles/*.toml``, package data) are complete strategy files
read through the same path as a user's file; a user file may start from one
with ``extends = "<profile>"`` and change only what differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract._schema import ACTIONS as LOGGED_ACTIONS
from ..exceptions import ScenarioError, StrategyError
from ..simulate._scenario import (
    _SECTION,
    _build,
    _coerce,
    _leaves,
    _merge,
    _Rule,
    _same,
    _to_dict,
    _to_toml,
)

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "FLAGS",
    "OPT_OUT",
    "ActionSpec",
    "Actions",
    "Flags",
    "Hours",
    "Rules",
    "Strategy",
    "StrategyError",
    "WaitSpec",
]

# The actions a strategy chooses from, in the order of every action axis.
ACTIONS = ("sms", "call", "visit", "restructure", "legal", "wait")
# How an action reaches the customer: what an opt-out or a cease-contact blocks.
CHANNELS = ("sms", "voice", "field", "letter", "none")
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

# Kinds the scenario's rules check (their messages are reused as they are).
_SHARED = ("number", "int", "bool", "names")


@dataclass(frozen=True)
class _Key:
    """What a strategy value may hold; ``describe()`` is the 'must be ...' phrase.

    Kinds beyond the scenario's: ``limit`` (a whole number >= 0, or ``inf`` for
    no limit), ``text``, ``choice`` (one of ``choices``), ``actions`` (a list of
    distinct names from ``choices``, possibly empty) and ``time`` (``HH:MM``).
    """

    kind: str
    low: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        if self.kind in _SHARED:
            return _Rule(self.kind, self.low).describe()
        return {
            "limit": "a whole number >= 0, or inf for no limit",
            "text": "a non-empty text" if self.low else "a text",
            "choice": f"one of {', '.join(self.choices)}",
            "actions": f"a list of distinct names among {', '.join(self.choices)}",
            "time": "a time of day HH:MM",
        }[self.kind]


def _v(default: Any, kind: str = "number", low: float | None = 0, **kw: Any) -> Any:
    return field(default=default, metadata={"rule": _Key(kind, low, **kw)})


@contextlib.contextmanager
def _as_strategy_error() -> Iterator[None]:
    """The scenario machinery raises ScenarioError; here its messages are StrategyErrors."""
    try:
        yield
    except ScenarioError as exc:
        raise StrategyError(str(exc)) from None


def _suggest(value: Any, choices: tuple[str, ...]) -> str:
    text = str(value)
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    close = close or [c for c in choices if text and c.startswith(text)][:1]
    return f"; did you mean {close[0]}?" if close else ""


def _bad(key: str, rule: _Key, value: Any, hint: str = "") -> StrategyError:
    return StrategyError(f"{key} must be {rule.describe()}; got {value!r}{hint or '.'}")


def _check(key: str, rule: _Key, value: Any) -> Any:
    """The value in its canonical type, or StrategyError naming ``key``."""
    if value is None and rule.optional:
        return None
    if rule.kind in _SHARED:
        with _as_strategy_error():
            return _coerce(key, _Rule(rule.kind, rule.low), value)
    if rule.kind == "limit":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(key, rule, value)
        if value == math.inf:
            return math.inf
        if not (math.isfinite(value) and value >= 0 and value == int(value)):
            raise _bad(key, rule, value)
        return int(value)
    if rule.kind == "text":
        if not isinstance(value, str) or (rule.low and not value.strip()):
            raise _bad(key, rule, value)
        return value.strip()
    if rule.kind == "choice":
        if value not in rule.choices:
            raise _bad(key, rule, value, _suggest(value, rule.choices))
        return value
    if rule.kind == "actions":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _bad(key, rule, value)
        unknown = [v for v in value if v not in rule.choices]
        if unknown:
            hint = _suggest(unknown[0], rule.choices) or "."
            raise _bad(key, rule, value, f"; {unknown[0]!r} is unknown{hint}")
        if len(set(value)) != len(value):
            raise _bad(key, rule, value)
        return tuple(value)
    if rule.kind == "time":
        parsed = value if isinstance(value, dt.time) else None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                parsed = dt.time.fromisoformat(value.strip())
        if parsed is None or parsed.tzinfo is not None or parsed.second or parsed.microsecond:
            raise _bad(key, rule, value)
        return parsed.strftime("%H:%M")
    raise AssertionError(rule.kind)  # pragma: no cover


# -- sections --------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One action: its cost, daily capacity, channel, and which accounts may get it.

    An account is eligible when every threshold holds: ``min_dpd <= dpd <=
    max_dpd``, ``overdue_amount >= min_overdue``, ``balance >= min_balance``,
    ``failed_contacts >= min_failed_contacts``, restructuring was considered
    when ``requires_restructure_considered``, and its product is in
    ``products`` when that is given. ``capacity`` is a number of attempts a
    day (``inf``: unlimited); a disabled action is left out of the strategy.
    """

    cost: float = _v(0.0)
    capacity: float = _v(math.inf, "limit")
    channel: str = _v("none", "choice", choices=CHANNELS)
    enabled: bool = _v(True, "bool")
    min_dpd: int = _v(1, "int")
    max_dpd: float = _v(math.inf, "limit")
    min_overdue: float = _v(0.0)
    min_balance: float = _v(0.0)
    min_failed_contacts: int = _v(0, "int")
    requires_restructure_considered: bool = _v(False, "bool")
    products: tuple[str, ...] | None = _v(None, "names", optional=True)


@dataclass(frozen=True)
class WaitSpec:
    """Doing nothing today: always eligible, unlimited; ``cost`` is its cost per account."""

    cost: float = _v(0.0)

    @property
    def capacity(self) -> float:
        return math.inf

    @property
    def channel(self) -> str:
        return "none"

    @property
    def enabled(self) -> bool:
        return True


def _spec(**values: Any):
    return lambda: ActionSpec(**values)


@dataclass(frozen=True)
class Actions:
    """The actions, in the order of every action axis (:data:`ACTIONS`)."""

    sms: ActionSpec = field(default_factory=_spec(cost=0.05, channel="sms"), metadata=_SECTION)
    call: ActionSpec = field(default_factory=_spec(cost=1.5, channel="voice"), metadata=_SECTION)
    visit: ActionSpec = field(
        default_factory=_spec(cost=25.0, channel="field", min_dpd=15, min_overdue=100.0),
        metadata=_SECTION,
    )
    restructure: ActionSpec = field(
        default_factory=_spec(cost=10.0, channel="letter", min_dpd=30), metadata=_SECTION
    )
    legal: ActionSpec = field(
        default_factory=_spec(
            cost=150.0,
            channel="none",
            min_dpd=90,
            min_balance=500.0,
            min_failed_contacts=3,
            requires_restructure_considered=True,
        ),
        metadata=_SECTION,
    )
    wait: WaitSpec = field(default_factory=WaitSpec, metadata=_SECTION)


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

    counted_actions: tuple[str, ...] = _v(("call",), "actions", choices=LOGGED_ACTIONS)
    max_attempts_7d: float = _v(math.inf, "limit")
    max_attempts_day: float = _v(math.inf, "limit")
    max_conversations_day: float = _v(math.inf, "limit")
    cooldown_days: int = _v(0, "int")
    promise_pause: bool = _v(True, "bool")
    attempt_actions: tuple[str, ...] = _v(
        ("sms", "call", "visit", "letter"), "actions", choices=LOGGED_ACTIONS
    )
    restructure_lookback_days: int = _v(180, "int", 1)
    hardship_actions: tuple[str, ...] = _v(("restructure",), "actions", choices=ACTIONS)
    vulnerable_actions: tuple[str, ...] = _v(("restructure",), "actions", choices=ACTIONS)


@dataclass(frozen=True)
class Flags:
    """The boolean columns the account flags are read from; an absent column reads False."""

    opt_out_sms: str = _v("opt_out_sms", "text", 1)
    opt_out_voice: str = _v("opt_out_call", "text", 1)
    opt_out_field: str = _v("opt_out_visit", "text", 1)
    opt_out_letter: str = _v("opt_out_letter", "text", 1)
    cease_contact: str = _v("cease_contact", "text", 1)
    hardship: str = _v("hardship", "text", 1)
    vulnerable: str = _v("vulnerable", "text", 1)
    restructure_ineligible: str = _v("restructure_ineligible", "text", 1)


@dataclass(frozen=True)
class Hours:
    """The contact window, in the customer's local time: data for the dialler and field staff.

    The daily batch decides who gets what on a day; it cannot enforce a time
    of day. The worklist carries this window so that the systems that place
    the calls, send the messages and plan the visits can.
    """

    start: str = _v("08:00", "time")
    end: str = _v("21:00", "time")


# -- the strategy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    """What the prioritiser may do to overdue accounts, and the rules it must keep.

    Sections: ``actions`` (cost, daily capacity, channel and eligibility of
    sms, call, visit, restructure, legal and wait), ``rules`` (contact caps,
    cool-down, promise pause, hardship and vulnerability routing, what counts
    as a failed contact and as restructuring considered), ``flags`` (the
    columns the account flags are read from) and ``hours`` (the contact
    window, carried for the dialler). Values are validated on construction;
    an invalid one raises :class:`StrategyError` naming its full key.
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

    name: str = _v("default", "text", 1)
    extends: str | None = _v(None, "text", 1, optional=True)
    actions: Actions = field(default_factory=Actions, metadata=_SECTION)
    rules: Rules = field(default_factory=Rules, metadata=_SECTION)
    flags: Flags = field(default_factory=Flags, metadata=_SECTION)
    hours: Hours = field(default_factory=Hours, metadata=_SECTION)

    def __post_init__(self) -> None:
        _walk(self, "strategy")  # checks and normalises every value
        _check_consistency(self)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strategy:
        """A strategy from nested dicts, as in a TOML file; missing keys keep their defaults.

        With ``extends = "<profile>"`` the missing keys take the profile's
        values instead. Unknown keys raise :class:`StrategyError` with the
        nearest valid key suggested.
        """
        if not isinstance(data, dict):
            raise StrategyError(f"strategy must be a table of keys; got {data!r}.")
        base = data.get("extends")
        with _as_strategy_error():
            if base is None:
                return _build(cls, data, "strategy")
            return _merge(cls.profile(_profile_name(base, "strategy.extends")), data, "strategy")

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
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise StrategyError(f"Cannot read strategy file {str(p)!r}: {exc.strerror}.") from exc
        return cls.from_dict(_parse(text, f"Strategy file {str(p)!r}"))

    @classmethod
    def profile(cls, name: str) -> Strategy:
        """A shipped profile: ``default``, ``us_reg_f``, ``china`` or ``uk_eu``.

        The profile's strategy has ``extends`` set to its name, so that
        :meth:`summary` marks its values as the profile's.
        """
        name = _profile_name(name)
        text = _profile_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
        data = _parse(text, f"Profile {name!r}")
        data.pop("extends", None)  # a profile is complete: it starts from the defaults
        with _as_strategy_error():
            s = _build(cls, data, "strategy")
        return replace(s, extends=name)

    @staticmethod
    def profiles() -> tuple[str, ...]:
        """The names of the shipped profiles."""
        return _profile_names()

    def replace(self, **sections: dict[str, Any] | Any) -> Strategy:
        """A copy with some values changed: ``s.replace(rules={"cooldown_days": 3})``.

        Each keyword names a key or a section; a section takes a dict of its
        keys (nested dicts for subsections) or a whole section object.
        """
        with _as_strategy_error():
            return _merge(self, sections, "strategy")

    # -- reading ---------------------------------------------------------------------

    @property
    def action_names(self) -> tuple[str, ...]:
        """The enabled actions, in :data:`ACTIONS` order; ``wait`` is always last."""
        return tuple(a for a in ACTIONS if getattr(self.actions, a).enabled)

    def action_table(self) -> pd.DataFrame:
        """One row per enabled action: cost, capacity, channel and eligibility thresholds."""
        rows = {}
        for a in self.action_names:
            spec = getattr(self.actions, a)
            rows[a] = {"cost": spec.cost, "capacity": spec.capacity, "channel": spec.channel}
            if isinstance(spec, ActionSpec):
                rows[a].update(
                    {k: getattr(spec, k) for k in _field_names(ActionSpec) if k not in rows[a]}
                )
        table = pd.DataFrame.from_dict(rows, orient="index").drop(columns="enabled")
        table.index.name = "action"
        return table

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts of every value (``inf`` for no limit; absent values omitted)."""
        return _to_dict(self)

    def to_toml(self) -> str:
        """The strategy as TOML text that :meth:`from_toml` reads back to an equal strategy."""
        return _to_toml(self)

    def summary(self) -> pd.DataFrame:
        """One row per key: ``key``, ``value``, ``default`` and ``source``.

        ``source`` is ``"user"`` where the value differs from the profile the
        strategy ``extends`` (from the library defaults without one),
        ``"profile"`` where it is the profile's and differs from the default,
        and ``"default"`` elsewhere.
        """
        default = Strategy()
        base = Strategy.profile(self.extends) if self.extends else default
        rows = []
        for (key, value, ref), (_, _, dflt) in zip(
            _leaves(self, base, ""), _leaves(self, default, ""), strict=True
        ):
            if not _same(value, ref):
                source = "user"
            elif self.extends and not _same(value, dflt):
                source = "profile"
            else:
                source = "default"
            rows.append({"key": key, "value": value, "default": dflt, "source": source})
        return pd.DataFrame(rows)


# -- walking, checking and profiles ------------------------------------------------------


def _field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _walk(obj: Any, prefix: str) -> None:
    """Check (and normalise in place) every value of a section tree."""
    for f in fields(obj):
        key = f"{prefix}.{f.name}"
        value = getattr(obj, f.name)
        if "section" in f.metadata:
            expected = type(f.default_factory())
            if not isinstance(value, expected):
                raise StrategyError(f"{key} must be a table of keys; got {value!r}.")
            _walk(value, key)
            continue
        clean = _check(key, f.metadata["rule"], value)
        if clean is not value:
            object.__setattr__(obj, f.name, clean)  # frozen: normalise once, at construction


def _check_consistency(s: Strategy) -> None:
    for name in ACTIONS[:-1]:
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


def _parse(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{what} is not valid TOML: {exc}.") from exc


def _profile_dir():
    return resources.files(__package__).joinpath("profiles")


def _profile_names() -> tuple[str, ...]:
    names = (p.name for p in _profile_dir().iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n.removesuffix(".toml") for n in names))


def _profile_name(name: Any, key: str | None = None) -> str:
    """``name`` if it names a shipped profile; else StrategyError listing them."""
    available = _profile_names()
    if not isinstance(name, str) or name not in available:
        hint = _suggest(name, available) or "."
        where = f"{key}: u" if key else "U"
        raise StrategyError(
            f"{where}nknown strategy profile {name!r}{hint} "
            f"Available profiles: {', '.join(available)}."
        )
    return name
