"""One parameter-rule kit: declarative rules, one vocabulary of descriptions, one message form.

In the spirit of scikit-learn's ``_parameter_constraints`` (whose machinery is
private API, so it is mirrored here, not imported): a parameter's rule is
declared once, as data, next to the parameter, and one checker turns a broken
rule into a message that names the parameter, the rule and the bad value.

A rule answers two questions. :meth:`Rule.describe` gives the phrase after
"must be" (``"a number in (0, 1]"``, ``"one of t, s"``), from one vocabulary
shared by every estimator and configuration. :meth:`Rule.clean` gives the value
in its canonical type (configurations keep it; estimators only check), or
raises :class:`Invalid`. A list of rules, or ``None`` among them, means any one
of them (``[None, Names()]``: None or a list of names), as in scikit-learn.

The message has one form, with two kinds of subject:

* estimator parameters (:func:`check_params`):
  ``The 'learning_rate' parameter of RiskModel must be a number in (0, 1]; got 0.``
* configuration keys and function arguments (:func:`check`):
  ``strategy.actions.visit.min_dpd must be an integer >= 0; got -1.``

Examples
--------
>>> from overdue_risk._params import Interval, Options, check, check_params
>>> check(Interval(float, 0, 1, closed="right"), 1, key="share", error=ValueError)
1.0
>>> check_params("Model", {"learner": "x"}, {"learner": Options(("t", "s"))}, ValueError)
Traceback (most recent call last):
...
ValueError: The 'learner' parameter of Model must be one of t, s; got 'x'.
>>> check(Options(("sms", "voice")), "vocie", key="channel", error=ValueError)
Traceback (most recent call last):
...
ValueError: channel must be one of sms, voice; got 'vocie'; did you mean voice?
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "N_JOBS",
    "AnyOf",
    "Boolean",
    "Date",
    "Interval",
    "Invalid",
    "IsNone",
    "Limit",
    "ListOf",
    "Names",
    "Options",
    "Rule",
    "Satisfies",
    "Text",
    "Time",
    "as_rule",
    "check",
    "check_params",
    "suggest",
]


class Invalid(Exception):
    """Raised by :meth:`Rule.clean`: the value breaks the rule.

    ``hint`` (``"; did you mean call?"``) ends the message instead of its full stop.
    """

    def __init__(self, hint: str = ""):
        super().__init__(hint)
        self.hint = hint


class Rule:
    """What a parameter may hold."""

    def describe(self) -> str:
        """The phrase after "must be"."""
        raise NotImplementedError

    def clean(self, value: Any) -> Any:
        """``value`` in its canonical type; :class:`Invalid` if it breaks the rule."""
        raise NotImplementedError


def _num(x: float) -> str:
    """A bound as the message shows it: ``0``, ``0.5``, ``131072``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# Which ends of an interval are open, by the name of those that are closed.
_CLOSED = {
    "both": (False, False),
    "left": (False, True),
    "right": (True, False),
    "neither": (True, True),
}


