"""The end-to-end comparison: simulate a lender, learn its models, compare the policies."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import pandas as pd

from .._dates import day_of, parse_as_of, to_datetime
from .._io import check_output_path, check_outputs_apart, write_table
from .._params import Interval, check
from ..contract import validate
from ..exceptions import ModelError, OverdueRiskError
from ..features import build_features
from ..labels import DpdTarget, build_training_set
from ..model import RiskModel
from ..prioritise import (
    ArrearsRule,
    ResponseModel,
    ShrunkUplift,
    Strategy,
    capacity_shares,
    logged_decisions,
)
from ..simulate import Scenario, simulate_portfolio
from ._compare import PolicyComparison, check_actions, compare_policies

__all__ = ["MAX_LOANS", "MAX_PATHS", "simulated_comparison"]

logger = logging.getLogger(__name__)

# The largest book and the most Monte Carlo paths a comparison takes, checked before any
# work: the truth replicates every overdue account once per path, so memory grows with
# paths x accounts, and a book beyond these sizes would not fit a machine's memory.
MAX_LOANS = 1_000_000
MAX_PATHS = 2_000


def simulated_comparison(
    n_loans: int,
    dates: Sequence,
    strategy: Strategy | str | os.PathLike,
    *,
    seed: int = 0,
    start="2023-01-01",
    n_paths: int = 100,
    horizon_days: int = 30,
    scenario=None,
    ceiling_dates: Sequence | None = None,
    ope_dates: Sequence | None = None,
    value_seeds: Sequence[int] = (0,),
    out: str | os.PathLike | None = None,
) -> tuple[PolicyComparison, dict]:
    """Simulate a lender, learn its risk and response models, and compare the policies.

    Everything the prioritiser learns is dated before the first decision date:
    the risk model trains on month ends whose 90-day horizon ended by then,
    the response model on the randomised cell's decisions whose horizon
    ended by then. The simulation runs to ``horizon_days`` after the last
    date (of ``dates`` and ``ope_dates``), so that the logged decisions on the
    dates have their rewards. ``ceiling_dates`` and ``ope_dates`` are passed
    to :func:`compare_policies`; ``ope_dates`` must not come before the first
    decision date, and those after the last one lengthen the simulation,
    which is then another book (the loans' start dates spread over it).
    The prioritiser's value model is a :class:`ShrunkUplift` (the learned
    uplift shrunk toward the arrears rule's estimated average, as
    :func:`~overdue_risk.learn_value_model` learns it), fitted once per
    ``value_seeds`` entry (its ``random_state``): the first is
    ``prioritiser``, the others ``prioritiser_seed<k>``, to show how much the
    choices hang on the seed. ``response_model`` is the learned
    :class:`ResponseModel` alone (first seed), unshrunk and unbagged.

    Parameters
    ----------
    n_loans : int
        Loans of the simulated book: 1 to :data:`MAX_LOANS` (1,000,000).
    dates : date-likes
        Decision dates.
    strategy : Strategy, profile name or TOML path
        Actions, costs, capacities and rules, shared by every policy
        (read by :meth:`Strategy.load`).
    seed : int, default=0
        The simulator's seed.
    start : date-like, default="2023-01-01"
        The first day of the simulated book.
    n_paths, horizon_days : int, default=100, 30
        Monte Carlo paths (1 to :data:`MAX_PATHS`, 2,000) and days (1 to 365)
        of the truth (and of the response model's reward).
    scenario : Scenario, preset name (``"cause_driven"``) or TOML path, optional
        The simulator's scenario; its default when not given.
    ceiling_dates, ope_dates : date-likes, optional
        See :func:`compare_policies`.
    value_seeds : sequence of int, default=(0,)
        The response model's ``random_state`` values (0 to 2**31 - 1), one
        policy each.
    out : path, optional
        Also write ``comparison.table()`` there (``.parquet`` or ``.csv``,
        atomically). Checked, with every other argument, before any work.

    Returns
    -------
    (PolicyComparison, dict)
        The comparison, and what was learned (``risk_model``,
        ``value_model``, the training ``decisions``, the ``portfolio`` and
        its ``truth``).

    Examples
    --------
    A small book runs in about a minute:

    >>> from overdue_risk import Strategy
    >>> from overdue_risk.policy_eval import simulated_comparison
    >>> strategy = Strategy().replace(actions={"call": {"capacity": 50}})
    >>> comparison, learned = simulated_comparison(
    ...     3000, ["2024-06-03"], strategy, seed=202, n_paths=30)  # doctest: +SKIP
    >>> comparison.table()[["treated", "net_vs_none", "share_of_oracle"]]  # doctest: +SKIP
    """
    _check_sizes(n_loans, seed, n_paths, horizon_days, value_seeds)
    if out is not None:
        check_output_path(out)
    check_outputs_apart([out], [strategy, scenario])
    seeds = list(value_seeds)
    # One readable error for a bad date, before any work; each date in its local day.
    days = pd.DatetimeIndex(to_datetime(parse_as_of(dates, "dates")))
    for name, given in (("ceiling_dates", ceiling_dates), ("ope_dates", ope_dates)):
        if given is not None:
            parse_as_of(given, name)
    book_start = pd.Timestamp(day_of(start, "start"), unit="D")
    target = DpdTarget()
    first_evening = days[0] - pd.Timedelta(days=1)
    _check_first_date(book_start, days[0], target.horizon_days)
    strategy = Strategy.load(strategy)
    check_actions(strategy)  # before the simulation
    if scenario is not None and not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)  # a preset's name or a TOML file
    ope_days = (
        days
        if ope_dates is None
        else days.union(pd.DatetimeIndex(to_datetime(parse_as_of(ope_dates, "ope_dates"))))
    )
    if ope_days[0] < days[0]:
        raise OverdueRiskError(
            f"ope_dates must not come before the first decision date {days[0].date()}: the "
            "value model learns from everything before it."
        )
    end = ope_days[-1] + pd.Timedelta(days=horizon_days)
    portfolio, truth = simulate_portfolio(n_loans, start, end, seed=seed, scenario=scenario)
    portfolio = validate(portfolio)

    month_ends = _month_ends(book_start, first_evening)
    data = build_training_set(portfolio, month_ends, target, observed_until=first_evening)
    as_of = data.index.get_level_values("as_of")
    last = as_of.max()
    fit, val = data[as_of < last], data[as_of == last]
    risk = RiskModel(calibration="isotonic", target=target).fit(
        fit.drop(columns="label"), fit["label"], val.drop(columns="label"), val["label"]
    )

    def scores(evening: pd.Timestamp) -> pd.DataFrame:
        X = build_features(portfolio, evening)
        p = risk.predict_proba(X)[:, 1]
        return pd.DataFrame({"score": p}, index=X.index.get_level_values("loan_id").astype(str))

    history = logged_decisions(
        portfolio,
        pd.Timestamp(start) + pd.Timedelta(days=60),
        first_evening - pd.Timedelta(days=horizon_days - 1),
        horizon_days=horizon_days,
        data_end=first_evening,
    )
    counts = history["action"].astype(str).value_counts()
    known = [a for a in counts.index if counts[a] >= 200]
    # As learn_value_model: too few randomised decisions leave the stated arrears rule.
    shares = capacity_shares(strategy, portfolio, days[0])  # the first decision day's
    models = {
        "prioritiser" if i == 0 else f"prioritiser_seed{k}": _value_model(history, k, shares)
        for i, k in enumerate(seeds)
    }
    # The learned response alone, as the prioritiser was before it was shrunk and bagged.
    models["response_model"] = ResponseModel(actions=known, random_state=seeds[0]).fit(history)
    value = models["prioritiser"]
    rules = {"arrears_rule": ArrearsRule()}
    try:  # the same rule with its lifts estimated from the randomised cell
        rules["arrears_rule_estimated"] = ArrearsRule().fit(history)
    except ModelError as exc:
        logger.warning("arrears_rule_estimated is not compared: %s", exc)
    evaluation = logged_decisions(
        portfolio, ope_days[0], ope_days[-1], horizon_days=horizon_days, data_end=end
    )
    comparison = compare_policies(
        truth,
        portfolio,
        days,
        strategy,
        scores=scores,
        value_model=models,
        decisions=evaluation,
        n_paths=n_paths,
        horizon_days=horizon_days,
        ceiling_dates=ceiling_dates,
        ope_dates=ope_dates,
        rules=rules,
    )
    if out is not None:
        write_table(comparison.table(), out)
    learned = {
        "portfolio": portfolio,
        "truth": truth,
        "risk_model": risk,
        "value_model": value,
        "decisions": history,
    }
    return comparison, learned


def _value_model(history: pd.DataFrame, seed: int, shares) -> ShrunkUplift | ArrearsRule:
    try:
        return ShrunkUplift(capacity=shares, random_state=seed).fit(history)
    except ModelError as exc:
        logger.warning("The prioritiser takes the stated arrears rule: %s", exc)
        return ArrearsRule()


def _check_sizes(n_loans, seed, n_paths, horizon_days, value_seeds) -> None:
    """The sizes and seeds of a comparison, before any work (``n_paths=10**11`` would
    only fail, out of memory, after the simulation)."""
    check(Interval(int, 1, MAX_LOANS), n_loans, key="n_loans", error=OverdueRiskError)
    check(Interval(int, 0, 2**63 - 1), seed, key="seed", error=OverdueRiskError)
    check(Interval(int, 1, MAX_PATHS), n_paths, key="n_paths", error=OverdueRiskError)
    check(Interval(int, 1, 365), horizon_days, key="horizon_days", error=OverdueRiskError)
    if isinstance(value_seeds, str) or not isinstance(value_seeds, Sequence):
        raise OverdueRiskError(
            f"value_seeds must be a list of integers >= 0; got {type(value_seeds).__name__}."
        )
    if not value_seeds:
        raise OverdueRiskError("value_seeds must hold at least one seed.")
    for k in value_seeds:
        check(Interval(int, 0, 2**31 - 1), k, key="value_seeds", error=OverdueRiskError)


def _month_ends(start: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """The month ends the risk model learns from: 4 months into the book, up to ``last``."""
    return pd.date_range(start + pd.DateOffset(months=4), last, freq="ME")


def _check_first_date(start: pd.Timestamp, first: pd.Timestamp, horizon_days: int) -> None:
    """The first decision date must leave the risk model two month ends with an observed
    horizon before it: one to train on, one to stop and calibrate on."""
    horizon = pd.Timedelta(days=horizon_days)
    evening = first - pd.Timedelta(days=1)
    ends = _month_ends(start, evening)
    if (ends + horizon <= evening).sum() >= 2:
        return
    two = pd.date_range(start + pd.DateOffset(months=4), periods=2, freq="ME")
    earliest = two[-1] + horizon + pd.Timedelta(days=1)
    raise OverdueRiskError(
        f"dates must start on or after {earliest:%Y-%m-%d}: the risk model learns from "
        f"month ends from {two[0]:%Y-%m-%d} on (4 months into the book simulated from "
        f"{start:%Y-%m-%d}) whose {horizon_days}-day horizon ends before the first decision "
        f"date, and needs two of them; got {first:%Y-%m-%d}."
    )
