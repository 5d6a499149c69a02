"""A source's chunk plan (``Source.plan``), its chunks read one at a time
(``Source.read_chunks``), the lenient plan of a quarantine run (``drop_unplaced``),
and a few loans read by id (``Source.read_loans``), on every kind of source with a
test fixture: a CSV folder, Parquet files, Parquet datasets, DuckDB.

The expectations come from the whole table (``Source.read``) filtered by hand, and
from the rows the tests themselves add to a simulated portfolio.
"""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _pg import LAYOUT, database_tables
from helpers import SETTINGS
from overdue_risk import DataValidationError, Portfolio
from overdue_risk.adapters import ChunkPlan, Source, SourceError, open_source
from overdue_risk.adapters._tables import ArrowTable, CsvTable
from overdue_risk.contract import quarantine
from overdue_risk.simulate import simulate_portfolio

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

KINDS = ("csv", "parquet", "dataset", "duckdb")
# The rows added to the simulated portfolio, none of which a chunk can hold, by table:
# (rule, rows). The repeated loan id is not among them: it is placed once.
ADDED = {
    "loans": {"not_null": 1},
    "payments": {"not_null": 1, "orphan": 2},
    "statements": {"orphan": 1},
    "customers": {"not_null": 1},
}


# -- data -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> Portfolio:
    return simulate_portfolio(60, "2023-01-01", "2023-06-30", seed=3).portfolio


@pytest.fixture(scope="module")
def awkward(simulated) -> tuple[Portfolio, str, str]:
    """The simulated portfolio with rows no chunk can hold (ADDED) and a repeated loan id.

    The repeated id's first row names the last customer (in sorted order), its second
    row (the original) another customer. Returns the portfolio, the id and the customer
    of the first row."""
    loans = simulated.loans
    first = loans.iloc[[0]].assign(customer_id=loans["customer_id"].max())
    blank = loans.iloc[[1]].assign(loan_id=None)
    loans = pd.concat([first, loans, blank], ignore_index=True)
    payments = simulated.payments
    extra = payments.iloc[[0, 0, 0]].assign(loan_id=["ZZ9", None, "ZZ9"])
    statements = simulated.statements
    customers = simulated.customers
    frames = {
        **simulated.tables(),
        "loans": loans,
        "payments": pd.concat([payments, extra], ignore_index=True),
        "statements": pd.concat(
            [statements, statements.iloc[[0]].assign(loan_id="ZZ8")], ignore_index=True
        ),
        "customers": pd.concat(
            [customers, customers.iloc[[0]].assign(customer_id=None)], ignore_index=True
        ),
    }
    return Portfolio(**frames), str(first["loan_id"].iloc[0]), str(first["customer_id"].iloc[0])


