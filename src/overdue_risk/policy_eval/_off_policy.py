"""The off-policy estimates of the prioritiser's value, checked against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import NO_ACTION
from ..prioritise import off_policy_value
from ._day import _morning, _outcomes, _prioritised, _response


def _off_policy_day(
    truth, portfolio, date, strategy, scores, value_model, decisions, n_paths, horizon_days
):
    """The off-policy row of a date that is not a decision date of the comparison."""
    today = decisions[decisions.index.get_level_values("as_of") == date]
    if not len(today):
        return None
    m = _morning(portfolio, date, strategy, scores, None)
    chosen = _prioritised(value_model, m.state, m.names, m.eligible, m.capacity, strategy)
    loans = today.index.get_level_values("loan_id").astype(str).unique()
    wanted, tab = _response(truth, date, strategy, n_paths, horizon_days, loans=list(loans))
    at = pd.Index(m.ids).get_indexer(tab.index.get_level_values("loan_id").unique())
    at = at[at >= 0]
    amount, _, _ = _outcomes(tab, m.ids[at], wanted)
    return _off_policy_row(
        today, date, m.ids[at], chosen[at], m.names, amount, strategy, value_model
    )


def _off_policy_row(decisions, date, ids, chosen, names, amount, strategy, model):
    """IPW/SNIPW/DR of the prioritiser's choices on the day's logged randomised decisions,
    and the truth on the same decisions (expected recovery less the day's action cost)."""
    dates = decisions.index.get_level_values("as_of")
    today = decisions[dates == date]
    loans = today.index.get_level_values("loan_id").astype(str)
    at = pd.Index(ids).get_indexer(loans)
    today, at = today[at >= 0], at[at >= 0]
    if not len(today):
        return None
    target = np.where(chosen[at] >= 0, names[np.maximum(chosen[at], 0)], NO_ACTION)
    actions = (NO_ACTION, *names)
    cost = {NO_ACTION: 0.0, **{a: getattr(strategy.actions, a).cost for a in names}}
    mu = model.predict(today)
    q_hat = pd.DataFrame(
        {a: mu[a].to_numpy() - cost[a] for a in actions if a in mu.columns}, index=today.index
    )
    est = off_policy_value(today, target, q_hat=q_hat)
    col = np.where(chosen[at] >= 0, chosen[at] + 1, 0)
    true = amount[at, col] - np.asarray([cost[a] for a in target])
    return {
        "date": date,
        "n": len(today),
        "matched": est.matched,
        "ipw": est.ipw,
        "snipw": est.snipw,
        "dr": est.dr,
        "dm": est.dm,
        "dr_se": est.dr_se,
        "truth": float(true.mean()),
    }
