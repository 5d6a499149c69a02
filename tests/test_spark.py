"""The Spark engine: the nightly run on Spark gives the pandas engine's scores and worklist.

The runs need pyspark (the ``spark`` extra) and Java; without either they are
skipped, with the reason. The checks that refuse an input before Spark starts
run everywhere.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import SAMPLE, flags_table
from overdue_risk import DataQualityWarning, RiskModel, load_portfolio
from overdue_risk.cli import main
from overdue_risk.engines.spark import (
    INSTALL_HINT,
    SparkEngineError,
    java_missing,
    run_nightly,
    spark_session,
)
from overdue_risk.engines.spark._compat import PANDAS_WARNING
from overdue_risk.simulate import simulate_portfolio
from overdue_risk.workflows import run_nightly as run_nightly_pandas
from overdue_risk.workflows import train_risk_model

AS_OF = "2024-12-31"
MONTHS = pd.date_range("2023-06-30", "2024-09-30", freq="ME")
SIM_AS_OF = "2024-06-30"
SEED = 8117  # the simulated book's: no other test simulates with it


def _why_not() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"pyspark is not installed ({INSTALL_HINT})"
    return java_missing()


WHY_NOT = _why_not()
needs_spark = pytest.mark.skipif(WHY_NOT is not None, reason=f"Spark cannot run: {WHY_NOT}")
# pyspark warns that it is not yet tested with pandas 3 (docs/spark.md lists the pairs
# tested together here), pyspark 3.5 compares versions with distutils (the session's own
# start and stop say so, outside the engine's runs), and pyspark 3.5.0 leaves the local
# socket a collect reads from to the garbage collector.
pytestmark = [
    pytest.mark.filterwarnings(f"ignore:{PANDAS_WARNING}:FutureWarning"),
    pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture(scope="module")
def spark():
    """One local Spark session, two cores, for the whole module."""
    session = spark_session(
        "local[2]",
        **{
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.driver.memory": "1g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[Path]:
    """An early-warning model and a collection model, small, trained on the sample."""
    root = tmp_path_factory.mktemp("spark_models")
    small = RiskModel(n_estimators=20, random_state=0, n_jobs=1)
    kw = {"model": small, "families": ["ledger", "recency", "static"]}
    train_risk_model(SAMPLE, MONTHS, "dpd30_90d", out=root / "ew", **kw)
    train_risk_model(SAMPLE, MONTHS, "cure_30d", out=root / "cure", **kw)
    return [root / "ew", root / "cure"]


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory) -> Path:
    """The sample, as the Parquet folder the Spark engine reads (each table a file)."""
    folder = tmp_path_factory.mktemp("sample_parquet")
    for name, df in load_portfolio(SAMPLE, validate=False).tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A simulated book as pandas writes it (nanosecond dates, categories), payments as a
    dataset folder of two files, and one payment naming no loan (set aside by quarantine)."""
    folder = tmp_path_factory.mktemp("simulated")
    book, _ = simulate_portfolio(400, "2023-01-01", SIM_AS_OF, seed=SEED)
    for name, df in book.tables().items():
        if name == "payments":
            orphan = df.iloc[[0]].assign(loan_id="NO-SUCH-LOAN")
            df = pd.concat([df, orphan], ignore_index=True)
            (folder / "payments").mkdir()
            half = len(df) // 2
            df.iloc[:half].to_parquet(folder / "payments" / "part-0.parquet", index=False)
            df.iloc[half:].to_parquet(folder / "payments" / "part-1.parquet", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _same_runs(spark_out: Path, pandas_out: Path) -> pd.DataFrame:
    """Both run folders hold the same results; the Spark run's scores, by loan."""
    mine = pd.read_parquet(spark_out / "scores.parquet").set_index("loan_id")
    theirs = pd.read_parquet(pandas_out / "scores.parquet").set_index("loan_id")
    assert mine.index.is_unique and set(mine.index) == set(theirs.index)
    mine = mine.loc[theirs.index]
    assert list(mine.columns) == list(theirs.columns)
    np.testing.assert_allclose(mine["score"], theirs["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mine["points"], theirs["points"], rtol=0, atol=1e-6)
    numbers = [c for c in theirs.columns if c.endswith(("_logodds", "_points"))]
    for c in numbers:
        np.testing.assert_allclose(mine[c], theirs[c], rtol=0, atol=1e-9, equal_nan=True)
    for c in ["population", "model", "dpd"] + [
        c for c in theirs.columns if c.startswith("reason_") and c not in numbers
    ]:
        assert mine[c].astype(object).where(mine[c].notna(), None).tolist() == (
            theirs[c].astype(object).where(theirs[c].notna(), None).tolist()
        ), c
    assert (mine["as_of"] == theirs["as_of"]).all()
    # The worklist, every column; its CSV byte for byte; the summary and the row counts.
    pd.testing.assert_frame_equal(
        pd.read_parquet(spark_out / "worklist.parquet"),
        pd.read_parquet(pandas_out / "worklist.parquet"),
    )
    assert (spark_out / "worklist.csv").read_bytes() == (pandas_out / "worklist.csv").read_bytes()
    summary = json.loads((spark_out / "summary.json").read_text())
    assert summary == json.loads((pandas_out / "summary.json").read_text())
    manifest = json.loads((spark_out / "manifest.json").read_text())
    # Every file the manifest names is the one it hashed; the scores are Spark's parts.
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((spark_out / name).read_bytes()).hexdigest() == digest, name
    parts = sorted(p.name for p in (spark_out / "scores.parquet").iterdir())
    assert parts and all(p.startswith("part-") and p.endswith(".parquet") for p in parts)
    assert {f"scores.parquet/{p}" for p in parts} <= set(manifest["files"])
    return mine


@needs_spark
@pytest.mark.slow
def test_the_sample_gives_the_pandas_engines_scores_and_worklist(
    spark, models, sample_parquet, tmp_path
):
    flags = flags_table(load_portfolio(SAMPLE).loans["loan_id"])
    kw = {"value": "arrears", "chunk_customers": 1000, "flags": flags}
    ran = run_nightly(
        models, sample_parquet, AS_OF, "default", out=tmp_path / "s", spark=spark, **kw
    )
    run_nightly_pandas(models, sample_parquet, AS_OF, "default", out=tmp_path / "p", **kw)
    mine = _same_runs(tmp_path / "s", tmp_path / "p")
    # One part file per chunk, each sorted by loan id.
    manifest = ran.manifest
    assert manifest["chunks"] == len(list((tmp_path / "s" / "scores.parquet").iterdir())) > 1
    for part in (tmp_path / "s" / "scores.parquet").iterdir():
        ids = pq.read_table(part, columns=["loan_id"]).column(0).to_pylist()
        assert ids == sorted(ids)
    assert ran.scores.count() == len(mine) == manifest["rows"]["scored"]
    assert {"session", "collect"} <= set(manifest["timings"])
    assert manifest["timings"]["score (within chunks)"]["wall_s"] > 0


def _run_both(models, folder, out: Path, spark, **kw):
    """Both engines' runs, and the warnings each gave."""
    with warnings.catch_warnings(record=True) as mine:
        warnings.simplefilter("always")
        ran = run_nightly(models, folder, SIM_AS_OF, "default", out=out / "s", spark=spark, **kw)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        run_nightly_pandas(models, folder, SIM_AS_OF, "default", out=out / "p", **kw)
    shown = [
        {(w.category, str(w.message)) for w in caught if issubclass(w.category, DataQualityWarning)}
        for caught in (mine, theirs)
    ]
    return ran, shown


@needs_spark
@pytest.mark.slow
def test_a_simulated_book_quarantined_and_explained_gives_the_same_run(
    spark, models, simulated, tmp_path
):
    kw = {"value": "auto", "chunk_customers": 150, "quarantine": True, "explain_all": True}
    ran, (mine_warned, theirs_warned) = _run_both(models, simulated, tmp_path, spark, **kw)
    assert theirs_warned
    assert mine_warned == theirs_warned  # the same warnings, each once
    mine = _same_runs(tmp_path / "s", tmp_path / "p")
    assert mine["reason_1"].notna().all()  # explain_all: every loan has its reasons
    # The orphan payment was set aside by both, and counted once.
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "s" / "rejected.parquet"),
        pd.read_parquet(tmp_path / "p" / "rejected.parquet"),
    )
    assert ran.manifest["rows"]["rows_dropped_alone"] == 1
    # The same input gives the same bytes: a second run writes identical files.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        again = run_nightly(
            models, simulated, SIM_AS_OF, "default", out=tmp_path / "s2", spark=spark, **kw
        )
    assert {k: v for k, v in again.manifest["files"].items() if k != "report.html"} == {
        k: v for k, v in ran.manifest["files"].items() if k != "report.html"
    }


