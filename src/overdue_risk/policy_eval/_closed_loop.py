"""Closed-loop policy evaluation: every policy runs the collections every day, for weeks.

:func:`compare_policies` scores one decision day per policy, the logged policy
acting afterwards. Here each policy decides every morning of a run of ``days``
days inside the simulator, on the state its own earlier actions produced,
under the strategy's daily capacities (per Monte Carlo path: each path is a
lender of its own) and contact rules. All policies start from the same state
and see the same random draws (common random numbers), so differences
between them are the policies'.

What a policy sees each morning is what a lender observes
(:class:`~overdue_risk.simulate.PolicyContext` and the policy's own log of the
run), turned into the prioritiser's state columns by :func:`~._daily.daily_state`;
what the simulator does not record is read on the side of the rules (see that
module). The oracle is the exception: it also sees the truth's one-step value
of each action (:meth:`~overdue_risk.simulate.SimulationTruth.simulate_oracle`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dates import day_of, to_date
from .._params import Interval, Options, check, suggest
from ..exceptions import OverdueRiskError
from ..prioritise import ArrearsRule, Strategy
from ..simulate import LoggedPolicy, NoAction, SimulationTruth, simulate_policy
from ._compare import check_actions
from ._loop import DAY_COLUMNS, LoopPolicy, ladder_chooser, oracle_chooser, value_chooser
from ._simulated import MAX_PATHS

__all__ = ["BASELINES", "ClosedLoopComparison", "closed_loop_comparison"]

logger = logging.getLogger(__name__)

# The policies every comparison can hold besides the caller's, in the table's order.
BASELINES = (
    "oracle",
    "arrears_rule",
    "highest_dpd",
    "highest_balance",
    "expected_loss",
    "logged",
    "no_action",
)
_ACTIONS = ("sms", "call", "visit", "letter", "restructure", "legal")
_HEADLINE = [
    "net",
    "net_vs_none",
    "share_of_oracle",
    "cures",
    "cured_by_end",
    "contacts_per_account",
    "complaints",
    "opt_outs",
    "harsh_per_cure",
    "rule_violations",
    "over_capacity",
]


@dataclass(frozen=True, eq=False)
class ClosedLoopComparison:
    """Every policy run every day of a closed loop, on the simulator's truth.

    Attributes
    ----------
    start : Timestamp
        The first day of the run.
    days, n_paths, seed : int
    strategy : Strategy
    book : int
        Loans open the evening before ``start`` (overdue or not): the base
        of the capacities.
    capacities : dict of str to float
        Each action's capacity per day and path.
    seconds : dict of str to float
        The time each policy's run took.
    """

    start: pd.Timestamp
    days: int
    n_paths: int
    seed: int
    strategy: Strategy = field(repr=False)
    book: int
    capacities: dict = field(repr=False)
    _table: pd.DataFrame = field(repr=False)
    _by_day: pd.DataFrame = field(repr=False)
    _decisions: pd.DataFrame = field(repr=False)
    _one_step: pd.DataFrame | None = field(repr=False)
    seconds: dict = field(repr=False, default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Per policy, totals per path over the run.

        ``recovered`` is the money received from the loans delinquent during
        the run, ``cost`` every collection cost (the simulator's), ``net``
        the difference and ``net_vs_none`` that against no action;
        ``share_of_oracle`` is ``net_vs_none`` over the oracle's. ``cures``
        are loans that came back to current after being overdue, on the same
        loan (a restructuring is not a cure), on some day of the run;
        ``cured_by_end`` the loans overdue at the start that are current at
        the end on the same loan. ``contacts_per_account`` divides contact
        attempts by delinquent loans, ``harsh_per_cure`` visits and legal
        actions by cures; ``opt_outs`` are customers who opted out of calls
        and visits (after a complaint). ``n_<action>`` count the actions
        taken. ``rule_violations`` are actions the strategy forbids that day
        (its rules, or an action it does not enable); ``over_capacity`` the
        actions beyond a day's capacity; ``blocked_actions`` those the
        simulator refused (an opt-out, a second legal action).
        """
        return self._table.copy()

    def by_day(self) -> pd.DataFrame:
        """Per policy and day: the run's totals at the day's end, and the day's decisions.

        ``recovered``, ``cost``, ``net`` (and ``net_vs_none``), ``contacts``,
        ``harsh_actions``, ``complaints`` and ``delinquent_accounts`` are
        cumulative per path, as the run stood that evening; ``overdue`` (the
        morning's overdue accounts), ``treated``, ``n_<action>``,
        ``rule_violations`` and ``over_capacity`` are the day's, per path.
        """
        return self._by_day.copy()

    def decisions(self) -> pd.DataFrame:
        """Per policy, day and path: the day's overdue accounts, actions and breaches."""
        return self._decisions.copy()

    def one_step(self) -> pd.DataFrame | None:
        """The first morning's choices, valued by the oracle's look-ahead (None without it).

        On the first morning every policy sees the same accounts in the same
        state, so the oracle's estimates value every policy's choices:
        ``estimated_gain`` sums, per path, the estimated net gain over no
        action of each action chosen; ``unvalued`` counts the actions the
        look-ahead did not value (an action the rules forbid or the strategy
        does not enable). The oracle's choice maximises ``estimated_gain``
        among all choices within the capacities and rules: no such policy can
        have more.
        """
        return None if self._one_step is None else self._one_step.copy()

    def summary(self) -> pd.DataFrame:
        """The headline columns of :meth:`table`, best net first; ``attrs`` hold the run."""
        out = self._table[_HEADLINE].sort_values("net", ascending=False, kind="stable")
        out.attrs.update(
            {
                "start": str(self.start.date()),
                "days": self.days,
                "n_paths": self.n_paths,
                "seed": self.seed,
                "book": self.book,
                "capacities": dict(self.capacities),
            }
        )
        return out

    def plot(self, ax=None):
        """Cumulative net against no action (or net, without it) by day, one line per policy.

        Returns
        -------
        matplotlib Axes
        """
        from .._compat import pyplot

        if ax is None:
            _, ax = pyplot().subplots(figsize=(7, 4))
        column = "net_vs_none" if "net_vs_none" in self._by_day.columns else "net"
        wide = self._by_day[column].unstack("policy")
        for name in wide.columns:
            ax.plot(wide.index, wide[name], label=name)
        ax.set(xlabel="day", ylabel=f"cumulative {column.replace('_', ' ')} per path")
        ax.set_title(f"Closed loop from {self.start.date()}, {self.days} days")
        ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
        return ax

    def to_dict(self) -> dict:
        return {
            "start": str(self.start.date()),
            "days": self.days,
            "n_paths": self.n_paths,
            "seed": self.seed,
            "book": self.book,
            "capacities": dict(self.capacities),
            "table": self._table.to_dict("index"),
        }

    def __repr__(self) -> str:
        return (
            f"ClosedLoopComparison({len(self._table)} policies, {self.days} days from "
            f"{self.start.date()}, {self.n_paths} paths, book {self.book:,})"
        )


