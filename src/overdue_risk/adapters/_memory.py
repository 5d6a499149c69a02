"""A portfolio already in memory as a source: :class:`MemorySource`.

A run given a :class:`~overdue_risk.Portfolio` reads it as it reads files or a
database: planned into chunks of whole customers by the same rules
(:meth:`Source.plan`), read a chunk at a time, or a few loans by id. The frames
are not copied to Arrow: only the key columns are, to plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa

from ..contract import Portfolio
from ._drivers import SourceError
from ._source import Source
from ._tables import TableReader

__all__ = ["FrameTable", "MemorySource"]

# The columns chunking reads; every other column is read with its rows only.
_KEYS = ("loan_id", "customer_id", "restructured_from")


class FrameTable(TableReader):
    """One table of a portfolio in memory (a pandas DataFrame)."""

    def __init__(self, frame: pd.DataFrame, name: str):
        self.frame, self.name, self.where = frame, name, f"the {name} table in memory"

    def schema(self) -> pa.Schema:
        """The columns; the key columns with the Arrow type of their values (the others
        as ``null``: chunking never reads their type)."""
        return pa.schema(
            [
                (str(c), self.keys([c]).schema.field(0).type if c in _KEYS else pa.null())
                for c in self.frame.columns
            ]
        )

    def read(self) -> pd.DataFrame:
        return self.frame

    def keys(self, columns: list[str]) -> pa.Table:
        return pa.Table.from_pandas(self.frame[list(columns)], preserve_index=False)

    def read_where(self, column: str, values: pa.Array) -> pd.DataFrame:
        wanted = values.to_pandas()
        rows = self.frame[column].isin(wanted).to_numpy(dtype=bool)
        return self.frame[rows].reset_index(drop=True)


class MemorySource(Source):
    """A :class:`~overdue_risk.Portfolio` in memory, read as any source is.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk.adapters import MemorySource
    >>> source = MemorySource(odr.load_portfolio("data/sample"))
    >>> plan = source.plan(customers_per_chunk=1000)
    >>> len(plan), plan.n_loans
    (4, 5086)
    >>> sum(len(c.loans) for c in source.read_chunks(plan))
    5086
    """

    kind = "memory"

    def __init__(self, portfolio: Portfolio):
        if not isinstance(portfolio, Portfolio):
            raise SourceError(f"MemorySource takes a Portfolio; got {type(portfolio).__name__}.")
        self.portfolio = portfolio

    @property
    def location(self) -> str:
        return "memory"

    def tables(self) -> dict[str, str]:
        return {name: f"{len(df):,} rows" for name, df in self.portfolio.tables().items()}

    @contextmanager
    def _open(self) -> Iterator[dict[str, TableReader]]:
        yield {name: FrameTable(df, name) for name, df in self.portfolio.tables().items()}

    def inputs(self) -> list[dict[str, Any]]:
        """Each table's row count and a hash of its content (pandas' row hashes, summed)."""
        return [
            {
                "table": name,
                "rows": len(df),
                "hash": str(pd.util.hash_pandas_object(df, index=False).sum() % 2**63),
            }
            for name, df in self.portfolio.tables().items()
        ]
