"""``prioritise``: today's worklist, from values, contact rules and capacities."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dates import AsOf, parse_as_of
from .._deprecation import moved
from .._params import Limit, check
from ..contract import AS_LOGGED, NO_ACTION, TREATMENTS, WAIT, Portfolio, validate
from ..exceptions import OverdueRiskError
from ..ledger import Ledger
from ._allocate import Allocation, allocate
from ._inputs import check_score_age, check_scores, latest_scores, warn_unenforced_flags
from ._objective import action_costs
from ._rules import Eligibility, account_state, eligibility
from ._strategy import Strategy, _day_capacity

__all__ = ["Worklist", "capacity_shares", "prioritise"]

# learn_value_model composes the log, the decisions and a value model: a workflow.
__getattr__ = moved(__name__, {"learn_value_model": "overdue_risk.workflows"})

logger = logging.getLogger(__name__)

# Why an account gets no action: the first that applies.
UNTREATED = ("no_eligible_action", "no_value_estimate", "not_worth_its_cost", "capacity")
# Why an action gets no account (Worklist.actions): the first that applies, in this order.
UNUSED = ("disabled", "rules", "no_estimate", "not_worth_cost", "capacity")


def _reason_text(scores: pd.DataFrame) -> pd.Series | None:
    """``reason_1_text; reason_2_text; ...`` from the score file, when it has reasons."""
    cols = sorted(
        (c for c in scores.columns if c.startswith("reason_") and c.endswith("_text")),
        key=lambda c: int(c.split("_")[1]),
    )
    if not cols:
        return None
    parts = scores[cols].astype(object).where(scores[cols].notna(), "")
    text = parts.iloc[:, 0].astype(str)
    for c in cols[1:]:
        nxt = parts[c].astype(str)
        text = text.where(nxt == "", np.where(text == "", nxt, text + "; " + nxt))
    return text


@dataclass(frozen=True, eq=False)
class Worklist:
    """Today's actions, one row per overdue account, with the reasons behind them.

    Attributes
    ----------
    as_of : Timestamp
    strategy : Strategy
    causal : bool
        False when the values come from the risk-score fallback rather than
        an uplift model learned from randomised actions.
    allocation : Allocation
        The solver's result (objective, dual bound, gap, shadow prices).
    eligibility : Eligibility
    book : int
        The loans open at ``as_of`` (started on or before it, not closed),
        overdue or not: the base of every ``capacity_per_10k``.
    warnings : tuple of str
        What the run warned about (also logged): every capacity unlimited.
    """

    as_of: pd.Timestamp
    strategy: Strategy
    causal: bool
    allocation: Allocation
    eligibility: Eligibility
    _table: pd.DataFrame = field(repr=False)
    book: int
    warnings: tuple[str, ...]
    _actions: pd.DataFrame = field(repr=False)

    @property
    def capacities(self) -> dict[str, float]:
        """The day's capacity of each enabled action: ``strategy.capacities(book)``."""
        return self.strategy.capacities(self.book)

    def table(self) -> pd.DataFrame:
        """One row per overdue account, the treated ones first by expected value.

        Columns: ``rank`` (1 = most valuable; empty when untreated), ``action``,
        ``contact_start`` and ``contact_end`` (the strategy's contact window,
        ``HH:MM`` in the customer's local time, on the rows whose action
        reaches the customer through a channel; empty elsewhere),
        ``expected_value`` (expected extra recovery within the horizon minus
        the action's expected cost, against waiting: ``expected_recovery -
        cost``), ``expected_recovery``, ``cost`` (the action's cost plus,
        from the strategy's ``value`` section, its expected complaint cost,
        the over-contact harm and legal action's court-record cost),
        ``risk_score``, ``dpd``, ``overdue_amount``, ``reasons`` (the risk
        model's top reasons, when the scores carry them), ``untreated_because``
        and ``blocked`` (the contact or eligibility rule that blocked each
        other action), ``value_source``.
        """
        return self._table.copy()

    def actions(self) -> pd.DataFrame:
        """One row per action of the vocabulary: how far it got, and why it got no account.

        Columns: ``enabled``; ``capacity`` (the day's, :attr:`capacities`);
        ``eligible`` (accounts the rules allow it), ``valued`` (those the value
        model gives it a value), ``positive_value`` (those whose net value is
        above 0) and ``chosen`` (accounts given it); ``unused_because``, empty
        when it was chosen, else the first that applies of: ``disabled``,
        ``rules`` (no account eligible under the contact rules and thresholds),
        ``no_estimate`` (the value model values it for no eligible account),
        ``not_worth_cost`` (its net value is never above 0, or never above the
        account's other options), ``capacity`` (a capacity of 0, with accounts
        worth giving it).
        """
        return self._actions.copy()

    def summary(self) -> pd.DataFrame:
        """Per action: capacity, accounts given it, capacity used, expected recovery,
        cost and net value; then one row per reason accounts were left untreated.

        ``cost`` is the expected cost the objective charged (:meth:`table`'s
        ``cost``: the actions' costs plus the complaint, over-contact and
        court-record costs of the strategy's ``value`` section), and
        ``expected_value`` is ``expected_recovery - cost``.

        ``attrs`` hold the method, objective, upper bound, gap, whether the
        values are causal, the ``book`` and the run's ``warnings``.
        """
        t = self._table
        caps = self.capacities
        rows = []
        for a in self.eligibility.actions:
            if a == WAIT:
                continue
            got = t["action"] == a
            cap = caps[a]
            n = int(got.sum())
            rows.append(
                {
                    "item": a,
                    "capacity": cap,
                    "accounts": n,
                    "capacity_used": n / cap if math.isfinite(cap) and cap > 0 else math.nan,
                    "expected_recovery": float(t.loc[got, "expected_recovery"].sum()),
                    "cost": float(t.loc[got, "cost"].sum()),
                    "expected_value": float(t.loc[got, "expected_value"].sum()),
                }
            )
        for reason in UNTREATED:
            n = int((t["untreated_because"] == reason).sum())
            rows.append({"item": f"untreated: {reason}", "accounts": n})
        out = pd.DataFrame(rows).set_index("item")
        out.attrs.update(
            {
                "method": self.allocation.method,
                "gap": self.allocation.gap,
                "objective": self.allocation.objective,
                "upper_bound": self.allocation.upper_bound,
                "causal": self.causal,
                "book": self.book,
                "warnings": list(self.warnings),
            }
        )
        return out

    def __repr__(self) -> str:
        t = self._table
        treated = int((t["action"] != WAIT).sum())
        return (
            f"Worklist({self.as_of.date()}, {len(t):,} overdue accounts, {treated:,} treated, "
            f"expected value {self.allocation.objective:,.2f}, gap {self.allocation.gap:.2%}"
            f"{'' if self.causal else ', NON-CAUSAL values'})"
        )


