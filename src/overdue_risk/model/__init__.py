"""The risk model: LightGBM behind a scikit-learn estimator, with calibration,
reason codes, scorecard points and a pickle-free artifact.

Training, evaluating and scoring from a portfolio are workflows:
:mod:`overdue_risk.workflows` (``train_risk_model``, ``evaluate_model``,
``score_portfolio``, ``TrainingResult``). Reading those names here still works
for one release, with a :class:`DeprecationWarning`.
"""

from .._deprecation import moved
from ._calibration import Calibrator
from ._descriptions import describe_features, undescribed
from ._risk_model import EXPECTED_FAILED_CHECKS, RiskModel
from ._schema import FeatureSchema
from ._sensitive import SENSITIVE_ATTRIBUTES, sensitive_columns
from ._split import AsOfSplit
from ._tuning import TUNING_SPACE, TuningResult, tune_risk_model

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "SENSITIVE_ATTRIBUTES",
    "TUNING_SPACE",
    "AsOfSplit",
    "Calibrator",
    "FeatureSchema",
    "RiskModel",
    "TuningResult",
    "describe_features",
    "sensitive_columns",
    "tune_risk_model",
    "undescribed",
]

__getattr__ = moved(
    __name__,
    dict.fromkeys(
        ("TrainingResult", "evaluate_model", "score_portfolio", "train_risk_model"),
        "overdue_risk.workflows",
    ),
)
