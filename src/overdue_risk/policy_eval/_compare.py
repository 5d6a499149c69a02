"""Policy evaluation against the simulator's truth, at equal capacity and rules.

On each decision date every policy assigns today's actions to the accounts
overdue that morning, under the same eligibility and contact rules and the same
daily capacities. The simulator's truth (:meth:`SimulationTruth.action_response`)
then gives, from the same Monte Carlo paths for every policy (common random
numbers), each account's expected recovery and collection cost over the next
``horizon`` days under each action taken that day, the logged policy acting on
the days after. A policy's value is the sum over accounts of recovery minus
cost of the action it chose, reported against doing nothing that day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..contract import WAIT
from ..exceptions import OverdueRiskError
from ..prioritise import DEFAULT_FEATURES, ArrearsRule, LadderRule, Strategy, allocate
from ._ceiling import _fit_ceiling
from ._day import _morning, _outcomes, _prioritised, _response
from ._ladder import CONTACTS, HARSH, HEURISTICS, _ladder_fill
from ._off_policy import _off_policy_day, _off_policy_row

__all__ = ["PolicyComparison", "compare_policies"]


@dataclass(frozen=True, eq=False)
class PolicyComparison:
    """Every policy's outcome on every decision date, from the simulator's truth.

    Attributes
    ----------
    dates : list of Timestamp
    strategy : Strategy
    """

    dates: list
    strategy: Strategy
    _rows: pd.DataFrame = field(repr=False)
    _ope: pd.DataFrame | None = field(default=None, repr=False)

    def table(self) -> pd.DataFrame:
        """Per policy, summed over the dates.

        ``recovered`` and ``cost`` are expected over the horizon (the logged
        policy acting after the day); ``net_vs_none`` is the net against doing
        nothing that day, and ``share_of_oracle`` its ratio to the oracle's;
        ``payers`` the expected accounts paying; ``contacts`` and
        ``harsh_actions`` (visits, legal) the day's; ``rule_violations`` the
        actions the contact rules forbid.
        """
        t = self._rows.groupby("policy", sort=False).sum(numeric_only=True)
        oracle = t["net_vs_none"].get("oracle", np.nan)
        t["share_of_oracle"] = t["net_vs_none"] / oracle if oracle else np.nan
        t["contacts_per_account"] = t["contacts"] / t["accounts"]
        t["harsh_per_payer"] = t["harsh_actions"] / t["payers"]
        return t

    def by_date(self) -> pd.DataFrame:
        """The same, per decision date."""
        return self._rows.copy()

    def off_policy(self) -> pd.DataFrame | None:
        """Per date and pooled: the IPW, self-normalised IPW and doubly robust estimates
        of the prioritiser's value per logged randomised decision (recovery within the
        horizon less the day's action cost), with the truth on the same decisions."""
        if self._ope is None:
            return None
        per = self._ope.set_index("date").sort_index()
        pooled = {}
        n = per["n"].sum()
        for col in ("ipw", "snipw", "dr", "dm", "truth"):
            pooled[col] = float((per[col] * per["n"]).sum() / n)
        pooled["dr_se"] = float(np.sqrt(((per["dr_se"] * per["n"]) ** 2).sum()) / n)
        pooled["matched"] = per["matched"].sum()
        pooled["n"] = n
        out = pd.concat([per, pd.DataFrame([pooled], index=pd.Index(["pooled"], name="date"))])
        for col in ("ipw", "snipw", "dr", "dm"):
            out[f"{col}_error"] = out[col] / out["truth"] - 1
        return out


def check_actions(strategy: Strategy) -> None:
    """Refuse a strategy that only waits: every policy would do nothing, and the
    comparison would compare nothing (a worklist of such a strategy is valid)."""
    if strategy.action_names == (WAIT,):
        raise OverdueRiskError(
            f"strategy {strategy.name!r} enables no action but wait: a policy comparison "
            "needs at least one action to allocate (enable one in strategy.actions)."
        )