def value_source(model) -> str:
    """How the worklist names a value model: its ``value_source``, else by whether it is causal."""
    named = getattr(model, "value_source", None)
    if isinstance(named, str):
        return named
    return "uplift model" if getattr(model, "causal", False) else "values not causal"


def action_values(
    value_model, state: pd.DataFrame, actions: tuple[str, ...], strategy: Strategy
) -> tuple[np.ndarray, np.ndarray]:
    """Expected recovery uplift against waiting, and net value, per account and action.

    Actions the value model gives no estimate for are NaN.

    Parameters
    ----------
    value_model : value model
        An object with ``predict(state) -> DataFrame`` of expected recovery per
        action, waiting in a ``"none"`` (or ``"wait"``) column: a fitted
        :class:`ResponseModel` or a :class:`RiskBasedValue`.
    state : DataFrame
        One row per account, as :func:`account_state` gives it.
    actions : tuple of str
        The actions to value, in the order of the returned columns; ``"wait"``
        is worth 0.
    strategy : Strategy
        Gives each action's expected cost (:func:`action_costs`): its
        ``cost``, plus the expected complaint cost, the over-contact harm and,
        for legal action, the court record's cost of the ``value`` section
        (all 0 by default).

    Returns
    -------
    uplift, net : ndarray of shape (accounts, actions)
        Expected recovery over waiting, and that less the action's expected cost.
    """
    recovery = value_model.predict(state)
    if WAIT in recovery.columns and NO_ACTION not in recovery.columns:
        recovery = recovery.rename(columns=AS_LOGGED)
    if "none" not in recovery.columns:
        raise OverdueRiskError("The value model must predict the recovery of 'none' (waiting).")
    base = recovery["none"].to_numpy(dtype=np.float64)
    n, m = len(state), len(actions)
    uplift = np.full((n, m), np.nan)
    net = np.full((n, m), np.nan)
    cost = action_costs(strategy, state, actions)
    for j, a in enumerate(actions):
        if a == WAIT:
            uplift[:, j] = 0.0
            net[:, j] = 0.0
        elif a in recovery.columns:
            uplift[:, j] = recovery[a].to_numpy(dtype=np.float64) - base
            net[:, j] = uplift[:, j] - cost[:, j]
    return uplift, net


