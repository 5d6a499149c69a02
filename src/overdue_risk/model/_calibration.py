"""Calibration of raw scores on a later held-out slice, kept as plain numbers.

scikit-learn fits the calibrator (``CalibratedClassifierCV`` around a
``FrozenEstimator``, so the booster is never refitted); the model keeps only its
parameters, which the artifact stores as JSON and :meth:`Calibrator.apply` uses
the same way before and after a save.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression

from ..exceptions import ArtifactError

__all__ = ["METHODS", "Calibrator", "fit_calibrator"]

METHODS = ("isotonic", "sigmoid")


class _Margin(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose decision function is its (one-column) input.

    The calibrator then maps the booster's raw log-odds, which is what Platt
    scaling assumes, and isotonic regression is indifferent to the scale.
    """

    def __init__(self):
        self.classes_ = np.array([0, 1])

    def fit(self, X, y):  # pragma: no cover - never called: the estimator is frozen
        return self

    def decision_function(self, X):
        return np.asarray(X, dtype=np.float64)[:, 0]

    def predict(self, X):  # scikit-learn's checks ask for it; calibration never uses it
        return (self.decision_function(X) > 0).astype(np.int64)


@dataclass(frozen=True)
class Calibrator:
    """Maps raw log-odds to calibrated probabilities.

    ``isotonic``: piecewise-linear through (``x``, ``y``), flat beyond the ends.
    ``sigmoid``: ``1 / (1 + exp(a * margin + b))``.
    """

    method: str
    params: dict = field(default_factory=dict)

    def apply(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(margin, self.params["x"], self.params["y"])
        return expit(-(self.params["a"] * margin + self.params["b"]))

    def to_dict(self) -> dict:
        return {"method": self.method, **self.params}

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        """The calibrator :meth:`to_dict` wrote; ArtifactError for anything else."""
        try:
            method = d["method"]
            if method == "isotonic":
                x, y = _numbers(d["x"], "x"), _numbers(d["y"], "y")
                if len(x) != len(y) or not x or np.any(np.diff(x) < 0):
                    raise ValueError("isotonic thresholds must be non-empty and sorted")
                if min(y) < 0 or max(y) > 1 or np.any(np.diff(y) < 0):
                    raise ValueError("isotonic values must be probabilities that never fall")
                return cls(method, {"x": x, "y": y})
            if method == "sigmoid":
                a, b = _numbers([d["a"], d["b"]], "a and b")
                return cls(method, {"a": a, "b": b})
            raise ValueError(f"unknown method {method!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"calibration.json is not a valid calibrator: {exc}.") from exc


def _numbers(values, what: str) -> list[float]:
    """Finite JSON numbers (not booleans, not text) as floats."""
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(f"{what} must be finite numbers")
    return [float(v) for v in values]


def fit_calibrator(margin: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
    """Fit ``method`` on held-out raw log-odds and outcomes."""
    cal = CalibratedClassifierCV(FrozenEstimator(_Margin()), method=method)
    cal.fit(np.asarray(margin, dtype=np.float64).reshape(-1, 1), np.asarray(y))
    fitted = cal.calibrated_classifiers_[0].calibrators[0]
    if isinstance(fitted, IsotonicRegression):
        params = {"x": fitted.X_thresholds_.tolist(), "y": fitted.y_thresholds_.tolist()}
    else:
        params = {"a": float(fitted.a_), "b": float(fitted.b_)}
    return Calibrator(method, params)
