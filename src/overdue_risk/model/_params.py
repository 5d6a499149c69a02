"""RiskModel's parameter rules, declared once and checked at the top of ``fit``.

Every check runs before LightGBM sees anything: a bad monotone constraint (on a
category, or a list of the wrong length) makes LightGBM abort the whole
process, which no ``except`` can catch.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._params import N_JOBS, Interval, Names, Options, Satisfies
from .._params import check_params as _check
from ..exceptions import ModelError
from ._calibration import METHODS
from ._schema import FeatureSchema

__all__ = ["RULES", "check_params", "monotone_vector"]

# The rule of each parameter, in the order they are checked (see overdue_risk._params).
RULES = {
    "n_estimators": Interval(int, 1, 100_000),
    "learning_rate": Interval(float, 0, 1, closed="right"),
    "num_leaves": Interval(int, 2, 131_072),
    "max_depth": Interval(int, -1, 1_000),
    "min_child_samples": Interval(int, 1),
    "subsample": Interval(float, 0, 1, closed="right"),
    "colsample_bytree": Interval(float, 0, 1, closed="right"),
    "reg_lambda": Interval(float, 0),
    "early_stopping_rounds": Interval(int, 1, 100_000),
    "calibration": Options((None, *METHODS)),
    "pdo": Interval(float, 0, closed="neither"),
    "base_score": Interval(float),
    "base_odds": Interval(float, 0, closed="neither"),
    "random_state": Interval(int, 0, 2**31 - 1),
    "n_jobs": N_JOBS,
    "verbose": Interval(int, 0),
    "callbacks": [
        None,
        Satisfies(  # LightGBM sets an attribute on each: a builtin cannot take one
            lambda v: (
                isinstance(v, list | tuple)
                and all(callable(c) and hasattr(c, "__dict__") for c in v)
            ),
            "a list of LightGBM callbacks (functions or callable objects)",
        ),
    ],
    # Only its form here: the features it names are checked against X in fit.
    "monotone_constraints": [
        None,
        Satisfies(lambda v: isinstance(v, Mapping), "a mapping {feature: -1, 0 or 1}"),
    ],
    # Only its form here too: fit checks that X has each feature named.
    "sensitive_features": Names(empty=True),
}


def check_params(params: Mapping) -> None:
    """Raise ModelError naming the first parameter that breaks its rule."""
    _check("RiskModel", params, RULES, ModelError)


def monotone_vector(constraints: Mapping | None, schema: FeatureSchema) -> list[int] | None:
    """LightGBM's constraint list, one entry per feature, after every check."""
    if not constraints:
        return None
    names = set(schema.names)
    unknown = sorted(str(k) for k in constraints if k not in names)
    if unknown:
        raise ModelError(f"monotone_constraints names features that X does not have: {unknown}.")
    bad = {k: v for k, v in constraints.items() if isinstance(v, bool) or v not in (-1, 0, 1)}
    if bad:
        raise ModelError(f"monotone_constraints values must be -1, 0 or 1; got {bad}.")
    kinds = dict(zip(schema.names, schema.kinds, strict=True))
    on_categories = sorted(k for k, v in constraints.items() if v and kinds[k] == "category")
    if on_categories:
        raise ModelError(
            f"monotone_constraints cannot apply to categorical features: {on_categories}."
        )
    return [int(constraints.get(n, 0)) for n in schema.names]