def _reads_risk_score(model) -> bool:
    names = list(getattr(model, "feature_names_in_", ()))
    return "risk_score" in names or getattr(model, "score_column", None) == "risk_score"


def _policies(policies, baselines, scorer) -> dict[str, tuple[str, object]]:
    """``{name: (kind, what)}``: the caller's policies, then the baselines, checked."""
    if policies is not None and not isinstance(policies, Mapping):
        raise OverdueRiskError(
            f"policies must be a mapping of names to value models or policies; got "
            f"{type(policies).__name__}."
        )
    out: dict[str, tuple[str, object]] = {}
    for name, given in (policies or {}).items():
        if not isinstance(name, str) or not name:
            raise OverdueRiskError(f"policies keys must be non-empty names; got {name!r}.")
        if hasattr(given, "predict"):
            if scorer is None and _reads_risk_score(given):
                raise OverdueRiskError(
                    f"policies[{name!r}] reads risk_score, which the closed loop has only with "
                    "a scorer: pass scorer= (a model of the daily state), or use a value "
                    "model without risk_score."
                )
            out[name] = ("value", given)
        elif callable(given):
            out[name] = ("policy", given)
        else:
            raise OverdueRiskError(
                f"policies[{name!r}] must be a value model (an object with predict(state), as "
                "ResponseModel and ArrearsRule) or a simulator policy (a callable of "
                f"PolicyContext, as LoggedPolicy); got {type(given).__name__}."
            )
    if baselines is None:
        chosen = [b for b in BASELINES if b != "expected_loss" or scorer is not None]
    else:
        if isinstance(baselines, str) or not isinstance(baselines, Sequence):
            raise OverdueRiskError(
                f"baselines must be a list of names among {', '.join(BASELINES)}; got "
                f"{type(baselines).__name__}."
            )
        chosen = list(baselines)
        for b in chosen:
            if b not in BASELINES:
                raise OverdueRiskError(
                    f"Unknown baseline {b!r}{suggest(b, BASELINES) or '.'} The baselines are "
                    f"{', '.join(BASELINES)}."
                )
        if "expected_loss" in chosen and scorer is None:
            raise OverdueRiskError(
                "The expected_loss baseline needs a risk score: pass scorer= (a model of the "
                "daily state)."
            )
    clash = sorted(set(out) & set(chosen))
    if clash:
        raise OverdueRiskError(f"policies and baselines both name {clash}.")
    for b in BASELINES:
        if b in chosen:
            out[b] = ("baseline", b)
    if not out:
        raise OverdueRiskError("Nothing to compare: give policies or baselines.")
    return out


