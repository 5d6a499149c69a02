"""The simulator's scenario: every behaviour driver as a frozen, validated parameter.

A :class:`Scenario` is a tree of frozen dataclasses, one per concern (products,
customers, economy, behaviour, collections policy, actions). Each field declares
its rule once, in its metadata; :meth:`Scenario.__post_init__` walks the tree and
checks every value against its rule, so the messages name the full key
(``scenario.economy.downturn_start``) whatever way the scenario was built.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import tomllib
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import ScenarioError

__all__ = [
    "RESPONSE_TYPES",
    "ActionParams",
    "Actions",
    "Behaviour",
    "CardProduct",
    "Collections",
    "Customers",
    "Economy",
    "InstalmentProduct",
    "Products",
    "Restructure",
    "Scenario",
]

# How an account in arrears reacts to collection actions: the hidden type that
# makes action effects heterogeneous. Confused customers (product complexity)
# are a separate, temporary state, not a type.
RESPONSE_TYPES = ("self_cure", "call_responsive", "restructure_only", "never_pay")


@dataclass(frozen=True)
class _Rule:
    """What a parameter may hold; ``describe()`` is the 'must be ...' phrase."""

    kind: str  # number, int, date, bool, names, numbers, ints
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    optional: bool = False  # None allowed (dates only)

    def describe(self) -> str:
        if self.kind == "date":
            return "a date (YYYY-MM-DD)" + (" or absent" if self.optional else "")
        if self.kind == "bool":
            return "true or false"
        if self.kind == "names":
            return "a list of distinct, non-empty names"
        what = {
            "number": "a number",
            "int": "an integer",
            "numbers": "a list of numbers",
            "ints": "a list of integers",
        }[self.kind]
        if self.low is not None and self.high is not None:
            lo = "(" if self.low_open else "["
            return f"{what} in {lo}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        return what


def _rule(kind: str = "number", low=None, high=None, *, open_=False, optional=False) -> dict:
    return {"rule": _Rule(kind, low, high, open_, optional)}


def _p(default: Any, kind: str = "number", low=None, high=None, *, open_=False, optional=False):
    return field(default=default, metadata=_rule(kind, low, high, open_=open_, optional=optional))


def _prob(default: float):
    return _p(default, "number", 0.0, 1.0)


def _nonneg(default: float):
    return _p(default, "number", 0.0)


def _pos(default: float):
    return _p(default, "number", 0.0, open_=True)


def _int(default: int, low: int = 0, high: int | None = None):
    return _p(default, "int", low, high)


# Marks a field holding a nested section; its class is that of the default.
_SECTION = {"section": True}


# -- products --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentProduct:
    """An instalment product (POS or cash loan): amounts, terms, rates and complexity.

    ``complexity`` is the chance that a customer misunderstands the product and
    misses a payment they could make (three times as likely on the first
    instalment); such misses cure quickly, and reminders help them most.
    ``prepay_monthly`` is the monthly chance of repaying the loan early.
    """

    principal_min: float = _pos(150.0)
    principal_max: float = _pos(1500.0)
    term_min: int = _int(3, 1, 120)
    term_max: int = _int(12, 1, 120)
    rate_min: float = _nonneg(0.0)
    rate_max: float = _nonneg(0.25)
    complexity: float = _prob(0.015)
    prepay_monthly: float = _prob(0.01)


def _cash() -> InstalmentProduct:
    return InstalmentProduct(
        principal_min=1000.0,
        principal_max=12000.0,
        term_min=12,
        term_max=36,
        rate_min=0.12,
        rate_max=0.36,
        complexity=0.004,
        prepay_monthly=0.008,
    )


@dataclass(frozen=True)
class CardProduct:
    """A revolving card: limits, rate, minimum payment and spending.

    A statement closes every month on the card's cycle day; its minimum
    (``min_share`` of the balance, at least ``min_floor``) is due
    ``grace_days`` later. ``spend_share`` is the mean monthly spend as a share
    of the limit; ``closure_monthly`` the monthly chance that a customer in
    good standing pays off and closes the card.
    """

    limit_min: float = _pos(500.0)
    limit_max: float = _pos(5000.0)
    rate: float = _nonneg(0.30)
    min_share: float = _p(0.05, "number", 0.0, 1.0, open_=True)
    min_floor: float = _nonneg(20.0)
    grace_days: int = _int(25, 1, 27)
    spend_share: float = _prob(0.25)
    complexity: float = _prob(0.02)
    closure_monthly: float = _prob(0.008)


@dataclass(frozen=True)
class Products:
    """The product mix and each product's terms."""

    pos_share: float = _prob(0.45)
    cash_share: float = _prob(0.30)
    card_share: float = _prob(0.25)
    pos: InstalmentProduct = field(default_factory=InstalmentProduct, metadata=_SECTION)
    cash: InstalmentProduct = field(default_factory=_cash, metadata=_SECTION)
    card: CardProduct = field(default_factory=CardProduct, metadata=_SECTION)