def compare_policies(
    truth,
    portfolio,
    dates: Sequence,
    strategy: Strategy,
    *,
    scores: Callable[[pd.Timestamp], pd.DataFrame],
    value_model,
    decisions: pd.DataFrame | None = None,
    n_paths: int = 100,
    horizon_days: int = 30,
    ceiling_dates: Sequence | None = None,
    ope_dates: Sequence | None = None,
    rules: Mapping | None = None,
) -> PolicyComparison:
    """Compare the prioritiser with heuristics, the logged policy and an oracle.

    On each date every policy assigns that day's actions to the accounts
    overdue that morning, within the same capacities and contact rules:

    * ``prioritiser``: the allocation of ``value_model``'s net values (one
      row per model when ``value_model`` is a mapping of names to models);
    * ``oracle``: the allocation of the true net values;
    * ``ceiling`` (with ``ceiling_dates``): the allocation of regressors of
      the true net gains on the columns the value model reads, fitted on the
      truth of earlier dates: what the best value model could do with the
      same state, learning from exact expected values instead of noisy
      outcomes of a randomised cell. The gap from the prioritiser is
      learning; the gap from it to the oracle needs other columns;
    * ``highest_dpd``, ``highest_balance``, ``expected_loss`` (risk score x
      balance): capacity filled in that order down the lender's treatment
      ladder (legal, restructure, visit, call, SMS by DPD and balance, as
      the logged champion rules): :class:`~overdue_risk.prioritise.LadderRule`
      with the scenario's thresholds, allocated greedily;
    * ``arrears_rule`` (and any other ``rules``): the allocation of a rule's
      values, by default :class:`~overdue_risk.prioritise.ArrearsRule` with
      its stated lifts (SMS 1%, call 5%, visit 15% of the arrears), the
      rule a collections manager compares any policy with;
    * ``logged``: what the lender's logged policy did that day (it knows no
      capacity, and its actions are counted against the rules too);
    * ``no_action``.

    Parameters
    ----------
    truth : SimulationTruth
        Of the simulated ``portfolio``.
    portfolio : Portfolio
        Validated; cut to the records before each date for the state.
    dates : date-likes
        Decision dates; the truth starts from the evening before each.
    strategy : Strategy
        Actions, costs, capacities and rules, shared by every policy.
    scores : callable
        ``scores(evening)`` gives risk scores (by ``loan_id``, column
        ``score``) from a model that saw nothing after ``evening``.
    value_model : value model or mapping of str to value models
        Fitted on data observed before the first date (see :func:`prioritise`).
        A mapping gives one policy per model, named by its key (the same
        model refitted with other random seeds, say, to see how much the
        choices depend on them); the first is the one the off-policy
        estimates and the ceiling's columns use.
    decisions : DataFrame, optional
        :func:`logged_decisions` rows on the dates: gives the off-policy
        estimates of the prioritiser's value, checked against the truth.
    n_paths, horizon_days
        Monte Carlo paths and days of the truth.
    ceiling_dates : date-likes, optional
        Dates before the first decision date whose truth trains the
        ``ceiling`` policy; without them it is not compared.
    rules : mapping of str to value models, optional
        Rules allocated like the prioritiser, one policy each; default
        ``{"arrears_rule": ArrearsRule()}``.
    ope_dates : date-likes, optional
        More dates for the off-policy estimates alone (with ``decisions``):
        on each, the prioritiser allocates the day's capacity over every
        account overdue in the ledger, and the truth is computed for the
        randomised cell's decisions only, which makes many days cheap. One
        day has a few hundred decisions, too few for the estimates' noise to
        fall within a few percent.

    Returns
    -------
    PolicyComparison
    """
    check_actions(strategy)
    days = pd.to_datetime(list(dates))
    models = dict(value_model) if isinstance(value_model, Mapping) else {"prioritiser": value_model}
    if not models:
        raise OverdueRiskError("value_model must be a value model or a non-empty mapping of them.")
    rules = {"arrears_rule": ArrearsRule()} if rules is None else dict(rules)
    clash = sorted(set(rules) & set(models))
    if clash:
        raise OverdueRiskError(f"rules and value_model both name the policies {clash}.")
    first = next(iter(models))  # the model of the off-policy estimates and the ceiling
    value_model = models[first]
    ceiling = None
    if ceiling_dates is not None:
        ceiling = _fit_ceiling(
            truth,
            portfolio,
            ceiling_dates,
            strategy,
            scores,
            list(getattr(value_model, "feature_names_in_", DEFAULT_FEATURES)),
            first=days.min(),
            n_paths=n_paths,
            horizon_days=horizon_days,
        )
    ladders = {
        name: LadderRule.from_collections(truth.scenario.collections, priority=priority)
        for name, priority in HEURISTICS.items()
    }
    rows, ope_rows = [], []
    for date in days:
        wanted, tab = _response(truth, date, strategy, n_paths, horizon_days)
        # The oracle chooses on other futures than those it is scored on: with the
        # same paths it would also profit from their Monte Carlo noise.
        _, seen = _response(
            truth, date, strategy, n_paths, horizon_days, seed=truth.seed + 1_000_003
        )
        m = _morning(portfolio, date, strategy, scores, tab)
        state, elig, names, capacity, ids = m.state, m.eligible, m.names, m.capacity, m.ids
        amount, cost, p_pay = _outcomes(tab, ids, wanted)
        net_true = amount - cost  # recovery less every collection cost over the horizon
        seen_amount, seen_cost, _ = _outcomes(seen, ids, wanted)
        gain = (seen_amount - seen_cost)[:, 1:] - (seen_amount - seen_cost)[:, :1]

        choices = {
            **{
                name: _prioritised(model, state, names, elig, capacity, strategy)
                for name, model in models.items()
            },
            "oracle": allocate(gain, elig, capacity).action,
            **(
                {"ceiling": allocate(ceiling.predict(state, names), elig, capacity).action}
                if ceiling is not None
                else {}
            ),
            **{
                name: _ladder_fill(rule, state, names, elig, capacity, strategy)
                for name, rule in ladders.items()
            },
            **{
                name: _prioritised(rule, state, names, elig, capacity, strategy)
                for name, rule in rules.items()
            },
            "logged": _logged_actions(portfolio, date, ids, names),
            "no_action": np.full(len(ids), -1),
        }
        r = np.arange(len(ids))
        for policy, chosen in choices.items():
            took = chosen >= 0
            col = np.where(took, chosen + 1, 0)
            kind = names[np.maximum(chosen, 0)]
            rows.append(
                {
                    "date": date,
                    "policy": policy,
                    "accounts": len(ids),
                    "treated": int(took.sum()),
                    **{f"n_{a}": int((chosen == j).sum()) for j, a in enumerate(names)},
                    "recovered": float(amount[r, col].sum()),
                    "cost": float(cost[r, col].sum()),
                    "net": float(net_true[r, col].sum()),
                    "net_vs_none": float((net_true[r, col] - net_true[:, 0]).sum()),
                    "payers": float(p_pay[r, col].sum()),
                    "contacts": int((took & np.isin(kind, CONTACTS)).sum()),
                    "harsh_actions": int((took & np.isin(kind, HARSH)).sum()),
                    "rule_violations": int((took & ~elig[r, np.maximum(chosen, 0)]).sum()),
                }
            )
        if decisions is not None:
            ope_rows.append(
                _off_policy_row(
                    decisions,
                    date,
                    ids,
                    choices[first],
                    names,
                    amount,
                    strategy,
                    value_model,
                )
            )
    extra = [] if ope_dates is None or decisions is None else pd.to_datetime(list(ope_dates))
    for date in (d for d in extra if d not in days):
        ope_rows.append(
            _off_policy_day(
                truth,
                portfolio,
                date,
                strategy,
                scores,
                value_model,
                decisions,
                n_paths,
                horizon_days,
            )
        )
    ope = [o for o in ope_rows if o is not None]
    return PolicyComparison(
        list(days),
        strategy,
        pd.DataFrame(rows),
        pd.DataFrame(ope) if ope else None,
    )


def _logged_actions(portfolio, date, ids: np.ndarray, names: np.ndarray) -> np.ndarray:
    """The logged policy's action on ``date`` for each account (-1 when none or not a
    strategy action, e.g. a letter)."""
    log = portfolio.collections
    out = np.full(len(ids), -1)
    if log is None:
        return out
    today = log[pd.to_datetime(log["action_date"]) == date]
    if today.empty:
        return out
    first = today.drop_duplicates("loan_id")
    action = pd.Series(first["action"].astype(str).to_numpy(), index=first["loan_id"].astype(str))
    got = action.reindex(ids)
    return pd.Index(list(names), dtype=object).get_indexer(got.to_numpy(dtype=object))
