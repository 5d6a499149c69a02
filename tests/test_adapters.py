"""Portfolio sources (folders of files, Parquet datasets, DuckDB) and publication to DuckDB.

The file route (``load_portfolio`` on a folder of CSV files) is the reference:
every other route must give the same tables once validated, and the chunks of
a source must hold, together, the same rows as the whole. PostgreSQL has its
own module (``test_postgres.py``), which starts a server.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _pg import (
    LAYOUT,
    MAPPING_TOML,
    assert_same_portfolio,
    concat,
    database_tables,
    parquet_route,
)
from helpers import HANDMADE, SETTINGS
from overdue_risk import DataValidationError, Portfolio, load_portfolio, validate
from overdue_risk.adapters import (
    FolderSource,
    SourceError,
    SqlSource,
    TableMapping,
    open_source,
    publish,
)
from overdue_risk.simulate import simulate_portfolio
from strategies import shuffled

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

FEW = settings(SETTINGS, max_examples=5)
LAYOUT_DICT = {name: f"{schema}.{table}" for name, (schema, table) in LAYOUT.items()}


# -- data -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> Portfolio:
    return simulate_portfolio(300, "2023-01-01", "2023-09-30", seed=1).portfolio


@pytest.fixture(scope="module")
def csv_folder(simulated, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("csv")
    for name, df in simulated.tables().items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def file_route(csv_folder) -> Portfolio:
    """The reference: the CSV folder as load_portfolio reads it."""
    return load_portfolio(csv_folder)


def write_duckdb(path: Path, tables: dict[str, pa.Table]) -> None:
    """Tables into a DuckDB file where LAYOUT says, with duckdb's own API."""
    con = duckdb.connect(str(path))
    for name, table in tables.items():
        schema, relation = LAYOUT[name]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.register("incoming", table)
        con.execute(f"CREATE TABLE {schema}.{relation} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.close()


@pytest.fixture(scope="module")
def db_file_route(simulated, tmp_path_factory) -> Portfolio:
    """The reference for the databases: their tables as Parquet files, through load_portfolio."""
    return parquet_route(database_tables(simulated), tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="module")
def lender_db(simulated, tmp_path_factory) -> str:
    """The simulated portfolio in a DuckDB file, as LAYOUT says; its URL."""
    path = tmp_path_factory.mktemp("duck") / "lender.db"
    write_duckdb(path, database_tables(simulated))
    return f"duckdb://{path}"


@pytest.fixture(scope="module")
def mapping_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mapping") / "tables.toml"
    path.write_text(MAPPING_TOML)
    return path


def write_datasets(portfolio: Portfolio, folder: Path) -> Path:
    """Each table as a folder of Parquet files: loans hive-partitioned by region,
    collections by action, the others in several files."""
    folder.mkdir(parents=True, exist_ok=True)
    partitions = {"loans": ["region"], "collections": ["action"]}
    for name, df in portfolio.tables().items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        if name in partitions:
            ds.write_dataset(
                table,
                folder / name,
                format="parquet",
                partitioning=partitions[name],
                partitioning_flavor="hive",
            )
        else:
            ds.write_dataset(table, folder / name, format="parquet", max_rows_per_file=400,
                             max_rows_per_group=400)  # fmt: skip
    return folder


def chunk_customers(chunks: list[Portfolio]) -> list[list[str]]:
    """The customers of each chunk: those of its loans and of its customer rows."""
    out = []
    for c in chunks:
        ids = set(c.loans["customer_id"].dropna())
        if c.customers is not None:
            ids |= set(c.customers["customer_id"])
        out.append(sorted(ids))
    return out


# -- folders --------------------------------------------------------------------------------


def test_a_csv_folder_reads_as_load_portfolio_does(csv_folder, file_route):
    source = open_source(csv_folder)
    assert isinstance(source, FolderSource)
    assert source.tables()["loans"] == "loans.csv"
    assert_same_portfolio(validate(source.read()), file_route)


@pytest.mark.parametrize(("k", "n"), [(100, 3), (1000, 1)])  # 230 customers
def test_csv_chunks_hold_the_rows_of_the_whole(csv_folder, file_route, monkeypatch, k, n):
    """Several chunks filter a copy of the text; one chunk scans the files."""
    monkeypatch.setattr("overdue_risk.adapters._tables.CSV_BLOCK", 2500)  # files read in blocks
    chunks = [validate(c) for c in open_source(csv_folder).chunks(k)]
    assert len(chunks) == n
    assert_same_portfolio(concat(chunks), file_route, categories=False)


def test_csv_chunks_keep_awkward_text_as_the_whole_read_does(tmp_path):
    shutil.copytree(HANDMADE, tmp_path / "p")
    loans = pd.read_csv(tmp_path / "p" / "loans.csv", dtype=str, keep_default_na=False)
    notes = ['say "hi", then\nleave', "  padded  ", "NA", "", "00123", "ünïcode, ok"]
    loans["note"] = [notes[i % len(notes)] for i in range(len(loans))]
    loans.to_csv(tmp_path / "p" / "loans.csv", index=False)
    source = open_source(tmp_path / "p")
    whole = source.read().loans
    parts = pd.concat([c.loans for c in source.chunks(4)], ignore_index=True)
    assert parts["note"].isna().sum() == whole["note"].isna().sum() > 0  # "NA" and "" missing
    by_id = parts.set_index("loan_id")["note"]
    expected = whole.set_index("loan_id")["note"]
    assert (
        by_id.loc[expected.index].fillna("<missing>").tolist()
        == expected.fillna("<missing>").tolist()
    )
    assert 'say "hi", then\nleave' in set(by_id)


def test_a_parquet_dataset_reads_as_the_parquet_files(simulated, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    for name, df in simulated.tables().items():
        df.to_parquet(files / f"{name}.parquet", index=False)
    source = open_source(write_datasets(simulated, tmp_path / "datasets"))
    assert source.tables() == {name: f"{name}/" for name in simulated.tables()}
    assert (tmp_path / "datasets" / "loans" / "region=north").is_dir()
    assert_same_portfolio(validate(source.read()), load_portfolio(files), column_order=False)


@FEW
@given(k=st.integers(12, 250), seed=st.integers(0, 2**16))
def test_dataset_chunks_are_whole_sorted_customers_and_hold_every_row(simulated, k, seed):
    """Cut every k customers in sorted order, whatever the rows' order in the files;
    each chunk validates on its own, and together they are the whole."""
    loans, customers = simulated.loans, simulated.customers
    moved = loans.dropna(subset=["restructured_from"])
    owner = loans.set_index("loan_id")["customer_id"]
    # The expectation below holds when no restructuring crosses customers: check it does not.
    assert (owner.loc[moved["restructured_from"]].to_numpy() == moved["customer_id"]).all()
    everyone = sorted(set(loans["customer_id"]) | set(customers["customer_id"]))
    expected = [everyone[i : i + k] for i in range(0, len(everyone), k)]
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(write_datasets(shuffled(simulated, seed), Path(tmp)))
        whole = validate(source.read())
        chunks = [validate(c) for c in source.chunks(k)]
    assert chunk_customers(chunks) == expected
    assert_same_portfolio(concat(chunks), whole, categories=False)


def test_chunks_never_read_a_table_whole(simulated, tmp_path, monkeypatch):
    source = open_source(write_datasets(simulated, tmp_path))

    def whole(self):
        raise AssertionError(f"{self.name} read whole")

    monkeypatch.setattr("overdue_risk.adapters._tables.ArrowTable.read", whole)
    assert sum(len(c.loans) for c in source.chunks(40)) == len(simulated.loans)


def small(tmp_path: Path, loans: dict, **tables: dict) -> Path:
    """A Parquet folder from column dicts (statements of 100 on 2024-02-01 by default)."""
    n = len(loans["loan_id"])
    base = {
        "product_type": ["revolving"] * n,
        "start_date": pd.to_datetime(["2024-01-01"] * n),
        "principal": [1000.0] * n,
    }
    pd.DataFrame({**base, **loans}).to_parquet(tmp_path / "loans.parquet")
    ids = [i for i in loans["loan_id"] if i is not None]
    statements = tables.pop(
        "statements",
        {
            "loan_id": ids,
            "statement_date": pd.to_datetime(["2024-02-01"] * len(ids)),
            "balance": [100.0] * len(ids),
        },
    )
    pd.DataFrame(statements).to_parquet(tmp_path / "statements.parquet")
    for name, columns in tables.items():
        pd.DataFrame(columns).to_parquet(tmp_path / f"{name}.parquet")
    return tmp_path


def test_loans_without_a_customer_are_customers_of_their_own_after_the_others(tmp_path):
    folder = small(
        tmp_path,
        {"loan_id": ["L5", "L1", "L3", "L2"], "customer_id": [None, "C9", None, "C1"]},
        customers={"customer_id": ["C1", "C9", "C4"]},  # C4 has no loan: a chunk of its own
    )
    chunks = list(open_source(folder).chunks(1))
    assert [sorted(c.loans["loan_id"]) for c in chunks] == [["L2"], [], ["L1"], ["L3"], ["L5"]]
    assert [sorted(c.customers["customer_id"]) for c in chunks] == [["C1"], ["C4"], ["C9"], [], []]
    assert [sorted(c.statements["loan_id"]) for c in chunks] == [["L2"], [], ["L1"], ["L3"], ["L5"]]


def test_a_restructuring_across_customers_keeps_both_in_one_chunk(tmp_path):
    folder = small(
        tmp_path,
        {
            "loan_id": ["A1", "B1", "C1", "D1"],
            "customer_id": ["A", "B", "C", "D"],
            "restructured_from": [None, None, None, "B1"],  # D's loan replaces B's
        },
    )
    chunks = list(open_source(folder).chunks(1))
    assert chunk_customers(chunks) == [["A"], ["B", "D"], ["C"]]
    assert [len(validate(c).loans) for c in chunks] == [1, 2, 1]


@pytest.mark.parametrize(
    ("loans", "tables", "table", "rule"),
    [
        ({"loan_id": ["L1", "L1"], "customer_id": ["C1", "C2"]}, {}, "loans", "unique"),
        ({"loan_id": ["L1", None], "customer_id": ["C1", "C2"]}, {}, "loans", "not_null"),
        (
            {"loan_id": ["L1"], "customer_id": ["C1"]},
            {
                "payments": {
                    "loan_id": ["L1", "L7"],
                    "payment_date": ["2024-02-01"] * 2,
                    "amount": [5.0, 5.0],
                }
            },
            "payments",
            "orphan",
        ),
        (
            {"loan_id": ["L1"], "customer_id": ["C1"]},
            {"payments": {"loan_id": [None], "payment_date": ["2024-02-01"], "amount": [5.0]}},
            "payments",
            "not_null",
        ),
        (
            {"loan_id": ["L1"], "customer_id": ["C1"]},
            {"customers": {"customer_id": ["C1", None]}},
            "customers",
            "not_null",
        ),
        (
            {"loan_id": ["1"], "customer_id": ["C1"]},
            {"payments": {"loan_id": [1], "payment_date": ["2024-02-01"], "amount": [5.0]}},
            "payments",
            "id_type_mismatch",
        ),
        (
            {"loan_id": ["L1"], "customer_id": ["C1"]},
            {"collections": {"action": ["sms"]}},
            "collections",
            "missing_column",
        ),
    ],
)
def test_rows_no_chunk_could_hold_are_refused_before_the_first_chunk(
    tmp_path, loans, tables, table, rule
):
    source = open_source(small(tmp_path, loans, **tables))
    with pytest.raises(DataValidationError) as err:
        source.chunks(10)  # raised by the call itself, before any chunk is read
    found = err.value.table()
    assert ((found["table"] == table) & (found["rule"] == rule)).any(), found


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "10"])
def test_customers_per_chunk_is_a_whole_number_of_at_least_one(csv_folder, k):
    with pytest.raises(SourceError, match=r"customers_per_chunk must be an integer >= 1; got"):
        open_source(csv_folder).chunks(k)


