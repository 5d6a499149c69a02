"""overdue_risk: point-in-time overdue-risk features, risk scores and collection
prioritisation for consumer-finance lenders."""

from importlib.metadata import PackageNotFoundError, version

from .contract import Portfolio, load_portfolio, validate
from .evaluation import EvaluationReport, evaluate
from .exceptions import (
    AllocationError,
    ArtifactError,
    DataQualityWarning,
    DataValidationError,
    EvaluationError,
    ModelError,
    OverdueRiskError,
    Problem,
    ScenarioError,
    StrategyError,
)
from .features import CustomFeature, FeatureSpec, build_features, list_features
from .labels import CureTarget, DpdTarget, build_training_set, make_labels
from .ledger import Ledger, LedgerConfig, LedgerSnapshot, compute_ledger
from .model import RiskModel
from .prioritise import ResponseModel, RiskBasedValue, Strategy, Worklist, prioritise
from .simulate import (
    LoggedPolicy,
    NoAction,
    PolicyContext,
    PolicyResult,
    RandomPolicy,
    Scenario,
    SimulatedPortfolio,
    SimulationState,
    SimulationTruth,
    WorklistPolicy,
    simulate_policy,
    simulate_portfolio,
)

try:
    __version__ = version("overdue-risk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AllocationError",
    "ArtifactError",
    "CureTarget",
    "CustomFeature",
    "DataQualityWarning",
    "DataValidationError",
    "DpdTarget",
    "EvaluationError",
    "EvaluationReport",
    "FeatureSpec",
    "Ledger",
    "LedgerConfig",
    "LedgerSnapshot",
    "LoggedPolicy",
    "ModelError",
    "NoAction",
    "OverdueRiskError",
    "PolicyContext",
    "PolicyResult",
    "Portfolio",
    "Problem",
    "RandomPolicy",
    "ResponseModel",
    "RiskBasedValue",
    "RiskModel",
    "Scenario",
    "ScenarioError",
    "SimulatedPortfolio",
    "SimulationState",
    "SimulationTruth",
    "Strategy",
    "StrategyError",
    "Worklist",
    "WorklistPolicy",
    "build_features",
    "build_training_set",
    "compute_ledger",
    "evaluate",
    "list_features",
    "load_portfolio",
    "make_labels",
    "prioritise",
    "simulate_policy",
    "simulate_portfolio",
    "validate",
]