def write(portfolio: Portfolio, kind: str, folder: Path) -> Source:
    """The portfolio as a source of ``kind`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = database_tables(portfolio)  # codes as text, dates as dates
    if kind == "csv":
        for name, df in portfolio.tables().items():
            df.to_csv(folder / f"{name}.csv", index=False)
        return open_source(folder)
    if kind == "parquet":
        for name, df in portfolio.tables().items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        return open_source(folder)
    if kind == "dataset":  # loans hive-partitioned by region, the others in several files
        for name, table in tables.items():
            parts = {"partitioning": ["region"], "partitioning_flavor": "hive"}
            ds.write_dataset(
                table,
                folder / name,
                format="parquet",
                max_rows_per_file=50,
                max_rows_per_group=50,
                **(parts if name == "loans" else {}),
            )
        return open_source(folder)
    con = duckdb.connect(str(folder / "lender.db"))
    for name, table in tables.items():
        schema, relation = LAYOUT[name]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.register("incoming", table)
        con.execute(f"CREATE TABLE {schema}.{relation} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.close()
    return open_source(
        f"duckdb://{folder}/lender.db", tables={n: ".".join(LAYOUT[n]) for n in tables}
    )


@pytest.fixture(scope="module", params=KINDS)
def awkward_source(request, awkward, tmp_path_factory) -> tuple[Source, str, str]:
    portfolio, repeated, customer = awkward
    source = write(portfolio, request.param, tmp_path_factory.mktemp(request.param))
    return source, repeated, customer


def rows(df: pd.DataFrame) -> list[tuple]:
    """The rows as tuples of plain values, a missing value as None: rows compare equal
    whatever dtype each read gave a column (a CSV chunk is parsed on its own)."""
    values = df.astype(object).where(df.notna(), None)
    return [tuple(r) for r in values.itertuples(index=False, name=None)]


def together(chunks: list[Portfolio], name: str) -> Counter:
    return Counter(r for c in chunks for r in rows(c.tables()[name]))


# -- plan and read_chunks -------------------------------------------------------------------


def test_a_plan_pickles_and_reads_as_the_chunks_do(simulated, tmp_path):
    source = write(simulated, "parquet", tmp_path)
    plan = source.plan(12)
    assert isinstance(plan, ChunkPlan)
    assert (len(plan), plan.n_loans, plan.n_customers, plan.dropped) == (5, 60, 49, ())
    assert repr(plan) == "ChunkPlan(5 chunks, 60 loans, 49 customers, 0 rows dropped)"
    again = pickle.loads(pickle.dumps(plan))
    assert again.loan_ids.equals(plan.loan_ids) and again.customer_ids.equals(plan.customer_ids)
    # the plan's loans are every loan once, cut where the customers are cut
    assert sorted(plan.loan_ids.to_pylist()) == sorted(simulated.loans["loan_id"])
    direct = list(source.chunks(12))
    for a, b in zip(direct, source.read_chunks(again), strict=True):
        for name, df in a.tables().items():
            pd.testing.assert_frame_equal(df, b.tables()[name])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_read_chunks_reads_a_chunk_only_when_it_is_asked_for(
    simulated, tmp_path, monkeypatch, kind
):
    source = write(simulated, kind, tmp_path)
    plan = source.plan(20)  # 3 chunks
    calls: list[tuple[str, int]] = []  # (table, ids asked for), or (table, -1) for a copy
    reader = CsvTable if kind == "csv" else ArrowTable
    read_where, prepare = reader.read_where, reader.prepare

    def counted(self, column, values):
        calls.append((self.name, len(values)))
        return read_where(self, column, values)

    def copied(self, folder):
        calls.append((self.name, -1))
        return prepare(self, folder)

    monkeypatch.setattr(reader, "read_where", counted)
    monkeypatch.setattr(reader, "prepare", copied)
    chunks = source.read_chunks(plan)
    assert calls == []  # nothing read, nothing copied, before the first chunk
    first = next(chunks)
    n_tables = len(simulated.tables())
    reads = [c for c in calls if c[1] >= 0]
    assert len(reads) == n_tables  # one chunk's rows, table by table
    assert len(calls) - len(reads) == n_tables  # each table prepared once (a CSV file copied)
    assert dict(reads)["loans"] == len(plan.chunk(0)[0]) == len(first.loans)
    next(chunks)
    assert len([c for c in calls if c[1] >= 0]) == 2 * n_tables
    chunks.close()


def test_read_chunks_takes_a_plan(simulated, tmp_path):
    source = write(simulated, "parquet", tmp_path)
    with pytest.raises(SourceError, match=r"plan must be a ChunkPlan \(from Source.plan\); got"):
        source.read_chunks([["L1"]])
    with pytest.raises(SourceError, match=r"drop_unplaced must be true or false; got 'yes'"):
        source.plan(5, drop_unplaced="yes")
    with pytest.raises(SourceError, match=r"customers_per_chunk must be an integer >= 1; got 0"):
        source.plan(0)


# -- drop_unplaced --------------------------------------------------------------------------


def test_the_strict_plan_refuses_what_the_lenient_plan_drops(awkward_source):
    source, repeated, _ = awkward_source
    with pytest.raises(DataValidationError) as err:
        source.plan(10)
    strict = err.value.problems
    assert [(p.table, p.rule) for p in strict if p.rule == "unique"] == [("loans", "unique")]
    assert f"loan_id={repeated}" in next(p for p in strict if p.rule == "unique").examples
    plan = source.plan(10, drop_unplaced=True)
    assert plan.dropped == tuple(p for p in strict if p.rule != "unique")  # as strict has them
    found = {(p.table, p.rule): p.count for p in plan.dropped}
    assert found == {(t, r): n for t, rules in ADDED.items() for r, n in rules.items()}
    assert next(p for p in plan.dropped if p.rule == "orphan").examples == ("loan_id=ZZ9",)
    columns = {p.table: p.column for p in plan.dropped}
    assert columns == {
        "loans": "loan_id",
        "payments": "loan_id",
        "statements": "loan_id",
        "customers": "customer_id",
    }
    assert sorted(plan.loan_ids.to_pylist()) == sorted(set(source.read().loans["loan_id"].dropna()))


def test_the_lenient_chunks_hold_every_row_but_the_dropped(awkward_source):
    source, repeated, customer = awkward_source
    whole = source.read()
    plan = source.plan(10, drop_unplaced=True)
    chunks = list(source.read_chunks(plan))
    assert len(chunks) == 5  # 49 customers, cut every 10
    loans = whole.loans["loan_id"].dropna()
    for name, df in whole.tables().items():
        key = "customer_id" if name == "customers" else "loan_id"
        kept = df[df[key].notna()] if name in ("loans", "customers") else df[df[key].isin(loans)]
        assert together(chunks, name) == Counter(rows(kept)), name  # no row twice, none lost
        dropped = sum(p.count for p in plan.dropped if p.table == name)
        assert len(df) - len(kept) == dropped == sum(ADDED.get(name, {}).values()), name
    # The repeated id: in one chunk, that of its first row's customer, with all its rows.
    holding = [i for i, c in enumerate(chunks) if (c.loans["loan_id"] == repeated).any()]
    assert len(holding) == 1
    chunk = chunks[holding[0]]
    assert customer in set(chunk.loans["customer_id"]) and holding == [4]  # the last customer
    other = set(whole.loans.loc[whole.loans["loan_id"] == repeated, "customer_id"]) - {customer}
    assert other and not other & set(chunk.customers["customer_id"])  # in another chunk
    for name, df in chunk.tables().items():
        if name != "customers":
            everywhere = int((whole.tables()[name]["loan_id"] == repeated).sum())
            assert int((df["loan_id"] == repeated).sum()) == everywhere, name
    assert (chunk.loans["loan_id"] == repeated).sum() == 2
    assert (chunk.installments["loan_id"] == repeated).sum() > 0
    _, rejected = quarantine(chunk)
    assert ((rejected["loan_id"] == repeated) & (rejected["rule"] == "unique")).any()


@pytest.fixture(scope="module")
def awkward_parquet(awkward, tmp_path_factory) -> Source:
    return write(awkward[0], "parquet", tmp_path_factory.mktemp("any-k"))


@settings(SETTINGS, max_examples=6)
@given(k=st.integers(1, 60))
def test_lenient_chunks_of_any_size_place_each_kept_row_once(awkward, awkward_parquet, k):
    source, repeated = awkward_parquet, awkward[1]
    whole = source.read()
    chunks = list(source.read_chunks(source.plan(k, drop_unplaced=True)))
    assert len(chunks) == -(-49 // k)
    for name in ("loans", "payments", "installments"):
        df = whole.tables()[name]
        kept = df[df["loan_id"].isin(whole.loans["loan_id"].dropna())]
        assert together(chunks, name) == Counter(rows(kept)), name
    assert sum((c.loans["loan_id"] == repeated).any() for c in chunks) == 1


@pytest.mark.parametrize(
    ("tables", "table", "rule"),
    [
        (
            {"payments": {"loan_id": [1], "payment_date": ["2024-02-01"], "amount": [5.0]}},
            "payments",
            "id_type_mismatch",
        ),
        (
            {"customers": {"customer_id": pd.array([1, None], dtype="Int64")}},
            "customers",
            "id_type_mismatch",
        ),
        ({"collections": {"action": ["sms"]}}, "collections", "missing_column"),
    ],
)
def test_whole_table_problems_are_refused_by_the_lenient_plan_too(tmp_path, tables, table, rule):
    loans = {
        "loan_id": ["L1", None, "L1"],
        "customer_id": ["C1", "C1", "C2"],
        "product_type": "revolving",
        "start_date": "2024-01-01",
        "principal": 100.0,
    }
    pd.DataFrame(loans).to_parquet(tmp_path / "loans.parquet")
    for name, columns in tables.items():
        pd.DataFrame(columns).to_parquet(tmp_path / f"{name}.parquet")
    with pytest.raises(DataValidationError) as err:
        open_source(tmp_path).plan(5, drop_unplaced=True)
    assert [(p.table, p.rule) for p in err.value.problems] == [(table, rule)]


def test_a_plan_of_loans_whose_ids_are_all_blank_holds_the_customers_alone(tmp_path):
    pd.DataFrame({"loan_id": [None, None], "customer_id": ["C2", "C1"]}).to_parquet(
        tmp_path / "loans.parquet"
    )
    pd.DataFrame({"customer_id": ["C3"]}).to_parquet(tmp_path / "customers.parquet")
    source = open_source(tmp_path)
    plan = source.plan(1, drop_unplaced=True)
    assert [(p.table, p.rule, p.count) for p in plan.dropped] == [("loans", "not_null", 2)]
    assert plan.n_loans == 0 and plan.customer_ids.to_pylist() == ["C3"]
    assert [c.customers["customer_id"].tolist() for c in source.read_chunks(plan)] == [["C3"]]


# -- read_loans -----------------------------------------------------------------------------


def test_read_loans_reads_the_rows_of_the_loans_named(awkward_source):
    source, repeated, _ = awkward_source
    whole = source.read()
    ids = sorted(set(whole.loans["loan_id"].dropna()))
    wanted = [ids[7], repeated, "absent", ids[-1], ids[7]]
    got = source.read_loans(wanted)
    assert got.customers is None  # the loans' histories only
    assert list(got.tables()) == [n for n in whole.tables() if n != "customers"]
    for name, df in got.tables().items():
        expected = whole.tables()[name]
        expected = expected[expected["loan_id"].isin(wanted)]
        if source.kind == "duckdb":  # rows in key order; ties in the database's order
            assert Counter(rows(df)) == Counter(rows(expected)), name
            assert df["loan_id"].is_monotonic_increasing, name
        else:  # rows in the files' order
            assert rows(df) == rows(expected), name
    assert (got.loans["loan_id"] == repeated).sum() == 2  # every row of a repeated id


@pytest.mark.parametrize(
    "make",
    [list, tuple, np.array, pa.array, pd.Series, lambda x: pa.chunked_array([x], pa.string())],
)
def test_read_loans_takes_ids_as_a_sequence_or_an_array(simulated, tmp_path, make):
    source = write(simulated, "parquet", tmp_path)
    ids = list(simulated.loans["loan_id"].iloc[[5, 2]])
    got = source.read_loans(make(ids))
    assert got.loans["loan_id"].tolist() == sorted(ids)  # the files' order, not the ids'
    assert len(got.payments) == int(simulated.payments["loan_id"].isin(ids).sum())
    assert len(source.read_loans(make([])).loans) == 0


def test_read_loans_never_reads_a_table_whole(simulated, tmp_path, monkeypatch):
    source = write(simulated, "dataset", tmp_path)

    def whole(self):
        raise AssertionError(f"{self.name} read whole")

    monkeypatch.setattr("overdue_risk.adapters._tables.ArrowTable.read", whole)
    ids = list(simulated.loans["loan_id"].iloc[:3])
    assert sorted(source.read_loans(ids).loans["loan_id"]) == sorted(ids)


def test_read_loans_of_integer_ids_in_duckdb(tmp_path):
    con = duckdb.connect(str(tmp_path / "ints.db"))
    con.execute("CREATE TABLE loans AS SELECT i::INTEGER AS loan_id FROM range(1, 13) t(i)")
    con.execute(
        "CREATE TABLE payments AS SELECT (i % 12 + 1)::BIGINT AS loan_id, i::DOUBLE AS amount "
        "FROM range(0, 36) t(i)"
    )
    con.close()
    source = open_source(f"duckdb://{tmp_path}/ints.db")
    # 12 is a loan; 3_000_000_000 is beyond the loans' 32-bit ids: it names no loan
    got = source.read_loans(np.array([12, 3, 3_000_000_000]))
    assert got.loans["loan_id"].tolist() == [3, 12]
    # payment i is loan i % 12 + 1: loan 3 has payments 2, 14, 26; loan 12 has 11, 23, 35
    assert sorted(got.payments["amount"]) == [2.0, 11.0, 14.0, 23.0, 26.0, 35.0]
    with pytest.raises(SourceError, match=r"loan_ids must be ids of the loans' type \(integer\)"):
        source.read_loans(["3"])


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("L0000001", r"loan_ids must be a pyarrow array, a list or a numpy array .*; got str"),
        (7, r"loan_ids must be a pyarrow array, .*; got int"),
        ([1, 2], r"loan_ids must be ids of the loans' type \(text\); got integer ids"),
        ([1.5], r"loan_ids must be ids of the loans' type \(text\); got double ids"),
        (["L1", 2], r"loan_ids must be ids of one type"),
    ],
)
def test_read_loans_refuses_ids_that_are_not_ids_of_the_loans(ids, message):
    with pytest.raises(SourceError, match=message):
        open_source("data/sample").read_loans(ids)


def test_read_loans_names_a_table_it_cannot_read_by_loan_id(tmp_path):
    pd.DataFrame({"loan_id": ["L1"], "customer_id": ["C1"]}).to_parquet(tmp_path / "loans.parquet")
    pd.DataFrame({"action": ["sms"]}).to_parquet(tmp_path / "collections.parquet")
    pd.DataFrame({"loan_id": [1], "amount": [5.0]}).to_parquet(tmp_path / "payments.parquet")
    pd.DataFrame({"name": ["x"]}).to_parquet(tmp_path / "customers.parquet")  # not read
    with pytest.raises(DataValidationError) as err:
        open_source(tmp_path).read_loans(["L1"])
    assert [(p.table, p.column, p.rule) for p in err.value.problems] == [
        ("collections", "loan_id", "missing_column")
    ]
    (tmp_path / "collections.parquet").unlink()
    with pytest.raises(DataValidationError) as err:
        open_source(tmp_path).read_loans(["L1"])
    assert [(p.table, p.rule) for p in err.value.problems] == [("payments", "id_type_mismatch")]


# -- a portfolio in memory -----------------------------------------------------------------


def test_a_portfolio_in_memory_is_planned_and_read_as_its_files_are():
    from helpers import SAMPLE
    from overdue_risk import load_portfolio
    from overdue_risk.adapters import MemorySource

    files = open_source(SAMPLE)
    memory = open_source(load_portfolio(SAMPLE, validate=False))
    assert isinstance(memory, MemorySource) and memory.kind == "memory"
    a, b = files.plan(700), memory.plan(700)
    assert len(a) == len(b) > 1
    for i in range(len(a)):
        assert a.chunk(i)[0].to_pylist() == b.chunk(i)[0].to_pylist()
        assert a.chunk(i)[1].to_pylist() == b.chunk(i)[1].to_pylist()
    whole = memory.read()
    for chunk, direct in zip(memory.read_chunks(b), files.read_chunks(a), strict=True):
        for name, df in chunk.tables().items():
            pd.testing.assert_frame_equal(df, getattr(direct, name), check_dtype=False)
    picked = memory.read_loans(["L0000002", "L0000001", "nobody"])
    for name, df in picked.tables().items():
        expected = whole.tables()[name]
        expected = expected[expected["loan_id"].isin(["L0000001", "L0000002"])]
        pd.testing.assert_frame_equal(df, expected.reset_index(drop=True))
    assert picked.customers is None


def test_a_portfolio_in_memory_is_fingerprinted_by_its_content():
    from helpers import SAMPLE
    from overdue_risk import load_portfolio
    from overdue_risk.adapters import MemorySource

    p = load_portfolio(SAMPLE, validate=False)
    first = MemorySource(p).fingerprint()
    assert MemorySource(load_portfolio(SAMPLE, validate=False)).fingerprint() == first
    loans = p.loans.copy()
    loans.loc[3, "principal"] = loans.loc[3, "principal"] + 0.01
    changed = Portfolio(**{**p.tables(), "loans": loans})
    assert MemorySource(changed).fingerprint() != first
    rows = {i["table"]: i["rows"] for i in MemorySource(p).inputs()}
    assert rows["loans"] == len(p.loans) and rows["payments"] == len(p.payments)
    with pytest.raises(SourceError, match="MemorySource takes a Portfolio; got dict"):
        MemorySource({})
    with pytest.raises(SourceError, match="the portfolio is in memory"):
        open_source(p, tables={"loans": "x"})
