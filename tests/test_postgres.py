"""PostgreSQL: a portfolio read back, in chunks, fingerprinted, and outputs published in one
transaction, on a server these tests start for themselves (see ``_pg.py``).

Skipped when the server's programs (``initdb``, ``pg_ctl``) or the ADBC driver are
not installed; ``pip install -e .[dev]`` installs the driver.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from _pg import (
    LAYOUT,
    MAPPING_TOML,
    assert_same_portfolio,
    concat,
    database_tables,
    parquet_route,
    postgres_server,
    server_binaries,
)
from overdue_risk import DataValidationError, Portfolio, validate
from overdue_risk.adapters import SourceError, SqlSource, open_source, publish
from overdue_risk.simulate import simulate_portfolio

if server_binaries() is None:
    pytest.skip("PostgreSQL's initdb and pg_ctl are not installed", allow_module_level=True)
dbapi = pytest.importorskip(
    "adbc_driver_postgresql.dbapi", reason="the sql extra (adbc-driver-postgresql) is not installed"
)


@pytest.fixture(scope="session")
def postgres() -> str:
    """The URL of a database on a server of our own, for the whole session."""
    with postgres_server() as url:
        yield url


def sql(url: str, *statements: str) -> list:
    """Run statements in one committed transaction; the rows of the last one."""
    with dbapi.connect(url) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        rows = cur.fetchall() if cur.description else []
        con.commit()
    return rows


@pytest.fixture(scope="module")
def simulated() -> Portfolio:
    return simulate_portfolio(300, "2023-01-01", "2023-09-30", seed=1).portfolio


@pytest.fixture(scope="module")
def file_route(simulated, tmp_path_factory) -> Portfolio:
    """The reference: the tables the database holds, as Parquet files through load_portfolio."""
    return parquet_route(database_tables(simulated), tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="module")
def lender(postgres, simulated, tmp_path_factory) -> tuple[str, str]:
    """The simulated portfolio in PostgreSQL where LAYOUT says (text, date, double,
    bigint and boolean columns, written with ADBC); the URL and the mapping file."""
    with dbapi.connect(postgres) as con, con.cursor() as cur:
        for name, table in database_tables(simulated).items():
            schema, relation = LAYOUT[name]
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            cur.adbc_ingest(relation, table, mode="replace", db_schema_name=schema)
        con.commit()
    mapping = tmp_path_factory.mktemp("pg") / "tables.toml"
    mapping.write_text(MAPPING_TOML)
    return postgres, str(mapping)


def test_postgresql_reads_as_the_file_route(lender, file_route):
    url, mapping = lender
    source = open_source(url, tables=mapping)
    assert isinstance(source, SqlSource) and source.kind == "postgresql"
    assert source.tables()["installments"] == "core.schedule"
    raw = source.read()
    assert str(raw.loans["start_date"].dtype) == "object"  # dates arrive as dates
    assert_same_portfolio(validate(raw), file_route)


@pytest.mark.parametrize("k", [40, 230])
def test_postgresql_chunks_hold_the_rows_of_the_whole(lender, file_route, k):
    url, mapping = lender
    chunks = [validate(c) for c in open_source(url, tables=mapping).chunks(k)]
    assert len(chunks) == -(-230 // k)
    firsts = [c.loans["customer_id"].min() for c in chunks]
    assert firsts == sorted(firsts)  # chunks in customer order
    assert_same_portfolio(concat(chunks), file_route, categories=False)


def test_integer_ids_are_bound_as_an_array_and_sort_as_numbers(postgres):
    sql(
        postgres,
        "CREATE SCHEMA ints",
        "CREATE TABLE ints.loans AS SELECT i::int AS loan_id, (13 - i)::bigint AS customer_id, "
        "'revolving' AS product_type, DATE '2024-01-01' AS start_date, 100.0::numeric(12, 2) "
        "AS principal FROM generate_series(1, 12) AS i",
        "CREATE TABLE ints.statements AS SELECT i::bigint AS loan_id, DATE '2024-02-01' AS "
        "statement_date, i::float8 AS balance FROM generate_series(1, 12) AS i",
    )
    source = open_source(postgres, tables={"schema": "ints"})
    chunks = list(source.chunks(5))
    # Customers 1..12 in numeric order: customer c holds loan 13 - c.
    assert [c.loans["loan_id"].tolist() for c in chunks] == [
        [8, 9, 10, 11, 12],
        [3, 4, 5, 6, 7],
        [1, 2],
    ]
    assert [c.statements["balance"].sum() for c in chunks] == [50.0, 25.0, 3.0]
    principal = validate(chunks[0]).loans["principal"]  # numeric arrives as text
    assert principal.dtype == "float64" and (principal == 100.0).all()


def test_an_orphan_row_in_postgresql_is_refused_before_chunking(postgres):
    sql(
        postgres,
        "CREATE SCHEMA orphan",
        "CREATE TABLE orphan.loans AS SELECT 'L1'::text AS loan_id, 'C1'::text AS customer_id",
        "CREATE TABLE orphan.payments AS SELECT x::text AS loan_id FROM (VALUES ('L1'), ('L9'),"
        " ('L9'), (NULL)) AS v(x)",
    )
    tables = {"loans": "loans", "payments": "payments"}
    source = open_source(postgres, tables={"schema": "orphan", "tables": tables})
    with pytest.raises(
        DataValidationError, match=r"payments\.loan_id: orphan \(2\).*loan_id=L9"
    ) as err:
        source.chunks(5)
    assert "payments.loan_id: not_null (1)" in str(err.value)


def test_a_postgresql_fingerprint_is_stable_and_follows_the_content(postgres, simulated):
    sql(postgres, "CREATE SCHEMA fp")
    with dbapi.connect(postgres) as con, con.cursor() as cur:
        tables = database_tables(simulated)
        for name in ("loans", "statements"):
            cur.adbc_ingest(name, tables[name], mode="replace", db_schema_name="fp")
        # The same rows in reverse order, in another table.
        reverse = tables["statements"].take(pa.array(range(len(tables["statements"]))[::-1]))
        cur.adbc_ingest("statements_reversed", reverse, mode="replace", db_schema_name="fp")
        con.commit()
    a = open_source(
        postgres, tables={"schema": "fp", "tables": {"loans": "loans", "statements": "statements"}}
    )
    b = open_source(
        postgres,
        tables={"schema": "fp", "tables": {"loans": "loans", "statements": "statements_reversed"}},
    )
    first = a.fingerprint()
    assert first == a.fingerprint()
    assert [(i["table"], i["relation"], i["rows"]) for i in a.inputs()] == [
        ("loans", "fp.loans", 300),
        ("statements", "fp.statements", len(simulated.statements)),
    ]
    assert first != b.fingerprint()  # the table's name is part of it ...
    sql(
        postgres,
        "ALTER TABLE fp.statements RENAME TO statements_kept",
        "ALTER TABLE fp.statements_reversed RENAME TO statements",
    )
    assert a.fingerprint() == first  # ... its rows' order is not
    sql(postgres, "UPDATE fp.statements SET balance = balance + 1 WHERE dpd > 0")
    assert a.fingerprint() != first


def test_postgresql_mapping_errors_name_the_table(postgres):
    with pytest.raises(SourceError, match=r"tables\.loans is public\.loans, which is not in"):
        open_source(postgres, tables={"loans": "loans"})
    with pytest.raises(SourceError, match=r"has no table loans in schema 'public'"):
        open_source(postgres)


def scores(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": ids,
            "score": [0.5] * len(ids),
            "band": pd.Categorical(["mid"] * len(ids)),
            "as_of": pd.Timestamp("2024-03-31"),
            "rank": pd.array(range(1, len(ids) + 1), dtype="Int64"),
        }
    )


def test_publish_to_postgresql_replaces_and_appends(postgres):
    written = publish(postgres, {"scores": scores(["L1", "L2"])}, mapping={"schema": "risk"})
    assert written == {"scores": "risk.scores"}
    publish(postgres, {"scores": scores(["L3"])}, mapping={"schema": "risk"}, replace=False)
    rows = sql(
        postgres,
        "SELECT loan_id, score, band, as_of::date::text, rank FROM risk.scores ORDER BY loan_id",
    )
    assert rows == [
        ("L1", 0.5, "mid", "2024-03-31", 1),
        ("L2", 0.5, "mid", "2024-03-31", 2),
        ("L3", 0.5, "mid", "2024-03-31", 1),
    ]


@pytest.mark.parametrize("replace", [True, False])
def test_a_postgresql_publication_that_fails_midway_changes_nothing(postgres, replace):
    schema = f"tx_{replace}".lower()
    publish(postgres, {"scores": scores(["OLD"])}, mapping={"schema": schema})
    # The second table's name is held by a view: no table can be written there.
    sql(postgres, f"CREATE VIEW {schema}.worklist AS SELECT 1 AS x")
    outputs = {"scores": scores(["N1", "N2"]), "fresh": scores(["N1"]), "worklist": scores(["N1"])}
    with pytest.raises(SourceError, match=rf"Publishing 'worklist' to \"{schema}\"\.\"worklist\""):
        publish(postgres, outputs, mapping={"schema": schema}, replace=replace)
    assert sql(postgres, f"SELECT loan_id FROM {schema}.scores") == [("OLD",)]
    fresh = sql(
        postgres,
        f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' "
        "AND table_name = 'fresh'",
    )
    assert fresh == [(0,)]  # created in the transaction, undone with it
