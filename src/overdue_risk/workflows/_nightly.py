"""The nightly run: tonight's portfolio in, scores and a worklist out, in one call.

:func:`run_nightly` validates the portfolio, builds each model's features in
chunks of whole customers, scores every open loan with the model of its
population (early warning for the accounts not in arrears, collection for the
accounts in arrears), allocates the day's worklist, explains the accounts the
worklist treats, and publishes the run folder atomically. ``overdue-risk
nightly`` calls it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_folder, check_outputs_apart, read_table
from .._params import Interval, check
from ..adapters import is_url, parse_url
from ..contract import Portfolio, check_as_of
from ..exceptions import ModelError, OverdueRiskError
from ..ledger import LedgerConfig
from ..model import RiskModel
from ..prioritise import Worklist, check_flags, plan_worklist, warn_unenforced_flags
from ._features import recorded_options
from ._feed import Whole, cell_reader, each_result, plan_feed
from ._inputs import as_model, check_argument, load_strategy, portfolio_files
from ._publish import Stages, publish_run
from ._routing import populations
from ._stream import DRIFT, PARTS, ChunkContext, Totals
from ._value import (
    CellLog,
    check_value_source,
    learn_from_cell,
    require_causal,
    stated_value_model,
)

__all__ = [
    "BookScores",
    "NightlyRun",
    "NightlySetup",
    "check_nightly",
    "close_chunks",
    "finish_nightly",
    "run_nightly",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class NightlyRun:
    """What a nightly run produced.

    Attributes
    ----------
    as_of : Timestamp
    scores : DataFrame
        One row per open loan: ``loan_id``, ``as_of``, ``population``, ``model``,
        ``score``, ``points``, ``dpd``; reason codes on the explained rows.
    worklist : Worklist
        The day's worklist, on the collection score.
    manifest : dict
        Inputs and their hashes, models, row counts, stage timings, versions.
    out : Path or None
        The run folder, when one was written.
    """

    as_of: pd.Timestamp
    scores: pd.DataFrame = field(repr=False)
    worklist: Worklist = field(repr=False)
    manifest: dict = field(repr=False)
    out: Path | None = None

    def summary(self) -> dict:
        """Row counts, scores by population and the worklist by action (``summary.json``)."""
        return self.manifest["summary"]

    def timings(self) -> pd.DataFrame:
        """Wall and CPU seconds per stage."""
        return pd.DataFrame(self.manifest["timings"]).T

    def __repr__(self) -> str:
        rows = self.manifest["rows"]
        treated = int((self.worklist.table()["action"] != "wait").sum())
        where = f", published to {str(self.out)!r}" if self.out is not None else ""
        return (
            f"NightlyRun({self.as_of.date()}, {rows['scored']:,} loans scored, "
            f"{treated:,} accounts on the worklist{where})"
        )


def _labels(given: Sequence) -> list[str]:
    return [
        f"model {i + 1}" if isinstance(m, RiskModel) else os.fspath(m) for i, m in enumerate(given)
    ]


def run_nightly(
    models: Sequence[RiskModel | str | os.PathLike] | RiskModel | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    strategy,
    *,
    out: str | os.PathLike | None = None,
    force: bool = False,
    explain_all: bool = False,
    value: str = "auto",
    chunk_customers: int = 100_000,
    jobs: int = 1,
    flags: pd.DataFrame | str | os.PathLike | None = None,
    tables=None,
    publish_to: str | None = None,
    quarantine: bool = False,
    allow_future: bool = False,
    progress: bool | None = None,
) -> NightlyRun:
    """Score tonight's portfolio and write the day's worklist: what ``overdue-risk nightly`` runs.

    Stages (each timed in the manifest): ``check`` (models, populations,
    output), ``plan`` (the key columns read and checked, the customers cut
    into chunks; a Portfolio in memory is validated whole here), ``chunks``
    (every chunk read, validated, routed, scored, explained and summarised;
    the seconds of each part, summed over the chunks, are recorded as ``read
    (within chunks)``, ``validate ...``, ``route ...``, ``score ...``,
    ``explain ...`` and ``account state ...``), ``prioritise`` (the value
    model and the allocation), ``render`` and ``publish``.

    A source is read a chunk at a time: its contract violations are collected
    over every chunk and reported together (counts summed per rule, example
    rows named by chunk), before anything is published.

    Parameters
    ----------
    models : RiskModel, folder, or a sequence of one or two of them
        One early-warning model (a DPD target) and/or one collection model (a
        cure target): the early-warning model scores the accounts not in
        arrears, the collection model every account in arrears (see
        :func:`populations`). An account that no model's training covered
        (in arrears beyond an early-warning model's threshold, with no
        collection model) is an error, not a silent score.
    portfolio : Portfolio, folder or database URL
        A folder of ``<table>.csv`` / ``.parquet`` files or of Parquet
        datasets (``<table>/``), or ``duckdb:///path.db`` /
        ``postgresql://user@host/db`` with ``tables`` (see
        :func:`overdue_risk.adapters.open_source`).
    as_of : date-like
        Tonight's date: the worklist is for the morning after the data's last
        records (``as_of`` at most that morning unless ``allow_future``).
    strategy : Strategy, profile name or TOML path
    out : path, optional
        The run folder: ``scores.parquet``, ``worklist.parquet``,
        ``worklist.csv``, ``summary.json``, ``manifest.json`` and
        ``report.html``, written to a temporary folder beside it and moved
        into place only when complete. An existing folder that is not empty
        is replaced only with ``force``.
    force : bool, default False
    explain_all : bool, default False
        Reason codes for every scored loan, not only the worklist's (the
        accounts in arrears).
    value : {"auto", "uplift", "fallback", "arrears", "ladder"}, default "auto"
        The value model's source (:func:`choose_value_model`).
    chunk_customers : int, default 100,000
        Customers per scoring chunk: every loan of a customer in one chunk.
    jobs : int, default 1
        Processes scoring chunks in parallel (joblib), one thread each.
    flags : DataFrame or path, optional
        The accounts' flags for the contact rules, by ``loan_id`` (see
        :func:`prioritise`); a ``.csv`` or ``.parquet`` file is read.
    tables : TableMapping, dict or TOML path, optional
        For a database portfolio: which table holds each contract table.
    publish_to : str, optional
        A database URL: ``scores``, ``worklist`` and ``run_summary`` are also
        written there, in one transaction, before the run folder is moved
        into place (a failure publishes neither).
    quarantine : bool, default False
        By default a contract violation fails the run before anything is
        published. With True the loans that break the contract are set aside
        (:func:`~overdue_risk.contract.quarantine`), written to
        ``rejected.parquet`` with the rule and the message, and the rest is
        scored; the manifest's counts reconcile: ``loans_in = rejected +
        not_open + scored`` (rows naming no loan are counted apart, in
        ``rows_dropped_alone``).
    allow_future : bool, default False
    progress : bool, optional
        A progress bar of the chunks scored, on standard error; by default when
        it is a terminal. Each stage's timing is also logged (INFO, logger
        ``overdue_risk.workflows.nightly``): plain lines for a batch job's log.

    Returns
    -------
    NightlyRun

    Notes
    -----
    The worklist's ``risk_score`` is a chance of the bad outcome: for an account
    the collection model scored, 1 minus its chance of curing.
    """
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
        jobs=jobs,
        flags=flags,
        tables=tables,
        publish_to=publish_to,
        quarantine=quarantine,
    )
    stages = setup.stages
    with stages("plan"):
        feed = plan_feed(portfolio, tables, chunk_customers, quarantine)
        n_chunks, whole = len(feed), feed.whole
    if progress is None:
        progress = sys.stderr.isatty()
    totals = Totals(n_chunks)
    with stages("chunks"):
        for result in each_result(feed, setup.ctx, jobs, progress):
            totals.add(result)
    close_chunks(setup, totals, whole, allow_future=allow_future)
    scores, watched = _split_drift(_combine(totals.scores))
    book = BookScores(
        scores,
        watched,
        scores,
        explained=int(scores["reason_1"].notna().sum()) if "reason_1" in scores else 0,
    )
    return finish_nightly(
        setup,
        totals,
        book,
        out=out,
        source=feed.given,
        read_cell=cell_reader(feed.source, quarantine),
        whole=whole,
        publish_to=publish_to,
    )


@dataclass(frozen=True, eq=False)
class NightlySetup:
    """What a nightly run's ``check`` stage settles before any data is read, whatever
    engine then processes the chunks (:func:`check_nightly`).

    ``day`` is tonight's date; ``given`` the models as given (folders or RiskModel
    objects, for the manifest); ``pops`` their populations, models loaded and verified;
    ``flags`` checked and indexed by ``loan_id`` (``subject`` names them in errors);
    ``value`` the value model's source; ``ctx`` what every chunk is processed with;
    ``stages`` the run's timings, the ``check`` stage recorded.
    """

    day: pd.Timestamp
    given: list
    pops: list
    strategy: object
    flags: pd.DataFrame | None
    subject: str
    value: str
    ctx: ChunkContext
    stages: Stages


def check_nightly(
    models,
    portfolio,
    as_of: AsOf,
    strategy,
    *,
    out=None,
    force: bool = False,
    explain_all: bool = False,
    value: str = "auto",
    chunk_customers: int = 100_000,
    jobs: int = 1,
    flags=None,
    tables=None,
    publish_to: str | None = None,
    quarantine: bool = False,
    owner: str = "run_nightly",
) -> NightlySetup:
    """The ``check`` stage of :func:`run_nightly`, timed: every argument checked, the
    models loaded (and verified) and their populations settled, before any data is read.

    The parameters are :func:`run_nightly`'s; ``owner`` names the function in errors.
    An engine that processes the chunks elsewhere (:mod:`overdue_risk.engines`) starts
    with it, processes every chunk with :func:`run_chunk` and the returned
    :attr:`NightlySetup.ctx`, adds the results to :class:`Totals`, then calls
    :func:`close_chunks` and :func:`finish_nightly`.

    Examples
    --------
    >>> from overdue_risk.workflows import check_nightly
    >>> check_nightly([], "data/sample", "2024-12-31", "default")
    Traceback (most recent call last):
    ...
    overdue_risk.exceptions.ModelError: A nightly run takes one or two models (early \
warning, collection); got 0.
    """
    stages = Stages()
    with stages("check"):
        given = list(models) if isinstance(models, list | tuple) else [models]
        for m in given:
            check_argument(owner, "models", m, (RiskModel,), "a RiskModel or its folder")
        remote = isinstance(portfolio, str) and is_url(portfolio)
        if not remote:
            check_argument(
                owner, "portfolio", portfolio, (Portfolio,), "a Portfolio, a folder or a URL"
            )
        if tables is not None and not remote:
            raise OverdueRiskError(
                "tables maps a database's tables; the portfolio is not a database URL."
            )
        if publish_to is not None:
            if not (isinstance(publish_to, str) and is_url(publish_to)):
                raise OverdueRiskError(
                    f"publish_to must be a database URL (duckdb:///path.db, postgresql://...); "
                    f"got {publish_to!r}."
                )
            parse_url(publish_to)  # its engine and form, before any work
        check_argument(owner, "out", out, (), "the path of the run folder", optional=True)
        check_value_source(value, "value", owner)
        check(Interval(int, 1, 10**9), chunk_customers, key="chunk_customers", error=ModelError)
        check(Interval(int, 1, 256), jobs, key="jobs", error=ModelError)
        days = parse_as_of(as_of)
        if days.size != 1:
            raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
        day = pd.Timestamp(np.datetime64(int(days[0]), "D"))
        if out is not None:
            check_output_folder(out, overwrite=force, flag="--force (force=True)")
        files = [] if flags is None or isinstance(flags, pd.DataFrame) else [flags]
        inputs = [] if remote else portfolio_files(portfolio)
        check_outputs_apart([out], [*given, *inputs, *files])
        strategy_ = load_strategy(strategy)
        subject = "the flags table"
        if flags is not None and not isinstance(flags, pd.DataFrame):
            subject = f"the flags file {os.fspath(flags)!r}"
            flags = read_table(flags, "Flags file")
        if flags is not None:
            flags = check_flags(flags, strategy_, subject=subject)
        loaded = [as_model(m) for m in given]
        pops = populations(loaded, _labels(given))
        tolerances = {recorded_options(p.model)["tolerance"] for p in pops}
        if len(tolerances) > 1:
            raise ModelError(
                "The models were trained with different DPD tolerances "
                f"({sorted(tolerances)}): their populations would not agree on who is overdue."
            )
    ctx = ChunkContext(
        day,
        pops,
        LedgerConfig(tolerance=tolerances.pop()),
        strategy_,
        flags,
        explain_all,
        quarantine=quarantine and not isinstance(portfolio, Portfolio),
        learn_cell=value in ("auto", "uplift"),
    )
    return NightlySetup(day, given, pops, strategy_, flags, subject, value, ctx, stages)


def close_chunks(
    setup: NightlySetup, totals: Totals, whole: Whole | None = None, *, allow_future: bool = False
) -> None:
    """What a run checks once every chunk is done, before it prioritises: the chunks'
    contract violations raised together, the warnings shown once, ``as_of`` against the
    book's window, every open loan covered by a model, every flag naming a loan.

    ``whole`` is a portfolio in memory validated whole (:func:`plan_feed`); the stage
    timings of the chunks (their parts summed, their workers' clocks) are recorded here.
    """
    stages = setup.stages
    stages.add_workers("chunks", totals.worker_cpu_s, totals.worker_peak_rss_mb)
    for part in PARTS:
        stages.record(f"{part} (within chunks)", totals.seconds.get(part, 0.0))
    totals.raise_problems()
    if totals.window is None:
        raise OverdueRiskError("The portfolio has no dated record to tell how far it is observed.")
    if whole is None:  # a portfolio in memory was validated, and warned about, whole
        totals.warn()
    check_as_of(None, setup.day, allow_future=allow_future, window=totals.window)
    _check_covered(totals.uncovered, setup.pops)
    if setup.flags is not None:
        _check_flags_known(setup.flags, totals.flags_seen, setup.strategy, setup.subject)
    if not totals.counts["open"]:
        raise OverdueRiskError(f"No open loan to score on {setup.day.date()}.")


@dataclass(frozen=True, eq=False)
class BookScores:
    """The book's scores, as :func:`finish_nightly` reads them.

    Attributes
    ----------
    table : DataFrame
        At least ``population`` and ``score`` of every scored loan, in ``loan_id``
        order: the report's score drift and histogram; the run's ``scores`` (and
        ``scores.parquet``, unless ``write`` is given).
    watched : DataFrame
        The watched features' values, with ``population``: the report's feature drift.
    for_worklist : DataFrame
        Every column of the scores of (at least) the accounts the worklist may treat.
    explained : int
        Loans with reason codes.
    write : callable, optional
        ``write(folder) -> {relative path: sha256}``: writes ``scores.parquet`` (a file or
        a folder of parts) into the run's temporary folder, and names what it wrote.
    """

    table: pd.DataFrame
    watched: pd.DataFrame
    for_worklist: pd.DataFrame
    explained: int = 0
    write: Callable[[Path], dict[str, str]] | None = None


def finish_nightly(
    setup: NightlySetup,
    totals: Totals,
    book: BookScores,
    *,
    out=None,
    source,
    read_cell: Callable,
    whole: Whole | None = None,
    publish_to: str | None = None,
) -> NightlyRun:
    """The ``prioritise``, ``render`` and ``publish`` stages of :func:`run_nightly`: the
    value model and the worklist over the chunks' collected account states (capacities
    are global: one allocation, on this process), the manifest, and the run folder
    published atomically.

    ``source`` is what the manifest describes (:class:`~overdue_risk.adapters.Source`);
    ``read_cell(ids)`` reads the randomised cell's loans for the value model
    (:func:`cell_reader`).
    """
    stages, day, pops, strategy_ = setup.stages, setup.day, setup.pops, setup.strategy
    scores = book.table
    with stages("prioritise"):
        state = pd.concat(totals.states)
        n_book = totals.counts["book"]
        value_model = stated_value_model(setup.value)
        if value_model is None:
            value_model = require_causal(
                setup.value,
                learn_from_cell(
                    read_cell,
                    CellLog.combine(totals.cells),
                    day,
                    strategy=strategy_,
                    capacity=strategy_.capacity_shares(n_book, len(state)),
                ),
            )
        if setup.flags is None:
            warn_unenforced_flags(strategy_, totals.loans_columns)
        worklist = plan_worklist(
            state,
            _risk(book.for_worklist, pops),
            day,
            strategy_,
            book=n_book,
            value_model=value_model,
        )
        table = worklist.table()
        treated = table.index[table["action"] != "wait"]
    if whole is not None:
        totals.count_whole(whole)
    counts = totals.counts
    rejected = _rejected(totals, whole)
    manifest = {
        "as_of": str(day.date()),
        "models": [
            {
                "population": p.name,
                "model": p.label,
                "target": p.target,
                "dpd_scored": [p.dpd_min, _num(p.dpd_max)],
                "dpd_trained": [_num(x) for x in p.trained],
            }
            for p in pops
        ],
        "rows": {
            "loans_in": counts["loans_in"],
            "rejected": counts["rejected_loans"],
            "not_open": counts["not_open"],
            "open": counts["open"],
            "scored": len(scores),
            "rejected_by_reason": dict(sorted(totals.by_reason.items())),
            "rows_dropped_alone": counts["dropped_alone"],
            "explained": book.explained,
            "worklist_accounts": len(table),
            "treated": len(treated),
        },
        "chunks": totals.n_chunks,
    }
    run = publish_run(
        out,
        source,
        setup.given,
        pops,
        strategy_,
        scores,
        worklist,
        manifest,
        stages,
        publish_to,
        book.watched,
        rejected,
        write_scores=book.write,
    )
    return NightlyRun(day, scores, worklist, run, None if out is None else Path(out))


def _combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' scores as one table, by loan id: reason columns last."""
    scores = pd.concat(parts, ignore_index=True)
    reasons = [c for c in scores.columns if c.startswith("reason_")]
    scores = scores[[c for c in scores.columns if c not in reasons] + reasons]
    return scores.sort_values("loan_id", kind="stable").reset_index(drop=True)