def prioritise(
    scores: pd.DataFrame,
    portfolio: Portfolio,
    as_of: AsOf,
    strategy,
    *,
    value_model=None,
    flags: pd.DataFrame | None = None,
    method: str = "auto",
    max_score_age_days: float = 7,
) -> Worklist:
    """Decide which overdue account gets which action on ``as_of``.

    Maximises the total expected net value (extra recovery within the value
    model's horizon, minus the expected cost of :func:`action_values`) subject
    to every action's daily capacity, one action per account, and every
    eligibility and contact rule of the strategy.
    The capacities are the day's for the book, the loans open at ``as_of``
    (:meth:`Strategy.capacities`); with none limited, a warning is logged and
    recorded in :attr:`Worklist.warnings`.

    Parameters
    ----------
    scores : DataFrame
        Risk scores by ``loan_id`` (column or index), as written by
        ``overdue-risk score``, checked by :func:`check_scores`; with an
        ``as_of`` column (or index level) the latest score on or before
        ``as_of`` is used (later ones never are). Reason-code texts are
        carried to the worklist.
    portfolio : Portfolio
    as_of : date-like
        The day the worklist is for; records dated on it count as done.
    strategy : Strategy, profile name or TOML path
    value_model : optional
        An object with ``predict(state) -> DataFrame`` of expected recovery per
        action (columns: action names and ``none``) and a ``causal`` attribute:
        a fitted :class:`ShrunkUplift` or :class:`ResponseModel`, a rule
        (:class:`ArrearsRule`, :class:`LadderRule`) or :class:`RiskBasedValue`.
        Default: ``ArrearsRule()`` with its stated lifts (SMS 1%, call 5%,
        visit 15% of the arrears), flagged non-causal in the output.
    flags : DataFrame, optional
        Opt-out, cease-contact, hardship and vulnerability flags by loan,
        checked by :func:`check_flags`. Without it the flags are read from the
        loans table, and a :class:`~overdue_risk.DataQualityWarning` names the
        rules left unenforced because it has no column for their flags.
    method : {"auto", "lp", "lagrangian", "greedy"}
        The allocation method (see :func:`allocate`); ``"auto"`` takes the
        value model's ``allocation_method`` when it has one
        (:class:`LadderRule`: ``"greedy"``, the ladder's fill).
    max_score_age_days : int or inf, default 7
        The oldest score the worklist may use, in days before ``as_of``: an
        overdue account whose latest score is older is an error. ``inf``
        allows any age (undated scores, whose age is unknown, are otherwise
        used with a warning).

    Returns
    -------
    Worklist
    """
    from ._arrears import ArrearsRule

    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(
            f"The 'portfolio' argument of prioritise must be a Portfolio; got "
            f"{type(portfolio).__name__}."
        )
    strategy = Strategy.load(strategy)
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    max_age = check(Limit(), max_score_age_days, key="max_score_age_days", error=OverdueRiskError)
    scores = check_scores(scores, loan_ids=portfolio.loans["loan_id"])
    day = pd.Timestamp(np.datetime64(int(days[0]), "D"))
    valid = validate(portfolio)
    ledger = Ledger(valid)
    state = account_state(strategy, valid, day, flags=flags, ledger=ledger)
    book = int(np.count_nonzero(_in_book(ledger, int(days[0]))))
    if flags is None:
        warn_unenforced_flags(strategy, portfolio.loans.columns)
    latest = latest_scores(scores, day)
    accounts = state.index.astype(str)
    risk = latest["score"].reindex(accounts).to_numpy(dtype=np.float64)
    missing = np.isnan(risk)
    if missing.any():
        first = state.index[missing][:5].tolist()
        raise OverdueRiskError(
            f"{int(missing.sum())} overdue accounts have no risk score on or before "
            f"{day.date()}; first: {first}. Score the portfolio at this date first."
        )
    check_score_age(latest, accounts, int(days[0]), max_age)
    state = state.assign(risk_score=risk)
    model = value_model if value_model is not None else ArrearsRule()
    if method == "auto":  # a rule that is its own allocation (LadderRule: the ladder)
        method = getattr(model, "allocation_method", method)
    rules = eligibility(strategy, state)
    actions = rules.actions
    uplift, net = action_values(model, state, actions, strategy)
    known = ~np.isnan(net)
    usable = rules.eligible & known
    solve_cols = [j for j, a in enumerate(actions) if a != WAIT]
    caps = strategy.capacities(book)
    capacity = np.array([caps[actions[j]] for j in solve_cols], dtype=np.float64)
    warned = _unlimited_warning(strategy, capacity)
    alloc = allocate(
        np.where(usable, net, 0.0)[:, solve_cols],
        usable[:, solve_cols],
        capacity,
        method=method,
    )
    # The chosen action's column among all actions (-1: wait); a strategy that
    # enables no action but waiting has no column to solve, and every account waits.
    took = alloc.action >= 0
    chosen = np.full(len(state), -1, np.int64)
    chosen[took] = np.asarray(solve_cols, dtype=np.int64)[alloc.action[took]]
    names = np.asarray(actions, dtype=object)
    rows = np.arange(len(state))
    action = np.where(took, names[np.maximum(chosen, 0)], WAIT)
    cost = action_costs(strategy, state, actions)  # what expected_value was charged
    # The contact window travels with the rows whose action reaches the customer.
    channel = np.array([getattr(strategy.actions, a).channel for a in actions], dtype=object)
    contact = took & (channel[np.maximum(chosen, 0)] != "none")

    # Why the untreated were left: the first reason that applies.
    eligible_any = rules.eligible[:, solve_cols].any(axis=1)
    known_any = usable[:, solve_cols].any(axis=1)
    positive_any = (usable[:, solve_cols] & (net[:, solve_cols] > 0)).any(axis=1)
    because = np.select(
        [took, ~eligible_any, ~known_any, ~positive_any],
        ["", UNTREATED[0], UNTREATED[1], UNTREATED[2]],
        default=UNTREATED[3],
    )
    value = np.where(took, net[rows, np.maximum(chosen, 0)], 0.0)
    order = np.lexsort((rows, -value, ~took))  # treated first, by value, ties by row
    rank = np.full(len(state), np.nan)
    rank[order[: int(took.sum())]] = np.arange(1, int(took.sum()) + 1)
    reasons = _reason_text(latest)
    table = pd.DataFrame(
        {
            "rank": pd.array(rank, dtype="Int64"),
            "action": action,
            "contact_start": np.where(contact, strategy.hours.start, "").astype(object),
            "contact_end": np.where(contact, strategy.hours.end, "").astype(object),
            "expected_value": value,
            "expected_recovery": np.where(took, uplift[rows, np.maximum(chosen, 0)], 0.0),
            "cost": np.where(took, cost[rows, np.maximum(chosen, 0)], 0.0),
            "risk_score": risk,
            "dpd": state["dpd"].to_numpy(),
            "overdue_amount": state["overdue_amount"].to_numpy(),
            "reasons": (
                reasons.reindex(state.index.astype(str)).fillna("").to_numpy()
                if reasons is not None
                else ""
            ),
            "untreated_because": because,
            "blocked": rules.explain().to_numpy(),
            "value_source": value_source(model),
        },
        index=state.index,
    ).iloc[order]
    return Worklist(
        as_of=day,
        strategy=strategy,
        causal=bool(getattr(model, "causal", False)),
        allocation=alloc,
        eligibility=rules,
        _table=table,
        book=book,
        warnings=warned,
        _actions=_action_table(strategy, rules, usable & (net > 0), usable, chosen, book),
    )


