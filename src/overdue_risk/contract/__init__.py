"""The data contract: tables, loading and validation."""

from ._portfolio import Portfolio, load_portfolio
from ._schema import TABLES, ColumnSpec, TableSpec
from ._validate import validate

__all__ = ["TABLES", "ColumnSpec", "Portfolio", "TableSpec", "load_portfolio", "validate"]