def _loop_policy(kind, what, truth, common) -> tuple[LoopPolicy, bool]:
    """The LoopPolicy of one entry of :func:`_policies`, and whether it is the oracle."""
    if kind == "value":
        return LoopPolicy(value_chooser(what), **common), False
    if kind == "policy":
        return LoopPolicy(inner=what, **common), False
    balance = lambda s: s["balance"].to_numpy(dtype=np.float64, na_value=0.0)  # noqa: E731
    builtin: dict[str, Callable[[], LoopPolicy]] = {
        "oracle": lambda: LoopPolicy(oracle_chooser, **common),
        "arrears_rule": lambda: LoopPolicy(value_chooser(ArrearsRule()), **common),
        "highest_dpd": lambda: LoopPolicy(
            ladder_chooser(lambda s: s["dpd"].to_numpy(dtype=np.float64)), **common
        ),
        "highest_balance": lambda: LoopPolicy(ladder_chooser(balance), **common),
        "expected_loss": lambda: LoopPolicy(
            ladder_chooser(lambda s: s["risk_score"].to_numpy() * balance(s)), **common
        ),
        "logged": lambda: LoopPolicy(inner=LoggedPolicy(truth.scenario), **common),
        "no_action": lambda: LoopPolicy(inner=NoAction(), **common),
    }
    return builtin[what](), what == "oracle"


