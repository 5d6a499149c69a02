"""Checking what RiskModel is given: features as a frame, labels as two classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from ..exceptions import ModelError

__all__ = ["as_frame", "as_labels"]


def as_frame(X, what: str, n_features: int | None = None) -> pd.DataFrame:
    """``X`` as a frame: a DataFrame as it is, an array-like as numbers named ``x0, x1, ...``.

    Arrays go through scikit-learn's own input check, so they must be numeric (text
    and categories need a DataFrame); missing and infinite values pass, as in a frame.
    """
    if isinstance(X, pd.DataFrame):
        return X
    try:
        arr = check_array(X, dtype="numeric", ensure_all_finite=False, input_name=what)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    if n_features is not None and arr.shape[1] != n_features:
        raise ModelError(
            f"{what} has {arr.shape[1]} features, but RiskModel is expecting {n_features} "
            "features as input."
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


# Labels that read as the numbers 0 and 1 (ints, floats, booleans or their text) keep
# the classes 0 (good) and 1 (bad), as before any other labels were taken.
_ZERO_ONE = np.array([0, 1])


def _label_values(y, what: str) -> pd.Series:
    if y is None:
        raise ModelError(f"RiskModel requires y to be passed, but the target {what} is None.")
    if isinstance(y, pd.Series):
        return y
    try:
        return pd.Series(column_or_1d(y, warn=True))
    except ValueError as exc:
        raise ModelError(str(exc)) from exc


def as_labels(y, n: int, what: str, classes: np.ndarray | None = None):
    """Outcomes coded 0/1 (1: ``classes[1]``), and the two labels, sorted.

    ``classes`` are those learned from ``y``; the validation and calibration
    slices must use them.
    """
    values = _label_values(y, what)
    if len(values) != n:
        raise ModelError(f"{what} has {len(values)} labels for {n} rows of features.")
    if values.isna().any():
        raise ModelError(f"{what} has {int(values.isna().sum())} missing labels.")
    num = pd.to_numeric(values, errors="coerce")
    if np.isinf(num).any():
        raise ModelError(f"{what} has {int(np.isinf(num).sum())} infinite labels.")
    if classes is None and num.isin([0, 1]).all():
        classes = _ZERO_ONE
    if classes is _ZERO_ONE:
        bad = num.isna() | ~num.isin([0, 1])
        if bad.any():
            raise ModelError(
                f"{what} must hold 0 (good) and 1 (bad) only; "
                f"got {values[bad].unique()[:5].tolist()}."
            )
        out = num.to_numpy(dtype=np.int8)
    else:
        labels = values.to_numpy()
        if classes is None:
            classes = _two_classes(labels, what)
        codes = pd.Index(classes).get_indexer(labels)
        if (codes < 0).any():
            unseen = pd.unique(labels[codes < 0])[:5].tolist()
            raise ModelError(f"{what} holds labels that y does not: {unseen}.")
        out = codes.astype(np.int8)
    if len(out) and out.min() == out.max():
        raise ModelError(f"{what} has one class only ({classes[out[0]]}); a model needs both.")
    return out, classes


def _two_classes(labels: np.ndarray, what: str) -> np.ndarray:
    """The sorted classes of binary labels, refusing continuous and multiclass targets."""
    try:
        kind = type_of_target(labels, input_name=what)
        check_classification_targets(labels)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    if kind != "binary":
        raise ModelError(
            "Only binary classification is supported. The type of the target is "
            f"{kind}: {what} holds {len(np.unique(labels))} classes, and RiskModel "
            "predicts one of two outcomes."
        )
    return np.unique(labels)