def capacity_shares(strategy, portfolio: Portfolio, as_of: AsOf) -> dict[str, float]:
    """Each limited action's capacity on ``as_of`` as a share of the accounts overdue then.

    The capacity is the worklist's (``strategy.capacities(book)``, the book
    being the loans open that day); the accounts are those of
    :func:`account_state`. A share above 1 is 1: the action can take every
    overdue account. Unlimited actions are left out. This is the
    ``capacity`` a :class:`ShrunkUplift` judges its candidate policies under.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> p = odr.load_portfolio("data/sample")  # doctest: +SKIP
    >>> capacity_shares("default", p, "2024-06-30")  # doctest: +SKIP
    {'sms': 1.0, 'call': 0.08, ...}
    """
    strategy = Strategy.load(strategy)
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    valid = validate(portfolio)
    ledger = Ledger(valid)
    day = pd.Timestamp(np.datetime64(int(days[0]), "D"))
    overdue = len(account_state(strategy, valid, day, ledger=ledger))
    caps = strategy.capacities(int(np.count_nonzero(_in_book(ledger, int(days[0])))))
    return {
        a: (1.0 if overdue == 0 else min(1.0, c / overdue))
        for a, c in caps.items()
        if a != WAIT and math.isfinite(c)
    }


def _in_book(ledger: Ledger, day: int) -> np.ndarray:
    """Which loans are in the book on ``day`` (int days): started on or before it, not closed.

    The base of every ``capacity_per_10k``; a loan closing on ``day`` is out of it,
    as it is out of the account state.
    """
    return (ledger.start_days <= day) & (ledger.closed_days > day)


