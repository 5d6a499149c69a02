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
from ._portfolio import Portfolio, load_portfolio
from ._schema import TABLES, ColumnSpec, TableSpec
from ._validate import validate

__all__ = [
    "AS_LOGGED",
    "CHANNELS",
    "CONTACT_ACTIONS",
    "DECISION_ACTIONS",
    "DEFAULT_CHANNEL",
    "HARSH_ACTIONS",
    "LOGGED_ACTIONS",
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
    "cut_portfolio",
    "load_portfolio",
    "validate",
]
