"""Learn the value model from the collections log, or fall back to the risk score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._params import Options, check_params
from ..contract import NO_ACTION, Portfolio, validate
from ..exceptions import OverdueRiskError
from ..prioritise import ArrearsRule, ResponseModel, RiskBasedValue, logged_decisions

__all__ = ["VALUE_SOURCES", "check_value_source", "choose_value_model", "learn_value_model"]

# What ``choose_value_model`` (and ``overdue-risk prioritise --value``) accepts.
VALUE_SOURCES = ("auto", "uplift", "fallback", "arrears")


def check_value_source(value, parameter: str, owner: str) -> None:
    """Fail before any work on a value source other than :data:`VALUE_SOURCES`."""
    check_params(owner, {parameter: value}, {parameter: Options(VALUE_SOURCES)}, OverdueRiskError)


def learn_value_model(
    portfolio: Portfolio, as_of: AsOf, *, horizon_days: int = 30, min_rows: int = 200
) -> ResponseModel | RiskBasedValue:
    """The value model the log supports at ``as_of``, or the non-causal fallback.

    Fits a :class:`ResponseModel` on the randomised cell's decisions whose
    horizon ended before ``as_of``, for every action with at least
    ``min_rows`` of them (``"none"`` included). Without a randomised cell, or
    with too few decisions, returns :class:`RiskBasedValue`, whose values the
    worklist flags as not causal.
    """
    p = validate(portfolio)
    days = parse_as_of(as_of)
    evening = pd.Timestamp(np.datetime64(int(days[0]) - 1, "D"))
    if p.collections is None or "holdout" not in p.collections.columns:
        return RiskBasedValue()
    first = p.collections["action_date"].min()
    last = evening - pd.Timedelta(days=horizon_days - 1)
    if pd.isna(first) or first > last:
        return RiskBasedValue()
    decisions = logged_decisions(p, first, last, horizon_days=horizon_days, data_end=evening)
    counts = decisions["action"].astype(str).value_counts()
    known = [a for a in counts.index if counts[a] >= min_rows]
    if NO_ACTION not in known or len(known) < 2:
        return RiskBasedValue()
    return ResponseModel(actions=known, min_rows=min_rows).fit(decisions)


def choose_value_model(
    portfolio: Portfolio, as_of: AsOf, value: str = "auto", *, horizon_days: int = 30
) -> ResponseModel | RiskBasedValue | ArrearsRule:
    """The value model of a worklist, by source.

    Parameters
    ----------
    portfolio : Portfolio
    as_of : date-like
        The day the worklist is for.
    value : {"auto", "uplift", "fallback", "arrears"}, default "auto"
        ``"uplift"`` learns a :class:`ResponseModel` from the randomised cell of
        the collections log and fails when the log cannot support one;
        ``"fallback"`` is the non-causal :class:`RiskBasedValue`;
        ``"arrears"`` the non-causal :class:`ArrearsRule` with its stated lifts
        (SMS 1%, call 5%, visit 15% of the arrears); ``"auto"``
        learns the uplift model when the log allows and falls back otherwise
        (see :func:`learn_value_model`).
    horizon_days : int, default 30

    Returns
    -------
    ResponseModel, RiskBasedValue or ArrearsRule
    """
    check_value_source(value, "value", "choose_value_model")
    if value == "fallback":
        return RiskBasedValue()
    if value == "arrears":
        return ArrearsRule()
    model = learn_value_model(portfolio, as_of, horizon_days=horizon_days)
    if value == "uplift" and not model.causal:
        raise OverdueRiskError(
            "The collections log has too few randomised decisions for an uplift model "
            "(a challenger or holdout cell with propensities); use --value fallback."
        )
    return model
