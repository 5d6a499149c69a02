"""A synthetic lender: portfolios with known ground truth, and forward policy simulation.

``simulate_portfolio`` generates a portfolio in the data contract together with
a :class:`SimulationTruth` (hidden traits, true probabilities); ``simulate_policy``
runs collection policies forward from the portfolio's state at any date, with
common random numbers so that policies are compared on the same draws.
"""

from ._forward import PolicyResult, SimulationState, simulate_policy
from ._generate import SimulatedPortfolio, simulate_portfolio
from ._policy import LoggedPolicy, NoAction, PolicyContext, RandomPolicy, WorklistPolicy
from ._scenario import (
    ActionParams,
    Actions,
    Behaviour,
    CardProduct,
    Collections,
    Customers,
    Economy,
    InstalmentProduct,
    Products,
    Restructure,
    Scenario,
)
from ._truth import SimulationTruth

__all__ = [
    "ActionParams",
    "Actions",
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