def closed_loop_comparison(
    truth: SimulationTruth,
    start,
    *,
    strategy: Strategy | str,
    days: int = 60,
    policies: Mapping | None = None,
    baselines: Sequence[str] | None = None,
    n_paths: int = 2,
    seed: int | None = None,
    scorer: Callable[[pd.DataFrame], np.ndarray] | None = None,
    loans=None,
    oracle_paths: int = 10,
    oracle_horizon_days: int = 30,
    oracle_then: str = "logged",
    run_off_days: int = 0,
    run_off_then: str = "logged",
) -> ClosedLoopComparison:
    """Run every policy every day for ``days`` days in the simulator, and compare them.

    From the portfolio's state the evening before ``start`` (every loan open
    then, or ``loans``), each policy decides every morning which overdue
    account gets which action, on the state its own earlier actions left,
    under the strategy's rules and its daily capacities (per path), and the
    simulator runs the day. Policies:

    * ``policies``: value models (anything with ``predict(state)`` as
      :func:`~overdue_risk.prioritise.action_values` reads it: a fitted
      :class:`~overdue_risk.prioritise.ResponseModel`, an
      :class:`~overdue_risk.prioritise.ArrearsRule` with estimated lifts,
      ...), whose net values are allocated like the prioritiser's; or
      simulator policies (callables of a ``PolicyContext``), whose actions
      are taken as they are and counted against the capacities and rules;
    * baselines (``baselines``, by default all that apply): ``oracle``
      (each morning the allocation of the truth's one-step net gains: the
      gain of each eligible action taken today over none, the logged policy
      acting afterwards, estimated with ``oracle_paths`` Monte Carlo
      look-aheads of ``oracle_horizon_days`` days branched from each
      account's exact state on its path); ``arrears_rule``
      (:class:`~overdue_risk.prioritise.ArrearsRule`'s stated lifts);
      ``highest_dpd``, ``highest_balance`` and ``expected_loss`` (risk
      score x balance; only with a ``scorer``), capacity filled in that order
      down the treatment ladder (:func:`heuristic_actions`); ``logged`` (the
      scenario's logged policy, which knows no capacity or strategy) and
      ``no_action``.

    Every policy starts from the same state and sees the same random draws.

    Parameters
    ----------
    truth : SimulationTruth
    start : date-like
        The first day of the run; the state is the truth's the evening before.
    strategy : Strategy, profile name or TOML path
        Actions, costs, capacities (``Strategy.capacities`` of the book: the
        loans open the evening before ``start``) and rules.
    days : int, default 60
        Days of the run, 1 to 365.
    policies : mapping of str to value models or policies, optional
    baselines : list of str, optional
        Among :data:`BASELINES`; by default all, ``expected_loss`` only with
        a ``scorer``.
    n_paths : int, default 2
        Monte Carlo paths, 1 to :data:`MAX_PATHS`; each has its capacity.
    seed : int, optional
        Seed of the run's draws (the truth's by default).
    scorer : callable, optional
        ``scorer(state) -> probabilities``: a risk score per account from the
        morning's state (the prioritiser's state columns; the closed loop has
        no nightly feature build of the running book). Joined as
        ``risk_score``, it feeds ``expected_loss`` and value models that read
        it. Without it no policy reads a risk score, and a value model that
        does is refused.
    loans : list of str, optional
        Only these loans (open the evening before ``start``).
    oracle_paths, oracle_horizon_days : int, default 10, 30
        The oracle's look-aheads per account and morning, and their days.
        Its cost grows with both: every morning it simulates (accounts
        valued + eligible pairs) x ``oracle_paths`` rows for
        ``oracle_horizon_days`` days.
    oracle_then : {"logged", "none"}, default "logged"
        What acts after the oracle's action in its look-aheads: the logged
        policy (a rollout of it, as :meth:`SimulationTruth.action_response`
        values actions), or nothing.
    run_off_days : int, default 0
        Days the run goes on after the ``days`` of decisions, every policy's
        world continued by the same ``run_off_then`` policy, so that what a
        policy leaves owed at the end is counted: a restructured plan's
        instalments, a legal action's recovery, arrears left to roll. With a
        run-off ``recovered``, ``cost``, ``net`` (and ``net_vs_none``,
        ``share_of_oracle``), ``cures``, ``cured_by_end`` and ``opt_outs``
        count to its end, ``net_in_window`` the decision days alone; the
        contacts, harsh actions, complaints, action counts and rule checks are
        the decision days'. 0 to 730.
    run_off_then : {"logged", "none"}, default "logged"
        What acts in the run-off: the scenario's logged policy, or nothing.

    Returns
    -------
    ClosedLoopComparison

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk.policy_eval import closed_loop_comparison
    >>> _, truth = odr.simulate_portfolio(400, "2024-01-01", "2024-06-30", seed=1)
    >>> strategy = odr.Strategy().replace(actions={"call": {"capacity": 3}})
    >>> result = closed_loop_comparison(truth, "2024-05-01", strategy=strategy, days=5,
    ...     baselines=["highest_dpd", "logged", "no_action"], n_paths=1)
    >>> float(result.table().loc["highest_dpd", "rule_violations"])
    0.0
    >>> bool((result.decisions().loc["highest_dpd", "n_call"] <= 3).all())
    True
    """
    if not isinstance(truth, SimulationTruth):
        raise OverdueRiskError(f"truth must be a SimulationTruth; got {type(truth).__name__}.")
    days = check(Interval(int, 1, 365), days, key="days", error=OverdueRiskError)
    n_paths = check(Interval(int, 1, MAX_PATHS), n_paths, key="n_paths", error=OverdueRiskError)
    for key, value in (
        ("oracle_paths", oracle_paths),
        ("oracle_horizon_days", oracle_horizon_days),
    ):
        limit = MAX_PATHS if key == "oracle_paths" else 365
        check(Interval(int, 1, limit), value, key=key, error=OverdueRiskError)
    check(Options(("logged", "none")), oracle_then, key="oracle_then", error=OverdueRiskError)
    run_off_days = check(
        Interval(int, 0, 730), run_off_days, key="run_off_days", error=OverdueRiskError
    )
    check(Options(("logged", "none")), run_off_then, key="run_off_then", error=OverdueRiskError)
    if seed is not None:
        check(Interval(int, 0, 2**63 - 1), seed, key="seed", error=OverdueRiskError)
    if scorer is not None and not callable(scorer):
        raise OverdueRiskError(
            f"scorer must be a callable (state) -> probabilities; got {type(scorer).__name__}."
        )
    strategy = Strategy.load(strategy)
    check_actions(strategy)
    wanted = _policies(policies, baselines, scorer)
    first = day_of(start, "start")
    state = truth.state_at(to_date(first - 1))
    open_loans = state.table().index
    if loans is not None:
        chosen = pd.Index(pd.Series(list(loans) if not isinstance(loans, str) else [loans]))
        open_loans = open_loans[open_loans.isin(chosen.astype(str))]
    book = len(open_loans)
    capacity = strategy.capacities(book)
    seed = truth.seed if seed is None else int(seed)
    common = {
        "strategy": strategy,
        "scenario": truth.scenario,
        "capacity": capacity,
        "n_paths": n_paths,
        "first": first,
        "scorer": scorer,
    }
    if run_off_days:
        common["last"] = first + days - 1
    run = days + run_off_days
    results, loops, seconds = {}, {}, {}
    for name, (kind, what) in wanted.items():
        then = LoggedPolicy(truth.scenario) if run_off_then == "logged" else None
        loop, is_oracle = _loop_policy(kind, what, truth, {**common, "then": then})
        t0 = time.perf_counter()
        if is_oracle:
            results[name] = truth.simulate_oracle(
                to_date(first),
                run,
                loop,
                horizon_days=oracle_horizon_days,
                lookahead_paths=oracle_paths,
                then=LoggedPolicy(truth.scenario) if oracle_then == "logged" else NoAction(),
                n_paths=n_paths,
                seed=seed,
                loans=loans,
            )
        else:
            results[name] = simulate_policy(
                truth, to_date(first), run, loop, seed=seed, n_paths=n_paths, loans=loans
            )
        seconds[name] = time.perf_counter() - t0
        loops[name] = loop
        logger.info("closed loop: %s ran %d days in %.1f s", name, days, seconds[name])
    table = _table(results, loops, n_paths, first + days - 1 if run_off_days else None)
    by_day, decisions = _days(results, loops)
    return ClosedLoopComparison(
        start=pd.Timestamp(to_date(first)),
        days=days,
        n_paths=n_paths,
        seed=seed,
        strategy=strategy,
        book=book,
        capacities=capacity,
        _table=table,
        _by_day=by_day,
        _decisions=decisions,
        _one_step=_one_step(loops, n_paths) if "oracle" in loops else None,
        seconds=seconds,
    )