@needs_spark
def test_the_union_gives_back_each_table_as_the_pandas_reader_types_it(spark, tmp_path):
    """Ids past 2**53, nulls in integer columns, nanosecond and zoned instants, dates,
    booleans with nulls, categories: decoded exactly as pyarrow's dataset reader gives them."""
    from overdue_risk.adapters import open_source
    from overdue_risk.engines.spark._compat import quiet, temporary_conf
    from overdue_risk.engines.spark._run import SETTINGS
    from overdue_risk.engines.spark._union import (
        chunk_maps,
        decode,
        partition_keys,
        read_layout,
        tagged_union,
    )

    big = 2**53 + 1
    loans = pa.table(
        {
            "loan_id": pa.array(["L1", "L2", "L3"]),
            "customer_id": pa.array(["C1", "C1", "C2"]),
            "n": pa.array([big, big + 2, -big], pa.int64()),
            "m": pa.array([7, None, 9], pa.int64()),
            "small": pa.array([1, None, 3], pa.int16()),
            "at": pa.array([1, None, 1_700_000_000_123_456_789], pa.timestamp("ns")),
            "zoned": pa.array([5, 6, None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([0, None, 19_000], pa.date32()),
            "flag": pa.array([True, None, False]),
            "kind": pa.array(["b", "a", None]).dictionary_encode(),
            "x": pa.array([0.5, None, float("nan")]),
        }
    )
    pq.write_table(loans, tmp_path / "loans.parquet")
    with temporary_conf(spark, SETTINGS):
        source = open_source(tmp_path)
        plan = source.plan(1)
        layout, frames = read_layout(spark, {"loans": tmp_path / "loans.parquet"})
        keys = partition_keys(spark, len(plan))
        union = tagged_union(layout, frames, *chunk_maps(spark, plan, keys), len(plan))
        with quiet():
            rows = union.toPandas()
    assert rows.groupby("__part")["__chunk"].nunique().max() == 1  # a chunk per partition
    assert sorted(rows["__chunk"].unique()) == [0, 1]
    whole = decode(rows, layout).loans
    expected = source.read().loans  # the pandas engine's reader
    expected["kind"] = expected["kind"].cat.set_categories(sorted(["a", "b"]))
    pd.testing.assert_frame_equal(whole, expected)
    assert whole["n"].tolist() == [big, big + 2, -big]  # not rounded through a float


def test_a_folder_of_csv_files_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(SparkEngineError, match=r"reads Parquet; .*loans\.csv.* is CSV"):
        run_nightly(["m"], SAMPLE, AS_OF, "default", out=tmp_path / "run")


@pytest.mark.parametrize(
    ("portfolio", "out", "message"),
    [
        (
            "duckdb:///book.db",
            "run",
            r"folder of Parquet files .* got the URL 'duckdb:///book\.db'",
        ),
        (None, "run", "folder of Parquet files .* got NoneType"),
        ("book", None, "out is required"),
    ],
)
def test_inputs_the_engine_does_not_take_are_refused_before_any_work(portfolio, out, message):
    with pytest.raises(SparkEngineError, match=message):
        run_nightly(["m"], portfolio, AS_OF, "default", out=out)


def test_a_portfolio_in_memory_is_refused(sample):
    with pytest.raises(SparkEngineError, match="got a Portfolio in memory"):
        run_nightly(["m"], sample, AS_OF, "default", out="run")


def test_without_pyspark_the_error_names_the_extra(sample_parquet, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    with pytest.raises(SparkEngineError, match=r"pip install 'overdue-risk\[spark\]'"):
        run_nightly(["m"], sample_parquet, AS_OF, "default", out=tmp_path / "run")
    argv = ["nightly", "--engine", "spark", "--models", "m", "--portfolio", str(sample_parquet)]
    code = main([*argv, "--as-of", AS_OF, "--strategy", "default", "--out", str(tmp_path / "r")])
    assert code == 2
    assert "pip install 'overdue-risk[spark]'" in capsys.readouterr().err


def test_java_missing_names_what_spark_looks_for(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert "holds no bin/java" in java_missing()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "no Java found" in java_missing()


@pytest.mark.skipif(WHY_NOT is not None, reason=f"Spark cannot run: {WHY_NOT}")
def test_a_new_session_without_java_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkEngineError, match="cannot start: JAVA_HOME"):
        spark_session("local[1]")
