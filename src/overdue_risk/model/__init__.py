"""The risk model: LightGBM behind a scikit-learn estimator, with calibration,
reason codes, scorecard points and a pickle-free artifact."""

from ._calibration import Calibrator
from ._risk_model import RiskModel
from ._schema import FeatureSchema
from ._workflow import TrainingResult, evaluate_model, score_portfolio, train_risk_model

__all__ = [
    "Calibrator",
    "FeatureSchema",
    "RiskModel",
    "TrainingResult",
    "evaluate_model",
    "score_portfolio",
    "train_risk_model",
]
