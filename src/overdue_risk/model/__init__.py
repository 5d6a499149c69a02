"""The risk model: LightGBM behind a scikit-learn estimator, with calibration,
reason codes, scorecard points and a pickle-free artifact."""

from ._calibration import Calibrator
from ._risk_model import RiskModel
from ._schema import FeatureSchema

__all__ = ["Calibrator", "FeatureSchema", "RiskModel"]