# -- customers and economy -------------------------------------------------------------


@dataclass(frozen=True)
class Customers:
    """Who borrows: repeat borrowing and the latent traits behind repayment.

    ``capacity`` (ability to pay) and ``willingness`` are standard normal
    latent traits with correlation ``trait_correlation``; observable
    attributes (income band, employment, application score) are noisy
    functions of them, so a model can learn part but not all of the risk.
    """

    extra_loans_mean: float = _nonneg(0.3)
    trait_correlation: float = _p(0.3, "number", -1.0, 1.0)
    score_noise: float = _nonneg(0.8)


@dataclass(frozen=True)
class Economy:
    """Regional unemployment and the income shocks it drives.

    Unemployment per region follows its base rate, an AR(1) monthly noise, and
    during a downturn (``downturn_start`` to ``downturn_end``, both needed) an
    extra ``downturn_severity`` times the region's ``sensitivity``, ramping up
    over the first third and back down over the last third. Customers start a
    hardship episode at ``shock_rate`` a year at base unemployment, times
    ``exp(shock_sensitivity * (unemployment - base))``; episodes last
    ``hardship_mean_days`` on average.
    """

    regions: tuple[str, ...] = _p(("capital", "north", "south", "east", "west"), "names")
    region_shares: tuple[float, ...] = _p((0.3, 0.2, 0.2, 0.15, 0.15), "numbers", 0.0, 1.0)
    base_unemployment: tuple[float, ...] = _p((0.04, 0.06, 0.08, 0.065, 0.055), "numbers", 0.0, 1.0)
    sensitivity: tuple[float, ...] = _p((1.0, 1.2, 1.0, 1.3, 0.8), "numbers", 0.0)
    noise_sd: float = _nonneg(0.002)
    persistence: float = _prob(0.9)
    downturn_start: dt.date | None = field(default=None, metadata=_rule("date", optional=True))
    downturn_end: dt.date | None = field(default=None, metadata=_rule("date", optional=True))
    downturn_severity: float = _p(0.04, "number", 0.0, 1.0)
    shock_rate: float = _nonneg(0.10)
    shock_sensitivity: float = _nonneg(25.0)
    hardship_mean_days: float = _p(120.0, "number", 1.0)


