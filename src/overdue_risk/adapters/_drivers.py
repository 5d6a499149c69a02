"""Database URLs and the optional drivers, imported lazily in one place.

Two engines are spoken, each through an Arrow-native driver so that tables
cross as Arrow, column types included:

* DuckDB (``duckdb:///abs/path/to.db``, ``duckdb:relative/to.db``), through the
  ``duckdb`` package's own Python API;
* PostgreSQL (``postgresql://user@host:port/db``, ``postgres://...``), through
  ADBC (``adbc-driver-postgresql`` on ``adbc-driver-manager``), which hands the
  URL to libpq as it is: every libpq parameter (``?host=/run/postgresql``,
  ``sslmode=require``, ``connect_timeout``) works.

Neither driver is needed to import :mod:`overdue_risk`; a missing one is a
:class:`SourceError` that names the extra to install. :class:`Connection` gives
both engines one small interface: Arrow queries, a semi-join on an Arrow array,
transactions and the ingestion of Arrow tables.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from ..exceptions import OverdueRiskError

__all__ = [
    "ENGINES",
    "INSTALL_HINT",
    "Connection",
    "DatabaseURL",
    "SourceError",
    "connect",
    "is_url",
    "parse_url",
    "quote",
]

INSTALL_HINT = "pip install overdue-risk[sql]"
ENGINES = ("duckdb", "postgresql")
# Seconds libpq waits for a server before it gives up: a batch must fail, not hang.
CONNECT_TIMEOUT = 10
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
_SCHEMES = {"duckdb": "duckdb", "postgresql": "postgresql", "postgres": "postgresql"}


class SourceError(OverdueRiskError):
    """A portfolio source or publication target that cannot be used.

    A URL that names no known engine, a driver that is not installed, a
    database that cannot be reached, a table mapping that breaks its rules, a
    table that is not in the database, or a write the database refused. The
    message names the URL (its password masked), the table or key, and the rule.
    """


def is_url(spec: object) -> bool:
    """Whether ``spec`` is written as a URL (``scheme:...``) rather than a path.

    Examples
    --------
    >>> is_url("duckdb:///tmp/x.db"), is_url("data/sample"), is_url("C:/data")
    (True, False, False)
    """
    return isinstance(spec, str) and _SCHEME.match(spec) is not None


@dataclass(frozen=True)
class DatabaseURL:
    """A database URL, parsed: the engine, what its driver is given, and how messages show it.

    Attributes
    ----------
    engine : {"duckdb", "postgresql"}
    target : str
        The DuckDB file, or the libpq URI (with ``connect_timeout`` added when absent).
    shown : str
        The URL as written, its password masked.
    """

    engine: str
    target: str
    shown: str

    def __str__(self) -> str:
        return self.shown


def _masked(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/:*"), ""))


def parse_url(url: str) -> DatabaseURL:
    """Parse a database URL; an unknown engine or an empty DuckDB path is a :class:`SourceError`.

    ``duckdb:///abs/path.db`` names an absolute path (a file URL's three
    slashes), ``duckdb:path.db`` one relative to the working folder.

    Examples
    --------
    >>> parse_url("duckdb:///srv/lender.db").target
    '/srv/lender.db'
    >>> parse_url("postgresql://risk:secret@db:5432/lender").shown
    'postgresql://risk:***@db:5432/lender'
    >>> parse_url("mysql://db/lender")
    Traceback (most recent call last):
    ...
    overdue_risk.adapters._drivers.SourceError: Database URL 'mysql://db/lender' names engine \
