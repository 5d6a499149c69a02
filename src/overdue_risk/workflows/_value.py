"""Learn the value model from the collections log, or fall back to a stated rule."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._params import Interval, Options, check_params
from ..contract import NO_ACTION, Portfolio, validate
from ..exceptions import ModelError, OverdueRiskError
from ..prioritise import (
    ArrearsRule,
    LadderRule,
    ResponseModel,
    RiskBasedValue,
    ShrunkUplift,
    Strategy,
    capacity_shares,
    logged_decisions,
)

__all__ = ["VALUE_SOURCES", "check_value_source", "choose_value_model", "learn_value_model"]

logger = logging.getLogger(__name__)

# What ``choose_value_model`` (and ``overdue-risk prioritise --value``) accepts.
VALUE_SOURCES = ("auto", "uplift", "fallback", "arrears", "ladder")


def check_value_source(value, parameter: str, owner: str) -> None:
    """Fail before any work on a value source other than :data:`VALUE_SOURCES`."""
    check_params(owner, {parameter: value}, {parameter: Options(VALUE_SOURCES)}, OverdueRiskError)


def learn_value_model(
    portfolio: Portfolio,
    as_of: AsOf,
    *,
    horizon_days: int | str | None = None,
    min_rows: int = 200,
    random_state: int = 0,
    strategy: Strategy | str | None = None,
    max_decisions: int | None = 300_000,
) -> ShrunkUplift | ArrearsRule:
    """The value model the lender's own log supports at ``as_of``.

    With a randomised cell (collection rows with ``holdout`` and propensities)
    whose decisions' horizon ended before ``as_of``: a :class:`ShrunkUplift`
    fitted on them. Its candidates, the weight of the learned uplift against
    each action's average uplift per DPD bucket (the stated arrears-rule lifts
    updated by the cell's estimates), from 0 (the average alone) to 1 (the
    learned uplift alone), are scored by cross-fitted doubly robust value on
    the cell's decisions, and the least learned within one standard error of
    the best is kept; the stated arrears rule is a candidate too, and the
    simplest of all, so an estimate must beat it by a standard error to
    replace it. With ``strategy``, each candidate is judged as the worklist
    would run it: allocated under the day's capacities as shares of the
    accounts overdue at ``as_of`` (:func:`capacity_shares`). Its ``table()``
    lists the candidates, and the worklist's ``value_source`` names the choice
    and its value against the stated rule.
    Actions with fewer than ``min_rows`` decisions in a fold are left out, and
    an action whose average uplift cannot be told from zero gets no value.

    Without a usable randomised cell, or with too few decisions: the
    :class:`ArrearsRule` with its stated lifts (SMS 1%, call 5%, visit 15% of
    the arrears), which the worklist flags as not causal.

    The decisions' window is ``horizon_days`` when given; otherwise the
    strategy's ``value.horizon_days`` (30 without a strategy). With a strategy,
    its ``value.max_horizon_days``, ``value.discount_rate`` and
    ``value.write_off_dpd`` are passed to :func:`logged_decisions` too; the
    last decision day is the last whose longest window the data before
    ``as_of`` cover.

    A large book's cell holds millions of decisions; the model learns from at
    most ``max_decisions`` of them (None: all): every decision of a random
    sample of the cell's loans (seeded by ``random_state``), so that the
    sample is itself a randomised cell and the propensities stay as logged.
    The time to learn grows with the rows; the precision of the averages, as
    their square root.
    """
    check_params(
        "learn_value_model",
        {"max_decisions": max_decisions},
        {"max_decisions": [None, Interval(int, 1000)]},
        OverdueRiskError,
    )
    p = validate(portfolio)
    days = parse_as_of(as_of)
    evening = pd.Timestamp(np.datetime64(int(days[0]) - 1, "D"))
    if p.collections is None or "holdout" not in p.collections.columns:
        return ArrearsRule()
    strategy = None if strategy is None else Strategy.load(strategy)
    window = _window(horizon_days, strategy)
    resolution = window["horizon_days"] == "resolution"
    longest = window["max_horizon_days"] if resolution else window["horizon_days"]
    first = p.collections["action_date"].min()
    last = evening - pd.Timedelta(days=longest - 1)
    if pd.isna(first) or first > last:
        return ArrearsRule()
    decisions = logged_decisions(p, first, last, data_end=evening, **window)
    if max_decisions is not None and len(decisions) > max_decisions:
        decisions = _sample_loans(decisions, max_decisions, random_state)
    counts = decisions["action"].astype(str).value_counts()
    if counts.get(NO_ACTION, 0) < min_rows or (counts[counts.index != NO_ACTION] < min_rows).all():
        return ArrearsRule()
    shares = None if strategy is None else capacity_shares(strategy, p, as_of)
    model = ShrunkUplift(
        response=ResponseModel(min_rows=min_rows), capacity=shares, random_state=random_state
    )
    try:
        return model.fit(decisions)
    except ModelError as exc:
        logger.warning("The randomised cell supports no learned value model: %s", exc)
        return ArrearsRule()


def _sample_loans(decisions: pd.DataFrame, most: int, seed: int) -> pd.DataFrame:
    """Every decision of a random sample of the loans, at most ``most`` rows in all."""
    loans = decisions.index.get_level_values("loan_id")
    codes, ids = pd.factorize(loans, sort=True)
    counts = np.bincount(codes, minlength=len(ids))
    order = np.random.default_rng(seed).permutation(len(ids))
    keep = np.zeros(len(ids), dtype=bool)
    keep[order[np.cumsum(counts[order]) <= most]] = True
    logger.info(
        "The value model learns from %d of the cell's %d loans (%d of %d decisions).",
        int(keep.sum()),
        len(ids),
        int(counts[keep].sum()),
        len(decisions),
    )
    return decisions[keep[codes]]


def _window(horizon_days, strategy: Strategy | None) -> dict:
    """The window keywords of ``logged_decisions``: the strategy's ``value`` section, the
    explicit ``horizon_days`` winning."""
    v = (strategy or Strategy()).value  # without a strategy, logged_decisions' defaults
    window = {
        "horizon_days": v.horizon_days,
        "max_horizon_days": v.max_horizon_days,
        "discount_rate": v.discount_rate,
        "write_off_dpd": v.write_off_dpd,
    }
    if horizon_days is not None:
        window["horizon_days"] = horizon_days
    # Checked before its length sets the last decision day; logged_decisions checks the rest.
    rule = {"horizon_days": [Interval(int, 1), Options(("resolution",))]}
    check_params("learn_value_model", window, rule, OverdueRiskError)
    return window


def choose_value_model(
    portfolio: Portfolio,
    as_of: AsOf,
    value: str = "auto",
    *,
    horizon_days: int | str | None = None,
    strategy: Strategy | str | None = None,
) -> ShrunkUplift | RiskBasedValue | ArrearsRule | LadderRule:
    """The value model of a worklist, by source.

    Parameters
    ----------
    portfolio : Portfolio
    as_of : date-like
        The day the worklist is for.
    value : {"auto", "uplift", "fallback", "arrears", "ladder"}, default "auto"
        ``"uplift"`` learns a :class:`ShrunkUplift` from the randomised cell of
        the collections log and fails when the log cannot support one;
        ``"fallback"`` is the non-causal :class:`RiskBasedValue`;
        ``"arrears"`` the non-causal :class:`ArrearsRule` with its stated lifts
        (SMS 1%, call 5%, visit 15% of the arrears); ``"ladder"`` the
        non-causal :class:`LadderRule` (the treatment ladder by DPD, with the
        default thresholds, allocated greedily: the ladder's fill); ``"auto"``
        learns the uplift model when the log allows and takes the arrears rule
        with stated lifts otherwise (see :func:`learn_value_model`).
    horizon_days : int or "resolution", optional
        The window of the learned model's decisions; by default the
        strategy's ``value.horizon_days`` (30 without a strategy).
    strategy : Strategy or profile name, optional
        The worklist's strategy: the learned model's candidates are judged
        under its capacities, and its ``value`` section sets the decisions'
        window (see :func:`learn_value_model`).

    Returns
    -------
    ShrunkUplift, RiskBasedValue, ArrearsRule or LadderRule
    """
    check_value_source(value, "value", "choose_value_model")
    if value == "fallback":
        return RiskBasedValue()
    if value == "arrears":
        return ArrearsRule()
    if value == "ladder":
        return LadderRule()
    model = learn_value_model(portfolio, as_of, horizon_days=horizon_days, strategy=strategy)
    if value == "uplift" and not model.causal:
        raise OverdueRiskError(
            "The collections log has too few randomised decisions for an uplift model "
            "(a challenger or holdout cell with propensities); use --value fallback."
        )
    return model
