"""The simulator scenario's sections: every behaviour driver as a frozen, validated parameter.

One frozen dataclass per concern (products, customers, economy, behaviour,
collections policy, action effects); :class:`~overdue_risk.simulate.Scenario`
holds one of each. Each field declares its default and its rule once
(:func:`overdue_risk._config.setting`); the scenario checks them all on
construction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .._config import SECTION, rule, setting
from .._params import Boolean, Date, Interval, ListOf, Names

__all__ = [
    "CAUSES",
    "RESPONSE_TYPES",
    "ActionEffects",
    "ActionParams",
    "Behaviour",
    "CardProduct",
    "CauseResponse",
    "Causes",
    "Collections",
    "Customers",
    "Economy",
    "InstalmentProduct",
    "Products",
    "Restructure",
]

# How an account in arrears reacts to collection actions: the hidden type that
# makes action effects heterogeneous. Confused customers (product complexity)
# are a separate, temporary state, not a type.
RESPONSE_TYPES = ("self_cure", "call_responsive", "restructure_only", "never_pay")
# Why a customer falls behind, in the cause-driven world (the ``causes`` section).
CAUSES = ("forgetful", "confused", "hardship", "strategic")


def _num(default: float, low: float | None = None, high: float | None = None, *, open_=False):
    """A number in [low, high] ((low, high] with ``open_``)."""
    return setting(default, Interval(float, low, high, closed="right" if open_ else "both"))


def _prob(default: float):
    return _num(default, 0.0, 1.0)


def _nonneg(default: float):
    return _num(default, 0.0)


# A simulated lender's amounts stay far inside the contract's MAX_AMOUNT (1e12 per
# row), so interest at any allowed rate cannot push a generated row past it.
MAX_SIMULATED_AMOUNT = 1e9
MAX_RATE = 10.0  # 1,000% a year


def _money(default: float, *, positive: bool = False):
    """An amount of money: at most MAX_SIMULATED_AMOUNT (above zero with ``positive``)."""
    return _num(default, 0.0, MAX_SIMULATED_AMOUNT, open_=positive)


def _rate(default: float):
    return _num(default, 0.0, MAX_RATE)


def _count(low: int = 0, high: int | None = None) -> Interval:
    return Interval(int, low, high, whole_floats=True)  # 15.0 in a file is 15


def _int(default: int, low: int = 0, high: int | None = None):
    return setting(default, _count(low, high))


_SHARES = ListOf(Interval(float, 0.0, 1.0))


# -- products --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentProduct:
    """An instalment product (POS or cash loan): amounts, terms, rates and complexity.

    ``complexity`` is the chance that a customer misunderstands the product and
    misses a payment they could make (three times as likely on the first
    instalment); such misses cure quickly, and reminders help them most.
    ``prepay_monthly`` is the monthly chance of repaying the loan early.
    """

    principal_min: float = _money(150.0, positive=True)
    principal_max: float = _money(1500.0, positive=True)
    term_min: int = _int(3, 1, 120)
    term_max: int = _int(12, 1, 120)
    rate_min: float = _rate(0.0)
    rate_max: float = _rate(0.25)
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

    limit_min: float = _money(500.0, positive=True)
    limit_max: float = _money(5000.0, positive=True)
    rate: float = _rate(0.30)
    min_share: float = _num(0.05, 0.0, 1.0, open_=True)
    min_floor: float = _money(20.0)
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
    pos: InstalmentProduct = field(default_factory=InstalmentProduct, metadata=SECTION)
    cash: InstalmentProduct = field(default_factory=_cash, metadata=SECTION)
    card: CardProduct = field(default_factory=CardProduct, metadata=SECTION)


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
    trait_correlation: float = _num(0.3, -1.0, 1.0)
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

    regions: tuple[str, ...] = setting(("capital", "north", "south", "east", "west"), Names())
    region_shares: tuple[float, ...] = setting((0.3, 0.2, 0.2, 0.15, 0.15), _SHARES)
    base_unemployment: tuple[float, ...] = setting((0.04, 0.06, 0.08, 0.065, 0.055), _SHARES)
    sensitivity: tuple[float, ...] = setting((1.0, 1.2, 1.0, 1.3, 0.8), ListOf(Interval(float, 0)))
    noise_sd: float = _nonneg(0.002)
    persistence: float = _prob(0.9)
    downturn_start: dt.date | None = field(default=None, metadata=rule([None, Date()]))
    downturn_end: dt.date | None = field(default=None, metadata=rule([None, Date()]))
    downturn_severity: float = _num(0.04, 0.0, 1.0)
    shock_rate: float = _nonneg(0.10)
    shock_sensitivity: float = _nonneg(25.0)
    hardship_mean_days: float = _num(120.0, 1.0)


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

    miss_intercept: float = _num(-3.9)
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
    letter_days: tuple[int, ...] = setting((15, 45, 75), ListOf(_count(1)))
    visit_from: int = _int(30, 1)
    visit_every: int = _int(14, 1)
    visit_until: int = _int(89, 1)
    visit_min_balance: float = _money(1500.0)
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

    cost: float = _money(1.0)
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

    cost: float = _money(15.0)
    contact_rate: float = _prob(0.6)
    accept_self_cure: float = _prob(0.3)
    accept_call_responsive: float = _prob(0.3)
    accept_restructure_only: float = _prob(0.8)
    accept_never_pay: float = _prob(0.05)
    extension_months: int = _int(12, 0, 120)
    rate_factor: float = _num(0.5, 0.0, 2.0)
    willingness_bonus: float = _num(0.3)
    restructure_only_bonus: float = _num(2.0)


@dataclass(frozen=True)
class ActionEffects:
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
        default_factory=_action(
            cost=0.05,
            contact_rate=0.95,
            effect_days=4,
            lift_confused=4.0,
            lift_self_cure=1.1,
            lift_call_responsive=1.5,
        ),
        metadata=SECTION,
    )
    letter: ActionParams = field(
        default_factory=_action(
            cost=0.8,
            contact_rate=0.9,
            effect_days=10,
            lift_confused=2.0,
            lift_self_cure=1.05,
            lift_call_responsive=1.2,
        ),
        metadata=SECTION,
    )
    call: ActionParams = field(
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
        metadata=SECTION,
    )
    visit: ActionParams = field(
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
        metadata=SECTION,
    )
    legal: ActionParams = field(
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
        metadata=SECTION,
    )
    restructure: Restructure = field(default_factory=Restructure, metadata=SECTION)
    keep_self_cure: float = _prob(0.8)
    keep_call_responsive: float = _prob(0.6)
    keep_restructure_only: float = _prob(0.3)
    keep_never_pay: float = _prob(0.1)
    promise_days: int = _int(7, 1, 60)
    free_contacts_7d: int = _int(2, 0)
    fatigue: float = _prob(0.7)
    complaint_after_7d: int = _int(3, 0)
    complaint_rate: float = _prob(0.03)
    complaint_cost: float = _money(40.0)


# -- causes of delinquency (the cause-driven world) --------------------------------------

# A multiplier of a chance (the confused customers' card and early-life factors, the
# hardship customers' income-shock rate) is at most this: any more and every chance
# it multiplies is simply 1.
MAX_FACTOR = 100.0


@dataclass(frozen=True)
class CauseResponse:
    """How the customers of one cause fall behind, and what each action does to them.

    Misses: on the habitual payment day a customer misses with chance ``miss``
    (``miss_in_hardship`` during an income-shock episode, ``miss_on_plan`` on a
    restructured loan); a share ``partial`` of the misses still pays part of the
    amount due. In arrears the customer pays unprompted with daily chance
    ``hazard`` (``hazard_in_hardship`` during an episode): everything overdue
    with chance ``catch_up``, else the oldest unpaid instalment (or minimum).

    Actions: an action that reaches the customer cures them (they pay everything
    overdue) with chance ``cure_<action>``: on the spot for a call or a visit,
    within ``causes.cure_days`` days for an SMS or a letter and within
    ``causes.legal_days`` for legal action. A call or visit that reached and
    did not cure brings a promise with chance ``promise``, kept with chance
    ``keep``. A reached call, visit or legal action brings a complaint (its
    cost, and an opt-out of calls and visits) with chance ``complaint``. A
    reached restructuring offer is accepted with chance ``accept``; on
    acceptance the customer pays the new plan's first instalment at once with
    chance ``down_payment``.
    """

    miss: float = _prob(0.12)
    miss_in_hardship: float = _prob(0.12)
    miss_on_plan: float = _prob(0.12)
    partial: float = _prob(0.0)
    hazard: float = _prob(0.04)
    hazard_in_hardship: float = _prob(0.04)
    catch_up: float = _prob(1.0)
    cure_sms: float = _prob(0.7)
    cure_letter: float = _prob(0.5)
    cure_call: float = _prob(0.75)
    cure_visit: float = _prob(0.8)
    cure_legal: float = _prob(0.9)
    promise: float = _prob(0.5)
    keep: float = _prob(0.9)
    complaint: float = _prob(0.01)
    accept: float = _prob(0.2)
    down_payment: float = _prob(0.9)


def _cause(**kw) -> Any:
    return lambda: CauseResponse(**kw)


@dataclass(frozen=True)
class Causes:
    """Causes of delinquency with cause-specific responses (off unless ``enabled``).

    With ``enabled``, every customer has one hidden cause, the reason they fall
    behind when they do: ``forgetful`` (they have the money and forget: a
    reminder cures them), ``confused`` (the product confuses them: a call that
    explains cures them), ``hardship`` (an income shock: they pay under a
    restructured plan, not under pressure) or ``strategic`` (large balances,
    no payments: only legal action moves them). The cause replaces the
    behaviour section's miss and arrears model and the response types' action
    effects; each cause's responses are its subsection (:class:`CauseResponse`).

    Causes are drawn with log-odds ``log(share_<cause>)``, plus
    ``balance_tilt`` times the standardised log of the customer's largest
    principal for ``strategic``, and minus ``trait_tilt`` times willingness
    (``strategic``) or capacity (``hardship``). Confused customers miss
    ``card_factor`` times as often on cards and ``early_factor`` times as often
    in a loan's first ``early_months`` months; hardship customers suffer income
    shocks ``hardship_shocks`` times as often as others.
    """

    enabled: bool = setting(False, Boolean())
    share_forgetful: float = _prob(0.40)
    share_confused: float = _prob(0.20)
    share_hardship: float = _prob(0.25)
    share_strategic: float = _prob(0.15)
    balance_tilt: float = _num(1.0, 0.0, MAX_FACTOR)
    trait_tilt: float = _num(0.5, 0.0, MAX_FACTOR)
    card_factor: float = _num(4.0, 0.0, MAX_FACTOR)
    early_factor: float = _num(3.0, 0.0, MAX_FACTOR)
    early_months: int = _int(3, 0, 120)
    hardship_shocks: float = _num(3.0, 0.0, MAX_FACTOR)
    cure_days: int = _int(3, 1, 60)
    legal_days: int = _int(21, 1, 365)
    forgetful: CauseResponse = field(default_factory=CauseResponse, metadata=SECTION)
    confused: CauseResponse = field(
        default_factory=_cause(
            miss=0.04,
            miss_in_hardship=0.04,
            miss_on_plan=0.04,
            partial=0.7,
            hazard=0.015,
            hazard_in_hardship=0.015,
            cure_sms=0.05,
            cure_letter=0.15,
            cure_call=0.7,
            cure_visit=0.75,
            cure_legal=0.5,
            promise=0.2,
            keep=0.8,
            accept=0.3,
            down_payment=0.8,
        ),
        metadata=SECTION,
    )
    hardship: CauseResponse = field(
        default_factory=_cause(
            miss=0.005,
            miss_in_hardship=0.6,
            miss_on_plan=0.03,
            partial=0.5,
            hazard=0.003,
            hazard_in_hardship=0.001,
            catch_up=0.1,
            cure_sms=0.005,
            cure_letter=0.005,
            cure_call=0.01,
            cure_visit=0.02,
            cure_legal=0.02,
            promise=0.4,
            keep=0.2,
            complaint=0.3,
            accept=0.85,
            down_payment=0.9,
        ),
        metadata=SECTION,
    )
    strategic: CauseResponse = field(
        default_factory=_cause(
            miss=0.02,
            miss_in_hardship=0.02,
            miss_on_plan=0.3,
            partial=0.0,
            hazard=0.0005,
            hazard_in_hardship=0.0005,
            catch_up=0.5,
            cure_sms=0.0,
            cure_letter=0.0,
            cure_call=0.01,
            cure_visit=0.02,
            cure_legal=0.6,
            promise=0.5,
            keep=0.05,
            complaint=0.02,
            accept=0.05,
            down_payment=0.5,
        ),
        metadata=SECTION,
    )