def test_folder_problems_are_named(tmp_path):
    with pytest.raises(DataValidationError, match="missing_folder"):
        open_source(tmp_path / "nowhere")
    (tmp_path / "payments.csv").write_text("loan_id\n")
    with pytest.raises(DataValidationError, match=r"loans: missing_table .*loans/"):
        open_source(tmp_path)
    (tmp_path / "loans.csv").write_text("loan_id\n")
    (tmp_path / "loans").mkdir()
    with pytest.raises(DataValidationError, match=r"loans: ambiguous_table.*loans\.csv, loans/"):
        open_source(tmp_path)
    with pytest.raises(SourceError, match="tables maps a database's tables"):
        open_source(HANDMADE, tables={"loans": "x"})
    with pytest.raises(SourceError, match="a folder path, a database URL or a Portfolio; got int"):
        open_source(3)


def test_an_unreadable_dataset_file_is_named(simulated, tmp_path):
    folder = write_datasets(simulated, tmp_path)
    next((folder / "payments").glob("*.parquet")).write_bytes(b"not parquet")
    with pytest.raises(DataValidationError, match=r"payments: unreadable .*payments/"):
        open_source(folder).read()


def test_a_folder_fingerprint_follows_the_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(HANDMADE, a)
    shutil.copytree(HANDMADE, b)
    first = open_source(a).fingerprint()
    assert len(first) == 64 and first == open_source(b).fingerprint()  # not the folder's path
    text = (b / "payments.csv").read_text()
    (b / "payments.csv").write_text(text.replace("100", "101", 1))
    assert open_source(b).fingerprint() != first
    (b / "payments.csv").write_text(text)
    assert open_source(b).fingerprint() == first
    (b / "payments.csv").rename(b / "notes.csv")  # the table is gone
    assert open_source(b).fingerprint() != first
    expected = {
        (p.stem, p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in HANDMADE.glob("*.csv")
    }
    found = {(i["table"], i["path"], i["sha256"]) for i in open_source(a).inputs()}
    assert found == expected


def test_a_dataset_fingerprint_counts_its_data_files_only(simulated, tmp_path):
    folder = write_datasets(simulated, tmp_path)
    first = open_source(folder).fingerprint()
    (folder / "loans" / "_SUCCESS").write_text("")  # as Spark writes: not data
    (folder / "loans" / ".part-0.crc").write_text("x")
    assert open_source(folder).fingerprint() == first
    paths = [i["path"] for i in open_source(folder).inputs() if i["table"] == "loans"]
    assert paths == sorted(paths) and all(p.startswith("loans/region=") for p in paths)
    part = folder / "loans" / "region=east"
    next(part.glob("*.parquet")).rename(part / "zz.parquet")  # renamed: another input
    assert open_source(folder).fingerprint() != first


# -- DuckDB ---------------------------------------------------------------------------------


def test_duckdb_through_the_mapping_file_reads_as_the_file_route(
    lender_db, mapping_file, db_file_route
):
    source = open_source(lender_db, tables=mapping_file)
    assert isinstance(source, SqlSource) and source.kind == "duckdb"
    assert source.tables()["loans"] == "core.loan_accounts"
    assert source.tables()["payments"] == "ops.payments"
    assert_same_portfolio(validate(source.read()), db_file_route)


@settings(SETTINGS, max_examples=4)
@given(k=st.integers(15, 250))
def test_duckdb_chunks_hold_the_rows_of_the_whole(lender_db, mapping_file, db_file_route, k):
    chunks = [validate(c) for c in open_source(lender_db, tables=mapping_file).chunks(k)]
    assert len(chunks) == -(-230 // k)
    assert_same_portfolio(concat(chunks), db_file_route, categories=False)


def test_without_a_mapping_the_contract_names_are_read(simulated, tmp_path):
    path = tmp_path / "plain.db"
    con = duckdb.connect(str(path))
    for name in ("loans", "statements"):
        con.register("incoming", database_tables(simulated)[name])
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.execute("CREATE TABLE notes AS SELECT 1 AS x")
    con.close()
    source = open_source(f"duckdb://{path}")
    assert source.tables() == {"loans": "main.loans", "statements": "main.statements"}
    assert list(source.read().tables()) == ["loans", "statements"]


def integer_ids(loans: int = 12) -> dict[str, pa.Table]:
    """Loans 1..n of customers 1..n (integers), one statement each; customer 11 has no loan."""
    ids = pa.array(range(1, loans + 1), pa.int64())
    return {
        "loans": pa.table(
            {
                "loan_id": ids,
                "customer_id": ids,
                "product_type": ["revolving"] * loans,
                "start_date": pa.array([19723] * loans, pa.date32()),
                "principal": [1000.0] * loans,
            }
        ),
        "statements": pa.table(
            {
                "loan_id": ids,
                "statement_date": pa.array([19754] * loans, pa.date32()),
                "balance": [float(i) for i in range(loans)],
            }
        ),
        "customers": pa.table({"customer_id": pa.array([*range(1, loans + 1), 99], pa.int64())}),
    }


def test_integer_ids_sort_as_numbers_in_duckdb(tmp_path):
    con = duckdb.connect(str(tmp_path / "ints.db"))
    for name, table in integer_ids().items():
        con.register("incoming", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.close()
    chunks = list(open_source(f"duckdb://{tmp_path}/ints.db").chunks(5))
    # 13 customers, 1..12 and 99 (without a loan), in numeric order: as text, 10 would follow 1.
    assert [c.loans["loan_id"].tolist() for c in chunks] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
        [11, 12],
    ]
    assert chunks[2].customers["customer_id"].tolist() == [11, 12, 99]
    assert [c.statements["balance"].sum() for c in chunks] == [10.0, 35.0, 21.0]


def test_a_duckdb_fingerprint_is_stable_order_free_and_follows_the_content(simulated, tmp_path):
    tables = database_tables(simulated)
    reordered = {n: t.take(pa.array(np.arange(len(t))[::-1])) for n, t in tables.items()}
    write_duckdb(tmp_path / "a.db", tables)
    write_duckdb(tmp_path / "b.db", reordered)
    a = open_source(f"duckdb://{tmp_path}/a.db", tables=LAYOUT_DICT)
    first = a.fingerprint()
    assert first == a.fingerprint()
    assert first == open_source(f"duckdb://{tmp_path}/b.db", tables=LAYOUT_DICT).fingerprint()
    con = duckdb.connect(str(tmp_path / "a.db"))
    con.execute("UPDATE ops.payments SET amount = amount + 0.01 WHERE loan_id = 'L0000001'")
    con.close()
    assert a.fingerprint() != first


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"loan": "core.loan_accounts"},
            r"tables\.loan: 'loan' is not one of the contract "
            r"tables; did you mean loans\?",
        ),
        ({"payments": "ops.payments"}, r"tables\.loans is missing"),
        ({"loans": "core.loan accounts"}, r"tables\.loans must be an SQL identifier"),
        ({"loans": 'core."loans"; drop table x'}, r"tables\.loans must be an SQL identifier"),
        ({"loans": "a.b.c"}, r"tables\.loans must be a table name .* which has 3 parts"),
        ({"loans": 7}, r"tables\.loans must be a table name"),
        (
            {"loans": "core.loan_acounts"},
            r"tables\.loans is core\.loan_acounts, which is not in "
            r"the database .*did you mean loan_accounts\?",
        ),
        ({"loans": "loan_accounts"}, r"main\.loan_accounts, which is not in the database"),
        (
            {"tables": {"loans": "x"}, "shema": "core"},
            r"unknown key 'shema'; did you mean schema\?",
        ),
        ({"schema": "core"}, r"has no table loans in schema 'core'"),
        ({"tables": {"loans": "loan_accounts"}, "schema": "core-x"}, r"schema must be an SQL"),
    ],
)
def test_a_bad_mapping_is_refused_with_its_key_and_rule(lender_db, mapping, message):
    with pytest.raises(SourceError, match=message):
        open_source(lender_db, tables=mapping)


