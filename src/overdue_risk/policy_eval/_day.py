"""A decision date: what every policy sees that morning, and the truth's answer to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract import NO_ACTION, WAIT, cut_portfolio
from ..exceptions import OverdueRiskError
from ..prioritise import account_state, action_values, allocate, eligibility


def _outcomes(tab: pd.DataFrame, ids: np.ndarray, wanted: Sequence[str]):
    """(accounts x actions) arrays of expected recovery, cost and P(pay) from the truth."""
    key = pd.MultiIndex.from_product([ids, list(wanted)], names=["loan_id", "action"])
    picked = tab.reindex(key)
    if picked["expected_amount"].isna().any():  # pragma: no cover - truth covers all actions
        raise OverdueRiskError("The truth has no response for some (account, action) pairs.")
    shape = (len(ids), len(wanted))
    return tuple(picked[c].to_numpy().reshape(shape) for c in ("expected_amount", "cost", "p_pay"))


@dataclass(frozen=True)
class _Morning:
    """What every policy sees on a decision date."""

    state: pd.DataFrame  # overdue accounts (those the truth covers), with risk_score
    eligible: np.ndarray  # (accounts, actions) under the strategy's rules
    names: np.ndarray  # the strategy's actions other than waiting
    capacity: np.ndarray  # per action of names
    ids: np.ndarray


def _morning(portfolio, date, strategy, scores, tab: pd.DataFrame | None) -> _Morning:
    """The accounts overdue on ``date`` (those ``tab``, the truth, covers when given)."""
    evening = date - pd.Timedelta(days=1)
    known = cut_portfolio(portfolio, evening)
    state = account_state(strategy, known, date)
    # The book that morning, the base of capacity_per_10k: the loans started by the
    # evening before and not closed by then (a later closed_date reads as missing).
    loans = known.loans
    book = int(loans["closed_date"].isna().sum()) if "closed_date" in loans else len(loans)
    capacities = strategy.capacities(book)
    risk = scores(evening)["score"]
    state = state.assign(
        risk_score=risk.reindex(state.index.astype(str)).to_numpy(dtype=np.float64)
    )
    rules = eligibility(strategy, state)
    cols = [j for j, a in enumerate(rules.actions) if a != WAIT]
    names = np.asarray([rules.actions[j] for j in cols], dtype=object)
    keep = (
        np.ones(len(state), bool)
        if tab is None
        else state.index.astype(str).isin(tab.index.get_level_values("loan_id"))
    )
    return _Morning(
        state[keep],
        rules.eligible[keep][:, cols],
        names,
        np.array([capacities[a] for a in names]),
        state.index.astype(str).to_numpy()[keep],
    )


def _response(truth, date, strategy, n_paths, horizon_days, **kwargs):
    """("none" and the strategy's actions, the truth's response to each from the evening
    before ``date``); ``kwargs`` go to :meth:`SimulationTruth.action_response`."""
    wanted = (NO_ACTION, *(a for a in strategy.action_names if a != WAIT))
    tab = truth.action_response(
        date - pd.Timedelta(days=1),
        actions=list(wanted),
        n_paths=n_paths,
        days=horizon_days,
        **kwargs,
    )
    return wanted, tab


def _prioritised(model, state, names, eligible, capacity, strategy) -> np.ndarray:
    """The prioritiser's choice per account (column of ``names``, -1 for wait)."""
    _, net = action_values(model, state, tuple(names), strategy)
    usable = eligible & ~np.isnan(net)
    method = getattr(model, "allocation_method", "auto")  # LadderRule: the ladder's fill
    return allocate(np.where(usable, net, 0.0), usable, capacity, method=method).action
