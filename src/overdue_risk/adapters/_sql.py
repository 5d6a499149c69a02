"""A portfolio in a database: :class:`SqlSource` (DuckDB or PostgreSQL) and its table reader.

Queries are built from checked, quoted identifiers only; values travel as
parameters or as Arrow data, never as SQL text. Each table is read in the
order of its contract key (``loan_id``, then ``installment_no`` or the
record's date), rows that tie on it in the database's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa

from .._params import suggest
from ..contract import TABLES
from ._drivers import Connection, DatabaseURL, SourceError, connect, quote
from ._mapping import TableMapping
from ._source import Source
from ._tables import N_EXAMPLES, TableReader, to_frame

__all__ = ["SqlSource"]


class SqlTable(TableReader):
    """One contract table in a database, read through an open :class:`Connection`."""

    def __init__(self, con: Connection, name: str, relation: str, shown: str):
        self.con = con
        self.name = name
        self.relation = relation
        self.where = shown
        self._schema: pa.Schema | None = None

    def schema(self) -> pa.Schema:
        if self._schema is None:
            with self.con.errors(f"Cannot read table {self.where} ({self.name})"):
                self._schema = self.con.arrow(f"SELECT * FROM {self.relation} LIMIT 0").schema
        return self._schema

    def _order(self) -> str:
        names = self.schema().names
        key = [quote(c) for c in TABLES[self.name].key if c in names]
        return f" ORDER BY {', '.join(key)}" if key else ""

    def read(self) -> pd.DataFrame:
        with self.con.errors(f"Cannot read table {self.where} ({self.name})"):
            return to_frame(self.con.arrow(f"SELECT * FROM {self.relation}{self._order()}"))

    def keys(self, columns: list[str]) -> pa.Table:
        cols = ", ".join(quote(c) for c in columns)
        with self.con.errors(f"Cannot read {', '.join(columns)} of {self.where} ({self.name})"):
            return self.con.arrow(f"SELECT {cols} FROM {self.relation}")

    def read_where(self, column: str, values: pa.Array) -> pd.DataFrame:
        with self.con.errors(f"Cannot read a chunk of {self.where} ({self.name})"):
            table = self.con.where_in(
                f"SELECT * FROM {self.relation}", column, values, self._order()
            )
        return to_frame(table)

    def unmatched(
        self, column: str, pool: pa.Array, parent: TableReader
    ) -> tuple[int, int, tuple[str, ...]]:
        """Counted in the database: a row of this table with no ``column``, and one whose
        ``column`` names no row of ``parent`` (an anti-join, nothing sent over)."""
        if not isinstance(parent, SqlTable) or parent.con is not self.con:
            return super().unmatched(column, pool, parent)  # pragma: no cover - not used
        c = quote(column)
        outside = (
            f"t.{c} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent.relation} AS p WHERE p.{c} = t.{c})"
        )
        with self.con.errors(f"Cannot check {column} of {self.where} ({self.name})"):
            counts = self.con.arrow(
                f"SELECT count(*) FILTER (WHERE t.{c} IS NULL) AS blank, "
                f"count(*) FILTER (WHERE {outside}) AS orphan FROM {self.relation} AS t"
            )
            blank, orphan = (int(counts.column(i)[0].as_py()) for i in range(2))
            examples: tuple[str, ...] = ()
            if orphan:
                first = self.con.arrow(
                    f"SELECT DISTINCT t.{c} FROM {self.relation} AS t WHERE {outside} "
                    f"ORDER BY 1 LIMIT {N_EXAMPLES}"
                )
                examples = tuple(f"{column}={v}" for v in first.column(0).to_pylist())
        return blank, orphan, examples


def _resolve(con: Connection, url: DatabaseURL, mapping: TableMapping | None) -> TableMapping:
    """The mapping of the tables present: the one given, each table checked, or the
    contract's own names found in the current schema."""
    with con.errors("Cannot list the tables of the database"):
        present = con.relations()
        default = con.default_schema()
    if mapping is None or not mapping.tables:
        schema = mapping.schema if mapping is not None and mapping.schema else default
        found = {name: name for name in TABLES if (schema, name) in present}
        if "loans" not in found:
            raise SourceError(
                f"The database {url.shown!r} has no table loans in schema {schema!r}: name "
                'the tables with a mapping (tables={"loans": "schema.table", ...}).'
            )
        return TableMapping(found, schema=schema, origin="the contract's table names")
    for name in mapping.tables:
        schema, table = mapping.where(name)
        schema = schema or default
        if (schema, table) not in present:
            near = sorted(t for s, t in present if s == schema)
            hint = suggest(table, near) or (
                f"; schema {schema!r} holds {', '.join(near[:10])}."
                if near
                else f"; schema {schema!r} holds no table."
            )
            where = f"{mapping.origin}: " if mapping.origin else ""
            raise SourceError(
                f"{where}tables.{name} is {schema}.{table}, which is not in the database "
                f"{url.shown!r}{hint}"
            )
    return mapping


class SqlSource(Source):
    """A portfolio in a DuckDB or PostgreSQL database, one database table per contract table.

    Made by :func:`open_source`, which reaches the database once to check the
    mapping: the URL, and each contract table's database table (see
    :class:`TableMapping`).
    """

    def __init__(self, url: DatabaseURL, mapping: TableMapping | None = None):
        self.url = url
        self.kind = url.engine
        if mapping is not None:
            mapping.for_contract()  # before the database is reached
        with connect(url) as con:
            self.mapping = _resolve(con, url, mapping)

    @property
    def location(self) -> str:
        return self.url.shown

    def tables(self) -> dict[str, str]:
        out = {}
        for name in TABLES:
            if name in self.mapping.tables:
                schema, table = self.mapping.where(name)
                out[name] = f"{schema}.{table}" if schema else table
        return out

    @contextmanager
    def _open(self) -> Iterator[dict[str, TableReader]]:
        with connect(self.url) as con:
            shown = self.tables()
            yield {
                name: SqlTable(con, name, self.mapping.relation(name), shown[name])
                for name in shown
            }

    def inputs(self) -> list[dict[str, Any]]:
        """Each table's name, row count and content hash, computed in the database.

        The content hash sums a hash of every row (DuckDB's ``hash``, PostgreSQL's
        ``md5`` of the row's text), so it does not depend on row order and costs one
        scan of each table in the database; it is stable for one version of the
        engine. Nothing is read into Python.
        """
        out = []
        with self._open() as readers:
            for name, reader in readers.items():
                assert isinstance(reader, SqlTable)
                with reader.con.errors(f"Cannot fingerprint {reader.where} ({name})"):
                    rows, content = reader.con.row_hash(reader.relation)
                out.append({"table": name, "relation": reader.where, "rows": rows, "hash": content})
        return out
