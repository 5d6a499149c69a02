"""What the workflows take: a portfolio, a model and a strategy, as objects or by name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .._dates import AsOf
from .._io import OUTPUT_FORMATS
from ..contract import TABLES, Portfolio, check_as_of, load_portfolio, validate
from ..exceptions import OverdueRiskError
from ..features import list_features
from ..model import RiskModel
from ..prioritise import Strategy

__all__ = [
    "as_model",
    "as_portfolio",
    "check_argument",
    "check_families",
    "dated_portfolio",
    "load_strategy",
    "portfolio_files",
]


def check_argument(
    owner: str,
    name: str,
    value: object,
    types: tuple[type, ...],
    expected: str,
    *,
    path: bool = True,
    optional: bool = False,
) -> None:
    """Fail before any work on an argument of the wrong type (swapped arguments, say).

    ``value`` must be an instance of one of ``types``, or with ``path`` a
    non-empty path (text or :class:`os.PathLike`), or with ``optional`` None;
    ``expected`` is the phrase after "must be" in the message.

    Examples
    --------
    >>> import pandas as pd
    >>> check_argument("f", "x", {"L1": 0.2}, (pd.DataFrame,), "a DataFrame")
    Traceback (most recent call last):
    ...
    overdue_risk.exceptions.OverdueRiskError: The 'x' argument of f must be a DataFrame; got dict.
    """
    if value is None and optional:
        return
    if isinstance(value, types) and not isinstance(value, bool):
        return
    if path and isinstance(value, str | os.PathLike):
        if str(os.fspath(value)).strip():
            return
        raise OverdueRiskError(
            f"The {name!r} argument of {owner} must be {expected}; got an empty path."
        )
    raise OverdueRiskError(
        f"The {name!r} argument of {owner} must be {expected}; got {type(value).__name__}."
    )


def _check_portfolio(portfolio: object) -> None:
    expected = "a Portfolio or its folder"
    check_argument("the workflow", "portfolio", portfolio, (Portfolio,), expected)


def as_portfolio(portfolio: Portfolio | str | os.PathLike) -> Portfolio:
    """The portfolio as it is, or the folder it names, read and validated."""
    _check_portfolio(portfolio)
    return portfolio if isinstance(portfolio, Portfolio) else load_portfolio(portfolio)


def dated_portfolio(
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    allow_future: bool = False,
    name: str = "as_of",
) -> Portfolio:
    """The portfolio read and validated, its as-of dates checked against what it observes.

    The one as-of check of every workflow
    (:func:`~overdue_risk.contract.check_as_of`): from the first record to
    the morning after the last one; later dates only with ``allow_future``.
    """
    p = validate(as_portfolio(portfolio))
    check_as_of(p, as_of, allow_future=allow_future, name=name)
    return p


def portfolio_files(portfolio: Portfolio | str | os.PathLike) -> list[Path]:
    """The files a portfolio folder's tables are read from, or may be (none for a Portfolio).

    Every name a table may take counts, present or not: writing ``loans.parquet``
    beside ``loans.csv`` would change the portfolio as surely as overwriting it,
    so no output may take any of them.
    """
    _check_portfolio(portfolio)
    if isinstance(portfolio, Portfolio):
        return []
    folder = Path(portfolio)
    return [folder / f"{name}{ext}" for name in TABLES for ext in OUTPUT_FORMATS]


def as_model(model: RiskModel | str | os.PathLike) -> RiskModel:
    """The model as it is, or the model folder it names, loaded."""
    check_argument("the workflow", "model", model, (RiskModel,), "a RiskModel or its folder")
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
