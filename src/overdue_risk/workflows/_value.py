"""Learn the value model from the collections log, or fall back to a stated rule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._params import Interval, Options, check_params
from ..adapters import MemorySource
from ..contract import NO_ACTION, Portfolio, validate
from ..exceptions import ModelError, OverdueRiskError
from ..prioritise import (
    ArrearsRule,
    LadderRule,
    ResponseModel,
    RiskBasedValue,
    ShrunkUplift,
    Strategy,
    capacity_shares,
    logged_decisions,
    randomised_cell,
)

__all__ = [
    "CELL_BATCH",
    "VALUE_SOURCES",
    "CellLog",
    "cell_families",
    "check_value_source",
    "choose_value_model",
    "learn_from_cell",
    "learn_value_model",
    "require_causal",
    "stated_value_model",
]

logger = logging.getLogger(__name__)

# What ``choose_value_model`` (and ``overdue-risk prioritise --value``) accepts.
VALUE_SOURCES = ("auto", "uplift", "fallback", "arrears", "ladder")


def check_value_source(value, parameter: str, owner: str) -> None:
    """Fail before any work on a value source other than :data:`VALUE_SOURCES`."""
    check_params(owner, {parameter: value}, {parameter: Options(VALUE_SOURCES)}, OverdueRiskError)


def learn_value_model(
    portfolio: Portfolio,
    as_of: AsOf,
    *,
    horizon_days: int | str | None = None,
    min_rows: int = 200,
    random_state: int = 0,
    strategy: Strategy | str | None = None,
    max_decisions: int | None = 300_000,
) -> ShrunkUplift | ArrearsRule:
    """The value model the lender's own log supports at ``as_of``.

    With a randomised cell (collection rows with ``holdout`` and propensities)
    whose decisions' horizon ended before ``as_of``: a :class:`ShrunkUplift`
    fitted on them. Its candidates, the weight of the learned uplift against
    each action's average uplift per DPD bucket (the stated arrears-rule lifts
    updated by the cell's estimates), from 0 (the average alone) to 1 (the
    learned uplift alone), are scored by cross-fitted doubly robust value on
    the cell's decisions, and the least learned within one standard error of
    the best is kept; the stated arrears rule is a candidate too, and the
    simplest of all, so an estimate must beat it by a standard error to
    replace it. With ``strategy``, each candidate is judged as the worklist
    would run it: allocated under the day's capacities as shares of the
    accounts overdue at ``as_of`` (:func:`capacity_shares`). Its ``table()``
    lists the candidates, and the worklist's ``value_source`` names the choice
    and its value against the stated rule.
    Actions with fewer than ``min_rows`` decisions in a fold are left out, and
    an action whose average uplift cannot be told from zero gets no value.

    Without a usable randomised cell, or with too few decisions: the
    :class:`ArrearsRule` with its stated lifts (SMS 1%, call 5%, visit 15% of
    the arrears), which the worklist flags as not causal.

    The decisions' window is ``horizon_days`` when given; otherwise the
    strategy's ``value.horizon_days`` (30 without a strategy). With a strategy,
    its ``value.max_horizon_days``, ``value.discount_rate`` and
    ``value.write_off_dpd`` are passed to :func:`logged_decisions` too; the
    last decision day is the last whose longest window the data before
    ``as_of`` cover.

    A large book's cell holds millions of decisions; the model learns from at
    most ``max_decisions`` of them (None: all): every decision of a random
    sample of the cell's loans, so that the sample is itself a randomised
    cell and the logged propensities stay valid. The cell's loans are taken
    in a seeded order that depends on their ids alone (a hash, seeded by
    ``random_state``), :data:`CELL_BATCH` at a time, until the decisions
    reach ``max_decisions``; the sample is the longest prefix of that order
    within it. The chance of no action (see :func:`logged_decisions`) is
    estimated within each batch. Only the sampled loans' histories (and the
    loans tied to them by restructurings) are read, so a nightly run reading
    the book in chunks learns the same model from the same sample.
    The time to learn grows with the rows; the precision of the averages, as
    their square root.
    """
    check_params(
        "learn_value_model",
        {"max_decisions": max_decisions},
        {"max_decisions": [None, Interval(int, 1000)]},
        OverdueRiskError,
    )
    p = validate(portfolio)
    if p.collections is None or "holdout" not in p.collections.columns:
        return ArrearsRule()
    strategy = None if strategy is None else Strategy.load(strategy)
    cell = CellLog(
        families=cell_families(p.loans, randomised_cell(p)),
        first_action=p.collections["action_date"].min(),
    )
    shares = None if strategy is None else capacity_shares(strategy, p, as_of)
    return learn_from_cell(
        lambda ids: validate(MemorySource(p).read_loans(ids)),
        cell,
        as_of,
        horizon_days=horizon_days,
        min_rows=min_rows,
        random_state=random_state,
        strategy=strategy,
        max_decisions=max_decisions,
        capacity=shares,
    )


# Cell loans whose decisions are built at a time (see learn_value_model).
CELL_BATCH = 20_000


@dataclass(frozen=True)
class CellLog:
    """What the value model needs to know of a book before reading any of its loans.

    Attributes
    ----------
    families : DataFrame
        The randomised cell's loans (``loan_id``) and, for each, the loans of its
        family (``member``: itself and every loan tied to it by restructurings),
        as :func:`cell_families` gives them.
    first_action : Timestamp or NaT
        The first logged collection action of the book: the first decision day.
    """

    families: pd.DataFrame
    first_action: pd.Timestamp

    @classmethod
    def combine(cls, parts: Sequence[CellLog]) -> CellLog:
        """The cell of a book from its chunks' (chunks of whole loan families)."""
        families = [c.families for c in parts if len(c.families)]
        firsts = [c.first_action for c in parts if not pd.isna(c.first_action)]
        return cls(
            families=(
                pd.concat(families, ignore_index=True)
                if families
                else pd.DataFrame({"loan_id": [], "member": []}, dtype=object)
            ),
            first_action=min(firsts) if firsts else pd.NaT,
        )


