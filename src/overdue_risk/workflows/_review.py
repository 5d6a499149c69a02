"""What a model-risk review asks of training: sensitive attributes and feature texts.

- Sensitive attributes (:data:`~overdue_risk.model.SENSITIVE_ATTRIBUTES`, or
  the names given) are left out of training unless asked for, and then never
  given as a reason code; either way their groups make the report's fairness
  table, read from the portfolio.
- Every feature a model trains on has a text that says what it means; a
  feature without one stops training before any work on the model.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import pandas as pd

from .._params import Boolean, Names, check
from ..contract import Portfolio, validate
from ..exceptions import DataQualityWarning, ModelError
from ..features import static_attributes
from ..model import (
    SENSITIVE_ATTRIBUTES,
    RiskModel,
    describe_features,
    sensitive_columns,
    undescribed,
)

__all__ = ["check_review_options", "describe_or_refuse", "sensitive_groups", "split_sensitive"]

log = logging.getLogger(__name__)


def check_review_options(sensitive, include_sensitive, descriptions) -> tuple[str, ...]:
    """The sensitive names (the defaults for None), each option checked before any work."""
    names = SENSITIVE_ATTRIBUTES if sensitive is None else sensitive
    names = check(Names(empty=True), names, key="sensitive", error=ModelError)
    check(Boolean(), include_sensitive, key="include_sensitive", error=ModelError)
    describe_features([], descriptions=descriptions)  # its form: a mapping of texts
    return names


def split_sensitive(
    data: pd.DataFrame, estimator: RiskModel, sensitive: Sequence[str], include: bool
) -> tuple[pd.DataFrame, list[str]]:
    """The training set without its sensitive features (or with them, by choice).

    Returns the data and the features left out; with ``include``, the
    estimator is told which of its features are sensitive, and a warning says
    they are in.
    """
    found = sensitive_columns([c for c in data.columns if c != "label"], sensitive)
    # The features the model holds that are sensitive: those found, when included.
    estimator.set_params(sensitive_features=tuple(found) if include else ())
    if not found:
        return data, []
    if not include:
        log.info("leaving out the sensitive features %s", found)
        return data.drop(columns=found), found
    warnings.warn(
        DataQualityWarning(
            f"Training on the sensitive attributes {found} (include_sensitive): the model "
            "ranks borrowers by them, which the law or the lender's policy may forbid. They "
            "are never given as reason codes; the report's fairness table shows their groups."
        ),
        stacklevel=3,
    )
    return data, []


def describe_or_refuse(
    names: Sequence[str],
    portfolio: Portfolio,
    built: Sequence[str],
    descriptions: Mapping[str, str] | None,
) -> dict[str, str]:
    """A text for every feature in ``names``, or ModelError naming those without one.

    ``descriptions`` may describe any feature of the training set (``built``),
    including one left out as sensitive.
    """
    unknown = sorted(set(descriptions or {}) - set(built))
    if unknown:
        raise ModelError(
            f"descriptions names features the training set does not have: {unknown[:10]}."
        )
    texts = describe_features(built, portfolio, descriptions=descriptions)
    missing = undescribed(names, texts)
    if missing:
        raise ModelError(
            f"{len(missing)} feature(s) have no description, which reason codes and the model "
            f"folder need: {missing[:10]}{' ...' if len(missing) > 10 else ''}. Give each a "
            "text: train_risk_model(..., descriptions={'feature': 'what it means', ...}), "
            "or CustomFeature(..., description=...) for a feature of your own."
        )
    return {n: texts[n] for n in names}


def sensitive_groups(
    portfolio: Portfolio, loan_ids: pd.Index, sensitive: Sequence[str]
) -> pd.DataFrame | None:
    """The sensitive attributes of each row's loan, from the portfolio, for the fairness
    table; None when the portfolio has none of them."""
    attributes = static_attributes(validate(portfolio), loan_ids)
    found = sensitive_columns(attributes.columns, sensitive)
    return attributes[found] if found else None
