"""Sensitive attributes: which features they are, and which a fitted model holds.

A lender may not rank borrowers by age, sex or marital status, and region can
stand in for them (a proxy). :data:`SENSITIVE_ATTRIBUTES` names them;
:func:`sensitive_columns` finds them among feature names. ``train_risk_model``
leaves them out of training by default, and a model trained on them by choice
(``RiskModel(sensitive_features=...)``) never gives them as a reason code.

A feature matches a name when the feature's name, or the column it was made
from, equals the name, ignoring case: the static family keeps a ``loans``
column's name (``region``) and prefixes a ``customers`` column with
``customer_`` (``customer_birth_year`` is made from ``birth_year``). Names
match whole, never in part: ``loan_age_days`` is no ``age``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..exceptions import ModelError
from ._schema import FeatureSchema

__all__ = ["SENSITIVE_ATTRIBUTES", "fitted_sensitive", "sensitive_columns"]

SENSITIVE_ATTRIBUTES: tuple[str, ...] = (
    "age",
    "age_years",
    "birth_year",
    "year_of_birth",
    "birth_date",
    "date_of_birth",
    "sex",
    "gender",
    "code_gender",
    "marital_status",
    "family_status",
    "name_family_status",
    "region",
)
"""The columns treated as sensitive unless told otherwise: age and birth year,
sex and gender, marital status, and region (a proxy for the others), under
their common names, those of the Home Credit files included (``code_gender``,
``name_family_status``, ``age_years``)."""

_CUSTOMER = "customer_"  # the static family's prefix of a customers column


def _key(name: str) -> str:
    return name.strip().casefold()


def source_column(feature: str) -> str:
    """The column a static feature was made from: its name without ``customer_``."""
    return feature[len(_CUSTOMER) :] if _key(feature).startswith(_CUSTOMER) else feature


def sensitive_columns(names: Iterable[str], sensitive: Sequence[str] | None = None) -> list[str]:
    """The names among ``names`` that are sensitive attributes, in their order.

    Parameters
    ----------
    names : iterable of str
        Feature (or column) names, e.g. the columns of a feature frame.
    sensitive : list of str, optional
        The sensitive columns or features (default :data:`SENSITIVE_ATTRIBUTES`).
        A name matches a feature of that name, or made from a column of that
        name (``birth_year`` matches ``customer_birth_year``), ignoring case.

    Returns
    -------
    list of str

    Examples
    --------
    >>> sensitive_columns(["dpd", "region", "customer_birth_year", "loan_age_days"])
    ['region', 'customer_birth_year']
    >>> sensitive_columns(["dpd", "customer_income_band"], ["income_band"])
    ['customer_income_band']
    """
    wanted = {_key(s) for s in (SENSITIVE_ATTRIBUTES if sensitive is None else sensitive)}
    return [n for n in names if _key(n) in wanted or _key(source_column(n)) in wanted]


def fitted_sensitive(names: Sequence[str], schema: FeatureSchema) -> tuple[str, ...]:
    """The sensitive features a model is fitted on, in feature order; each must be in X.

    Their form (distinct, non-empty names) is checked with the other parameters.
    """
    named = {n.strip() for n in names}
    unknown = sorted(named - set(schema.names))
    if unknown:
        raise ModelError(
            f"sensitive_features names features that X does not have: {unknown}. Name "
            "the sensitive features the model is fitted on (leave out the ones X lacks)."
        )
    return tuple(n for n in schema.names if n in named)
