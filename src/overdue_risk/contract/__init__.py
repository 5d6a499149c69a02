"""The data contract: tables, loading and validation, and the one action vocabulary."""

from ._actions import (
    AS_LOGGED,
    CHANNELS,
    CONTACT_ACTIONS,
    DECISION_ACTIONS,
    DEFAULT_CHANNEL,
    HARSH_ACTIONS,
    LOGGED_ACTIONS,
    NO_ACTION,
    OTHER,
    OUTCOMES,
    REACHED_OUTCOMES,
    TREATMENTS,
    WAIT,
)
from ._cut import cut_portfolio
from ._observed import check_as_of, observation_window
from ._portfolio import Portfolio, load_portfolio
from ._problems import show_value
from ._quarantine import quarantine
from ._schema import MAX_AMOUNT, TABLES, ColumnSpec, TableSpec
from ._validate import validate

__all__ = [
    "AS_LOGGED",
    "CHANNELS",
    "CONTACT_ACTIONS",
    "DECISION_ACTIONS",
    "DEFAULT_CHANNEL",
    "HARSH_ACTIONS",
    "LOGGED_ACTIONS",
    "MAX_AMOUNT",
    "NO_ACTION",
    "OTHER",
    "OUTCOMES",
    "REACHED_OUTCOMES",
    "TABLES",
    "TREATMENTS",
    "WAIT",
    "ColumnSpec",
    "Portfolio",
    "TableSpec",
    "check_as_of",
    "cut_portfolio",
    "load_portfolio",
    "observation_window",
    "quarantine",
    "show_value",
    "validate",
]
