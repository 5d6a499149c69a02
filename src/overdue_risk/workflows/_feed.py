"""Where a nightly run's chunks come from, and where they are processed.

A source is planned (its key columns read and checked) and read a chunk at a
time; a Portfolio in memory is validated whole and cut likewise
(:func:`plan_feed`). :func:`each_result` runs :func:`~._stream.run_chunk` on
every chunk, in this process or in worker processes (joblib, one thread each),
and yields the results in chunk order as they are done.
"""

from __future__ import annotations

import ctypes
import sys
import time
import warnings
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ..adapters import ChunkPlan, MemorySource, Source, open_source
from ..contract import Portfolio, validate
from ..contract import quarantine as contract_quarantine
from ..exceptions import DataQualityWarning
from ._stream import ChunkContext, ChunkResult, rejected_counts, run_chunk

__all__ = [
    "Feed",
    "Whole",
    "cell_reader",
    "each_result",
    "plan_feed",
    "process_chunk",
    "release_memory",
]


@dataclass(frozen=True)
class Whole:
    """A portfolio given in memory, validated (or quarantined) whole before it is cut:
    its errors name its own rows, and its counts are the whole book's."""

    loans_in: int
    rejected: pd.DataFrame | None
    rejected_loans: int
    by_reason: dict
    dropped_alone: int


@dataclass(frozen=True)
class Feed:
    """The chunks of a run: the source they are read from and its plan; the source the
    manifest describes (the portfolio as given); for a portfolio in memory, the whole."""

    source: Source
    plan: ChunkPlan
    given: Source
    whole: Whole | None

    def __len__(self) -> int:
        return len(self.plan)


def plan_feed(portfolio, tables, per_chunk: int, quarantine: bool) -> Feed:
    """The chunks to process.

    A source is read a chunk at a time (:meth:`Source.read_chunks`): its key
    columns are checked first, and with ``quarantine`` the rows no chunk can
    hold are set aside, not fatal. A Portfolio in memory is validated (or
    quarantined) whole, so its errors name its own rows, then read as a
    :class:`~overdue_risk.adapters.MemorySource`, by the same plan.
    """
    if isinstance(portfolio, Portfolio):
        raw_ids = pd.Index(portfolio.loans["loan_id"].astype(object).dropna().astype(str))
        rejected = None
        if quarantine:
            valid, rejected = contract_quarantine(portfolio)
        else:
            valid = validate(portfolio)
        n, by_reason, alone = rejected_counts(rejected, raw_ids)
        source = MemorySource(valid)
        whole = Whole(raw_ids.nunique(), rejected, n, by_reason, alone)
        return Feed(source, source.plan(per_chunk), MemorySource(portfolio), whole)
    source = open_source(portfolio, tables=tables)
    plan = source.plan(per_chunk, drop_unplaced=quarantine)
    release_memory()  # the key columns read to plan
    return Feed(source, plan, source, None)


def each_result(feed: Feed, ctx: ChunkContext, jobs: int, progress: bool):
    """Each chunk's result, in chunk order, as it is done: in this process, or in ``jobs``
    processes with one thread each. A worker reads its own chunk from the source (the
    plan of that chunk alone travels, not its rows); a portfolio in memory, or a folder
    with CSV files, is read here and its chunks sent, at most ``jobs`` in flight."""
    n = len(feed)
    if jobs == 1 or n == 1:
        chunks = feed.source.read_chunks(feed.plan)
        results = (process_chunk(k, _timed(chunks), feed.plan.dropped, ctx) for k in range(n))
        yield from _progress(results, progress, n)
        return
    from joblib import Parallel, delayed, parallel_config

    if _read_here(feed.source):
        chunks = feed.source.read_chunks(feed.plan)
        tasks = (
            delayed(process_chunk)(k, _timed(chunks), feed.plan.dropped, ctx) for k in range(n)
        )
    else:
        tasks = (delayed(_read_and_run)(feed.source, feed.plan, k, ctx) for k in range(n))
    # One OpenMP thread per worker: LightGBM pools sharing cores slow each other.
    with parallel_config(backend="loky", inner_max_num_threads=1):
        results = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="n_jobs")(tasks)
        yield from _progress(results, progress, n)


def _read_here(source: Source) -> bool:
    """Whether chunks are read in this process and sent: a portfolio in memory (a worker
    would get it whole), and a CSV file, which is read by id only after a copy made for
    the whole plan (a worker reading one chunk would parse the whole file)."""
    if isinstance(source, MemorySource):
        return True
    return source.kind == "folder" and any(
        place.endswith(".csv") for place in source.tables().values()
    )


def _timed(chunks) -> tuple[Portfolio, float]:
    t0 = time.perf_counter()
    part = next(chunks)
    return part, time.perf_counter() - t0


def _read_and_run(source: Source, plan: ChunkPlan, k: int, ctx: ChunkContext) -> ChunkResult:
    """In a worker: read chunk ``k`` from the source, then process it."""
    timed = _timed(iter(source.read_chunks(plan.part(k))))
    return process_chunk(k, timed, plan.dropped, ctx)


def process_chunk(
    k: int, timed: tuple[Portfolio, float], dropped, ctx: ChunkContext
) -> ChunkResult:
    """Process chunk ``k`` (:func:`run_chunk`), read in ``timed = (part, seconds)``; the
    first carries the rows the plan could place in none (``dropped``: a quarantine run's
    rows dropped alone). Wherever a chunk is processed, this is what processes it."""
    part, read_s = timed
    result = run_chunk(k, part, ctx)
    del part, timed
    release_memory()
    result.seconds["read"] = read_s
    if dropped and k == 0:
        result.dropped_alone += sum(p.count for p in dropped)
        extra = pd.DataFrame(
            {
                "loan_id": None,
                "customer_id": None,
                "table": [p.table for p in dropped],
                "column": [p.column for p in dropped],
                "rule": [p.rule for p in dropped],
                "rows": [int(p.count) for p in dropped],
                "message": [p.message for p in dropped],
            }
        )
        frames = [r for r in (result.rejected, extra) if r is not None and len(r)]
        result.rejected = pd.concat(frames, ignore_index=True)
    return result


def _progress(results, progress: bool, n: int):
    for done, result in enumerate(results, 1):
        release_memory()
        if progress:
            _bar(done, n)
        yield result


def release_memory() -> None:
    """Hand the memory a chunk freed back to the system.

    Arrow's memory pool and the C heap keep freed memory for reuse; a chunk's
    tables freed that way would still count in the process's resident size, and
    the run's peak would follow the largest heap any chunk left, not the chunk
    at hand.
    """
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # another C library: nothing to trim
            pass


def cell_reader(source, quarantine: bool):
    """Reads the randomised cell's loans from the source, checked as the chunks were."""

    def read(ids) -> Portfolio:
        raw = source.read_loans(ids)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)  # reported with the chunks
            return contract_quarantine(raw)[0] if quarantine else validate(raw)

    return read


def _bar(done: int, total: int) -> None:
    """A progress bar on the terminal: chunks done."""
    width = 30
    fill = width * done // max(total, 1)
    end = "\n" if done == total else ""
    sys.stderr.write(f"\rscoring [{'#' * fill}{'.' * (width - fill)}] {done}/{total} chunks{end}")
    sys.stderr.flush()