'mysql'; the engines read and written are duckdb (duckdb:///path/to.db) and postgresql \
(postgresql://user@host:port/db).
    """
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    engine = _SCHEMES.get(scheme)
    shown = _masked(url) if engine == "postgresql" else url
    if engine is None:
        raise SourceError(
            f"Database URL {shown!r} names engine {scheme!r}; the engines read and written are "
            "duckdb (duckdb:///path/to.db) and postgresql (postgresql://user@host:port/db)."
        )
    if engine == "duckdb":
        rest = url[len(scheme) + 1 :]
        path = rest[2:] if rest.startswith("//") else rest  # duckdb:///abs -> /abs
        if not path.strip() or path.startswith("//"):
            raise SourceError(
                f"Database URL {url!r} names no DuckDB file: write duckdb:///absolute/path.db "
                "or duckdb:relative/path.db."
            )
        return DatabaseURL("duckdb", path, shown)
    # libpq reads the URL itself; only a connection timeout is added when none is set.
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    target = url
    if not any(k == "connect_timeout" for k, _ in query):
        target += ("&" if "?" in url else "?") + f"connect_timeout={CONNECT_TIMEOUT}"
    return DatabaseURL("postgresql", target, shown)


def quote(*parts: str | None) -> str:
    """A qualified SQL identifier: each part double-quoted (parts are checked names).

    Examples
    --------
    >>> quote("core", "loan_accounts"), quote(None, "loans")
    ('"core"."loan_accounts"', '"loans"')
    """
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts if p is not None)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise SourceError(
            f"DuckDB databases are read and written with the duckdb package: {INSTALL_HINT}"
        ) from exc
    return duckdb


def _adbc_postgresql() -> Any:
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError as exc:
        raise SourceError(
            "PostgreSQL databases are read and written with ADBC (the adbc-driver-postgresql "
            f"and adbc-driver-manager packages): {INSTALL_HINT}"
        ) from exc
    return dbapi


def _reason(exc: BaseException) -> str:
    """A driver's message, first line only (drivers add context lines and SQL echoes)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _duckdb_arrow(con: Any, sql: str, params: tuple = ()) -> pa.Table:
    """A DuckDB query's result as Arrow, through a relation (no extra copy of the rows)."""
    rel = con.sql(sql, params=list(params)) if params else con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table  # DuckDB < 1.4
    return fetch()


class Connection:
    """One open database connection, the same few operations on either engine.

    Every driver error is raised as a :class:`SourceError` that says what was
    being done (``what``) and where.
    """

    def __init__(self, url: DatabaseURL, *, write: bool):
        self.url = url
        self.engine = url.engine
        self._errors: tuple[type[BaseException], ...]
        if self.engine == "duckdb":
            duckdb = _duckdb()
            self._errors = (duckdb.Error,)
            path = Path(url.target).expanduser()
            if not write and not path.is_file():
                what = "does not exist" if not path.exists() else "is not a file"
                raise SourceError(f"DuckDB database {url.shown!r}: {str(path)!r} {what}.")
            try:
                self._con = duckdb.connect(str(path), read_only=not write)
            except duckdb.Error as exc:
                raise SourceError(f"Cannot open {url.shown!r}: {_reason(exc)}") from exc
            # Instants (TIMESTAMP WITH TIME ZONE) are read in UTC, whatever the machine's
            # zone (without the ICU extension DuckDB knows no other zone anyway).
            with contextlib.suppress(duckdb.Error):
                self._con.execute("SET TimeZone = 'UTC'")
        else:
            dbapi = _adbc_postgresql()
            self._errors = (dbapi.Error,)
            try:
                self._con = dbapi.connect(url.target)
                if not write:
                    # One snapshot for everything read through this connection: the
                    # chunks of one pass agree with each other while the lender writes.
                    self.execute(
                        "SET SESSION CHARACTERISTICS AS TRANSACTION "
                        "ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    )
            except dbapi.Error as exc:
                raise SourceError(f"Cannot connect to {url.shown!r}: {_reason(exc)}") from exc

    def close(self) -> None:
        try:
            self._con.close()
        except self._errors:  # pragma: no cover - closing a broken connection
            pass

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Driver errors inside the block as a :class:`SourceError` on ``what``."""
        try:
            yield
        except self._errors as exc:
            raise SourceError(f"{what} ({self.url.shown}): {_reason(exc)}") from exc

    def arrow(self, sql: str, params: tuple = ()) -> pa.Table:
        """The result of one query, as Arrow (placeholders ``$1``, ``$2``, ...)."""
        if self.engine == "duckdb":
            return _duckdb_arrow(self._con, sql, params)
        with self._con.cursor() as cur:
            cur.execute(sql, parameters=params or None)
            return cur.fetch_arrow_table()

    def execute(self, sql: str) -> None:
        if self.engine == "duckdb":
            self._con.execute(sql)
            return
        with self._con.cursor() as cur:
            cur.execute(sql)

    def where_in(self, select: str, column: str, values: pa.Array, order: str) -> pa.Table:
        """``select`` restricted to rows whose ``column`` is among ``values``.

        DuckDB semi-joins a registered Arrow table (no copy); PostgreSQL binds
        the values as one array parameter (``= ANY($1)``), which needs no
        temporary table and so works on a read-only replica too.
        """
        if self.engine == "duckdb":
            name = "overdue_risk_chunk_keys"
            self._con.register(name, pa.table({"k": values}))
            try:
                sql = f"{select} WHERE {quote(column)} IN (SELECT k FROM {name}){order}"
                return _duckdb_arrow(self._con, sql)
            finally:
                self._unregister(name)
        param = pa.record_batch(
            [pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)], ["p"]
        )
        with self._con.cursor() as cur:
            cur.execute(f"{select} WHERE {quote(column)} = ANY($1){order}", parameters=param)
            return cur.fetch_arrow_table()

    def relations(self) -> set[tuple[str, str]]:
        """The (schema, name) of every table and view a query may read."""
        sql = (
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog')"
        )
        if self.engine == "duckdb":
            sql += " AND table_catalog = current_database()"
        t = self.arrow(sql)
        return set(zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True))

    def default_schema(self) -> str:
        return str(self.arrow("SELECT current_schema()").column(0)[0].as_py())

    def row_hash(self, relation: str) -> tuple[int, str]:
        """Rows of ``relation`` and an order-free hash of their contents, computed in the database.

        DuckDB sums its own ``hash`` of each row; PostgreSQL sums the first 64 bits
        of the md5 of each row's text. Either is stable for one engine version.
        """
        if self.engine == "duckdb":
            expr = "coalesce(sum(hash(t)), 0)::VARCHAR"
        else:
            expr = (
                "coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric),"
                " 0)::text"
            )
        t = self.arrow(f"SELECT count(*) AS n, {expr} AS h FROM {relation} AS t")
        return int(t.column(0)[0].as_py()), str(t.column(1)[0].as_py())

    # -- writing --------------------------------------------------------------------------

    def begin(self) -> None:
        if self.engine == "duckdb":
            self._con.begin()  # PostgreSQL: ADBC opens a transaction (autocommit is off)

    def commit(self) -> None:
        self._con.commit()

    def rollback(self) -> None:
        try:
            self._con.rollback()
        except self._errors:  # pragma: no cover - the failure already ended the transaction
            pass

    def ingest(self, schema: str | None, name: str, data: pa.Table, *, replace: bool) -> None:
        """Write ``data`` as table ``schema.name``: replaced whole, or appended by column name."""
        if schema is not None:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        if self.engine == "postgresql":
            with self._con.cursor() as cur:
                mode = "replace" if replace else "create_append"
                cur.adbc_ingest(name, data, mode=mode, db_schema_name=schema)
            return
        target = quote(schema, name)
        view = "overdue_risk_published"
        self._con.register(view, data)
        try:
            if replace:
                self._con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {view}")
            else:
                self._con.execute(
                    f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM {view} LIMIT 0"
                )
                self._con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {view}")
        finally:
            self._unregister(view)

    def _unregister(self, name: str) -> None:
        # After a failed statement DuckDB refuses every other until the rollback,
        # which drops the registration anyway: the statement's own error is the one raised.
        with contextlib.suppress(*self._errors):
            self._con.unregister(name)


@contextmanager
def connect(url: DatabaseURL, *, write: bool = False) -> Iterator[Connection]:
    """An open :class:`Connection`, closed when the block ends."""
    con = Connection(url, write=write)
    try:
        yield con
    finally:
        con.close()
