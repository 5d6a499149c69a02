"""Output tables into a database, all or nothing: :func:`publish`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from .._params import Boolean, check
from ._drivers import SourceError, connect, is_url, parse_url, quote
from ._mapping import TableMapping, _identifier, as_mapping

__all__ = ["publish"]

logger = logging.getLogger(__name__)


def _arrow(df: Any, name: str) -> pa.Table:
    """A frame as the Arrow table written: named index levels as columns, categories as
    their values, columns without any typed value as text."""
    if not isinstance(df, pd.DataFrame):
        raise SourceError(f"tables[{name!r}] must be a pandas DataFrame; got {type(df).__name__}.")
    flat = df.reset_index() if any(n is not None for n in df.index.names) else df
    names = [str(c) for c in flat.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise SourceError(
            f"Table {name!r} repeats column {repeated[0]!r}: a table's columns differ."
        )
    try:
        table = pa.Table.from_pandas(flat, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise SourceError(f"Table {name!r} cannot be written: {exc}") from exc
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        elif pa.types.is_null(column.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def publish(
    url: str,
    tables: Mapping[str, pd.DataFrame],
    *,
    mapping: Any = None,
    replace: bool = True,
) -> dict[str, str]:
    """Write output tables to a database in one transaction: all of them, or none.

    Every frame is converted before the database is touched; the tables are
    then written in one transaction and committed together. When one fails
    (a type the database refuses, a name held by a view, a lost connection),
    the transaction is rolled back: the tables written before it in the same
    call are undone, and every table keeps what it held before.

    Parameters
    ----------
    url : str
        ``duckdb:///abs/path.db`` (created if absent), ``duckdb:relative.db``
        or ``postgresql://user@host:port/db``.
    tables : dict of str to DataFrame
        The tables to write, by name. Named index levels are written as
        columns; categories as their values.
    mapping : TableMapping, dict, str or path, optional
        The database table of each name (``{"scores": "risk.scores"}``), and the
        ``schema`` of the names without one; a missing schema is created. A
        table not in the mapping is written under its own name.
    replace : bool, default True
        Replace each table whole (dropped and created with the frame's
        columns). With False, append the rows by column name, creating a
        table that does not exist.

    Returns
    -------
    dict of str to str
        The database table each table was written to (``schema.table``, or the
        bare name when neither the mapping nor the name gives a schema).

    Raises
    ------
    SourceError
        A URL that is not a database, a missing driver, a table name that is
        not an SQL identifier, a frame that cannot be converted, or a write the
        database refused (the message names the table; nothing was written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from overdue_risk.adapters import publish
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "out.db"
    >>> scores = pd.DataFrame({"loan_id": ["L1", "L2"], "score": [0.1, 0.7]})
    >>> publish(f"duckdb://{db}", {"scores": scores}, mapping={"scores": "risk.scores"})
    {'scores': 'risk.scores'}
    """
    if not is_url(url):
        raise SourceError(
            f"url must be a database URL (duckdb:///path.db or postgresql://...); got {url!r}."
        )
    db = parse_url(url)
    if not isinstance(tables, Mapping) or not tables:
        raise SourceError("tables must be a non-empty dict of table names to DataFrames.")
    replace = check(Boolean(), replace, key="replace", error=SourceError)
    names = list(tables)
    for name in names:
        _identifier(name, f"tables key {name!r}")
    m = as_mapping(mapping, "mapping") or TableMapping({})
    m.check_names(names, "tables published")
    targets = {name: m.where(name) if name in m.tables else (m.schema, name) for name in names}
    seen: dict[tuple, str] = {}
    for name, target in targets.items():
        if target in seen:
            raise SourceError(
                f"Tables {seen[target]!r} and {name!r} would both be written to "
                f"{quote(*target)}: map each to its own table."
            )
        seen[target] = name
    data = {name: _arrow(tables[name], name) for name in names}
    with connect(db, write=True) as con:
        con.begin()
        try:
            for name in names:
                schema, table = targets[name]
                with con.errors(
                    f"Publishing {name!r} to {quote(schema, table)} failed; nothing was written"
                ):
                    con.ingest(schema, table, data[name], replace=replace)
            with con.errors("Committing the publication failed; nothing was written"):
                con.commit()
        except BaseException:
            con.rollback()
            raise
    logger.info("Published %s to %s", ", ".join(names), db.shown)
    return {name: ".".join(p for p in targets[name] if p) for name in names}
