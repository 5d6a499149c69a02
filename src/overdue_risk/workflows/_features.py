"""How a trained model's features were built, recorded in it and rebuilt from it.

A model trained by :func:`train_risk_model` remembers its feature families,
exclusions and DPD tolerance, so scoring and evaluation rebuild exactly the
same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._dates import AsOf
from ..contract import Portfolio, validate
from ..exceptions import ModelError
from ..features import build_features, excludable
from ..ledger import LedgerConfig
from ..model import RiskModel

__all__ = ["build_options", "model_features", "recorded_options"]


def build_options(families: Sequence[str] | None, exclude: Sequence[str], tolerance: float) -> dict:
    """The record of how features are built, as the model's manifest keeps it."""
    return {
        "families": None if families is None else list(families),
        "exclude": list(exclude),
        "tolerance": float(tolerance),
    }


def recorded_options(model: RiskModel) -> dict:
    """The build options a model recorded at training; an error when it has none."""
    options = getattr(model, "build_options_", None)
    if options is None:
        raise ModelError(
            "The model does not record how its features were built (it was not trained "
            "with train_risk_model); build the features yourself and call predict_proba."
        )
    return options


def model_features(model: RiskModel, portfolio: Portfolio, as_of: AsOf) -> pd.DataFrame:
    """The features the model was trained on, rebuilt at ``as_of``.

    An exclusion recorded at training that names nothing in this portfolio (a
    column it lacks) has nothing to leave out, and is not an error here.
    """
    options = recorded_options(model)
    portfolio = validate(portfolio)  # once, for both calls below
    known = excludable(portfolio)
    return build_features(
        portfolio,
        as_of,
        families=options["families"],
        exclude=[name for name in options["exclude"] if name in known],
        ledger_config=LedgerConfig(tolerance=options["tolerance"]),
    )
