"""One chunk of the nightly run, and what a run keeps of each.

A chunk holds whole customers (every loan of a customer, and the customers tied
to them by restructurings). :func:`run_chunk` validates it (or quarantines its
bad loans), routes its open loans to their population, scores them with their
model, explains the accounts in arrears, and computes what the worklist needs
of it: the overdue accounts' state, the book's count, the randomised cell's
loans for the value model. Every quantity it returns is per loan or a sum, so
the chunks' results combine into the book's exactly (:class:`Totals`), and a
run holds one chunk's tables at a time.
"""

from __future__ import annotations

import os
import re
import resource
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..contract import Portfolio, observation_window, validate
from ..contract import quarantine as contract_quarantine
from ..exceptions import DataQualityWarning, DataValidationError, OverdueRiskError, Problem
from ..ledger import Ledger, LedgerConfig
from ..prioritise import Strategy, account_state, book_size, randomised_cell
from ._features import model_features, recorded_options
from ._routing import route
from ._value import CellLog, cell_families

__all__ = ["ChunkContext", "ChunkResult", "Totals", "run_chunk"]

REASONS = 3  # reason codes per explained account
DRIFT = "\x00drift:"  # the prefix of the watched features' columns while scoring
PARTS = ("read", "validate", "route", "score", "explain", "account state")


@dataclass(frozen=True)
class ChunkContext:
    """What every chunk is processed with (sent once per chunk to a worker)."""

    day: pd.Timestamp
    pops: Sequence
    config: LedgerConfig
    strategy: Strategy
    flags: pd.DataFrame | None  # checked, indexed by loan_id
    explain_all: bool
    quarantine: bool
    learn_cell: bool


@dataclass
class ChunkResult:
    """One chunk's share of the run: its scores and worklist inputs, and its counts."""

    k: int
    scores: pd.DataFrame | None = None
    state: pd.DataFrame | None = None
    book: int = 0
    loans_in: int = 0
    open: int = 0
    not_open: int = 0
    rejected: pd.DataFrame | None = None
    rejected_loans: int = 0
    by_reason: dict = field(default_factory=dict)
    dropped_alone: int = 0
    window: tuple[int, int] | None = None
    cell: CellLog | None = None
    uncovered: tuple[int, int, int, list] | None = None  # loans, DPD min, DPD max, first ids
    problems: tuple[Problem, ...] = ()
    caught: list = field(default_factory=list)  # (category, message) of each warning
    flags_seen: np.ndarray | None = None
    seconds: dict = field(default_factory=dict)
    loans_columns: tuple = ()
    pid: int = 0  # the process that ran the chunk, its CPU seconds and its peak RSS after it
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


def run_chunk(k: int, raw: Portfolio, ctx: ChunkContext) -> ChunkResult:
    """Validate, route, score, explain and summarise chunk ``k`` (see the module).

    A contract violation is returned (``problems``), not raised, so that a run
    reports every chunk's; the warnings are returned too, for the run to
    report once.
    """
    out = ChunkResult(k, pid=os.getpid())
    cpu = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _run(raw, ctx, out)
        except DataValidationError as exc:
            out.problems = tuple(_in_chunk(p, k) for p in exc.problems)
    out.caught = [(w.category, str(w.message)) for w in caught]
    out.cpu_s = time.process_time() - cpu
    out.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return out