def cell_families(loans: pd.DataFrame, cell: pd.Index) -> pd.DataFrame:
    """Each loan of ``cell`` with the loans of its family (the loans tied to it, in either
    direction, by ``restructured_from``; itself included): columns ``loan_id`` and
    ``member``, by cell loan then member in the order of ``loans``."""
    ids = loans["loan_id"].astype(str).to_numpy()
    n = len(ids)
    family = np.arange(n)
    if "restructured_from" in loans.columns and loans["restructured_from"].notna().any():
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        origin = pd.Index(ids).get_indexer(loans["restructured_from"].astype(object).astype(str))
        tie = np.flatnonzero((origin >= 0) & loans["restructured_from"].notna().to_numpy())
        graph = coo_matrix((np.ones(tie.size), (tie, origin[tie])), shape=(n, n))
        family = connected_components(graph, directed=False)[1]
    mine = pd.Index(ids).get_indexer(pd.Index(cell).astype(str))
    mine = mine[mine >= 0]
    # Members of each cell loan's family: a join on the family number.
    by_family = pd.DataFrame({"family": family, "member": np.arange(n)})
    cells = pd.DataFrame({"family": family[mine], "cell": mine, "order": np.arange(mine.size)})
    joined = cells.merge(by_family, on="family", how="left", sort=False)
    joined = joined.sort_values(["order", "member"], kind="stable")
    return pd.DataFrame(
        {"loan_id": ids[joined["cell"].to_numpy()], "member": ids[joined["member"].to_numpy()]}
    )


def _priority(ids: pd.Index, seed: int) -> np.ndarray:
    """A seeded random order of loan ids that depends on each id alone (not on the others)."""
    key = f"{seed:016d}"[-16:]
    h = pd.util.hash_array(np.asarray(ids.astype(str), dtype=object), hash_key=key)
    return np.lexsort((np.asarray(ids.astype(str)), h))


def learn_from_cell(
    read: Callable[[np.ndarray], Portfolio],
    cell: CellLog,
    as_of: AsOf,
    *,
    horizon_days: int | str | None = None,
    min_rows: int = 200,
    random_state: int = 0,
    strategy: Strategy | None = None,
    max_decisions: int | None = 300_000,
    capacity: dict[str, float] | None = None,
) -> ShrunkUplift | ArrearsRule:
    """:func:`learn_value_model` from a cell known in advance, reading its loans by id.

    ``read(ids)`` returns the histories of the loans ``ids`` (every table but
    customers; validated or raw). ``capacity`` is the worklist's capacity as
    shares of the overdue accounts (:func:`capacity_shares`).
    """
    days = parse_as_of(as_of)
    evening = pd.Timestamp(np.datetime64(int(days[0]) - 1, "D"))
    window = _window(horizon_days, strategy)
    resolution = window["horizon_days"] == "resolution"
    longest = window["max_horizon_days"] if resolution else window["horizon_days"]
    first = cell.first_action
    last = evening - pd.Timedelta(days=longest - 1)
    if not len(cell.families) or pd.isna(first) or first > last:
        return ArrearsRule()
    loans = pd.Index(pd.unique(cell.families["loan_id"].to_numpy()))
    order = loans[_priority(loans, random_state)]
    frames, rows = [], 0
    for lo in range(0, len(order), CELL_BATCH):
        batch = order[lo : lo + CELL_BATCH]
        members = cell.families["member"][cell.families["loan_id"].isin(batch)]
        members = np.asarray(members.unique(), dtype=object)
        frames.append(
            logged_decisions(read(members), first, last, data_end=evening, cell=batch, **window)
        )
        rows += len(frames[-1])
        if max_decisions is not None and rows > max_decisions:
            break
    decisions = pd.concat(frames) if len(frames) > 1 else frames[0]
    if max_decisions is not None and len(decisions) > max_decisions:
        decisions = _sample_loans(decisions, order, max_decisions, len(loans))
    counts = decisions["action"].astype(str).value_counts()
    if counts.get(NO_ACTION, 0) < min_rows or (counts[counts.index != NO_ACTION] < min_rows).all():
        return ArrearsRule()
    model = ShrunkUplift(
        response=ResponseModel(min_rows=min_rows), capacity=capacity, random_state=random_state
    )
    try:
        return model.fit(decisions)
    except ModelError as exc:
        logger.warning("The randomised cell supports no learned value model: %s", exc)
        return ArrearsRule()


