"""The nightly run: tonight's portfolio in, scores and a worklist out, in one call.

:func:`run_nightly` validates the portfolio, builds each model's features in
chunks of whole customers, scores every open loan with the model of its
population (early warning for the accounts not in arrears, collection for the
accounts in arrears), allocates the day's worklist, explains the accounts the
worklist treats, and publishes the run folder atomically. ``overdue-risk
nightly`` calls it.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_folder, check_outputs_apart, read_table
from .._params import Interval, check
from ..adapters import is_url, open_source, parse_url
from ..contract import Portfolio
from ..contract import quarantine as contract_quarantine
from ..exceptions import DataQualityWarning, ModelError, OverdueRiskError
from ..ledger import Ledger, LedgerConfig
from ..model import RiskModel
from ..prioritise import Worklist, check_flags, prioritise
from ._features import model_features, recorded_options
from ._inputs import as_model, check_argument, dated_portfolio, load_strategy, portfolio_files
from ._publish import Stages, publish_run
from ._routing import populations, route
from ._value import check_value_source, choose_value_model

__all__ = ["NightlyRun", "run_nightly"]

logger = logging.getLogger(__name__)

REASONS = 3  # reason codes per explained account
DRIFT = "\x00drift:"  # the prefix of the watched features' columns while scoring


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


def _chunks(portfolio: Portfolio, per_chunk: int) -> list[np.ndarray]:
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

    def part(self, k: int) -> Portfolio:
        tables = {
            name: self.portfolio.tables()[name][code == k].reset_index(drop=True)
            for name, code in self.codes.items()
        }
        return Portfolio(**tables)


def _score_chunk(
    part: Portfolio,
    loan_ids: np.ndarray,
    as_of: pd.Timestamp,
    pops,
    dpd: pd.Series,
    explain_all: bool = False,
) -> tuple[pd.DataFrame | None, float]:
    """Score one chunk of whole customers: each open loan by its population's model.

    The chunk's tables are validated again as features are built (the whole
    portfolio's validation has reported its warnings once already); models
    whose features were built alike share one build. The accounts in arrears
    (the worklist's), or every loan with ``explain_all``, get their reason
    codes here, from the features just built; the seconds that took are
    returned beside the scores.
    """
    frames, explaining = [], 0.0
    built: dict[str, pd.DataFrame] = {}
    for i, pop in enumerate(pops):
        mine = dpd.index[dpd["population"].to_numpy() == i]
        wanted = pd.Index(loan_ids).intersection(mine)
        if not len(wanted):
            continue
        key = repr(recorded_options(pop.model))
        if key not in built:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                built[key] = model_features(pop.model, part, as_of)
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
        # The features whose drift the report shows, kept beside the scores.
        refs = (pop.model.reference_features_ or {}).get(pop.name, {})
        watched = [c for c in refs if c in X.columns]
        for c in watched:
            frame[f"{DRIFT}{c}"] = X[c].to_numpy()
        # In arrears by the routing's DPD (a model may leave the dpd feature out).
        rows = explain_all | (dpd["dpd"].reindex(frame["loan_id"]).to_numpy() >= 1)
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
    return (pd.concat(frames, ignore_index=True) if frames else None), explaining


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
    output), ``validate`` (read and validate the portfolio), ``route`` (each
    open loan's DPD and population), ``score`` (features and scores in chunks
    of whole customers), ``explain`` (reason codes for the worklist's
    accounts, those in arrears, or every scored loan with ``explain_all``),
    ``prioritise`` (the value model and the allocation) and ``publish``.

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
    owner = "run_nightly"
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
    with stages("validate"):
        source = portfolio
        if not isinstance(portfolio, Portfolio):  # a folder, a dataset folder or a database
            source = open_source(portfolio, tables=tables)
            portfolio = source.read()
        raw_ids = pd.Index(portfolio.loans["loan_id"].astype(object).dropna().astype(str))
        loans_in = raw_ids.nunique()
        rejected = None
        if quarantine:
            portfolio, rejected = contract_quarantine(portfolio)
        portfolio = dated_portfolio(portfolio, day, allow_future=allow_future)
        if flags is not None:
            check_flags(flags, strategy_, loan_ids=portfolio.loans["loan_id"], subject=subject)
    with stages("route"):
        config = LedgerConfig(tolerance=tolerances.pop())
        state = Ledger(portfolio, config).at(day).table()
        state = state[~state["is_closed"].to_numpy(bool)]
        loan_ids = state.index.get_level_values("loan_id").astype(str)
        dpd = state["dpd"].to_numpy(np.int64)
        which = route(dpd, pops)
        _check_covered(which, dpd, loan_ids, pops)
        routed = pd.DataFrame({"dpd": dpd, "population": which}, index=loan_ids)
    with stages("score"):
        if progress is None:
            progress = sys.stderr.isatty()
        scores, explaining = _score_all(
            portfolio, day, pops, routed, chunk_customers, jobs, progress, explain_all
        )
        scores, watched = _split_drift(scores)
    stages.record("explain (within score)", explaining)
    with stages("prioritise"):
        value_model = choose_value_model(portfolio, day, value, strategy=strategy_)
        worklist = prioritise(
            _risk(scores, pops), portfolio, day, strategy_, value_model=value_model, flags=flags
        )
        table = worklist.table()
        treated = table.index[table["action"] != "wait"]
    n_rejected, by_reason, dropped_alone = _rejected_counts(rejected, raw_ids)
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
            "loans_in": loans_in,
            "rejected": n_rejected,
            "not_open": len(portfolio.loans) - len(loan_ids),
            "open": len(loan_ids),
            "scored": len(scores),
            "rejected_by_reason": by_reason,
            "rows_dropped_alone": dropped_alone,
            "explained": int(scores["reason_1"].notna().sum()) if "reason_1" in scores else 0,
            "worklist_accounts": len(table),
            "treated": len(treated),
        },
    }
    run = publish_run(
        out,
        source,
        given,
        pops,
        strategy_,
        scores,
        worklist,
        manifest,
        stages,
        publish_to,
        watched,
        rejected,
    )
    return NightlyRun(day, scores, worklist, run, None if out is None else Path(out))


def _rejected_counts(rejected, raw_ids: pd.Index) -> tuple[int, dict, int]:
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


def _check_covered(which: np.ndarray, dpd: np.ndarray, loan_ids: pd.Index, pops) -> None:
    """An open loan no model's population covers is an error naming who and why."""
    lost = which < 0
    if not lost.any():
        return
    first = ", ".join(loan_ids[lost][:5])
    have = "; ".join(
        f"{p.label} ({p.target}) covers DPD {p.dpd_min} to {_num(p.dpd_max) or 'any'}" for p in pops
    )
    need = (
        "a collection model (overdue-risk train --target cure_30d)"
        if all(p.name != "in_arrears" for p in pops)
        else "an early-warning model (overdue-risk train --target dpd30_90d)"
    )
    raise ModelError(
        f"{int(lost.sum()):,} open loans are outside every model's training population "
        f"(DPD {int(dpd[lost].min())} to {int(dpd[lost].max())}; first: {first}): {have}. "
        f"Add {need}."
    )


def _bar(done: int, total: int) -> None:
    """A progress bar on the terminal: chunks scored."""
    width = 30
    fill = width * done // max(total, 1)
    end = "\n" if done == total else ""
    sys.stderr.write(f"\rscoring [{'#' * fill}{'.' * (width - fill)}] {done}/{total} chunks{end}")
    sys.stderr.flush()


def _score_all(portfolio, day, pops, routed, per_chunk, jobs, progress, explain_all):
    """Scores (with reasons and the watched features), and the seconds spent explaining."""
    chunks = _chunks(portfolio, per_chunk)
    cut = _Parts(portfolio, chunks)
    if jobs == 1 or len(chunks) == 1:
        parts = []
        for i, c in enumerate(chunks):
            parts.append(_score_chunk(cut.part(i), c, day, pops, routed, explain_all))
            if progress:
                _bar(i + 1, len(chunks))
    else:
        from joblib import Parallel, delayed, parallel_config

        # One OpenMP thread per worker: LightGBM pools sharing cores slow each other.
        with parallel_config(backend="loky", inner_max_num_threads=1):
            parts = Parallel(n_jobs=jobs)(
                delayed(_score_chunk)(cut.part(i), c, day, pops, routed, explain_all)
                for i, c in enumerate(chunks)
            )
    explaining = sum(seconds for _, seconds in parts)
    parts = [p for p, _ in parts if p is not None]
    if not parts:
        raise OverdueRiskError(f"No open loan to score on {day.date()}.")
    scores = pd.concat(parts, ignore_index=True)
    scores["dpd"] = routed["dpd"].reindex(scores["loan_id"]).to_numpy()
    # Reasons last: loan, date, population, model, score, points, dpd, reasons.
    reasons = [c for c in scores.columns if c.startswith("reason_")]
    scores = scores[[c for c in scores.columns if c not in reasons] + reasons]
    return scores.sort_values("loan_id", kind="stable").reset_index(drop=True), explaining


def _split_drift(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores, and the watched features' values (by loan, with the population)."""
    watched = [c for c in scores.columns if c.startswith(DRIFT)]
    features = scores[["population", *watched]].rename(
        columns=lambda c: c[len(DRIFT) :] if c.startswith(DRIFT) else c
    )
    return scores.drop(columns=watched), features