def _table(results: dict, loops: dict, n_paths: int, last: int | None) -> pd.DataFrame:
    """Per policy, the run's totals; with a run-off (``last``: the last decision day) the
    money to its end, the contacts and actions of the decision days."""
    rows = {}
    for name, result in results.items():
        s, t = result.summary(), result.table()
        window = None
        if last is not None:
            window = result.by_day().loc[pd.Timestamp(to_date(last))]
            for c in ("contacts", "harsh_actions", "complaints", *(f"n_{a}" for a in _ACTIONS)):
                s[c] = window[c]
            delinquent, cures = s["delinquent_accounts"], s["cures"]
            s["contacts_per_account"] = s["contacts"] / delinquent if delinquent else np.nan
            s["harsh_per_cure"] = s["harsh_actions"] / cures if cures else np.nan
        overdue = (t["dpd_at_start"] > 0).to_numpy()
        made = loops[name].decisions().sum() / n_paths
        rows[name] = {
            "accounts": s["accounts"],
            "overdue_at_start": float(overdue.sum()),
            "delinquent_accounts": s["delinquent_accounts"],
            "recovered": s["recovered"],
            "cost": s["cost"],
            "net": s["net"],
            "cures": s["cures"],
            "cure_rate": s["cure_rate"],
            "cured_by_end": float(t["cured_by_end"].to_numpy()[overdue].sum()),
            "restructured": s["restructured"],
            "contacts": s["contacts"],
            "contacts_per_account": s["contacts_per_account"],
            "complaints": s["complaints"],
            "opt_outs": s["opt_outs"],
            "harsh_actions": s["harsh_actions"],
            "harsh_per_cure": s["harsh_per_cure"],
            **{f"n_{a}": s[f"n_{a}"] for a in _ACTIONS},
            "rule_violations": float(made["rule_violations"]),
            "over_capacity": float(made["over_capacity"]),
            "blocked_actions": s["blocked_actions"],
        }
        if window is not None:
            rows[name]["net_in_window"] = float(window["net"])
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "policy"
    none = table["net"].get("no_action", np.nan)
    table.insert(table.columns.get_loc("net") + 1, "net_vs_none", table["net"] - none)
    oracle = table["net_vs_none"].get("oracle", np.nan)
    share = table["net_vs_none"] / oracle if oracle else np.nan
    table.insert(table.columns.get_loc("net_vs_none") + 1, "share_of_oracle", share)
    return table


