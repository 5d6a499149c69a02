"""``prioritise`` and ``plan_worklist``: today's worklist, from values, contact rules
and capacities; ``book_size``: the book the capacities scale with."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .._dates import NAT, AsOf, parse_as_of, to_days
from .._deprecation import moved
from .._params import Interval, Limit, check
from ..contract import AS_LOGGED, NO_ACTION, TREATMENTS, WAIT, Portfolio, validate
from ..exceptions import OverdueRiskError
from ..ledger import Ledger
from ._allocate import allocate
from ._inputs import check_score_age, check_scores, latest_scores, warn_unenforced_flags
from ._objective import action_costs
from ._rules import STATE_COLUMNS, Eligibility, _check_ledger, account_state, eligibility
from ._strategy import Strategy, _day_capacity
from ._worklist_result import UNTREATED, Worklist

__all__ = [
    "Worklist",
    "action_values",
    "book_size",
    "capacity_shares",
    "plan_worklist",
    "prioritise",
]

# learn_value_model composes the log, the decisions and a value model: a workflow.
__getattr__ = moved(__name__, {"learn_value_model": "overdue_risk.workflows"})

logger = logging.getLogger(__name__)

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
    (:func:`book_size`, :meth:`Strategy.capacities`); with none limited, a
    warning is logged and recorded in :attr:`Worklist.warnings`.

    It validates the portfolio, builds its :func:`account_state` and counts
    the book, then plans as :func:`plan_worklist` does, which takes those
    two instead of the portfolio.

    Parameters
    ----------
    scores : DataFrame
        Risk scores by ``loan_id`` (column or index), as written by
        ``overdue-risk score``, checked by :func:`check_scores` (every scored
        loan must be in the portfolio); with an ``as_of`` column (or index
        level) the latest score on or before ``as_of`` is used (later ones
        never are). Reason-code texts are carried to the worklist.
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
        Its rows and the allocation's ties follow the loan ids, not the order
        of the loans table (see :func:`plan_worklist`).
    """
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(
            f"The 'portfolio' argument of prioritise must be a Portfolio; got "
            f"{type(portfolio).__name__}."
        )
    strategy = Strategy.load(strategy)
    today, day = _one_day(as_of)
    max_age = check(Limit(), max_score_age_days, key="max_score_age_days", error=OverdueRiskError)
    scores = check_scores(scores, loan_ids=portfolio.loans["loan_id"])
    valid = validate(portfolio)
    ledger = Ledger(valid)
    state = _in_id_order(account_state(strategy, valid, day, flags=flags, ledger=ledger))
    book = book_size(valid, day, ledger=ledger)
    if flags is None:
        warn_unenforced_flags(strategy, portfolio.loans.columns)
    latest, risk = _scored(state, scores, day)
    check_score_age(latest, state.index.astype(str), today, max_age)
    return _plan(state, risk, latest, day, strategy, book, value_model, method)


def plan_worklist(
    state: pd.DataFrame,
    scores: pd.DataFrame,
    as_of: AsOf,
    strategy,
    *,
    book: int,
    value_model=None,
    method: str = "auto",
    max_score_age_days: float = 7,
) -> Worklist:
    """The worklist of :func:`prioritise`, from the account state and the book.

    Everything :func:`prioritise` does once it has the overdue accounts and
    the book: the score checks, eligibility, action values, the allocation
    under the day's capacities, the table and the warnings. A run that
    reads the book in chunks of whole customers builds each chunk's
    :func:`account_state` and :func:`book_size`, concatenates the states,
    sums the books, and plans the day once, with no portfolio.

    The worklist does not depend on the order of the state's rows: the
    accounts are taken in ``loan_id`` order, so the allocation's ties and
    the table's (treated accounts of equal value, and the untreated) follow
    the loan ids. On the concatenated states of a book's chunks it is the
    worklist :func:`prioritise` gives on the whole book.

    Parameters
    ----------
    state : DataFrame
        What :func:`account_state` returns (every column of
        :data:`STATE_COLUMNS`), indexed by ``loan_id``, each account once;
        or the concatenation of several chunks' states, in any order.
    scores : DataFrame
        Risk scores by ``loan_id``, checked by :func:`check_scores`. Every
        account of ``state`` needs one on or before ``as_of``; scores of
        other loans (those not overdue, or of other chunks) are not used.
    as_of : date-like
        The day the worklist is for: the date the state was built at.
    strategy : Strategy, profile name or TOML path
        The strategy the state was built with.
    book : int
        The loans open at ``as_of``, overdue or not (:func:`book_size`; for
        chunks, the sum of theirs): the base of every ``capacity_per_10k``.
    value_model, method, max_score_age_days
        As for :func:`prioritise`.

    Returns
    -------
    Worklist

    Examples
    --------
    >>> import pandas as pd
    >>> import overdue_risk as odr
    >>> from overdue_risk.prioritise import account_state, book_size, plan_worklist
    >>> p = odr.load_portfolio("data/sample")
    >>> s = odr.Strategy.profile("uk_eu")
    >>> state = account_state(s, p, "2024-06-30")
    >>> scores = pd.DataFrame({"loan_id": state.index, "as_of": "2024-06-30", "score": 0.3})
    >>> work = plan_worklist(state, scores, "2024-06-30", s, book=book_size(p, "2024-06-30"))
    >>> work.book, len(work.table()), work.capacities["call"]
    (2522, 235, 45)
    """
    strategy = Strategy.load(strategy)
    today, day = _one_day(as_of)
    book = check(Interval(int, 0), book, key="book", error=OverdueRiskError)
    max_age = check(Limit(), max_score_age_days, key="max_score_age_days", error=OverdueRiskError)
    state = _in_id_order(_check_state(state))
    scores = check_scores(scores)
    latest, risk = _scored(state, scores, day)
    check_score_age(latest, state.index.astype(str), today, max_age)
    return _plan(state, risk, latest, day, strategy, book, value_model, method)


