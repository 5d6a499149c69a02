"""RiskModel's parameter rules, declared once and checked at the top of ``fit``.

Every check runs before LightGBM sees anything: a bad monotone constraint (on a
category, or a list of the wrong length) makes LightGBM abort the whole
process, which no ``except`` can catch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from ..exceptions import ModelError
from ._calibration import METHODS
from ._schema import FeatureSchema

__all__ = ["check_params", "monotone_vector"]


def _number(lo, hi, *, integer=False, lo_open=False, hi_open=False):
    def rule(v) -> str | None:
        kind = numbers.Integral if integer else numbers.Real
        if isinstance(v, bool) or not isinstance(v, kind) or not math.isfinite(v):
            return f"an {'int' if integer else 'float'}"
        below = v <= lo if lo_open else v < lo
        above = v >= hi if hi_open else v > hi
        if (lo is not None and below) or (hi is not None and above):
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            return f"{'an int' if integer else 'a float'} in {left}{lo}, {hi}{right}"
        return None

    return rule


def _choice(options):
    def rule(v) -> str | None:
        return None if v in options else f"one of {list(options)}"

    return rule


_INF = math.inf
RULES = {
    "n_estimators": _number(1, 100_000, integer=True),
    "learning_rate": _number(0, 1, lo_open=True),
    "num_leaves": _number(2, 131_072, integer=True),
    "max_depth": _number(-1, 1_000, integer=True),
    "min_child_samples": _number(1, _INF, integer=True),
    "subsample": _number(0, 1, lo_open=True),
    "colsample_bytree": _number(0, 1, lo_open=True),
    "reg_lambda": _number(0, _INF),
    "early_stopping_rounds": _number(1, 100_000, integer=True),
    "calibration": _choice((None, *METHODS)),
    "pdo": _number(0, _INF, lo_open=True),
    "base_score": _number(-_INF, _INF),
    "base_odds": _number(0, _INF, lo_open=True),
    "random_state": _number(0, 2**31 - 1, integer=True),
}


def check_params(params: Mapping) -> None:
    """Raise ModelError naming the first parameter that breaks its rule."""
    for name, rule in RULES.items():
        want = rule(params[name])
        if want is not None:
            raise ModelError(
                f"The {name!r} parameter of RiskModel must be {want}; got {params[name]!r}."
            )
    n_jobs = params["n_jobs"]
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0
    ):
        raise ModelError(
            f"The 'n_jobs' parameter of RiskModel must be None or a non-zero int; got {n_jobs!r}."
        )
    mc = params["monotone_constraints"]
    if mc is not None and not isinstance(mc, Mapping):
        raise ModelError(
            "The 'monotone_constraints' parameter of RiskModel must be None or a mapping "
            f"{{feature: -1, 0 or 1}}; got {type(mc).__name__}."
        )


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