# -- behaviour -------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How customers repay: habits, misses, cures and their drivers.

    On each instalment's habitual payment day (its due date plus the
    customer's habit offset) the customer pays unless they miss. The log-odds
    of a miss are ``miss_intercept - miss_capacity * capacity -
    miss_willingness * willingness + miss_hardship * hardship +
    miss_unemployment * (unemployment - base)``. An account in arrears pays on
    any day with a hazard that depends on the customer's response type
    (``hazard_*``, per day), their traits (``hazard_traits``) and hardship
    (``hardship_hazard``), times the lift of any recent collection action.
    """

    miss_intercept: float = _p(-3.9)
    miss_capacity: float = _nonneg(0.9)
    miss_willingness: float = _nonneg(0.7)
    miss_hardship: float = _nonneg(2.2)
    miss_unemployment: float = _nonneg(12.0)
    early_share: float = _prob(0.25)
    on_time_share: float = _prob(0.45)
    late_share: float = _prob(0.20)
    partial_share: float = _prob(0.10)
    early_days_max: int = _int(7, 1, 20)
    late_days_max: int = _int(6, 1, 20)
    habit_jitter_days: float = _nonneg(1.0)
    partial_min: float = _prob(0.3)
    partial_max: float = _prob(0.8)
    late_window_hazard: float = _prob(0.04)
    confusion_hazard: float = _prob(0.06)
    hazard_self_cure: float = _prob(0.06)
    hazard_call_responsive: float = _prob(0.01)
    hazard_restructure_only: float = _prob(0.004)
    hazard_never_pay: float = _prob(0.0005)
    hazard_traits: float = _nonneg(0.4)
    hardship_hazard: float = _prob(0.3)
    full_cure_share: float = _prob(0.6)
    share_self_cure: float = _prob(0.50)
    share_call_responsive: float = _prob(0.27)
    share_restructure_only: float = _prob(0.13)
    share_never_pay: float = _prob(0.10)
    type_tilt: float = _nonneg(0.8)


# -- collections -----------------------------------------------------------------------


@dataclass(frozen=True)
class Collections:
    """The logged (champion) policy and its randomised challenger cell.

    By days past due: an SMS from ``sms_from`` every ``sms_every`` days up to
    ``sms_until``; a call from ``call_from`` every ``call_every`` days up to
    ``call_until`` (not while a promise is pending, nor after an opt-out);
    letters on the ``letter_days``; a visit from ``visit_from`` every
    ``visit_every`` days for exposures of at least ``visit_min_balance``; one
    restructuring offer at ``restructure_at``; legal action from
    ``legal_from``. One action per account per day, the harshest first. A share
    ``challenger_share`` of accounts is in the challenger cell, where on each
    day an overdue account gets, with probability ``challenger_rate``, an
    action drawn uniformly from those it is eligible for.
    """

    sms_from: int = _int(1, 1)
    sms_every: int = _int(3, 1)
    sms_until: int = _int(29, 1)
    call_from: int = _int(5, 1)
    call_every: int = _int(3, 1)
    call_until: int = _int(89, 1)
    letter_days: tuple[int, ...] = _p((15, 45, 75), "ints", 1)
    visit_from: int = _int(30, 1)
    visit_every: int = _int(14, 1)
    visit_until: int = _int(89, 1)
    visit_min_balance: float = _nonneg(1500.0)
    restructure_at: int = _int(60, 1)
    max_restructures: int = _int(1, 0, 9)
    legal_from: int = _int(90, 1)
    challenger_share: float = _prob(0.10)
    challenger_rate: float = _prob(0.30)


@dataclass(frozen=True)
class ActionParams:
    """One collection action: cost, reach and its effect by response type.

    ``contact_rate`` is the chance the action reaches the customer. A contact
    multiplies the customer's daily chance of paying by ``lift_<type>`` (or
    ``lift_confused`` for a confused customer) for ``effect_days`` days.
    After a contact, ``promise_rate`` is the chance of a promise to pay and
    ``pay_now_rate`` the chance of a payment on the spot.
    """

    cost: float = _nonneg(1.0)
    contact_rate: float = _prob(1.0)
    effect_days: int = _int(3, 0, 365)
    lift_confused: float = _nonneg(1.0)
    lift_self_cure: float = _nonneg(1.0)
    lift_call_responsive: float = _nonneg(1.0)
    lift_restructure_only: float = _nonneg(1.0)
    lift_never_pay: float = _nonneg(1.0)
    promise_rate: float = _prob(0.0)
    pay_now_rate: float = _prob(0.0)


def _action(**kw) -> Any:
    return lambda: ActionParams(**kw)


@dataclass(frozen=True)
class Restructure:
    """A restructuring offer: acceptance by response type and the new terms.

    On acceptance the old loan closes and a new instalment loan carries the
    overdue amount and remaining principal over the remaining term plus
    ``extension_months`` at ``rate_factor`` times the old rate. Afterwards the
    customer's willingness rises by ``willingness_bonus`` (restructure-only
    customers: ``restructure_only_bonus``).
    """

    cost: float = _nonneg(15.0)
    contact_rate: float = _prob(0.6)
    accept_self_cure: float = _prob(0.3)
    accept_call_responsive: float = _prob(0.3)
    accept_restructure_only: float = _prob(0.8)
    accept_never_pay: float = _prob(0.05)
    extension_months: int = _int(12, 0, 120)
    rate_factor: float = _nonneg(0.5)
    willingness_bonus: float = _p(0.3)
    restructure_only_bonus: float = _p(2.0)


@dataclass(frozen=True)
class Actions:
    """Every action's cost and effect, promises, and the price of over-contact.

    A promise is kept with probability ``keep_<type>`` (halved in hardship)
    and falls due within ``promise_days`` days. Over-contact is counted in
    calls and visits over the last 7 days: each one beyond
    ``free_contacts_7d`` multiplies an action's lift above 1 (and a call's
    chance of being answered) by ``fatigue``; a call or visit that reaches a
    customer already called ``complaint_after_7d`` times or more risks a
    complaint with probability ``complaint_rate`` per call beyond that, which
    costs ``complaint_cost`` and opts the customer out of calls and visits.
    """

    sms: ActionParams = field(
        metadata=_SECTION,
        default_factory=_action(
            cost=0.05,
            contact_rate=0.95,
            effect_days=4,
            lift_confused=4.0,
            lift_self_cure=1.1,
            lift_call_responsive=1.5,
        ),
    )
    letter: ActionParams = field(
        metadata=_SECTION,
        default_factory=_action(
            cost=0.8,
            contact_rate=0.9,
            effect_days=10,
            lift_confused=2.0,
            lift_self_cure=1.05,
            lift_call_responsive=1.2,
        ),
    )
    call: ActionParams = field(
        metadata=_SECTION,
        default_factory=_action(
            cost=1.5,
            contact_rate=0.45,
            effect_days=5,
            lift_confused=5.0,
            lift_self_cure=1.2,
            lift_call_responsive=3.5,
            lift_restructure_only=1.1,
            promise_rate=0.35,
            pay_now_rate=0.05,
        ),
    )
    visit: ActionParams = field(
        metadata=_SECTION,
        default_factory=_action(
            cost=25.0,
            contact_rate=0.75,
            effect_days=10,
            lift_confused=5.0,
            lift_self_cure=1.3,
            lift_call_responsive=5.0,
            lift_restructure_only=1.2,
            lift_never_pay=1.05,
            promise_rate=0.4,
            pay_now_rate=0.15,
        ),
    )
    legal: ActionParams = field(
        metadata=_SECTION,
        default_factory=_action(
            cost=150.0,
            contact_rate=1.0,
            effect_days=90,
            lift_confused=3.0,
            lift_self_cure=2.0,
            lift_call_responsive=3.0,
            lift_restructure_only=2.0,
            lift_never_pay=15.0,
        ),
    )
    restructure: Restructure = field(default_factory=Restructure, metadata=_SECTION)
    keep_self_cure: float = _prob(0.8)
    keep_call_responsive: float = _prob(0.6)
    keep_restructure_only: float = _prob(0.3)
    keep_never_pay: float = _prob(0.1)
    promise_days: int = _int(7, 1, 60)
    free_contacts_7d: int = _int(2, 0)
    fatigue: float = _prob(0.7)
    complaint_after_7d: int = _int(3, 0)
    complaint_rate: float = _prob(0.03)
    complaint_cost: float = _nonneg(40.0)


# -- the scenario ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Every behaviour driver of the simulated lender, with sensible defaults.

    Sections: ``products`` (mix and terms of POS, cash and card), ``customers``
    (traits and repeat borrowing), ``economy`` (regional unemployment,
    downturns, income shocks), ``behaviour`` (habits, misses, cures, response
    types), ``collections`` (the logged policy) and ``actions`` (costs and
    effects). Values are validated on construction; an invalid one raises
    :class:`~overdue_risk.ScenarioError` naming its full key.

    Examples
    --------
    >>> from overdue_risk import Scenario
    >>> s = Scenario()
    >>> s.collections.call_from
    5
    >>> worse = s.replace(economy={"downturn_start": "2024-03-01",
    ...                            "downturn_end": "2024-12-31"})
    >>> worse.economy.downturn_start
    datetime.date(2024, 3, 1)
    >>> worse.summary().query("source == 'user'")["key"].tolist()
    ['economy.downturn_start', 'economy.downturn_end']
    """

    products: Products = field(default_factory=Products, metadata=_SECTION)
    customers: Customers = field(default_factory=Customers, metadata=_SECTION)
    economy: Economy = field(default_factory=Economy, metadata=_SECTION)
    behaviour: Behaviour = field(default_factory=Behaviour, metadata=_SECTION)
    collections: Collections = field(default_factory=Collections, metadata=_SECTION)
    actions: Actions = field(default_factory=Actions, metadata=_SECTION)

    def __post_init__(self) -> None:
        for _ in _walk(self, "scenario"):  # checks and normalises every value
            pass
        _check_consistency(self)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """A scenario from nested dicts, as in a TOML file; missing keys keep their defaults.

        Unknown keys raise :class:`~overdue_risk.ScenarioError` with the nearest
        valid key suggested.
        """
        return _build(cls, data, "scenario")

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read a scenario from a TOML file (one table per section).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from overdue_risk import Scenario
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = f.write_text("[economy]\\ndownturn_strt = 2024-03-01\\n")
        >>> Scenario.from_toml(f)
        Traceback (most recent call last):
        ...
        overdue_risk.exceptions.ScenarioError: Unknown key scenario.economy.downturn_strt; \
