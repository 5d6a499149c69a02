"""The risk model: LightGBM behind a scikit-learn estimator, with calibration,
reason codes, scorecard points and a pickle-free artifact.

Training, evaluating and scoring from a portfolio are workflows:
:mod:`overdue_risk.workflows` (``train_risk_model``, ``evaluate_model``,
``score_portfolio``, ``TrainingResult``). Reading those names here still works
for one release, with a :class:`DeprecationWarning`.
"""

from .._deprecation import moved
from ._calibration import Calibrator
from ._risk_model import EXPECTED_FAILED_CHECKS, RiskModel
from ._schema import FeatureSchema

__all__ = ["EXPECTED_FAILED_CHECKS", "Calibrator", "FeatureSchema", "RiskModel"]

__getattr__ = moved(
    __name__,
    dict.fromkeys(
        ("TrainingResult", "evaluate_model", "score_portfolio", "train_risk_model"),
        "overdue_risk.workflows",
    ),
)