def book_size(portfolio: Portfolio, as_of: AsOf, *, ledger: Ledger | None = None) -> int:
    """The loans in the book on ``as_of``: started on or before it and not closed.

    The base of every ``capacity_per_10k`` (:meth:`Strategy.capacities`). A
    loan closing on ``as_of`` is out of the book, as it is out of the
    :func:`account_state`. The count is per loan: the books of chunks of
    whole loans add up to the whole book's.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.
    as_of : date-like
        One date.
    ledger : Ledger, optional
        A ledger of ``portfolio`` already built, whose dates are read.

    Returns
    -------
    int

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk.prioritise import book_size
    >>> book_size(odr.load_portfolio("data/sample"), "2024-06-30")
    2522
    """
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    day, _ = _one_day(as_of)
    p = validate(portfolio)
    if ledger is not None:
        ledger = _check_ledger(ledger, p)
        start, closed = ledger.start_days, ledger.closed_days
    else:
        loans = p.loans
        start = to_days(loans["start_date"].to_numpy())
        closed = to_days(loans["closed_date"].to_numpy()) if "closed_date" in loans else NAT
        closed = np.where(closed == NAT, np.iinfo(np.int64).max, closed)  # NaT: open
    return int(np.count_nonzero((start <= day) & (closed > day)))


def capacity_shares(strategy, portfolio: Portfolio, as_of: AsOf) -> dict[str, float]:
    """Each limited action's capacity on ``as_of`` as a share of the accounts overdue then.

    :meth:`Strategy.capacity_shares` of the book (:func:`book_size`) and of the
    accounts of :func:`account_state`: the worklist's capacity
    (``strategy.capacities(book)``) over the overdue accounts, at most 1.
    Unlimited actions are left out. This is the ``capacity`` a
    :class:`ShrunkUplift` judges its candidate policies under.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> p = odr.load_portfolio("data/sample")
    >>> capacity_shares("uk_eu", p, "2024-06-30")["call"] == 45 / 235
    True
    """
    strategy = Strategy.load(strategy)
    _, day = _one_day(as_of)
    valid = validate(portfolio)
    ledger = Ledger(valid)
    overdue = len(account_state(strategy, valid, day, ledger=ledger))
    return strategy.capacity_shares(book_size(valid, day, ledger=ledger), overdue)


def _one_day(as_of: AsOf) -> tuple[int, pd.Timestamp]:
    """``as_of`` as int days since 1970, and as a Timestamp; an error unless one date."""
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    return int(days[0]), pd.Timestamp(np.datetime64(int(days[0]), "D"))


def _check_state(state) -> pd.DataFrame:
    """``state`` if it is an account state (every column, each account once)."""
    if not isinstance(state, pd.DataFrame):
        raise OverdueRiskError(
            f"state must be a DataFrame, as account_state returns it; got {type(state).__name__}."
        )
    missing = [c for c in STATE_COLUMNS if c not in state.columns]
    if missing:
        swapped = " (the state comes first, then the scores)" if "score" in state.columns else ""
        raise OverdueRiskError(
            f"state must be what account_state returns; it lacks the columns "
            f"{', '.join(missing)}{swapped}."
        )
    if state.index.has_duplicates:
        twice = state.index[state.index.duplicated()].unique()
        raise OverdueRiskError(
            f"state must hold each account once; {len(twice)} loan_ids are repeated, first: "
            f"{twice[:5].tolist()}. Each chunk's state holds its own loans."
        )
    return state


def _in_id_order(state: pd.DataFrame) -> pd.DataFrame:
    """The state's rows in ``loan_id`` order (as text when the ids mix types)."""
    ids = state.index
    if ids.is_monotonic_increasing:
        return state
    try:
        order = ids.argsort()
    except TypeError:
        order = ids.astype(str).argsort()
    return state.iloc[order]


def _scored(
    state: pd.DataFrame, scores: pd.DataFrame, day: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray]:
    """The latest scores by loan, and the risk score of each account (an error if none)."""
    latest = latest_scores(scores, day)
    risk = latest["score"].reindex(state.index.astype(str)).to_numpy(dtype=np.float64)
    missing = np.isnan(risk)
    if missing.any():
        first = state.index[missing][:5].tolist()
        raise OverdueRiskError(
            f"{int(missing.sum())} overdue accounts have no risk score on or before "
            f"{day.date()}; first: {first}. Score the portfolio at this date first."
        )
    return latest, risk


def _plan(
    state: pd.DataFrame,
    risk: np.ndarray,
    latest: pd.DataFrame,
    day: pd.Timestamp,
    strategy: Strategy,
    book: int,
    value_model,
    method: str,
) -> Worklist:
    """The worklist of the checked accounts (in loan_id order) and their risk scores."""
    from ._arrears import ArrearsRule

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
    # Treated first, by value; ties by row, which is loan_id order.
    order = np.lexsort((rows, -value, ~took))
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