did you mean downturn_start?
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"Cannot read scenario file {str(p)!r}: {exc.strerror}.") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"Scenario file {str(p)!r} is not valid TOML: {exc}.") from exc
        return cls.from_dict(data)

    def replace(self, **sections: dict[str, Any] | Any) -> Scenario:
        """A copy with some values changed: ``s.replace(economy={"shock_rate": 0.2})``.

        Each keyword names a section and gives either a dict of its keys (nested
        dicts for subsections) or a whole section object.
        """
        changes = {}
        for name, value in sections.items():
            if name not in _field_names(type(self)):
                raise ScenarioError(_unknown_message(f"scenario.{name}", name, type(self)))
            if isinstance(value, dict):
                value = _merge(getattr(self, name), value, f"scenario.{name}")
            changes[name] = value
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts of every value (dates as ``datetime.date``; absent dates omitted)."""
        return _to_dict(self)

    def to_toml(self) -> str:
        """The scenario as TOML text that :meth:`from_toml` reads back to an equal scenario."""
        return _to_toml(self)

    def summary(self) -> pd.DataFrame:
        """One row per parameter: ``key``, ``value``, ``default`` and ``source``.

        ``source`` is ``"user"`` where the value differs from the default and
        ``"default"`` elsewhere.
        """
        rows = []
        for key, value, default in _leaves(self, Scenario(), ""):
            rows.append(
                {
                    "key": key,
                    "value": value,
                    "default": default,
                    "source": "default" if _same(value, default) else "user",
                }
            )
        return pd.DataFrame(rows)


# -- walking, checking and building ------------------------------------------------------


def _field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _unknown_message(full_key: str, name: str, cls: type) -> str:
    close = difflib.get_close_matches(name, _field_names(cls), n=1, cutoff=0.5)
    hint = (
        f"; did you mean {close[0]}?" if close else f"; valid keys: {', '.join(_field_names(cls))}."
    )
    return f"Unknown key {full_key}{hint}"


def _bad(key: str, rule: _Rule, value: Any) -> ScenarioError:
    return ScenarioError(f"{key} must be {rule.describe()}; got {value!r}.")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _in_range(x: float, rule: _Rule) -> bool:
    if not math.isfinite(x):
        return False
    if rule.low is not None and (x <= rule.low if rule.low_open else x < rule.low):
        return False
    return rule.high is None or x <= rule.high


def _coerce(key: str, rule: _Rule, value: Any) -> Any:
    """The value in its canonical type, or ScenarioError."""
    if rule.kind == "date":
        if value is None and rule.optional:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _bad(key, rule, value)
    if rule.kind == "bool":
        if isinstance(value, bool):
            return value
        raise _bad(key, rule, value)
    if rule.kind == "number":
        x = _number(value)
        if x is None or not _in_range(x, rule):
            raise _bad(key, rule, value)
        return x
    if rule.kind == "int":
        x = _number(value)
        if x is None or x != int(x) or not _in_range(x, rule):
            raise _bad(key, rule, value)
        return int(x)
    if rule.kind == "names":
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
            or len(set(value)) != len(value)
        ):
            raise _bad(key, rule, value)
        return tuple(v.strip() for v in value)
    if rule.kind in ("numbers", "ints"):
        if not isinstance(value, list | tuple) or not value:
            raise _bad(key, rule, value)
        one = _Rule("int" if rule.kind == "ints" else "number", rule.low, rule.high, rule.low_open)
        try:
            return tuple(_coerce(key, one, v) for v in value)
        except ScenarioError:
            raise _bad(key, rule, value) from None
    raise AssertionError(rule.kind)  # pragma: no cover


def _walk(obj: Any, prefix: str):
    """Check (and normalise in place) every value of a section tree; yield the leaves."""
    for f in fields(obj):
        key = f"{prefix}.{f.name}"
        value = getattr(obj, f.name)
        if "section" in f.metadata:
            expected = type(f.default_factory())
            if not isinstance(value, expected):
                raise ScenarioError(
                    f"{key} must be a {expected.__name__}; got {type(value).__name__}."
                )
            yield from _walk(value, key)
            continue
        clean = _coerce(key, f.metadata["rule"], value)
        if clean is not value:
            object.__setattr__(obj, f.name, clean)  # frozen: normalise once, at construction
        yield key, clean


def _check_consistency(s: Scenario) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ScenarioError(message)

    p = s.products
    total = p.pos_share + p.cash_share + p.card_share
    need(abs(total - 1) < 1e-9, f"scenario.products shares must sum to 1; got {total:g}.")
    for name in ("pos", "cash"):
        q = getattr(p, name)
        key = f"scenario.products.{name}"
        need(
            q.principal_min <= q.principal_max,
            f"{key}.principal_min must be <= principal_max; got {q.principal_min:g} > "
            f"{q.principal_max:g}.",
        )
        need(
            q.term_min <= q.term_max,
            f"{key}.term_min must be <= term_max; got {q.term_min} > {q.term_max}.",
        )
        need(
            q.rate_min <= q.rate_max,
            f"{key}.rate_min must be <= rate_max; got {q.rate_min:g} > {q.rate_max:g}.",
        )
    c = p.card
    need(
        c.limit_min <= c.limit_max,
        f"scenario.products.card.limit_min must be <= limit_max; got {c.limit_min:g} > "
        f"{c.limit_max:g}.",
    )
    e = s.economy
    n = len(e.regions)
    for name in ("region_shares", "base_unemployment", "sensitivity"):
        got = len(getattr(e, name))
        need(
            got == n,
            f"scenario.economy.{name} must have one value per region ({n}); got {got}.",
        )
    total = sum(e.region_shares)
    need(abs(total - 1) < 1e-9, f"scenario.economy.region_shares must sum to 1; got {total:g}.")
    need(
        (e.downturn_start is None) == (e.downturn_end is None),
        "scenario.economy.downturn_start and downturn_end must be given together.",
    )
    if e.downturn_start is not None:
        need(
            e.downturn_start < e.downturn_end,
            f"scenario.economy.downturn_start must be before downturn_end; got "
            f"{e.downturn_start} >= {e.downturn_end}.",
        )
    b = s.behaviour
    total = b.early_share + b.on_time_share + b.late_share + b.partial_share
    need(abs(total - 1) < 1e-9, f"scenario.behaviour habit shares must sum to 1; got {total:g}.")
    total = sum(getattr(b, f"share_{t}") for t in RESPONSE_TYPES)
    need(
        abs(total - 1) < 1e-9,
        f"scenario.behaviour response-type shares must sum to 1; got {total:g}.",
    )
    need(
        b.partial_min <= b.partial_max,
        f"scenario.behaviour.partial_min must be <= partial_max; got {b.partial_min:g} > "
        f"{b.partial_max:g}.",
    )


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{prefix} must be a table of keys; got {data!r}.")
    kwargs = {}
    by_name = {f.name: f for f in fields(cls)}
    for name, value in data.items():
        key = f"{prefix}.{name}"
        f = by_name.get(name)
        if f is None:
            raise ScenarioError(_unknown_message(key, name, cls))
        if "section" in f.metadata:
            default = f.default_factory() if f.default_factory is not MISSING else None
            kwargs[name] = _merge(default, value, key)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _merge(section: Any, data: Any, prefix: str) -> Any:
    """``section`` with the keys in ``data`` changed (recursively for subsections)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{prefix} must be a table of keys; got {data!r}.")
    changes = {}
    by_name = {f.name: f for f in fields(section)}
    for name, value in data.items():
        key = f"{prefix}.{name}"
        f = by_name.get(name)
        if f is None:
            raise ScenarioError(_unknown_message(key, name, type(section)))
        if "section" in f.metadata and isinstance(value, dict):
            value = _merge(getattr(section, name), value, key)
        changes[name] = value
    return replace(section, **changes)


def _to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out[f.name] = _to_dict(value)
        elif value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _leaves(obj: Any, default: Any, prefix: str):
    for f in fields(obj):
        key = f"{prefix}.{f.name}" if prefix else f.name
        value, ref = getattr(obj, f.name), getattr(default, f.name)
        if is_dataclass(value):
            yield from _leaves(value, ref, key)
        else:
            yield key, value, ref


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))  # pragma: no cover


def _to_toml(obj: Any) -> str:
    """A config dataclass as TOML text, one table per nested section."""
    lines: list[str] = []
    _toml_table(_to_dict(obj), [], lines)
    return "\n".join(lines).strip() + "\n"


def _toml_table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if path and plain:
        lines.append(f"[{'.'.join(path)}]")
    for k, v in plain.items():
        lines.append(f"{k} = {_toml_value(v)}")
    if path and plain:
        lines.append("")
    for k, v in data.items():
        if isinstance(v, dict):
            _toml_table(v, [*path, k], lines)