def _run(raw: Portfolio, ctx: ChunkContext, out: ChunkResult) -> None:
    t = time.perf_counter()
    ids = raw.loans["loan_id"].astype(object)
    raw_ids = pd.Index(ids.dropna().astype(str).unique())
    out.loans_in = len(raw_ids)
    out.loans_columns = tuple(raw.loans.columns)
    if ctx.quarantine:
        valid, rejected = contract_quarantine(raw)
        out.rejected = rejected
        out.rejected_loans, out.by_reason, out.dropped_alone = rejected_counts(rejected, raw_ids)
    else:
        valid = validate(raw)
    t = _lap(out, "validate", t)
    try:
        out.window = observation_window(valid)
    except OverdueRiskError:  # no dated record in this chunk: the book's window decides
        out.window = None
    loan_ids = valid.loans["loan_id"].astype(str)
    if ctx.flags is not None:
        out.flags_seen = ctx.flags.index.isin(loan_ids).astype(bool)
    ledger = Ledger(valid, ctx.config)
    snap = ledger.at(ctx.day).table()
    snap = snap[~snap["is_closed"].to_numpy(bool)]
    open_ids = snap.index.get_level_values("loan_id").astype(str)
    dpd = snap["dpd"].to_numpy(np.int64)
    which = route(dpd, ctx.pops)
    lost = which < 0
    if lost.any():
        out.uncovered = (
            int(lost.sum()),
            int(dpd[lost].min()),
            int(dpd[lost].max()),
            open_ids[lost][:5].tolist(),
        )
    routed = pd.DataFrame({"dpd": dpd, "population": which}, index=open_ids)
    out.open, out.not_open = len(open_ids), len(valid.loans) - len(open_ids)
    t = _lap(out, "route", t)
    out.scores, explaining = _score(valid, open_ids, ctx, routed)
    t = _lap(out, "score", t)
    out.seconds["score"] -= explaining
    out.seconds["explain"] = explaining
    state_ledger = ledger if ctx.config == LedgerConfig() else Ledger(valid)
    flags = None
    if ctx.flags is not None:
        flags = ctx.flags[out.flags_seen]
    out.state = account_state(ctx.strategy, valid, ctx.day, flags=flags, ledger=state_ledger)
    out.book = book_size(valid, ctx.day, ledger=state_ledger)
    col = valid.collections
    first = col["action_date"].min() if col is not None and len(col) else pd.NaT
    cell = pd.Index([], dtype=object)
    if ctx.learn_cell and col is not None and "holdout" in col.columns:
        cell = randomised_cell(valid)
    out.cell = CellLog(cell_families(valid.loans, cell), first)
    _lap(out, "account state", t)


def _lap(out: ChunkResult, name: str, t: float) -> float:
    now = time.perf_counter()
    out.seconds[name] = out.seconds.get(name, 0.0) + now - t
    return now


def _score(part: Portfolio, loan_ids: pd.Index, ctx: ChunkContext, routed: pd.DataFrame):
    """Each open loan scored by its population's model, with the reasons of the accounts
    in arrears (or of every loan with ``explain_all``), and the seconds spent explaining.

    Models whose features were built alike share one build. The features whose
    drift the report shows are kept beside the scores (columns prefixed
    :data:`DRIFT`).
    """
    frames, explaining = [], 0.0
    built: dict[str, pd.DataFrame] = {}
    for i, pop in enumerate(ctx.pops):
        mine = routed.index[routed["population"].to_numpy() == i]
        wanted = pd.Index(loan_ids).intersection(mine)
        if not len(wanted):
            continue
        key = repr(recorded_options(pop.model))
        if key not in built:
            with warnings.catch_warnings():
                # The chunk was validated (and warned about) just before.
                warnings.simplefilter("ignore", DataQualityWarning)
                built[key] = model_features(pop.model, part, ctx.day)
        X = built[key]
        X = X[X.index.get_level_values("loan_id").astype(str).isin(wanted)]
        p = pop.model.predict_proba(X)[:, 1]
        frame = pd.DataFrame(
            {
                "loan_id": X.index.get_level_values("loan_id").astype(str),
                "as_of": X.index.get_level_values("as_of"),
                "population": pop.name,
                "model": pop.label,
                "score": p,
                "points": pop.model.points_from_proba(p),
            }
        )
        refs = (pop.model.reference_features_ or {}).get(pop.name, {})
        for c in (c for c in refs if c in X.columns):
            frame[f"{DRIFT}{c}"] = X[c].to_numpy()
        # In arrears by the routing's DPD (a model may leave the dpd feature out).
        rows = ctx.explain_all | (routed["dpd"].reindex(frame["loan_id"]).to_numpy() >= 1)
        if rows.any():
            t0 = time.perf_counter()
            top = min(REASONS, pop.model.n_features_in_)
            # A collection model scores the chance of curing: its reasons are what lowers it.
            against = pop.target.startswith("cure")
            reasons = pop.model.explain(X[rows], top_k=top, against=against)
            reasons.index = np.flatnonzero(rows)
            frame = frame.join(reasons)
            explaining += time.perf_counter() - t0
        frames.append(frame)
    if not frames:
        return None, explaining
    scores = pd.concat(frames, ignore_index=True)
    scores["dpd"] = routed["dpd"].reindex(scores["loan_id"]).to_numpy()
    return scores, explaining


def rejected_counts(rejected, raw_ids: pd.Index) -> tuple[int, dict, int]:
    """Loans of the loans table set aside, their count per rule, and the rows dropped
    alone (naming no loan of the table)."""
    if rejected is None or not len(rejected):
        return 0, {}, 0
    ids = rejected["loan_id"].astype(object)
    known = ids.notna() & ids.astype(str).isin(raw_ids)
    loans = pd.DataFrame({"loan_id": ids[known].astype(str), "rule": rejected["rule"][known]})
    by_rule = loans.drop_duplicates().groupby("rule")["loan_id"].nunique().sort_index()
    alone = int(rejected.loc[~known, "rows"].sum())
    return int(loans["loan_id"].nunique()), {k: int(v) for k, v in by_rule.items()}, alone


