"""Where a nightly run's chunks come from, and where they are processed.

A source is planned (its key columns read and checked) and read a chunk at a
time; a Portfolio in memory is validated whole and cut likewise
(:func:`plan_feed`). :func:`each_result` runs :func:`~._stream.run_chunk` on
every chunk, in this process or in worker processes (joblib, one thread each),
and yields the results in chunk order as they are done.
"""

from __future__ import annotations

import itertools
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..adapters import open_source
from ..contract import Portfolio, validate
from ..contract import quarantine as contract_quarantine
from ..exceptions import DataQualityWarning
from ._stream import ChunkContext, rejected_counts, run_chunk
from ._value import loans_of

__all__ = ["Whole", "cell_reader", "chunks_of", "each_result", "plan_feed"]


def chunks_of(portfolio: Portfolio, per_chunk: int) -> list[np.ndarray]:
    """The loan ids in chunks of whole customers (sorted by customer, then loan).

    A loan without a customer is a customer of its own. A loan restructured from
    another customer's loan (``restructured_from``) ties the two customers into one
    group, never cut (validation wants the original loan beside its successor), as
    :meth:`overdue_risk.adapters.Source.chunks` does.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    loans = portfolio.loans
    ids = loans["loan_id"].astype(str).to_numpy()
    if "customer_id" in loans.columns:
        cust = loans["customer_id"].astype(object)
        key = np.where(cust.isna(), "\x00loan:" + pd.Series(ids), cust.astype(str)).astype(str)
    else:
        key = np.asarray("\x00loan:" + pd.Series(ids), dtype=str)
    customer, names = pd.factorize(key, sort=True)
    n = len(names)
    group = np.arange(n)
    if "restructured_from" in loans.columns:
        origin = pd.Index(ids).get_indexer(loans["restructured_from"].astype(object).astype(str))
        tie = (origin >= 0) & loans["restructured_from"].notna().to_numpy()
        if tie.any():
            a, b = customer[tie], customer[origin[tie]]
            graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
            _, group = connected_components(graph, directed=False)
            # Each group where its first customer sorts: groups stay in customer order.
            first = np.full(group.max() + 1, n)
            np.minimum.at(first, group, np.arange(n))
            group = first[group]
    rank = np.unique(group, return_inverse=True)[1].ravel()  # groups 0, 1, ... in order
    chunk = rank[customer] // per_chunk
    order = np.lexsort((ids, key, chunk))
    chunk, ids = chunk[order], ids[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(chunk)) + 1, len(ids)]
    return [ids[a:b] for a, b in itertools.pairwise(bounds) if b > a]


class _Parts:
    """The portfolio cut into chunks of loans: each table's rows coded by chunk once, so
    that a chunk is a mask of integers, not a string lookup per table per chunk."""

    def __init__(self, portfolio: Portfolio, chunks: list[np.ndarray]) -> None:
        self.portfolio = portfolio
        self.n = len(chunks)
        ids = pd.Index(portfolio.loans["loan_id"].astype(str))
        of_loan = np.full(len(ids), -1, dtype=np.int64)
        for k, c in enumerate(chunks):
            of_loan[ids.get_indexer(pd.Index(c).astype(str))] = k
        self.codes = {}
        for name, df in portfolio.tables().items():
            if name == "customers":
                continue
            pos = ids.get_indexer(df["loan_id"].astype(str))
            self.codes[name] = np.where(pos >= 0, of_loan[pos], -1)
        if portfolio.customers is not None and "customer_id" in portfolio.loans.columns:
            cust = portfolio.loans["customer_id"]
            known = cust.notna().to_numpy()
            owner = pd.Series(of_loan[known], index=cust[known].astype(str).to_numpy())
            owner = owner[~owner.index.duplicated()]  # a customer's loans share a chunk
            self.codes["customers"] = (
                owner.reindex(portfolio.customers["customer_id"].astype(str))
                .fillna(-1)
                .to_numpy(dtype=np.int64)
            )

    def __len__(self) -> int:
        return self.n

    def part(self, k: int) -> Portfolio:
        tables = {
            name: self.portfolio.tables()[name][code == k].reset_index(drop=True)
            for name, code in self.codes.items()
        }
        return Portfolio(**tables)


@dataclass(frozen=True)
class Whole:
    """A portfolio given in memory: validated (or quarantined) whole, then cut into chunks."""

    portfolio: Portfolio
    loans_in: int
    rejected: pd.DataFrame | None
    rejected_loans: int
    by_reason: dict
    dropped_alone: int

    def read(self, ids) -> Portfolio:
        return loans_of(self.portfolio, ids)


def plan_feed(portfolio, tables, per_chunk: int, quarantine: bool):
    """The chunks to process (an iterator of raw or validated portfolios), their number,
    the source (for the manifest) and, for a portfolio in memory, the whole of it.

    A source is read a chunk at a time (:meth:`Source.read_chunks`): its key
    columns are checked first, and with ``quarantine`` the rows no chunk can
    hold are set aside, not fatal. A Portfolio in memory is validated (or
    quarantined) whole, so its errors name its own rows, and cut likewise.
    """
    if isinstance(portfolio, Portfolio):
        raw_ids = pd.Index(portfolio.loans["loan_id"].astype(object).dropna().astype(str))
        rejected = None
        if quarantine:
            valid, rejected = contract_quarantine(portfolio)
        else:
            valid = validate(portfolio)
        n, by_reason, alone = rejected_counts(rejected, raw_ids)
        whole = Whole(valid, raw_ids.nunique(), rejected, n, by_reason, alone)
        cut = _Parts(valid, chunks_of(valid, per_chunk))
        feed = (cut.part(i) for i in range(len(cut)))
        return feed, len(cut), portfolio, whole
    source = open_source(portfolio, tables=tables)
    plan = source.plan(per_chunk, drop_unplaced=quarantine)
    return _with_dropped(source.read_chunks(plan), plan.dropped), len(plan), source, None


def _with_dropped(feed, dropped):
    """The chunks, the first carrying the rows the plan could place in none (a quarantine
    run's rows dropped alone)."""
    for k, part in enumerate(feed):
        yield (part, dropped if k == 0 else ())


def each_result(feed, ctx: ChunkContext, jobs: int, progress: bool, n: int):
    """Each chunk's result, in chunk order, as it is done: in this process, or in ``jobs``
    processes with one thread each (a chunk is read here and sent to a worker; at
    most ``jobs`` chunks are in flight)."""
    items = ((k, *_unpack(part)) for k, part in enumerate(feed))
    if jobs == 1 or n == 1:
        results = (
            _timed_chunk(k, part, dropped, ctx, t) for k, part, dropped, t in _reading(items)
        )
    else:
        from joblib import Parallel, delayed, parallel_config

        # One OpenMP thread per worker: LightGBM pools sharing cores slow each other.
        with parallel_config(backend="loky", inner_max_num_threads=1):
            results = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="n_jobs")(
                delayed(_timed_chunk)(k, part, dropped, ctx, t)
                for k, part, dropped, t in _reading(items)
            )
            yield from _progress(results, progress, n)
        return
    yield from _progress(results, progress, n)


def _unpack(part):
    return part if isinstance(part, tuple) else (part, ())


def _reading(items):
    """The chunks with the seconds spent reading each."""
    while True:
        t0 = time.perf_counter()
        try:
            k, part, dropped = next(items)
        except StopIteration:
            return
        yield k, part, dropped, time.perf_counter() - t0


def _timed_chunk(k, part, dropped, ctx, read_s):
    result = run_chunk(k, part, ctx)
    result.seconds["read"] = read_s
    if dropped:
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
        if progress:
            _bar(done, n)
        yield result


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