@dataclass(frozen=True)
class Interval(Rule):
    """A finite number of ``type`` (``int`` or ``float``) between optional bounds.

    ``closed`` says which bounds belong to the interval: ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"``. An ``int`` rule with ``whole_floats`` also
    takes a float with no fractional part (``15.0``), as configurations do.
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    whole_floats: bool = False

    def __post_init__(self) -> None:
        if self.type not in (int, float) or self.closed not in _CLOSED:
            raise TypeError(f"Interval(type={self.type!r}, closed={self.closed!r})")

    def describe(self, plural: bool = False) -> str:
        what = {
            (int, False): "an integer",
            (int, True): "integers",
            (float, False): "a number",
            (float, True): "numbers",
        }[self.type, plural]
        left_open, right_open = _CLOSED[self.closed]
        if self.low is not None and self.high is not None:
            left, right = "(" if left_open else "[", ")" if right_open else "]"
            return f"{what} in {left}{_num(self.low)}, {_num(self.high)}{right}"
        if self.low is not None:
            return f"{what} {'>' if left_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"{what} {'<' if right_open else '<='} {_num(self.high)}"
        return what

    def clean(self, value: Any) -> Any:
        if not _real(value):
            raise Invalid
        if not isinstance(value, numbers.Integral):  # an int is finite, however large
            if not math.isfinite(value):
                raise Invalid
            if self.type is int and not (self.whole_floats and float(value).is_integer()):
                raise Invalid
        left_open, right_open = _CLOSED[self.closed]
        if self.low is not None and (value <= self.low if left_open else value < self.low):
            raise Invalid
        if self.high is not None and (value >= self.high if right_open else value > self.high):
            raise Invalid
        return self.type(value)


@dataclass(frozen=True)
class Limit(Rule):
    """A whole count >= 0, or ``inf`` for no limit (capacities and caps)."""

    def describe(self) -> str:
        return "an integer >= 0, or inf for no limit"

    def clean(self, value: Any) -> Any:
        if not _real(value):
            raise Invalid
        if value == math.inf:
            return math.inf
        whole = isinstance(value, numbers.Integral) or (
            math.isfinite(value) and float(value).is_integer()
        )
        if not whole or value < 0:
            raise Invalid
        return int(value)


def suggest(value: Any, choices: Sequence[str]) -> str:
    """``"; did you mean <choice>?"`` for the choice nearest ``value``, or ``""``."""
    text = str(value)
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    close = close or [c for c in choices if text and c.startswith(text)][:1]
    return f"; did you mean {close[0]}?" if close else ""


def _label(option: Any) -> str:
    return option if isinstance(option, str) else repr(option)


@dataclass(frozen=True)
class Options(Rule):
    """One of ``options``; a misspelt name gets the nearest option suggested."""

    options: tuple

    def describe(self) -> str:
        return f"one of {', '.join(map(_label, self.options))}"

    def clean(self, value: Any) -> Any:
        for option in self.options:
            # Same type first: True is not 1, and an array is never compared elementwise.
            if value is option or (isinstance(value, type(option)) and value == option):
                return option
        names = [o for o in self.options if isinstance(o, str)]
        raise Invalid(suggest(value, names) if isinstance(value, str) else "")


@dataclass(frozen=True)
class Boolean(Rule):
    """``True`` or ``False`` (not 0 or 1)."""

    def describe(self) -> str:
        return "true or false"

    def clean(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        raise Invalid


@dataclass(frozen=True)
class IsNone(Rule):
    """``None``: in a list of rules, makes the parameter optional."""

    def describe(self) -> str:
        return "None"

    def clean(self, value: Any) -> Any:
        if value is None:
            return None
        raise Invalid


@dataclass(frozen=True)
class Date(Rule):
    """A calendar date, or its ISO text ``YYYY-MM-DD``; kept as a ``datetime.date``."""

    def describe(self) -> str:
        return "a date (YYYY-MM-DD)"

    def clean(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(value.strip())
        raise Invalid


@dataclass(frozen=True)
class Time(Rule):
    """A time of day to the minute, or its text ``HH:MM``; kept as ``"HH:MM"``."""

    def describe(self) -> str:
        return "a time of day HH:MM"

    def clean(self, value: Any) -> Any:
        parsed = value if isinstance(value, dt.time) else None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                parsed = dt.time.fromisoformat(value.strip())
        if parsed is None or parsed.tzinfo is not None or parsed.second or parsed.microsecond:
            raise Invalid
        return parsed.strftime("%H:%M")


@dataclass(frozen=True)
class Text(Rule):
    """A text, stripped; not blank unless ``empty``."""

    empty: bool = False

    def describe(self) -> str:
        return "a text" if self.empty else "a non-empty text"

    def clean(self, value: Any) -> Any:
        if not isinstance(value, str) or not (self.empty or value.strip()):
            raise Invalid
        return value.strip()


def _sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


@dataclass(frozen=True)
class Names(Rule):
    """A list of distinct names (texts, stripped), all ``among`` the given ones if any.

    The list may be empty only with ``empty``. Kept as a tuple.
    """

    among: tuple[str, ...] | None = None
    empty: bool = False

    def describe(self) -> str:
        head = "a list" if self.empty else "a non-empty list"
        tail = f" among {', '.join(self.among)}" if self.among is not None else ""
        return f"{head} of distinct names{tail}"

    def clean(self, value: Any) -> Any:
        if not _sequence(value) or not (self.empty or len(value)):
            raise Invalid
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise Invalid
        names = tuple(v.strip() for v in value)
        if self.among is not None:
            unknown = [v for v in names if v not in self.among]
            if unknown:
                raise Invalid(
                    f"; {unknown[0]!r} is unknown{suggest(unknown[0], self.among) or '.'}"
                )
        if len(set(names)) != len(names):
            raise Invalid
        return names


@dataclass(frozen=True)
class ListOf(Rule):
    """A list of numbers that each keep ``item``; non-empty unless ``empty``, kept as a tuple.

    With ``increasing``, each number must be larger than the one before.
    """

    item: Interval
    empty: bool = False
    increasing: bool = False

    def describe(self) -> str:
        head = "a list of" if self.empty else "a non-empty list of"
        order = " strictly increasing" if self.increasing else ""
        return f"{head}{order} {self.item.describe(plural=True)}"

    def clean(self, value: Any) -> Any:
        if not _sequence(value) or not (self.empty or len(value)):
            raise Invalid
        items = tuple(self.item.clean(v) for v in value)
        if self.increasing and any(b <= a for a, b in itertools.pairwise(items)):
            raise Invalid
        return items


@dataclass(frozen=True)
class Satisfies(Rule):
    """A special case: a value for which ``test(value)`` is true, described by ``description``."""

    test: Callable[[Any], bool]
    description: str

    def describe(self) -> str:
        return self.description

    def clean(self, value: Any) -> Any:
        if not self.test(value):
            raise Invalid
        return value


@dataclass(frozen=True)
class AnyOf(Rule):
    """A value that keeps one of ``rules`` (the first that takes it cleans it)."""

    rules: tuple[Rule, ...]

    def describe(self) -> str:
        return " or ".join(r.describe() for r in self.rules)

    def clean(self, value: Any) -> Any:
        hints = []
        for rule in self.rules:
            try:
                return rule.clean(value)
            except Invalid as exc:
                hints.append(exc.hint)
        raise Invalid(next((h for h in hints if h), ""))


def as_rule(spec: Rule | Sequence | None) -> Rule:
    """A rule from its declaration: a rule, ``None``, or a list of them (any one of)."""
    if spec is None:
        return IsNone()
    if isinstance(spec, Rule):
        return spec
    rules = tuple(as_rule(s) for s in spec)
    return rules[0] if len(rules) == 1 else AnyOf(rules)


def _nonzero_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value != 0


# The rule of scikit-learn's and LightGBM's ``n_jobs``: None, or a number of threads
# (negative: all but some).
N_JOBS = as_rule([None, Satisfies(_nonzero_int, "a non-zero integer")])


def _message(subject: str, rule: Rule, value: Any, hint: str) -> str:
    return f"{subject} must be {rule.describe()}; got {value!r}{hint or '.'}"


def check(spec: Rule | Sequence | None, value: Any, *, key: str, error: type[Exception]) -> Any:
    """``value`` in its rule's canonical type, or ``error`` naming ``key``.

    The message reads ``"<key> must be <description>; got <value!r>."``.
    """
    rule = as_rule(spec)
    try:
        return rule.clean(value)
    except Invalid as exc:
        raise error(_message(key, rule, value, exc.hint)) from None


def check_params(
    owner: str,
    params: Mapping[str, Any],
    rules: Mapping[str, Rule | Sequence | None],
    error: type[Exception],
) -> None:
    """Raise ``error`` for the first parameter, in ``rules`` order, that breaks its rule.

    The message reads ``"The '<name>' parameter of <owner> must be <description>;
    got <value!r>."``.
    """
    for name, spec in rules.items():
        rule = as_rule(spec)
        try:
            rule.clean(params[name])
        except Invalid as exc:
            raise error(
                _message(f"The {name!r} parameter of {owner}", rule, params[name], exc.hint)
            ) from None