def _days(results: dict, loops: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per policy and day: the run's totals and the day's decisions, mean over paths;
    per policy, day and path: the decisions)."""
    frames, made = [], []
    for name, result in results.items():
        decisions = loops[name].decisions()
        per_day = decisions.groupby(level="date").mean()
        engine = result.by_day()
        # The day's actions come from the decisions; the engine's counts are cumulative.
        engine = engine.drop(columns=[c for c in engine.columns if c.startswith("n_")])
        totals = engine.join(per_day, how="left")
        totals[list(DAY_COLUMNS)] = totals[list(DAY_COLUMNS)].fillna(0.0)
        frames.append(pd.concat({name: totals}, names=["policy"]))
        made.append(pd.concat({name: decisions}, names=["policy"]))
    by_day = pd.concat(frames)
    if "no_action" in results:
        none = by_day.xs("no_action", level="policy")["net"]
        dates = by_day.index.get_level_values("date")
        by_day.insert(
            by_day.columns.get_loc("net") + 1,
            "net_vs_none",
            by_day["net"].to_numpy() - none.reindex(dates).to_numpy(),
        )
    return by_day, pd.concat(made)


def _one_step(loops: dict, n_paths: int) -> pd.DataFrame:
    """The first morning's choices of every policy, valued by the oracle's look-ahead."""
    oracle = loops["oracle"]
    rows = {}
    if oracle.first_gain is None:  # no account was overdue on any morning
        return pd.DataFrame(columns=["treated", "estimated_gain", "unvalued"])
    accounts, gain = oracle.first_gain
    for name, loop in loops.items():
        if loop.first_choice is None:  # pragma: no cover - they see the same mornings
            continue
        acct, codes = loop.first_choice
        at = pd.Index(accounts).get_indexer(acct)
        column = loop.columns_of(codes)
        treated = codes > 0
        known = treated & (at >= 0) & (column >= 0)
        value = np.full(codes.size, np.nan)
        value[known] = gain[at[known], column[known]]
        valued = known & ~np.isnan(value)
        rows[name] = {
            "treated": treated.sum() / n_paths,
            "estimated_gain": float(value[valued].sum()) / n_paths,
            "unvalued": float((treated & ~valued).sum()) / n_paths,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "policy"
    return out