def _unlimited_warning(strategy: Strategy, capacity: np.ndarray) -> tuple[str, ...]:
    """A warning, logged and returned, when no action the strategy may take is limited."""
    if not capacity.size or np.isfinite(capacity).any():
        return ()
    text = (
        "Every action the strategy may take has unlimited capacity (capacity and "
        "capacity_per_10k are inf): the worklist rations nothing and gives every account its "
        "best action. Set actions.<action>.capacity_per_10k (or capacity) to what the teams "
        "can do in a day."
    )
    logger.warning(text)
    return (text,)


def _action_table(
    strategy: Strategy,
    rules: Eligibility,
    positive: np.ndarray,
    valued: np.ndarray,
    chosen: np.ndarray,
    book: int,
) -> pd.DataFrame:
    """Worklist.actions(): per treatment, the accounts at each stage and why none was chosen.

    ``positive`` and ``valued`` are (accounts, actions) masks over ``rules.actions``;
    ``chosen`` the column of each account's action there (-1: wait).
    """
    rows = []
    for a in TREATMENTS:
        spec = getattr(strategy.actions, a)
        row = {"enabled": spec.enabled, "capacity": _day_capacity(spec, book)}
        row.update(dict.fromkeys(("eligible", "valued", "positive_value", "chosen"), 0))
        if a in rules.actions:
            j = rules.actions.index(a)
            row["eligible"] = int(rules.eligible[:, j].sum())
            row["valued"] = int(valued[:, j].sum())
            row["positive_value"] = int(positive[:, j].sum())
            row["chosen"] = int((chosen == j).sum())
        row["unused_because"] = _unused(row)
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(TREATMENTS, name="action"))


def _unused(row: dict) -> str:
    """Why an action got no account (:data:`UNUSED`): the first stage it lost them all at."""
    if not row["enabled"]:
        return "disabled"
    if row["chosen"]:
        return ""
    if not row["eligible"]:
        return "rules"
    if not row["valued"]:
        return "no_estimate"
    if row["positive_value"] and row["capacity"] == 0:
        return "capacity"
    return "not_worth_cost"  # never above 0, or never above the account's other options
