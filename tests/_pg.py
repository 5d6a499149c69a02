"""What the database tests share: a throw-away PostgreSQL server, the layout of the
lender's database they read, and the comparison of portfolios.

The server: ``initdb`` into a temporary folder, ``pg_ctl start`` on a Unix socket
in that folder (no TCP port is opened), one database created, ``pg_ctl stop -m
immediate`` at the end. PostgreSQL refuses to run as root: under root the
server's commands run as the ``postgres`` user (or ``nobody``), which then owns
the temporary folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from overdue_risk import Portfolio, load_portfolio

# Where the lender's database keeps each table, and the mapping file that says so.
LAYOUT = {
    "loans": ("core", "loan_accounts"),
    "installments": ("core", "schedule"),
    "payments": ("ops", "payments"),
    "statements": ("core", "statements"),
    "collections": ("core", "collections"),
    "customers": ("core", "customers"),
}
MAPPING_TOML = """\
schema = "core"

[tables]
loans = "loan_accounts"
installments = "core.schedule"
payments = "ops.payments"
statements = "statements"
collections = "collections"
customers = "customers"
"""


def database_tables(portfolio: Portfolio) -> dict[str, pa.Table]:
    """Each table as a lender's database holds it: codes as text, dates as dates."""
    out = {}
    for name, df in portfolio.tables().items():
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        columns = []
        for column in table.columns:
            if pa.types.is_dictionary(column.type):
                column = column.cast(pa.string())
            elif pa.types.is_timestamp(column.type):
                column = column.cast(pa.date32())
            elif pa.types.is_large_string(column.type):
                column = column.cast(pa.string())
            columns.append(column)
        out[name] = pa.table(columns, names=table.column_names)
    return out


def parquet_route(tables: dict[str, pa.Table], folder: Path) -> Portfolio:
    """The file route for the tables a database holds: the same Arrow tables as Parquet
    files, read by ``load_portfolio``. (A CSV folder differs under pandas 2.2: a
    missing id reads as NaN there, as None from Arrow, and validation keeps ids as
    given.)"""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return load_portfolio(folder)


def canonical(df: pd.DataFrame, *, categories: bool = True) -> pd.DataFrame:
    """The rows in one order (sorted by every column), the index dropped; with
    ``categories=False`` category columns become their values (chunks validated
    one by one list only their own values of a free-text category)."""
    if not categories:
        df = df.assign(
            **{
                c: df[c].astype(object).where(df[c].notna(), None)
                for c in df.columns
                if isinstance(df[c].dtype, pd.CategoricalDtype)
            }
        )
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def assert_same_portfolio(
    a: Portfolio, b: Portfolio, *, categories: bool = True, column_order: bool = True
) -> None:
    """The same tables with the same rows (in any order), dtypes included; with
    ``column_order=False`` the same columns in any order (a hive partition's
    column comes last)."""
    assert list(a.tables()) == list(b.tables())
    for name, df in a.tables().items():
        other = b.tables()[name]
        if not column_order:
            assert sorted(df.columns) == sorted(other.columns), name
            other = other[list(df.columns)]
        pd.testing.assert_frame_equal(
            canonical(df, categories=categories),
            canonical(other, categories=categories),
            obj=name,
        )


def concat(chunks: Iterable[Portfolio]) -> Portfolio:
    """The chunks' tables, concatenated (categories as their values)."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for chunk in chunks:
        for name, df in chunk.tables().items():
            parts.setdefault(name, []).append(canonical(df, categories=False))
    # Empty pieces are left out: pandas 2.2 warns when they would decide a dtype.
    return Portfolio(
        **{
            n: pd.concat([d for d in dfs if len(d)] or dfs[:1], ignore_index=True)
            for n, dfs in parts.items()
        }
    )


def server_binaries() -> tuple[str, str] | None:
    """``initdb`` and ``pg_ctl``, from PATH or a Debian-style install; None when absent."""
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(found):
        return found  # type: ignore[return-value]
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        pair = (os.path.join(folder, "initdb"), os.path.join(folder, "pg_ctl"))
        if all(os.access(p, os.X_OK) for p in pair):
            return pair
    return None


def _run_as() -> dict:
    """subprocess arguments that drop root for the server's commands (nothing otherwise)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists")


def _free_port() -> int:
    """A port number for the socket's name (``.s.PGSQL.<port>``); nothing listens on TCP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(database: str = "lender") -> Iterator[str]:
    """Start a server, create ``database``, yield its URL; stop and remove everything after."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("initdb and pg_ctl are not installed")
    initdb, pg_ctl = binaries
    run_as = _run_as()
    # A short path of our own: a Unix socket's path is limited to about 100 bytes, and
    # pytest's temporary folders are private to the user running the tests.
    home = Path(tempfile.mkdtemp(prefix="odr-pg-"))
    if run_as:
        os.chown(home, run_as["user"], run_as["group"])
    data, port = home / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, check=False, **run_as)
        if done.returncode:
            log = home / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}{tail}")

    started = False
    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "odr", "-E", "UTF8", "--locale=C",
            "--no-sync")  # fmt: skip
        options = (
            f"-p {port} -k {home} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=20 "
            "-c shared_buffers=16MB"
        )
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "server.log"), "-w",
            "-t", "60", "start")  # fmt: skip
        started = True
        import adbc_driver_postgresql.dbapi as dbapi

        admin = f"postgresql://odr@/postgres?host={home}&port={port}"
        with dbapi.connect(admin, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{database}"')
        yield f"postgresql://odr@/{database}?host={home}&port={port}"
    finally:
        if started:
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
                **run_as,
            )
        shutil.rmtree(home, ignore_errors=True)
