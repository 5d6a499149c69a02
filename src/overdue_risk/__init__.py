"""overdue_risk: point-in-time overdue-risk features, risk scores and collection
prioritisation for consumer-finance lenders.

The top level holds what users call: the data contract, the ledger, features
and labels, the risk model and its workflows (train, evaluate, score), the
prioritiser and its workflows (learn the value model, prioritise a portfolio),
policy comparison, and the synthetic lender (:func:`simulate_portfolio`,
:class:`Scenario`). The simulator's other names live in
:mod:`overdue_risk.simulate`; reading them here still works for one release,
with a :class:`DeprecationWarning`.
"""

from ._deprecation import moved
from ._version import __version__
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
from .model import AsOfSplit, RiskModel, tune_risk_model
from .policy_eval import PolicyComparison, compare_policies, simulated_comparison
from .prioritise import (
    Allocation,
    ArrearsRule,
    LadderRule,
    ResponseModel,
    RiskBasedValue,
    ShrunkUplift,
    Strategy,
    Worklist,
    account_state,
    allocate,
    eligibility,
    logged_decisions,
    off_policy_value,
    prioritise,
)
from .simulate import Scenario, simulate_portfolio
from .workflows import (
    NightlyRun,
    TrainingResult,
    evaluate_model,
    learn_value_model,
    prioritise_portfolio,
    run_nightly,
    score_portfolio,
    train_risk_model,
)

__all__ = [
    "Allocation",
    "AllocationError",
    "ArrearsRule",
    "ArtifactError",
    "AsOfSplit",
    "CureTarget",
    "CustomFeature",
    "DataQualityWarning",
    "DataValidationError",
    "DpdTarget",
    "EvaluationError",
    "EvaluationReport",
    "FeatureSpec",
    "LadderRule",
    "Ledger",
    "LedgerConfig",
    "LedgerSnapshot",
    "ModelError",
    "NightlyRun",
    "OverdueRiskError",
    "PolicyComparison",
    "Portfolio",
    "Problem",
    "ResponseModel",
    "RiskBasedValue",
    "RiskModel",
    "Scenario",
    "ScenarioError",
    "ShrunkUplift",
    "Strategy",
    "StrategyError",
    "TrainingResult",
    "Worklist",
    "__version__",
    "account_state",
    "allocate",
    "build_features",
    "build_training_set",
    "compare_policies",
    "compute_ledger",
    "eligibility",
    "evaluate",
    "evaluate_model",
    "learn_value_model",
    "list_features",
    "load_portfolio",
    "logged_decisions",
    "make_labels",
    "off_policy_value",
    "prioritise",
    "prioritise_portfolio",
    "run_nightly",
    "score_portfolio",
    "simulate_portfolio",
    "simulated_comparison",
    "train_risk_model",
    "tune_risk_model",
    "validate",
]

# Simulator internals: under overdue_risk.simulate only, after one release.
__getattr__ = moved(
    __name__,
    dict.fromkeys(
        (
            "LoggedPolicy",
            "NoAction",
            "PolicyContext",
            "PolicyResult",
            "RandomPolicy",
            "SimulatedPortfolio",
            "SimulationState",
            "SimulationTruth",
            "WorklistPolicy",
            "simulate_policy",
        ),
        "overdue_risk.simulate",
    ),
)