def test_a_mapping_file_names_itself_in_its_errors(lender_db, tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[tables]\nloans = "core.loan_accounts"\nrepayments = "ops.payments"\n')
    with pytest.raises(SourceError, match=r"mapping file '.*m\.toml': tables\.repayments"):
        open_source(lender_db, tables=path)
    path.write_text("[tables\nloans = 1\n")
    with pytest.raises(SourceError, match=r"Mapping file '.*m\.toml' is not valid TOML"):
        open_source(lender_db, tables=path)
    with pytest.raises(SourceError, match="Cannot read mapping file"):
        open_source(lender_db, tables=tmp_path / "absent.toml")


def test_a_bad_mapping_is_refused_before_the_database_is_reached():
    with pytest.raises(SourceError, match=r"tables\.loan: 'loan' is not one of the contract"):
        open_source("duckdb:///no/such/lender.db", tables={"loan": "loans"})


def test_a_mapping_as_an_object_and_from_a_dict_agree():
    a = TableMapping.from_dict({"schema": "core", "tables": {"loans": "loan_accounts"}})
    assert a == TableMapping({"loans": "loan_accounts"}, schema="core")
    assert a.where("loans") == ("core", "loan_accounts")
    assert a.relation("loans") == '"core"."loan_accounts"'


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("duckdb:///no/such/folder/lender.db", r"'/no/such/folder/lender\.db' does not exist"),
        ("duckdb://", r"names no DuckDB file"),
        ("mysql://db/lender", r"names engine 'mysql'; the engines read and written are duckdb"),
        ("sqlite:///x.db", r"names engine 'sqlite'"),
    ],
)
def test_a_url_that_leads_nowhere_is_refused(url, message):
    with pytest.raises(SourceError, match=message):
        open_source(url)