def _rejected(totals: Totals, whole: Whole | None) -> pd.DataFrame | None:
    if whole is not None:
        return whole.rejected
    if not totals.rejected:
        return None
    out = pd.concat(totals.rejected, ignore_index=True)
    return out.sort_values(["loan_id", "table", "rule"], kind="stable", na_position="last")


def _check_flags_known(flags, seen, strategy, subject) -> None:
    """Flags of loans in no chunk (not in the portfolio, or set aside) are an error, as
    :func:`check_flags` reports them."""
    unseen = np.ones(len(flags), bool) if seen is None else ~seen
    if unseen.any():
        check_flags(flags[unseen], strategy, loan_ids=pd.Index([]), subject=subject)


def _risk(scores: pd.DataFrame, pops) -> pd.DataFrame:
    """The scores as the worklist reads them: a chance of the bad outcome. A collection
    model scores the chance of curing; the worklist's risk is that of not curing."""
    cure = {p.name for p in pops if p.target.startswith("cure")}
    risk = scores.drop(columns=["population", "model", "points", "dpd"])
    flip = scores["population"].isin(cure).to_numpy()
    risk["score"] = np.where(flip, 1.0 - scores["score"].to_numpy(), scores["score"].to_numpy())
    return risk


def _num(x: float):
    return None if not np.isfinite(x) else int(x)


def _check_covered(uncovered: list, pops) -> None:
    """Open loans no model's population covers are an error naming who and why."""
    if not uncovered:
        return
    lost = sum(u[0] for u in uncovered)
    low, high = min(u[1] for u in uncovered), max(u[2] for u in uncovered)
    first = ", ".join([i for u in uncovered for i in u[3]][:5])
    have = "; ".join(
        f"{p.label} ({p.target}) covers DPD {p.dpd_min} to {_num(p.dpd_max) or 'any'}" for p in pops
    )
    need = (
        "a collection model (overdue-risk train --target cure_30d)"
        if all(p.name != "in_arrears" for p in pops)
        else "an early-warning model (overdue-risk train --target dpd30_90d)"
    )
    raise ModelError(
        f"{lost:,} open loans are outside every model's training population "
        f"(DPD {low} to {high}; first: {first}): {have}. Add {need}."
    )


def _split_drift(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores, and the watched features' values (by loan, with the population)."""
    watched = [c for c in scores.columns if c.startswith(DRIFT)]
    features = scores[["population", *watched]].rename(
        columns=lambda c: c[len(DRIFT) :] if c.startswith(DRIFT) else c
    )
    return scores.drop(columns=watched), features
