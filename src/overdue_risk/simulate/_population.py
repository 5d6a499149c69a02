"""The static population: customers, their loans, and the regional economy.

Everything here is drawn once per seed, before the daily loop, with numpy's
Philox generator keyed by the seed and the population stream. Loans are
sorted by start date, so that a loan's position (its *slot*) is fixed and
every later random draw can be indexed by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _crn
from ._calendar import MONTH_START, dom_of, month_of
from ._causes import draw_causes
from ._scenario import Scenario

__all__ = ["EconomyPath", "Population", "build_population"]

PRODUCTS = ("pos", "cash", "card")
POS, CASH, CARD = 0, 1, 2
HABITS = ("early", "on_time", "late", "partial")
EARLY, ON_TIME, LATE, PARTIAL = 0, 1, 2, 3
INCOME_BANDS = ("low", "mid", "high")
EMPLOYMENT = ("employed", "self_employed", "retired", "unemployed")
CHANNELS = {POS: ("store",), CASH: ("online", "branch"), CARD: ("online", "branch", "store")}
# The economy is kept for this many days past the end, for forward simulation.
HORIZON_DAYS = 400
ORIGINATION_MARGIN = 31  # a card opened later would have no statement by the end


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class EconomyPath:
    """Regional unemployment by month and the daily hardship hazard it drives.

    The path the scenario's :class:`~overdue_risk.simulate.Economy` section draws.

    ``excess[r, i]`` is region r's unemployment above its base on day
    ``day0 + i``; ``cum_hazard[r, i]`` the cumulative onset hazard (per unit of a
    customer's own multiplier) over days ``day0 .. day0 + i``.
    """

    day0: int
    months: np.ndarray  # month numbers of the rows of ``unemployment``
    unemployment: np.ndarray  # (regions, months)
    excess: np.ndarray  # (regions, days)
    cum_hazard: np.ndarray  # (regions, days)

    @property
    def n_days(self) -> int:
        return self.excess.shape[1]

    def index(self, day: int) -> int:
        return min(max(day - self.day0, 0), self.n_days - 1)


def _economy(s: Scenario, start: int, end: int, rng: np.random.Generator) -> EconomyPath:
    e = s.economy
    m_lo = int(month_of(np.array([start]))[0]) - 1
    m_hi = int(month_of(np.array([end + HORIZON_DAYS]))[0]) + 1
    months = np.arange(m_lo, m_hi + 1)
    n_r, n_m = len(e.regions), months.size
    noise = np.zeros((n_r, n_m))
    eps = rng.standard_normal((n_r, n_m)) * e.noise_sd
    for m in range(1, n_m):  # an AR(1) of a few dozen months: a loop is clearest
        noise[:, m] = e.persistence * noise[:, m - 1] + eps[:, m]
    bump = np.zeros(n_m)
    if e.downturn_start is not None:
        d0 = (np.datetime64(e.downturn_start) - np.datetime64("1970-01-01")).astype(int)
        d1 = (np.datetime64(e.downturn_end) - np.datetime64("1970-01-01")).astype(int)
        mid = MONTH_START[months] + 14  # the middle of each month
        x = (mid - d0) / max(d1 - d0, 1)
        # Up over the first third, a plateau, down over the last third.
        bump = np.clip(np.minimum(3 * x, 3 * (1 - x)), 0, 1) * e.downturn_severity
    base = np.asarray(e.base_unemployment)[:, None]
    sens = np.asarray(e.sensitivity)[:, None]
    unemployment = np.clip(base + noise + sens * bump[None, :], 0.0, 1.0)
    day0 = int(MONTH_START[m_lo])
    days = np.arange(day0, int(MONTH_START[m_hi + 1]))
    col = month_of(days) - m_lo
    excess = (unemployment - base)[:, col]
    hazard = e.shock_rate / 365.0 * np.exp(e.shock_sensitivity * excess)
    return EconomyPath(day0, months, unemployment, excess, np.cumsum(hazard, axis=1))


@dataclass(frozen=True)
class Population:
    """Customers (hidden traits and observable attributes) and loans, by slot."""

    seed: int
    start: int
    end: int
    economy: EconomyPath
    region_names: tuple[str, ...]
    # customers
    customer_ids: np.ndarray
    region: np.ndarray
    capacity: np.ndarray
    willingness: np.ndarray
    habit: np.ndarray
    habit_offset: np.ndarray
    response_type: np.ndarray
    pay_share: np.ndarray
    spend_rate: np.ndarray
    shock_mult: np.ndarray
    birth_year: np.ndarray
    income_band: np.ndarray
    employment: np.ndarray
    tenure_months: np.ndarray
    # loans, by slot (sorted by start date)
    loan_ids: np.ndarray
    cust: np.ndarray
    product: np.ndarray
    start_day: np.ndarray
    principal: np.ndarray  # cents; the credit limit for cards
    term: np.ndarray  # months (0 for cards)
    annual_rate: np.ndarray
    channel: np.ndarray
    score: np.ndarray
    holdout: np.ndarray
    cause: np.ndarray | None = None  # by customer, when the scenario enables causes

    @property
    def n_loans(self) -> int:
        return self.loan_ids.size

    @property
    def n_customers(self) -> int:
        return self.customer_ids.size


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(7, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def build_population(n_loans: int, start: int, end: int, seed: int, s: Scenario) -> Population:
    """Draw customers, loans and the economy for ``n_loans`` loans started in [start, end]."""
    rng = np.random.Generator(np.random.Philox(key=[seed, _crn.POPULATION]))
    economy = _economy(s, start, end, rng)
    c, b = s.customers, s.behaviour

    # Customers: one loan each, plus a few repeat borrowers.
    per = 1 + rng.poisson(c.extra_loans_mean, n_loans)
    per = np.minimum(per, 6)
    cum = np.cumsum(per)
    n_cust = int(np.searchsorted(cum, n_loans) + 1)
    per = per[:n_cust]
    per[-1] -= int(cum[n_cust - 1] - n_loans)

    z = rng.standard_normal((2, n_cust))
    rho = c.trait_correlation
    capacity = z[0]
    willingness = rho * z[0] + np.sqrt(1 - rho**2) * z[1]
    region = rng.choice(len(s.economy.regions), n_cust, p=np.asarray(s.economy.region_shares))
    shares = [b.early_share, b.on_time_share, b.late_share, b.partial_share]
    habit = rng.choice(4, n_cust, p=np.asarray(shares) / sum(shares))
    offset = np.zeros(n_cust, np.int32)
    early = habit == EARLY
    offset[early] = -rng.integers(1, b.early_days_max + 1, early.sum())
    late = habit == LATE
    offset[late] = rng.integers(1, b.late_days_max + 1, late.sum())
    # Response type: base shares tilted towards never-pay by low willingness and
    # towards restructure-only by low capacity, so type and traits correlate.
    base = np.log([getattr(b, f"share_{t}") + 1e-12 for t in _TYPES])
    logits = np.tile(base, (n_cust, 1))
    logits[:, 3] -= b.type_tilt * willingness
    logits[:, 2] -= b.type_tilt * capacity
    logits[:, 0] += 0.5 * b.type_tilt * (capacity + willingness)
    gumbel = -np.log(-np.log(rng.random((n_cust, 4))))
    response_type = np.argmax(logits + gumbel, axis=1)
    # Cards: transactors (pay the whole balance) and revolvers.
    transactor = rng.random(n_cust) < _sigmoid(capacity - 0.5)
    pay_share = np.where(transactor, 1.0, rng.beta(1.2, 6.0, n_cust))
    spend_rate = rng.beta(2.0, 6.0, n_cust) * s.products.card.spend_share / 0.25
    shock_mult = np.exp(-0.5 * capacity - 0.125)  # mean about 1

    # Observable attributes: noisy reflections of the hidden traits.
    age = np.clip(np.round(40 + 12 * rng.standard_normal(n_cust) + 3 * willingness), 19, 80)
    year0 = int(np.datetime64(int(start), "D").astype("datetime64[Y]").astype(int)) + 1970
    birth_year = (year0 - age).astype(np.int64)
    income_signal = capacity + 0.8 * rng.standard_normal(n_cust)
    income_band = np.searchsorted(np.array([-0.6, 0.7]), income_signal)
    retired = age >= 65
    emp_signal = capacity + rng.standard_normal(n_cust)
    employment = np.where(
        retired, 2, np.where(emp_signal < -1.8, 3, np.where(rng.random(n_cust) < 0.15, 1, 0))
    )
    tenure = rng.integers(0, 120, n_cust)

    # Loans: the first starts uniformly in the window, repeats after it.
    last = max(end - ORIGINATION_MARGIN, start)
    cust_of = np.repeat(np.arange(n_cust), per)
    first = rng.integers(start, last + 1, n_cust)
    later = rng.random(n_loans)
    start_day = first[cust_of] + (later * (last - first[cust_of] + 1)).astype(np.int64)
    is_first = np.ones(n_loans, bool)
    is_first[1:] = cust_of[1:] != cust_of[:-1]
    start_day[is_first] = first[cust_of[is_first]]
    p = s.products
    product = rng.choice(3, n_loans, p=np.array([p.pos_share, p.cash_share, p.card_share]))
    principal = np.zeros(n_loans)
    term = np.zeros(n_loans, np.int64)
    rate = np.zeros(n_loans)
    for code, spec in ((POS, p.pos), (CASH, p.cash)):
        m = product == code
        k = int(m.sum())
        # Log-uniform amounts: many small loans, a few large ones.
        principal[m] = np.exp(
            rng.uniform(np.log(spec.principal_min), np.log(spec.principal_max), k)
        )
        term[m] = rng.integers(spec.term_min, spec.term_max + 1, k)
        rate[m] = rng.uniform(spec.rate_min, spec.rate_max, k)
    m = product == CARD
    card = p.card
    principal[m] = np.exp(rng.uniform(np.log(card.limit_min), np.log(card.limit_max), m.sum()))
    principal[m] = np.round(principal[m], -2).clip(100.0)
    rate[m] = card.rate
    principal = np.round(principal * 100).astype(np.int64)  # cents
    rate = np.round(rate, 4)
    channel = np.zeros(n_loans, np.int8)  # index into CHANNEL_NAMES
    u = rng.random(n_loans)
    channel[product == CASH] = np.where(u[product == CASH] < 0.6, 1, 2)
    channel[product == CARD] = np.where(
        u[product == CARD] < 0.5, 1, np.where(u[product == CARD] < 0.8, 2, 0)
    )
    score_signal = (
        0.6 * capacity[cust_of]
        + 0.4 * willingness[cust_of]
        + c.score_noise * rng.standard_normal(n_loans)
    )
    score = np.clip(np.round(620 + 60 * score_signal), 300, 850).astype(np.int64)
    holdout = rng.random(n_loans) < s.collections.challenger_share

    # Slots: loans by start date (ties by customer), customers by their first loan.
    order = np.lexsort((cust_of, start_day))
    cust_rank = np.empty(n_cust, np.int64)
    cust_rank[np.argsort(first, kind="stable")] = np.arange(n_cust)
    inv = np.argsort(cust_rank)  # customer at each new position

    def cust_arr(a: np.ndarray) -> np.ndarray:
        return a[inv]

    pop = Population(
        seed=seed,
        start=start,
        end=end,
        economy=economy,
        region_names=tuple(s.economy.regions),
        customer_ids=_ids("C", n_cust),
        region=cust_arr(region).astype(np.int8),
        capacity=cust_arr(capacity).astype(np.float32),
        willingness=cust_arr(willingness).astype(np.float32),
        habit=cust_arr(habit).astype(np.int8),
        habit_offset=cust_arr(offset).astype(np.int8),
        response_type=cust_arr(response_type).astype(np.int8),
        pay_share=cust_arr(pay_share).astype(np.float32),
        spend_rate=cust_arr(spend_rate).astype(np.float32),
        shock_mult=cust_arr(shock_mult).astype(np.float32),
        birth_year=cust_arr(birth_year),
        income_band=cust_arr(income_band).astype(np.int8),
        employment=cust_arr(employment).astype(np.int8),
        tenure_months=cust_arr(tenure).astype(np.int64),
        loan_ids=_ids("L", n_loans),
        cust=cust_rank[cust_of[order]].astype(np.int32),
        product=product[order].astype(np.int8),
        start_day=start_day[order].astype(np.int32),
        principal=principal[order],
        term=term[order],
        annual_rate=rate[order],
        channel=channel[order],
        score=score[order],
        holdout=holdout[order],
    )
    return draw_causes(pop, s) if s.causes.enabled else pop


_TYPES = ("self_cure", "call_responsive", "restructure_only", "never_pay")
CHANNEL_NAMES = ("store", "online", "branch")


def first_due_dom(start_day: np.ndarray) -> np.ndarray:
    """The day of the month instalments fall due: the start's, at most the 28th."""
    return np.minimum(dom_of(start_day), 28).astype(np.int8)