def test_a_file_that_is_not_a_duckdb_database_is_refused(tmp_path):
    (tmp_path / "x.db").write_text("hello")
    with pytest.raises(SourceError, match=r"Cannot open 'duckdb://.*x\.db'"):
        open_source(f"duckdb://{tmp_path}/x.db")


def test_an_unreachable_postgresql_server_is_refused_without_its_password():
    pytest.importorskip("adbc_driver_postgresql", reason="the sql extra is not installed")
    with pytest.raises(SourceError, match=r"Cannot connect to 'postgresql://odr:\*\*\*@127") as err:
        open_source("postgresql://odr:hunter2@127.0.0.1:1/lender?connect_timeout=2")
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("modules", "url"),
    [
        (["duckdb"], "duckdb:///tmp/x.db"),
        (["adbc_driver_postgresql", "adbc_driver_postgresql.dbapi"], "postgresql://h/db"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(monkeypatch, modules, url):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import fails, as when not installed
    with pytest.raises(SourceError, match=r"pip install overdue-risk\[sql\]"):
        open_source(url)
    with pytest.raises(SourceError, match=r"pip install overdue-risk\[sql\]"):
        publish(url, {"scores": pd.DataFrame({"x": [1]})})


DRIVERS = ("duckdb", "adbc_driver_postgresql", "adbc_driver_manager")


def test_no_module_imports_a_driver_when_it_is_imported():
    """Drivers are imported inside the functions that use them, never at a module's top."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "overdue_risk"
    for path in root.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] in DRIVERS], path


def test_the_adapters_import_without_a_driver(monkeypatch):
    import importlib

    import overdue_risk

    for name in [*DRIVERS, "adbc_driver_postgresql.dbapi"]:
        monkeypatch.setitem(sys.modules, name, None)  # as when not installed
    for name in [m for m in sys.modules if m.startswith("overdue_risk.adapters")]:
        monkeypatch.delitem(sys.modules, name)  # put back after the test
    monkeypatch.setattr(overdue_risk, "adapters", overdue_risk.adapters)
    fresh = importlib.import_module("overdue_risk.adapters")
    assert fresh.SourceError is not SourceError  # imported anew, without the drivers
    with pytest.raises(fresh.SourceError, match=r"pip install overdue-risk\[sql\]"):
        fresh.open_source("duckdb:///tmp/lender.db")


# -- publication ----------------------------------------------------------------------------


def read_back(path: Path, relation: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {relation}").df()
    finally:
        con.close()


@pytest.fixture
def outputs() -> dict[str, pd.DataFrame]:
    scores = pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3"],
            "score": [0.1, 0.25, 0.9],
            "band": pd.Categorical(["low", "low", "high"]),
            "as_of": pd.to_datetime(["2024-03-31"] * 3),
        }
    )
    worklist = pd.DataFrame(
        {"loan_id": ["L3"], "action": ["call"], "rank": pd.array([1], dtype="Int64")}
    ).set_index("loan_id")
    return {"scores": scores, "worklist": worklist}


def test_publish_writes_every_table_where_the_mapping_says(tmp_path, outputs):
    path = tmp_path / "out.db"
    written = publish(
        f"duckdb://{path}",
        outputs,
        mapping={"schema": "risk", "tables": {"worklist": "collections.worklist"}},
    )
    assert written == {"scores": "risk.scores", "worklist": "collections.worklist"}
    scores = read_back(path, "risk.scores")
    assert scores["loan_id"].tolist() == ["L1", "L2", "L3"]
    assert scores["score"].tolist() == [0.1, 0.25, 0.9]
    assert scores["band"].tolist() == ["low", "low", "high"]  # categories as their text
    assert (scores["as_of"] == pd.Timestamp("2024-03-31")).all()
    worklist = read_back(path, "collections.worklist")
    assert list(worklist.columns) == ["loan_id", "action", "rank"]  # the named index kept
    assert worklist["rank"].tolist() == [1]


def test_publish_replaces_or_appends(tmp_path, outputs):
    url = f"duckdb://{tmp_path}/out.db"
    publish(url, {"scores": outputs["scores"]})
    publish(url, {"scores": outputs["scores"].iloc[:1]})
    assert read_back(tmp_path / "out.db", "scores")["loan_id"].tolist() == ["L1"]
    publish(url, {"scores": outputs["scores"].iloc[1:, ::-1]}, replace=False)  # by column name
    assert read_back(tmp_path / "out.db", "scores")["loan_id"].tolist() == ["L1", "L2", "L3"]


@pytest.mark.parametrize("replace", [True, False])
def test_a_publication_that_fails_midway_leaves_every_table_as_it_was(tmp_path, outputs, replace):
    path = tmp_path / "out.db"
    old = outputs["scores"].iloc[:1].assign(loan_id="OLD")
    publish(f"duckdb://{path}", {"scores": old})
    con = duckdb.connect(str(path))
    # The second table's name is held by a view: no table can be written there.
    con.execute("CREATE VIEW worklist AS SELECT 1 AS x")
    con.close()
    new = {"scores": outputs["scores"], "fresh": outputs["scores"], "worklist": outputs["worklist"]}
    with pytest.raises(SourceError, match=r"Publishing 'worklist' to \"worklist\" failed; nothing"):
        publish(f"duckdb://{path}", new, replace=replace)
    assert read_back(path, "scores")["loan_id"].tolist() == ["OLD"]
    con = duckdb.connect(str(path), read_only=True)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()
    assert "fresh" not in tables  # created in the transaction, undone with it


@pytest.mark.parametrize(
    ("url", "tables", "kwargs", "message"),
    [
        ("out.db", {"s": "df"}, {}, r"url must be a database URL"),
        ("duckdb:{db}", {}, {}, r"tables must be a non-empty dict"),
        ("duckdb:{db}", {"my scores": "df"}, {}, r"tables key 'my scores' must be an SQL"),
        (
            "duckdb:{db}",
            {"scores": "df"},
            {"mapping": {"score": "x"}},
            r"tables\.score: 'score' is not one of the tables published; did you mean scores\?",
        ),
        ("duckdb:{db}", {"scores": [1]}, {}, r"tables\['scores'\] must be a pandas DataFrame"),
        (
            "duckdb:{db}",
            {"a": "df", "b": "df"},
            {"mapping": {"b": "a"}},
            r"Tables 'a' and 'b' would both be written to \"a\"",
        ),
        ("duckdb:{db}", {"scores": "df"}, {"replace": "yes"}, r"replace must be true or false"),
    ],
)
def test_publish_refuses_bad_arguments_before_writing(tmp_path, url, tables, kwargs, message):
    db = tmp_path / "out.db"
    frame = pd.DataFrame({"x": [1]})
    tables = {k: frame if v == "df" else v for k, v in tables.items()}
    with pytest.raises(SourceError, match=message):
        publish(url.format(db=db), tables, **kwargs)
    assert not db.exists()


def test_publish_refuses_a_frame_arrow_cannot_hold(tmp_path):
    bad = pd.DataFrame({"x": [1, "a", 2.5]})
    with pytest.raises(SourceError, match=r"Table 'scores' cannot be written"):
        publish(f"duckdb://{tmp_path}/o.db", {"scores": bad})