_ROW = re.compile(r"\(row (\d+)\)$|^row (\d+)$")


def _in_chunk(problem: Problem, k: int) -> Problem:
    """A chunk's problem with its examples' row numbers told apart from the whole table's."""
    examples = tuple(
        _ROW.sub(lambda m: f"(chunk {k + 1}, row {m.group(1) or m.group(2)})", e)
        for e in problem.examples
    )
    return Problem(
        problem.table, problem.column, problem.rule, problem.count, examples, problem.message
    )


@dataclass
class Totals:
    """The chunks' results combined as they arrive: each chunk's tables are kept only as
    the rows the run publishes (scores, overdue accounts, rejected loans)."""

    n_chunks: int
    scores: list = field(default_factory=list)
    states: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    caught: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    uncovered: list = field(default_factory=list)
    counts: dict = field(default_factory=lambda: defaultdict(int))
    by_reason: dict = field(default_factory=lambda: defaultdict(int))
    seconds: dict = field(default_factory=lambda: defaultdict(float))
    window: tuple[int, int] | None = None
    flags_seen: np.ndarray | None = None
    loans_columns: tuple | None = None
    worker_cpu_s: float = 0.0  # over the chunks run in other processes
    worker_peak_rss_mb: float = 0.0

    def add(self, r: ChunkResult) -> None:
        for name in ("loans_in", "open", "not_open", "book", "rejected_loans", "dropped_alone"):
            self.counts[name] += getattr(r, name)
        for rule, n in r.by_reason.items():
            self.by_reason[rule] += n
        for name, s in r.seconds.items():
            self.seconds[name] += s
        if r.pid != os.getpid():  # a worker's: this process's clocks do not see it
            self.worker_cpu_s += r.cpu_s
            self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, r.peak_rss_mb)
        self.caught += r.caught
        self.problems += r.problems
        if r.uncovered is not None:
            self.uncovered.append(r.uncovered)
        if r.problems:
            return
        if r.scores is not None:
            self.scores.append(r.scores)
        if r.state is not None:
            self.states.append(r.state)
        if self.loans_columns is None:
            self.loans_columns = r.loans_columns
        if r.rejected is not None and len(r.rejected):
            self.rejected.append(r.rejected)
        if r.cell is not None:
            self.cells.append(r.cell)
        if r.window is not None:
            lo, hi = r.window
            self.window = (
                (lo, hi)
                if self.window is None
                else (
                    min(lo, self.window[0]),
                    max(hi, self.window[1]),
                )
            )
        if r.flags_seen is not None:
            seen = r.flags_seen
            self.flags_seen = seen if self.flags_seen is None else self.flags_seen | seen

    def count_whole(self, whole) -> None:
        """A portfolio given in memory was validated (or quarantined) whole: its counts of
        the loans in and set aside replace the chunks' (which saw the valid loans alone)."""
        self.counts.update(
            loans_in=whole.loans_in,
            rejected_loans=whole.rejected_loans,
            dropped_alone=whole.dropped_alone,
        )
        self.by_reason = defaultdict(int, whole.by_reason)

    def raise_problems(self) -> None:
        """Every chunk's contract violations as one error: counts summed per rule, the
        first examples kept."""
        if not self.problems:
            return
        merged: dict[tuple, list] = {}
        for p in self.problems:
            key = (p.table, p.column, p.rule)
            if key not in merged:
                merged[key] = [p, p.count, list(p.examples)]
            else:
                merged[key][1] += p.count
                merged[key][2] += list(p.examples)
        raise DataValidationError(
            [
                Problem(
                    p.table, p.column, p.rule, n, tuple(ex[: max(len(p.examples), 5)]), p.message
                )
                for p, n, ex in merged.values()
            ]
        )

    def warn(self) -> None:
        """Each warning once: a warning that differs between chunks by its figures alone is
        shown as the first chunk's, with the number of chunks that raised it."""
        groups: dict[tuple, list] = {}
        for category, message in self.caught:
            key = (category, re.sub(r"\d[\d,.]*", "#", message))
            groups.setdefault(key, []).append(message)
        for (category, _), messages in groups.items():
            text = messages[0]
            if len(set(messages)) > 1:
                text += f" (in {len(messages)} of {self.n_chunks} chunks; figures of the first)"
            warnings.warn(category(text), stacklevel=3)