def _sample_loans(decisions: pd.DataFrame, order: pd.Index, most: int, n_cell: int):
    """Every decision of the longest prefix of the loans in ``order`` within ``most`` rows."""
    loans = decisions.index.get_level_values("loan_id").astype(str)
    rank = pd.Index(order.astype(str)).get_indexer(loans)
    counts = np.bincount(rank, minlength=len(order))
    keep = np.cumsum(counts) <= most
    logger.info(
        "The value model learns from %d of the cell's %d loans (%d of %d decisions built).",
        int(keep.sum()),
        n_cell,
        int(counts[keep].sum()),
        len(decisions),
    )
    return decisions[keep[rank]]


def _window(horizon_days, strategy: Strategy | None) -> dict:
    """The window keywords of ``logged_decisions``: the strategy's ``value`` section, the
    explicit ``horizon_days`` winning."""
    v = (strategy or Strategy()).value  # without a strategy, logged_decisions' defaults
    window = {
        "horizon_days": v.horizon_days,
        "max_horizon_days": v.max_horizon_days,
        "discount_rate": v.discount_rate,
        "write_off_dpd": v.write_off_dpd,
    }
    if horizon_days is not None:
        window["horizon_days"] = horizon_days
    # Checked before its length sets the last decision day; logged_decisions checks the rest.
    rule = {"horizon_days": [Interval(int, 1), Options(("resolution",))]}
    check_params("learn_value_model", window, rule, OverdueRiskError)
    return window


def choose_value_model(
    portfolio: Portfolio,
    as_of: AsOf,
    value: str = "auto",
    *,
    horizon_days: int | str | None = None,
    strategy: Strategy | str | None = None,
) -> ShrunkUplift | RiskBasedValue | ArrearsRule | LadderRule:
    """The value model of a worklist, by source.

    Parameters
    ----------
    portfolio : Portfolio
    as_of : date-like
        The day the worklist is for.
    value : {"auto", "uplift", "fallback", "arrears", "ladder"}, default "auto"
        ``"uplift"`` learns a :class:`ShrunkUplift` from the randomised cell of
        the collections log and fails when the log cannot support one;
        ``"fallback"`` is the non-causal :class:`RiskBasedValue`;
        ``"arrears"`` the non-causal :class:`ArrearsRule` with its stated lifts
        (SMS 1%, call 5%, visit 15% of the arrears); ``"ladder"`` the
        non-causal :class:`LadderRule` (the treatment ladder by DPD, with the
        default thresholds, allocated greedily: the ladder's fill); ``"auto"``
        learns the uplift model when the log allows and takes the arrears rule
        with stated lifts otherwise (see :func:`learn_value_model`).
    horizon_days : int or "resolution", optional
        The window of the learned model's decisions; by default the
        strategy's ``value.horizon_days`` (30 without a strategy).
    strategy : Strategy or profile name, optional
        The worklist's strategy: the learned model's candidates are judged
        under its capacities, and its ``value`` section sets the decisions'
        window (see :func:`learn_value_model`).

    Returns
    -------
    ShrunkUplift, RiskBasedValue, ArrearsRule or LadderRule
    """
    check_value_source(value, "value", "choose_value_model")
    stated = stated_value_model(value)
    if stated is not None:
        return stated
    model = learn_value_model(portfolio, as_of, horizon_days=horizon_days, strategy=strategy)
    return require_causal(value, model)


def stated_value_model(value: str) -> RiskBasedValue | ArrearsRule | LadderRule | None:
    """The value model a source names outright (None for ``"auto"`` and ``"uplift"``,
    which are learned)."""
    return {"fallback": RiskBasedValue, "arrears": ArrearsRule, "ladder": LadderRule}.get(
        value, lambda: None
    )()


def require_causal(value: str, model):
    """The learned model, or an error when ``"uplift"`` was asked and the log gave none."""
    if value == "uplift" and not model.causal:
        raise OverdueRiskError(
            "The collections log has too few randomised decisions for an uplift model "
            "(a challenger or holdout cell with propensities); use --value fallback."
        )
    return model
