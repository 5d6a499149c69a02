"""overdue_risk: point-in-time overdue-risk features, risk scores and collection
prioritisation for consumer-finance lenders."""

from importlib.metadata import PackageNotFoundError, version

from .contract import Portfolio, load_portfolio, validate
from .exceptions import (
    DataQualityWarning,
    DataValidationError,
    OverdueRiskError,
    Problem,
    ScenarioError,
)
from .ledger import Ledger, LedgerConfig, LedgerSnapshot, compute_ledger
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
    "DataQualityWarning",
    "DataValidationError",
    "Ledger",
    "LedgerConfig",
    "LedgerSnapshot",
    "LoggedPolicy",
    "NoAction",
    "OverdueRiskError",
    "PolicyContext",
    "PolicyResult",
    "Portfolio",
    "Problem",
    "RandomPolicy",
    "Scenario",
    "ScenarioError",
    "SimulatedPortfolio",
    "SimulationState",
    "SimulationTruth",
    "WorklistPolicy",
    "compute_ledger",
    "load_portfolio",
    "simulate_policy",
    "simulate_portfolio",
    "validate",
]
