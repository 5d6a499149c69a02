"""A synthetic lender: portfolios with known ground truth, and forward policy simulation.

``simulate_portfolio`` generates a portfolio in the data contract together with
a :class:`SimulationTruth` (hidden traits, true probabilities); ``simulate_policy``
runs collection policies forward from the portfolio's state at any date, with
common random numbers so that policies are compared on the same draws.
"""

import warnings

from ._forward import PolicyResult, SimulationState, simulate_policy
from ._generate import SimulatedPortfolio, simulate_portfolio
from ._policy import LoggedPolicy, NoAction, PolicyContext, RandomPolicy, WorklistPolicy
from ._scenario import Scenario
from ._sections import (
    ActionEffects,
    ActionParams,
    Behaviour,
    CardProduct,
    Collections,
    Customers,
    Economy,
    InstalmentProduct,
    Products,
    Restructure,
)
from ._truth import SimulationTruth

__all__ = [
    "ActionEffects",
    "ActionParams",
    "Behaviour",
    "CardProduct",
    "Collections",
    "Customers",
    "Economy",
    "InstalmentProduct",
    "LoggedPolicy",
    "NoAction",
    "PolicyContext",
    "PolicyResult",
    "Products",
    "RandomPolicy",
    "Restructure",
    "Scenario",
    "SimulatedPortfolio",
    "SimulationState",
    "SimulationTruth",
    "WorklistPolicy",
    "simulate_policy",
    "simulate_portfolio",
]


def __getattr__(name: str):
    # The scenario's ``actions`` section was named ``Actions`` like the strategy's.
    if name == "Actions":
        warnings.warn(
            "overdue_risk.simulate.Actions is deprecated; use ActionEffects.",
            DeprecationWarning,
            stacklevel=2,
        )
        return ActionEffects
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
