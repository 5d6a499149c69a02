"""What the workflows take: a portfolio, a model and a strategy, as objects or by name."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..contract import Portfolio, load_portfolio
from ..features import list_features
from ..model import RiskModel
from ..prioritise import Strategy

__all__ = ["as_model", "as_portfolio", "check_families", "load_strategy"]


def as_portfolio(portfolio: Portfolio | str | os.PathLike) -> Portfolio:
    """The portfolio as it is, or the folder it names, read and validated."""
    return portfolio if isinstance(portfolio, Portfolio) else load_portfolio(portfolio)


def as_model(model: RiskModel | str | os.PathLike) -> RiskModel:
    """The model as it is, or the model folder it names, loaded."""
    return model if isinstance(model, RiskModel) else RiskModel.load(model)


def load_strategy(strategy: Strategy | str | os.PathLike) -> Strategy:
    """A strategy from itself, a shipped profile's name or a TOML file.

    The same as :meth:`Strategy.load`, under the name the workflows use.

    Examples
    --------
    >>> from overdue_risk.workflows import load_strategy
    >>> load_strategy("uk_eu").extends
    'uk_eu'
    """
    return Strategy.load(strategy)


def check_families(families: Sequence[str] | None) -> None:
    """Fail before any work on an unknown feature family."""
    list_features(None if families is None else list(families))
