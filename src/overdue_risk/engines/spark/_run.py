"""The nightly run on Spark: :func:`run_nightly`."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..._dates import AsOf
from ...adapters import FolderSource, is_url, open_source
from ...contract import Portfolio
from ...workflows import (
    BookScores,
    NightlyRun,
    Totals,
    cell_reader,
    check_nightly,
    close_chunks,
    finish_nightly,
)
from ._compat import SparkEngineError, pyspark, quiet, spark_session, temporary_conf
from ._executor import ChunkTask, model_files, output_schema
from ._union import chunk_maps, partition_keys, read_layout, tagged_union

__all__ = ["DRIFT_SAMPLE", "run_nightly"]

logger = logging.getLogger("overdue_risk.workflows.nightly")

# The report's feature drift reads at most this many loans' watched features (a
# deterministic sample by loan_id beyond): the driver holds them.
DRIFT_SAMPLE = 1_000_000
# What the engine needs of Spark while it runs (the session's own settings are put back).
SETTINGS = {
    # Parquet's nanosecond timestamps (as pandas writes them) read as their integer count.
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_PART = re.compile(r"^part-(\d+)")


def run_nightly(
    models,
    portfolio: str | os.PathLike,
    as_of: AsOf,
    strategy,
    *,
    out: str | os.PathLike,
    force: bool = False,
    explain_all: bool = False,
    value: str = "auto",
    chunk_customers: int = 100_000,
    flags=None,
    quarantine: bool = False,
    allow_future: bool = False,
    spark=None,
    master: str | None = None,
) -> NightlyRun:
    """The nightly run with its chunks processed on Spark: what ``overdue-risk nightly
    --engine spark`` runs.

    The same run as :func:`overdue_risk.workflows.run_nightly`, stage for stage,
    with the same code: the key columns are read and the customers cut into
    chunks on this process (the driver); Spark reads every table, tags each row
    with its chunk, and hands each chunk, whole, to the pandas engine's own
    chunk function (``applyInPandas``); the driver collects each chunk's small
    result and the account state of its loans in arrears, and prioritises the
    day once, over the whole book's capacity. Spark writes the scores, as
    Parquet, into the run's temporary folder, which moves into place as a
    local run's does. See ``docs/spark.md``.

    Parameters
    ----------
    models, as_of, strategy, force, explain_all, value, chunk_customers
        As :func:`overdue_risk.workflows.run_nightly`.
    flags, quarantine, allow_future
        As :func:`overdue_risk.workflows.run_nightly`.
    portfolio : path
        A folder of Parquet files (``<table>.parquet``) or Parquet datasets
        (``<table>/``), on a file system the driver and every executor see at
        the same path. CSV files and databases are refused.
    out : path
        The run folder, required: its ``scores.parquet`` is a folder of Parquet
        files, one per chunk (``part-00000.parquet``, ...), that
        :func:`pandas.read_parquet` reads whole; the executors write it, so it
        must be on a file system they share with the driver.
    spark : SparkSession, optional
        The session to run on; by default :func:`spark_session` with ``master``.
    master : str, optional
        A Spark master URL for a new session (``local[4]``, ``spark://host:7077``).

    Returns
    -------
    NightlyRun
        As the pandas engine's, but ``scores`` is a Spark DataFrame reading the
        published ``scores.parquet``: the book's scores are never collected.

    Raises
    ------
    SparkEngineError
        pyspark is not installed (``pip install 'overdue-risk[spark]'``), Java is
        missing, or an input the engine does not take.

    Notes
    -----
    The driver holds the chunk plan (the loans' and customers' ids), each
    loan's population and score for the report (9 bytes a loan), at most
    :data:`DRIFT_SAMPLE` loans' watched features, and the accounts in arrears
    with their scores.

    Examples
    --------
    >>> from overdue_risk.engines.spark import run_nightly
    >>> run_nightly(["ew"], "data/sample.csv", "2024-12-31", "default", out=None)
    Traceback (most recent call last):
    ...
    overdue_risk.engines.spark._compat.SparkEngineError: out is required: the Spark \
engine writes the scores into the run folder.
    """
    _check_engine_arguments(portfolio, out, spark, master)
    source = open_source(portfolio)
    folders = _folders(source)
    pyspark()
    setup = check_nightly(
        models,
        portfolio,
        as_of,
        strategy,
        out=out,
        force=force,
        explain_all=explain_all,
        value=value,
        chunk_customers=chunk_customers,
        flags=flags,
        quarantine=quarantine,
        owner="overdue_risk.engines.spark.run_nightly",
    )
    stages = setup.stages
    with stages("session"):
        session = spark if spark is not None else spark_session(master)
    with temporary_conf(session, SETTINGS), quiet():
        return _run(session, setup, source, folders, out, chunk_customers, quarantine, allow_future)


def _check_engine_arguments(portfolio, out, spark, master) -> None:
    if not isinstance(portfolio, str | os.PathLike) or (
        isinstance(portfolio, str) and is_url(portfolio)
    ):
        raise SparkEngineError(
            "The Spark engine reads a folder of Parquet files (<table>.parquet or <table>/); "
            f"got {_shown(portfolio)}."
        )
    if out is None:
        raise SparkEngineError(
            "out is required: the Spark engine writes the scores into the run folder."
        )
    if spark is not None and master is not None:
        raise SparkEngineError("Give a SparkSession (spark) or a master URL (master), not both.")


def _shown(portfolio) -> str:
    if isinstance(portfolio, Portfolio):
        return "a Portfolio in memory"
    return f"the URL {portfolio!r}" if isinstance(portfolio, str) else type(portfolio).__name__


def _folders(source: FolderSource) -> dict[str, Path]:
    csv = [place for place in source.tables().values() if place.endswith(".csv")]
    if csv:
        raise SparkEngineError(
            f"The Spark engine reads Parquet; {', '.join(csv)} in {source.location} "
            "is CSV: write it as Parquet (pandas.read_csv(...).to_parquet(...))."
        )
    return {name: source.folder / place.rstrip("/") for name, place in source.tables().items()}


def _run(spark, setup, source, folders, out, per_chunk, quarantine, allow_future) -> NightlyRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    stages = setup.stages
    with stages("plan"):
        plan = source.plan(per_chunk, drop_unplaced=quarantine)
        n = len(plan)
        layout, frames = read_layout(spark, folders)
        loan_map, customer_map = chunk_maps(spark, plan, partition_keys(spark, n))
        union = tagged_union(layout, frames, loan_map, customer_map, n, plan.n_loans)
    output = output_schema(setup.pops)
    ctx = dataclasses.replace(
        setup.ctx, pops=[dataclasses.replace(p, model=None) for p in setup.pops]
    )
    context = spark.sparkContext
    shared = [context.broadcast(ctx), context.broadcast(model_files(setup.given))]
    task = ChunkTask(layout, output, *shared, plan.dropped)
    schema = from_arrow_schema(output.schema, prefer_timestamp_ntz=True)
    done = union.groupBy("__part", "__chunk").applyInPandas(task.function(), schema)
    done = done.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = Totals(n)
        with stages("chunks"):
            blobs = done.where(F.col("__kind") == 1).select("__chunk", "__blob").collect()
            present, explained = _add_results(totals, blobs, setup.flags)
        close_chunks(setup, totals, allow_future=allow_future)
        scored = done.where(F.col("__kind") == 0)
        with stages("collect"):
            table = (
                scored.select("loan_id", "population", "score")
                .orderBy("loan_id")
                .select("population", "score")
                .toPandas()
            )
            table["population"] = table["population"].astype("category")
            watched = _watched(scored, output, len(table))
            arrears = pd.concat(totals.scores, ignore_index=True)
            arrears = arrears[[c for c in present if c in arrears.columns]]
            arrears = arrears.sort_values("loan_id", kind="stable").reset_index(drop=True)
        book = BookScores(
            table, watched, arrears, explained=explained, write=_writer(scored, present, stages)
        )
        run = finish_nightly(
            setup,
            totals,
            book,
            out=out,
            source=source,
            read_cell=cell_reader(source, quarantine),
        )
    finally:
        done.unpersist()
        for value in shared:
            value.unpersist()
    return dataclasses.replace(run, scores=spark.read.parquet(str(Path(out) / "scores.parquet")))


def _add_results(totals: Totals, blobs, flags) -> tuple[list[str], int]:
    """Each chunk's result, in chunk order, added to the totals; the scores' columns (as
    the pandas engine orders them: the reasons last) and the loans explained."""
    present: dict[str, None] = {}
    explained = 0
    for row in sorted(blobs, key=lambda r: r["__chunk"]):
        result, columns, n = pickle.loads(row["__blob"])
        if result.flags_seen is not None:
            seen = np.zeros(len(flags), dtype=bool)
            seen[result.flags_seen] = True
            result.flags_seen = seen
        totals.add(result)
        present.update(dict.fromkeys(columns))
        explained += n
    reasons = [c for c in present if c.startswith("reason_")]
    return [c for c in present if c not in reasons] + reasons, explained


def _watched(scored, output, n: int) -> pd.DataFrame:
    """The watched features' values with their population: every loan's, or a sample of
    :data:`DRIFT_SAMPLE` loans chosen by a hash of their ids."""
    from pyspark.sql import functions as F

    rows = scored
    if n > DRIFT_SAMPLE:
        share = DRIFT_SAMPLE / n
        bucket = F.pmod(F.xxhash64("loan_id"), F.lit(1 << 30))
        rows = rows.where(bucket < F.lit(int(share * (1 << 30))))
    columns = [F.col(c).alias(name) for name, _, c in output.watched]
    return rows.select("population", *columns).toPandas()


def _writer(scored, present: list[str], stages):
    """``write(folder)``: the scores written by Spark into ``folder/scores.parquet``, one
    file per chunk sorted by ``loan_id``, named by chunk; their sha256 by path. Its
    seconds are recorded as ``write scores (within publish)``."""

    def write(folder: Path) -> dict[str, str]:
        t0 = time.perf_counter()
        target = folder / "scores.parquet"
        scored.select(*present).sortWithinPartitions("loan_id").write.parquet(str(target))
        hashes = {}
        for path in sorted(target.iterdir()):
            match = _PART.match(path.name)
            if match is None:  # _SUCCESS and checksums: not data
                path.unlink()
                continue
            name = f"part-{int(match.group(1)):05d}.parquet"
            path.rename(target / name)
            with open(target / name, "rb") as f:
                hashes[f"scores.parquet/{name}"] = hashlib.file_digest(f, "sha256").hexdigest()
        stages.record("write scores (within publish)", time.perf_counter() - t0)
        return dict(sorted(hashes.items()))

    return write
