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

import lightgbm as lgb
import numpy as np
import pandas as pd

from ..exceptions import OverdueRiskError
from ..model._schema import FeatureSchema
from ._allocate import allocate
from ._ope import off_policy_value
from ._rules import account_state, eligibility
from ._strategy import Strategy
from ._value import DEFAULT_FEATURES
from ._worklist import WAIT, action_values

__all__ = ["PolicyComparison", "compare_policies", "heuristic_actions"]

# Harshest first: the lender's treatment ladder. An account is offered the
# harshest rung its DPD (and balance) call for, and falls down the ladder when
# that rung is ineligible or full.
LADDER = ("legal", "restructure", "visit", "call", "sms")
HARSH = ("visit", "legal")
CONTACTS = ("sms", "call", "visit")


def ladder_level(state: pd.DataFrame, scenario) -> np.ndarray:
    """The harshest rung (index into LADDER) the champion rules would give each account."""
    c = scenario.collections
    dpd = state["dpd"].to_numpy()
    balance = state["balance"].to_numpy(dtype=np.float64, na_value=0.0)
    level = np.full(len(state), LADDER.index("sms"))
    level = np.where(dpd >= c.call_from, LADDER.index("call"), level)
    visit = (dpd >= c.visit_from) & (balance >= c.visit_min_balance)
    level = np.where(visit, LADDER.index("visit"), level)
    level = np.where(dpd >= c.restructure_at, LADDER.index("restructure"), level)
    return np.where(dpd >= c.legal_from, LADDER.index("legal"), level)


def heuristic_actions(
    priority: np.ndarray,
    level: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    capacity: Sequence[float],
) -> np.ndarray:
    """Fill each action's capacity in priority order, harshest rung first.

    Account ``i`` may take a rung at or below ``level[i]`` that it is
    eligible for; rungs are filled from the harshest down, each by the
    highest-priority accounts still unassigned. Returns the chosen column of
    ``actions`` per account, -1 for wait.
    """
    n = len(priority)
    order = np.lexsort((np.arange(n), -np.asarray(priority, dtype=np.float64)))
    chosen = np.full(n, -1)
    for rung, name in enumerate(LADDER):
        if name not in actions:
            continue
        j = list(actions).index(name)
        want = (chosen[order] < 0) & (level[order] <= rung) & eligible[order, j]
        picked = order[want]
        cap = capacity[j]
        if np.isfinite(cap):
            picked = picked[: int(cap)]
        chosen[picked] = j
    return chosen


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
    from ..features._custom import cut_portfolio

    evening = date - pd.Timedelta(days=1)
    state = account_state(strategy, cut_portfolio(portfolio, evening), date)
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
        np.array([getattr(strategy.actions, a).capacity for a in names]),
        state.index.astype(str).to_numpy()[keep],
    )


_CEILING_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "lambda_l2": 1.0,
    "seed": 0,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}


class _Ceiling:
    """The best a value model reading given state columns could do: one regressor per
    action of the truth's net gain over waiting, fitted on earlier dates' exact expected
    values (no noisy outcomes, no randomised cell needed). Its share of the oracle bounds
    what better learning can add; the rest needs other columns."""

    def __init__(self, features: Sequence[str]):
        self.features = list(features)

    def fit(self, frames: Sequence[pd.DataFrame], gains: Sequence[pd.DataFrame]) -> _Ceiling:
        X = pd.concat([f[self.features] for f in frames])
        G = pd.concat(gains)
        self.schema_ = FeatureSchema.from_frame(X)
        encoded = self.schema_.encode(X)
        self.boosters_ = {}
        for a in G.columns:
            data = lgb.Dataset(
                encoded,
                label=G[a].to_numpy(),
                feature_name=self.schema_.booster_names(),
                categorical_feature=self.schema_.categorical_indices,
            )
            self.boosters_[a] = lgb.train(_CEILING_PARAMS, data, num_boost_round=300)
        return self

    def predict(self, state: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
        encoded = self.schema_.encode(state[self.features], "state")
        return np.column_stack([self.boosters_[a].predict(encoded) for a in names])


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
      the logged champion rules);
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
    days = pd.to_datetime(list(dates))
    models = dict(value_model) if isinstance(value_model, Mapping) else {"prioritiser": value_model}
    if not models:
        raise OverdueRiskError("value_model must be a value model or a non-empty mapping of them.")
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

        level = ladder_level(state, truth.scenario)
        balance = state["balance"].to_numpy(dtype=np.float64, na_value=0.0)
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
            "highest_dpd": heuristic_actions(state["dpd"].to_numpy(), level, elig, names, capacity),
            "highest_balance": heuristic_actions(balance, level, elig, names, capacity),
            "expected_loss": heuristic_actions(
                state["risk_score"].to_numpy() * balance, level, elig, names, capacity
            ),
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


def _response(truth, date, strategy, n_paths, horizon_days, **kwargs):
    """("none" and the strategy's actions, the truth's response to each from the evening
    before ``date``); ``kwargs`` go to :meth:`SimulationTruth.action_response`."""
    wanted = ("none", *(a for a in strategy.action_names if a != WAIT))
    tab = truth.action_response(
        date - pd.Timedelta(days=1),
        actions=list(wanted),
        n_paths=n_paths,
        days=horizon_days,
        **kwargs,
    )
    return wanted, tab


