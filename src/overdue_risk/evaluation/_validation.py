"""Input checks of :func:`evaluate`: every user mistake becomes one readable error.

Scikit-learn's own messages (and tracebacks) would otherwise surface for a
label column of 1/2 or a score of margins, far from the call that caused them.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from .._dates import local_times
from ..exceptions import EvaluationError

__all__ = [
    "binary",
    "check_n_bins",
    "check_same_index",
    "floats",
    "frames",
    "months",
    "probabilities",
    "vector",
]


def _first(values: np.ndarray, k: int = 3) -> str:
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:k])


def check_n_bins(n_bins: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, Integral) or n_bins < 2:
        raise EvaluationError(f"n_bins must be an integer >= 2; got {n_bins!r}.")
    return int(n_bins)


def vector(name: str, values: Any, n: int | None = None) -> pd.Series:
    """A 1-D array-like as a Series with a fresh RangeIndex (rows match by position)."""
    if values is None or isinstance(values, str | bytes | pd.DataFrame | Mapping):
        raise EvaluationError(
            f"{name} must be a one-dimensional array-like; got {type(values).__name__}."
        )
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if not isinstance(values, ExtensionArray):
        try:
            values = np.asarray(values)
        except ValueError as exc:  # ragged nested lists
            raise EvaluationError(f"{name} must be one-dimensional; {exc}") from exc
        if values.ndim != 1:
            raise EvaluationError(f"{name} must be one-dimensional; got shape {values.shape}.")
    if n is not None and len(values) != n:
        raise EvaluationError(f"{name} must have one value per row of y ({n}); got {len(values)}.")
    return pd.Series(values, copy=False)


def floats(name: str, values: pd.Series) -> np.ndarray:
    """Numbers as float64, missing values as NaN; anything else is an error."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and dtype.kind in "biuf"
    ):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_object_dtype(dtype):
        try:
            return values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            pass
    raise EvaluationError(f"{name} must be numeric; got dtype {dtype}.")


def check_same_index(named: Mapping[str, Any]) -> None:
    """Two pandas Series with different indexes are almost surely misaligned."""
    indexed = {k: v.index for k, v in named.items() if isinstance(v, pd.Series)}
    names = list(indexed)
    for other in names[1:]:
        if not indexed[names[0]].equals(indexed[other]):
            raise EvaluationError(
                f"{names[0]} and {other} are Series with different indexes; rows are matched "
                f"by position, so align them first (e.g. {other}.reindex({names[0]}.index))."
            )


def binary(values: Any) -> np.ndarray:
    """y as float 0.0/1.0."""
    y = floats("y", vector("y", values))
    if len(y) == 0:
        raise EvaluationError("y is empty: there is nothing to evaluate.")
    missing = int(np.isnan(y).sum())
    if missing:
        raise EvaluationError(f"y must be 0 or 1 without missing values; got {missing} missing.")
    other = np.unique(y[(y != 0) & (y != 1)])
    if len(other):
        raise EvaluationError(
            f"y must be binary 0/1 (1 = bad); got {len(other)} other value(s): {_first(other)}."
        )
    return y


def probabilities(name: str, values: Any, n: int | None = None) -> np.ndarray:
    """Scores as float probabilities in [0, 1], none missing."""
    p = floats(name, vector(name, values, n))
    if len(p) == 0:
        raise EvaluationError(f"{name} is empty: there is nothing to evaluate.")
    missing = int(np.isnan(p).sum())
    if missing:
        raise EvaluationError(f"{name} must not contain NaN; got {missing} missing value(s).")
    outside = p[(p < 0) | (p > 1)]
    if len(outside):
        raise EvaluationError(
            f"{name} must be probabilities in [0, 1]; got {len(outside)} value(s) outside, "
            f"e.g. {_first(outside)}. Pass predicted probabilities, not margins or points."
        )
    return p


def months(as_of: Any, n: int) -> pd.Series:
    """The calendar month (Period 'M') of each as-of date."""
    if np.isscalar(as_of):
        raise EvaluationError(
            f"as_of must be an array-like of dates, one per row of y; got {as_of!r}."
        )
    dates = vector("as_of", as_of, n)
    if isinstance(dates.dtype, pd.PeriodDtype):
        parsed = dates.dt.to_timestamp()
    else:  # the data contract's date rule: an aware timestamp's own local date
        parsed, zones = local_times(dates)
        bad = dates[(parsed.isna() & dates.notna()).to_numpy()]
        if len(bad):
            raise EvaluationError(
                f"as_of must be dates (ISO 8601 text, dates or Timestamps); "
                f"got {_first(bad.to_numpy())}."
            )
        if zones is not None:
            raise EvaluationError(
                "as_of mixes timezones (or offsets with none); one column holds one timezone."
            )
    missing = int(parsed.isna().sum())
    if missing:
        raise EvaluationError(f"as_of must not contain missing dates; got {missing}.")
    return parsed.dt.to_period("M")


def frames(x: Any, reference_x: Any) -> list[Any]:
    """The features whose PSI to compute: the columns of ``X``."""
    if (x is None) != (reference_x is None):
        raise EvaluationError("X and reference_X must be given together (or neither).")
    for name, frame in (("X", x), ("reference_X", reference_x)):
        if not isinstance(frame, pd.DataFrame):
            raise EvaluationError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}.")
        if not frame.columns.is_unique:
            dup = frame.columns[frame.columns.duplicated()].unique().tolist()
            raise EvaluationError(f"{name} has duplicated column names: {dup}.")
        if len(frame) == 0:
            raise EvaluationError(f"{name} has no rows.")
    missing = [c for c in x.columns if c not in reference_x.columns]
    if missing:
        raise EvaluationError(f"reference_X lacks {len(missing)} column(s) of X: {missing}.")
    if len(x.columns) == 0:
        raise EvaluationError("X has no columns.")
    return list(x.columns)


def importance_series(importance: Any) -> pd.Series:
    if isinstance(importance, Mapping):
        importance = pd.Series(importance, dtype=float)
    if not isinstance(importance, pd.Series):
        raise EvaluationError(
            f"importance must be a pandas Series indexed by feature name; "
            f"got {type(importance).__name__}."
        )
    values = floats("importance", importance.reset_index(drop=True))
    if not np.isfinite(values).all():
        raise EvaluationError("importance must be finite numbers; got NaN or infinity.")
    return pd.Series(values, index=importance.index, name="importance")
