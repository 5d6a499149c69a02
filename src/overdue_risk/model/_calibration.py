"""Calibration of raw scores on a later held-out slice, kept as plain numbers.

scikit-learn fits the calibrator (``CalibratedClassifierCV`` around a
``FrozenEstimator``, so the booster is never refitted); the model keeps only its
parameters, which the artifact stores as JSON and :meth:`Calibrator.apply` uses
the same way before and after a save.

Isotonic regression gives exactly 0 below the first bad of the calibration
slice (and 1 above its last good): a certainty no finite sample supports, which
makes a log loss infinite and an expected loss vanish. Its probabilities are
clipped to ``[floor, ceiling]`` with ``floor = 1 / (2 n)`` and ``ceiling = 1 -
floor``, ``n`` the calibration rows: half a bad in the whole slice, the
continuity correction of an empirical rate, is the least a sample of ``n``
rows can tell from none. The bounds are kept with the thresholds. A
calibrator saved before them (no ``floor`` in ``calibration.json``) is applied
as it was saved, so an upgrade never moves the scores of a saved model.
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

    ``isotonic``: piecewise-linear through (``x``, ``y``), flat beyond the ends,
    clipped to [``floor``, ``ceiling``] when the parameters hold them.
    ``sigmoid``: ``1 / (1 + exp(a * margin + b))``.

    Examples
    --------
    >>> cal = Calibrator("isotonic", {"x": [-2.0, 0.0, 2.0], "y": [0.0, 0.25, 1.0],
    ...                               "floor": 0.001, "ceiling": 0.999})
    >>> cal.apply([-3.0, -1.0, 3.0]).tolist()
    [0.001, 0.125, 0.999]
    """

    method: str
    params: dict = field(default_factory=dict)

    def apply(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "isotonic":
            p = np.interp(margin, self.params["x"], self.params["y"])
            if "floor" in self.params:
                p = np.clip(p, self.params["floor"], self.params["ceiling"])
            return p
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
                return cls(method, {"x": x, "y": y, **_bounds(d)})
            if method == "sigmoid":
                a, b = _numbers([d["a"], d["b"]], "a and b")
                return cls(method, {"a": a, "b": b})
            raise ValueError(f"unknown method {method!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"calibration.json is not a valid calibrator: {exc}.") from exc


def _bounds(d: dict) -> dict:
    """The clip of isotonic probabilities; none in a file saved before it existed."""
    if "floor" not in d and "ceiling" not in d:
        return {}
    floor, ceiling = _numbers([d["floor"], d["ceiling"]], "floor and ceiling")
    if not 0 < floor <= 0.5 <= ceiling < 1:
        raise ValueError(
            f"floor and ceiling must satisfy 0 < floor <= 0.5 <= ceiling < 1; got {floor} "
            f"and {ceiling}"
        )
    return {"floor": floor, "ceiling": ceiling}


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
        floor = 0.5 / len(margin)  # half a bad in the slice: see the module's docstring
        params = {
            "x": fitted.X_thresholds_.tolist(),
            "y": fitted.y_thresholds_.tolist(),
            "floor": floor,
            "ceiling": 1.0 - floor,
        }
    else:
        params = {"a": float(fitted.a_), "b": float(fitted.b_)}
    return Calibrator(method, params)