def _fit_ceiling(
    truth, portfolio, dates, strategy, scores, features, *, first, n_paths, horizon_days
) -> _Ceiling:
    """The ceiling policy's regressors, fitted on the truth of ``dates`` (before ``first``)."""
    days = pd.to_datetime(list(dates))
    if not len(days) or days.max() >= first:
        raise OverdueRiskError(
            "ceiling_dates must be one or more dates before the first decision date "
            f"{first.date()}; got {[str(d.date()) for d in days]}."
        )
    frames, gains = [], []
    for date in days:
        wanted, tab = _response(truth, date, strategy, n_paths, horizon_days)
        m = _morning(portfolio, date, strategy, scores, tab)
        amount, cost, _ = _outcomes(tab, m.ids, wanted)
        net = amount - cost
        frames.append(m.state)
        gains.append(pd.DataFrame(net[:, 1:] - net[:, :1], columns=list(m.names)))
    return _Ceiling(features).fit(frames, gains)


def _prioritised(model, state, names, eligible, capacity, strategy) -> np.ndarray:
    """The prioritiser's choice per account (column of ``names``, -1 for wait)."""
    _, net = action_values(model, state, tuple(names), strategy)
    usable = eligible & ~np.isnan(net)
    return allocate(np.where(usable, net, 0.0), usable, capacity).action


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
    target = np.where(chosen[at] >= 0, names[np.maximum(chosen[at], 0)], "none")
    actions = ("none", *names)
    cost = {"none": 0.0, **{a: getattr(strategy.actions, a).cost for a in names}}
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


def simulated_comparison(
    n_loans: int,
    dates: Sequence,
    strategy: Strategy,
    *,
    seed: int = 0,
    start="2023-01-01",
    n_paths: int = 100,
    horizon_days: int = 30,
    scenario=None,
    ceiling_dates: Sequence | None = None,
    ope_dates: Sequence | None = None,
    value_seeds: Sequence[int] = (0,),
) -> tuple[PolicyComparison, dict]:
    """Simulate a lender, learn its risk and response models, and compare the policies.

    Everything the prioritiser learns is dated before the first decision date:
    the risk model trains on month ends whose 90-day horizon ended by then,
    the response model on the randomised cell's decisions whose horizon
    ended by then. The simulation runs to ``horizon_days`` after the last
    date (of ``dates`` and ``ope_dates``), so that the logged decisions on the
    dates have their rewards. ``ceiling_dates`` and ``ope_dates`` are passed
    to :func:`compare_policies`; ``ope_dates`` must not come before the first
    decision date, and those after the last one lengthen the simulation,
    which is then another book (the loans' start dates spread over it).
    The response model is fitted once per ``value_seeds`` entry (its
    ``random_state``): the first is ``prioritiser``, the others
    ``prioritiser_seed<k>``, to show how much the choices hang on the seed.

    Returns
    -------
    (PolicyComparison, dict)
        The comparison, and what was learned (``risk_model``,
        ``value_model``, the training ``decisions`` and the ``portfolio``).
    """
    from ..features import build_features
    from ..labels import DpdTarget, build_training_set
    from ..model import RiskModel
    from ..simulate import simulate_portfolio
    from ._decisions import logged_decisions
    from ._value import ResponseModel

    seeds = list(value_seeds)
    if not seeds:
        raise OverdueRiskError("value_seeds must hold at least one seed.")
    days = pd.to_datetime(list(dates)).sort_values()
    first_evening = days[0] - pd.Timedelta(days=1)
    ope_days = days if ope_dates is None else days.union(pd.to_datetime(list(ope_dates)))
    if ope_days[0] < days[0]:
        raise OverdueRiskError(
            f"ope_dates must not come before the first decision date {days[0].date()}: the "
            "value model learns from everything before it."
        )
    end = ope_days[-1] + pd.Timedelta(days=horizon_days)
    portfolio, truth = simulate_portfolio(n_loans, start, end, seed=seed, scenario=scenario)
    from ..contract import validate

    portfolio = validate(portfolio)

    target = DpdTarget()
    month_ends = pd.date_range(
        pd.Timestamp(start) + pd.DateOffset(months=4), first_evening, freq="ME"
    )
    data = build_training_set(portfolio, month_ends, target, observed_until=first_evening)
    as_of = data.index.get_level_values("as_of")
    last = as_of.max()
    fit, val = data[as_of < last], data[as_of == last]
    risk = RiskModel(calibration="isotonic", target=target).fit(
        fit.drop(columns="label"), fit["label"], val.drop(columns="label"), val["label"]
    )

    def scores(evening: pd.Timestamp) -> pd.DataFrame:
        X = build_features(portfolio, evening)
        p = risk.predict_proba(X)[:, 1]
        return pd.DataFrame({"score": p}, index=X.index.get_level_values("loan_id").astype(str))

    history = logged_decisions(
        portfolio,
        pd.Timestamp(start) + pd.Timedelta(days=60),
        first_evening - pd.Timedelta(days=horizon_days - 1),
        horizon_days=horizon_days,
        data_end=first_evening,
    )
    counts = history["action"].astype(str).value_counts()
    known = [a for a in counts.index if counts[a] >= 200]
    # Unlike learn_value_model there is no fallback: with too few randomised rows for
    # an action the prioritiser simply has no value for it.
    models = {
        "prioritiser" if i == 0 else f"prioritiser_seed{k}": ResponseModel(
            actions=known, random_state=k
        ).fit(history)
        for i, k in enumerate(seeds)
    }
    value = models["prioritiser"]
    evaluation = logged_decisions(
        portfolio, ope_days[0], ope_days[-1], horizon_days=horizon_days, data_end=end
    )
    comparison = compare_policies(
        truth,
        portfolio,
        days,
        strategy,
        scores=scores,
        value_model=models,
        decisions=evaluation,
        n_paths=n_paths,
        horizon_days=horizon_days,
        ceiling_dates=ceiling_dates,
        ope_dates=ope_dates,
    )
    learned = {
        "portfolio": portfolio,
        "truth": truth,
        "risk_model": risk,
        "value_model": value,
        "decisions": history,
    }
    return comparison, learned
