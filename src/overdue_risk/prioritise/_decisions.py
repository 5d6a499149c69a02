"""The logged decisions of the randomised cell: state, action, propensity and reward.

:func:`logged_decisions` turns a portfolio with a collection log into the data
set the value model learns from and the off-policy estimators read: one row
per (loan, day) on which a loan of the randomised (challenger) cell was
overdue, with the state known that morning, the action the log shows that day
(or ``"none"``), the probability with which it was chosen, its cost, and the
money paid over the following ``horizon_days`` (or until the loan is resolved,
:mod:`~overdue_risk.prioritise._resolution`), discounted on request, with the
loss of a write-off inside the window.

Time. A decision on day ``d`` is made on the morning of ``d``: its state uses
only records dated before ``d`` (the ledger as at the end of ``d - 1``, and the
collection rows dated up to ``d - 1``); its action is the one logged on ``d``;
its reward is the money paid in ``[d, d + horizon_days)``, or from ``d`` to
the day the loan is resolved. The state is what
:func:`~overdue_risk.prioritise._rules.account_state` gives for a morning run
on ``d``, when no record of ``d`` exists yet, so a model fitted on these rows
scores that state.

Everything is computed on sorted integer keys ``(loan, day)``
(:mod:`~overdue_risk.prioritise._loan_days`): each count, latest date and
windowed sum (:mod:`~overdue_risk.prioritise._rewards`) is a pair of
``np.searchsorted`` calls over the whole grid of decision rows, and the ledger
answers every (loan, day) pair in one call. No Python loop runs over loans,
days or log rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._dates import NAT, AsOf, day_text, parse_as_of, since, to_datetime, to_days
from .._params import check
from ..contract import CONTACT_ACTIONS, DECISION_ACTIONS, Portfolio, validate
from ..exceptions import OverdueRiskError
from ..ledger import Ledger, ranges
from ._lender_view import statement_cleared
from ._loan_days import Events, Rows, keys_for
from ._log import actions_in, latest_offer, log_columns, outcomes_in
from ._objective import DISCOUNT, HORIZON, MAX_HORIZON, RESOLUTION, WRITE_OFF
from ._resolution import window_ends
from ._rewards import broken_promises, payments, reward
from ._rules import (
    _LEGAL,
    _PROMISE,
    _REACHED,
    _RESET,
    _RESTRUCTURE,
    _WINDOW,
    STATE_COLUMNS,
    _check_ledger,
)
from ._score_join import _join_scores
from ._strategy import Strategy

__all__ = ["DECISION_ACTIONS", "DECISION_COLUMNS", "logged_decisions", "randomised_cell"]

logger = logging.getLogger(__name__)

# The columns of the decisions, with their dtypes. The state columns that share
# a name with account_state's have the same meaning (for a morning run).
_SHARED = (
    "dpd",
    "overdue_amount",
    "balance",
    "product_type",
    "product",
    "attempts_7d",
    "contacts_7d",
    "days_since_conversation",
    "days_to_promise",
    "failed_contacts",
    "days_since_restructure_offer",
    "days_since_payment",
)
DECISION_COLUMNS = {
    **{c: STATE_COLUMNS[c] for c in _SHARED},
    "promise_pending": "bool",
    "days_since_contact": "float64",
    "broken_promises": "int64",
    "legal_started": STATE_COLUMNS["legal_started"],
    "action": "category",
    "propensity": "float64",
    "cost": "float64",
    "reward_amount": "float64",
    "paid": "bool",
}


def logged_decisions(
    portfolio: Portfolio,
    start: AsOf,
    end: AsOf,
    *,
    horizon_days: int | str = 30,
    max_horizon_days: int = 365,
    discount_rate: float = 0.0,
    write_off_dpd: float = math.inf,
    scores: pd.DataFrame | pd.Series | None = None,
    cell: str | Iterable = "randomised",
    strategy: Strategy | None = None,
    data_end: AsOf | None = None,
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """One row per (loan, day) on which a loan of the randomised cell was overdue.

    Parameters
    ----------
    portfolio : Portfolio
        With a ``collections`` table; validated on entry if it is not yet.
    start, end : date-like
        The first and last decision day (inclusive).
    horizon_days : int or "resolution", default=30
        The reward is the money paid in ``[day, day + horizon_days)`` (1 to
        730 days). ``"resolution"``: from the day to the first of the loan
        family's cure (back to current), closure, write-off (at
        ``write_off_dpd``), and ``max_horizon_days`` days. Rows whose longest
        possible window ends after ``data_end`` are dropped, never labelled 0
        (see Notes).
    max_horizon_days : int, default=365
        The cap of a ``"resolution"`` window (1 to 730 days).
    discount_rate : float, default=0.0
        Annual rate in [0, 1]: a payment ``t`` days after the decision counts
        ``amount / (1 + discount_rate) ** (t / 365)``. At 0 the sums are exact.
    write_off_dpd : int or inf, default=inf
        The DPD at which a loan is written off; ``inf``: never. When the loan
        family reaches it inside the window, the balance outstanding at the
        end of that day (discounted likewise) is a loss (``write_off_amount``).
    scores : DataFrame or Series, optional
        Risk scores indexed by ``(loan_id, as_of)``: a Series, or a frame with
        one column or a ``risk_score`` column. Each row gets the latest score
        dated strictly before its day (a backward as-of join): a score as of
        ``day`` has seen that day's payments, the ones the day's action brings.
    cell : "randomised" or iterable of loan ids, default="randomised"
        ``"randomised"``: the loans whose collection rows all have
        ``holdout=True`` (loans with both values are left out, with a log
        message). Or the lender's own list of the cell's loans.
    strategy : Strategy, optional
        Which logged actions count as attempts for ``attempts_7d`` and the
        cool-down (``rules.counted_actions``) and as contact attempts
        (``rules.attempt_actions``), as in ``account_state``; the defaults
        otherwise.
    data_end : date-like, optional
        The last day the data covers; by default the latest date among the
        payments, statements and collection rows.
    ledger : Ledger, optional
        A ledger of ``portfolio`` already built.

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)`` (``as_of``: the decision day), sorted.
        Columns (:data:`DECISION_COLUMNS`):

        * state, as ``account_state`` would give it on the morning of the day:
          ``dpd``, ``overdue_amount`` (overdue at the end of the previous
          day), ``balance``, ``product_type``, ``product``, ``attempts_7d``
          (counted actions in the 6 days before; none is logged yet that
          morning), ``days_since_conversation``, ``days_to_promise``,
          ``failed_contacts``, ``days_since_restructure_offer``,
          ``days_since_payment`` (since the last payment before the day); and beyond
          it: ``promise_pending`` (``days_to_promise >= 0``),
          ``days_since_contact`` (since the last contact attempt),
          ``broken_promises`` (promises whose date has passed with less paid
          than promised, between the promise and its date) and
          ``legal_started`` (a legal action was logged before the day);
        * ``action``: the action logged that day, or ``"none"``;
        * ``propensity``: the logged one; for ``"none"``, the share of
          ``"none"`` among the cell's decision rows of the window with the
          same ``product_type`` and ``legal_started`` (see Notes);
        * ``cost``: the logged cost (0 for ``"none"``; NaN when not logged);
        * ``reward_amount``: money paid in the window (``[day, day +
          horizon_days)``, or to resolution; discounted with
          ``discount_rate``) on the loan and on the loans that replace it
          after a restructuring (``restructured_from``), the transfer that
          closes a restructured loan excluded; ``paid``: ``reward_amount > 0``;
        * ``risk_score`` when ``scores`` is given (NaN when no earlier score);
        * with ``horizon_days="resolution"``: ``horizon_end``, the window's
          last day (inclusive), and ``resolved``, True when it ended at a cure,
          a closure or a write-off rather than at the cap;
        * with a finite ``write_off_dpd``: ``write_off_amount`` (0 when the
          loan family is not written off inside the window; a write-off before
          the day is sunk, not this decision's) and ``net_recovery =
          reward_amount - write_off_amount``. Payments after a write-off in
          the window still count in ``reward_amount``: recoveries.

    Notes
    -----
    A day is a decision day when the loan was overdue that morning: DPD
    >= 1 counting the payments dated before the day (the ledger at the end of
    the previous day, aged by one day), as the logged policy saw it. Reading
    the ledger *at* the day instead would drop every day on which a payment
    arrived, including the payments the day's call brought on the spot, and
    select rows on their outcome.

    Rows are kept by their decision day alone: those whose longest possible
    window (``horizon_days``, or ``max_horizon_days`` to resolution) ends on or
    before ``data_end``. A resolution window that ends early never keeps a
    row the cap would drop, and one still open never drops a row: which rows
    are kept does not depend on what happened after the day, so the rows are
    not biased towards the loans that resolved quickly (survivors).

    In a randomised cell the chance of no action does not depend on how many
    actions were eligible, only on whether any was: it is ``1 - rate`` while
    something may be done and 1 after legal action, when nothing more is.
    The number of eligible actions is not logged on days without an action,
    so the propensity of ``"none"`` is the empirical share of ``"none"``
    within those two strata (``legal_started``), and per product type, since
    the ledger's view of arrears differs by product type (below); the share
    is taken over every decision day of the window, those whose horizon is
    not yet observed included. It is the one column computed from other rows.

    For statement (card) loans the ledger's DPD follows the monthly
    statements and lags the lender's own view between them. A card whose
    payments since its last statement cover the shortfall that statement left
    is current to the lender (the collection system sees the payment), so
    those days are no decision days: counted as the cell's "no action", loans
    that had already paid would be set against the accounts the cell could
    act on, and every action would look worse than waiting, the more the
    longer the window. A new minimum missed after the statement is not known
    until the next one. Logged actions on days the ledger shows no arrears
    are left out (counted in a log message). Cell membership read from the log
    misses the cell's loans that were never acted upon; pass ``cell=`` when
    the lender records the cell.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk.prioritise._decisions import logged_decisions
    >>> p = odr.load_portfolio("data/sample")
    >>> d = logged_decisions(p, "2024-01-01", "2024-06-30")
    >>> len(d), list(d.index.names)
    (4306, ['loan_id', 'as_of'])
    >>> d["action"].value_counts().loc[["none", "call", "sms"]].tolist()
    [3218, 355, 304]
    >>> d.loc[d["action"] == "call", "propensity"].round(3).unique().tolist()
    [0.1, 0.06, 0.05, 0.075]
    """
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    h, cap, rate, write_off = _check_window(
        horizon_days, max_horizon_days, discount_rate, write_off_dpd
    )
    longest = cap if h is None else h
    d0, d1 = _one_day(start, "start"), _one_day(end, "end")
    if d1 < d0:
        raise OverdueRiskError(f"end must be on or after start; got {end!r} < {start!r}.")
    if strategy is None:
        strategy = Strategy()
    elif not isinstance(strategy, Strategy):
        raise OverdueRiskError(f"strategy must be a Strategy; got {type(strategy).__name__}.")
    p = validate(portfolio)
    if p.collections is None:
        raise OverdueRiskError("logged_decisions needs a collections table (the action log).")
    loans = p.loans
    ledger = _check_ledger(ledger, p)
    last = _data_end(p) if data_end is None else _one_day(data_end, "data_end")

    log = _log_arrays(p.collections, ledger)
    in_cell = _cell(cell, log, ledger)
    grid = _grid(ledger, loans, np.flatnonzero(in_cell), d0, min(d1, last))
    state = ledger.query(
        grid.code,
        grid.day - 1,
        ("dpd", "overdue_amount", "outstanding_principal", "last_payment_date", "source"),
    )
    # Overdue this morning: DPD >= 1 last night, or an instalment due yesterday unpaid;
    # not a card whose payments since its statement cover what the statement left overdue.
    schedule = state["source"] == 1
    overdue = (state["dpd"] >= 1) | (schedule & (state["overdue_amount"] > ledger.config.tolerance))
    cards = np.flatnonzero(overdue & (state["source"] == 2))
    paid_up = statement_cleared(
        ledger, grid.code[cards], grid.day[cards] - 1, state["overdue_amount"][cards]
    )
    overdue[cards[paid_up]] = False
    grid = grid.take(np.flatnonzero(overdue))
    state = {k: v[overdue] for k, v in state.items()}
    pays = payments(p, ledger)
    keys = keys_for(log, grid, pays[1], last + longest, _WINDOW)
    q = keys.of(grid.code, grid.day)
    n_cols: dict[str, np.ndarray] = {}

    # -- contact history: log rows of the cell's loans dated before the day --------------
    lg = log.take(in_cell[log.code])
    lk = keys.of(lg.code, lg.day)
    order = np.argsort(lk, kind="stable")
    lg, lk = lg.take(order), lk[order]
    r = strategy.rules
    counted = actions_in(lg.action, r.counted_actions)
    attempts = actions_in(lg.action, r.attempt_actions)
    reached = outcomes_in(lg.outcome, _REACHED)
    promise = (lg.outcome == _PROMISE) & (lg.pdate != NAT)

    def events(mask: np.ndarray) -> Events:
        return Events(lk[mask], lg.code[mask], lg.day[mask])

    n_cols["attempts_7d"] = events(counted).count(q - (_WINDOW - 1), q)
    contacts = actions_in(lg.action, CONTACT_ACTIONS)
    n_cols["contacts_7d"] = events(contacts).count(q - (_WINDOW - 1), q)
    n_cols["days_since_conversation"] = since(
        grid.day, events(counted & reached).last(q, grid.code)
    )
    n_cols["days_since_contact"] = since(grid.day, events(attempts).last(q, grid.code))
    promise_day = Events(lk[promise], lg.code[promise], lg.pdate[promise]).running_max(q, grid.code)
    n_cols["days_to_promise"] = -since(grid.day, promise_day)
    n_cols["promise_pending"] = n_cols["days_to_promise"] >= 0
    reset = np.maximum(
        state["last_payment_date"], events(outcomes_in(lg.outcome, _RESET)).last(q, grid.code)
    )
    # Contact attempts after the reset and before the day (no key is below the base day).
    from_day = np.maximum(np.where(reset == NAT, keys.base, reset + 1), keys.base)
    n_cols["failed_contacts"] = events(attempts).count(keys.of(grid.code, from_day), q)
    offer = latest_offer(events(lg.action == _RESTRUCTURE).last(q, grid.code), loans, grid.code)
    n_cols["days_since_restructure_offer"] = since(grid.day, offer)
    n_cols["days_since_payment"] = since(grid.day, state["last_payment_date"])
    n_cols["legal_started"] = events(lg.action == _LEGAL).last(q, grid.code) != NAT
    n_cols["broken_promises"] = broken_promises(pays, ledger, keys, lg, promise, grid, q)

    # -- the day's action -------------------------------------------------------------------
    lo = np.searchsorted(lk, q, side="left")
    hi = np.searchsorted(lk, q, side="right")
    if np.any(hi - lo > 1):
        many = np.flatnonzero(hi - lo > 1)
        first = loans["loan_id"].iloc[grid.code[many[0]]]
        raise OverdueRiskError(
            f"The randomised cell logs one action per loan and day; {many.size} (loan, day) "
            f"pairs have several, first {first!r} on {day_text(grid.day[many[0]])}."
        )
    acted = hi > lo
    at = lo[acted]
    action = np.zeros(grid.size, np.int8)  # 0: none
    action[acted] = lg.action[at] + 1
    propensity = np.full(grid.size, np.nan)
    propensity[acted] = lg.propensity[at]
    cost = np.zeros(grid.size)
    cost[acted] = lg.cost[at]
    _report_unmatched(lg, lk, q, loans, d0, min(d1, last))
    # P(no action): the share of "none" among the decision rows of each stratum
    # (product type, legal action started).
    kinds = pd.Categorical(loans["product_type"])
    stratum = (kinds.codes.astype(np.int64)[grid.code] + 1) * 2 + n_cols["legal_started"]
    none = action == 0
    m = 2 * (len(kinds.categories) + 1)
    rows_s = np.bincount(stratum, minlength=m)
    none_s = np.bincount(stratum, weights=none.astype(np.float64), minlength=m)
    share = np.divide(none_s, rows_s, out=np.full(m, np.nan), where=rows_s > 0)
    propensity[none] = share[stratum[none]]
    if logger.isEnabledFor(logging.INFO):
        used = np.flatnonzero(rows_s)
        logger.info(
            "P(no action) by (product type, legal action started): %s.",
            {(_label(kinds, k // 2 - 1), bool(k % 2)): round(float(share[k]), 4) for k in used},
        )

    # -- reward: only rows whose longest window the data covers ---------------------------
    seen = grid.day + longest - 1 <= last
    code, day = grid.code[seen], grid.day[seen]
    if h is None or math.isfinite(write_off):
        ends = window_ends(
            p, ledger, code, day, horizon=h, cap=cap, write_off_dpd=write_off, rate=rate, last=last
        )
    else:
        ends = {"end": day + (h - 1)}
    paid = reward(p, pays, ledger, keys, code, day, ends["end"], rate)

    keep = np.flatnonzero(seen)
    g = grid.take(keep)
    out = {
        # DPD this morning: one more than last night's.
        "dpd": (state["dpd"][keep] + 1).astype(np.int64),
        "overdue_amount": state["overdue_amount"][keep].astype(np.float64),
        "balance": state["outstanding_principal"][keep].astype(np.float64),
        "product_type": loans["product_type"].array.take(g.code),
        "product": (
            loans["product"].array.take(g.code)
            if "product" in loans
            else pd.Categorical(np.full(g.size, np.nan))
        ),
    }
    for name, values in n_cols.items():
        out[name] = values[keep]
    out["action"] = pd.Categorical.from_codes(action[keep], categories=list(DECISION_ACTIONS))
    out["propensity"] = propensity[keep]
    out["cost"] = cost[keep]
    out["reward_amount"] = paid
    out["paid"] = paid > 0
    frame = pd.DataFrame({name: out[name] for name in DECISION_COLUMNS})
    if h is None:
        frame["horizon_end"] = to_datetime(ends["end"])
        frame["resolved"] = ends["resolved"]
    if "write_off_amount" in ends:
        frame["write_off_amount"] = ends["write_off_amount"]
        frame["net_recovery"] = paid - ends["write_off_amount"]
    if scores is not None:
        frame["risk_score"] = _join_scores(scores, ledger, g)
    ids = loans["loan_id"].to_numpy()[g.code]
    frame.index = pd.MultiIndex.from_arrays([ids, to_datetime(g.day)], names=["loan_id", "as_of"])
    # Sorted by loan id then day, whatever the order of the tables' rows.
    order = np.lexsort((g.day, pd.factorize(ids, sort=True)[0]))
    return frame.iloc[order]


# -- inputs ------------------------------------------------------------------------------


def _check_window(horizon, cap, rate, write_off) -> tuple[int | None, int, float, float]:
    """The horizon (None: to resolution), its cap, the discount rate and the write-off DPD."""
    h = check(HORIZON, horizon, key="horizon_days", error=OverdueRiskError)
    cap = check(MAX_HORIZON, cap, key="max_horizon_days", error=OverdueRiskError)
    rate = check(DISCOUNT, rate, key="discount_rate", error=OverdueRiskError)
    write_off = check(WRITE_OFF, write_off, key="write_off_dpd", error=OverdueRiskError)
    return (None if h == RESOLUTION else h), cap, rate, write_off


def _one_day(value, what: str) -> int:
    if value is None or isinstance(value, list | tuple | set | np.ndarray | pd.Index):
        raise OverdueRiskError(f"{what} must be one date; got {value!r}.")
    try:
        days = parse_as_of(value)
    except OverdueRiskError as exc:
        raise OverdueRiskError(f"{what}: {exc}") from None
    return int(days[0])


def _data_end(p: Portfolio) -> int:
    """The latest date among the dated records (payments, statements, collection rows)."""
    ends = [
        to_days(df[col].to_numpy()).max()
        for df, col in (
            (p.payments, "payment_date"),
            (p.statements, "statement_date"),
            (p.collections, "action_date"),
        )
        if df is not None and len(df)
    ]
    if not ends:
        raise OverdueRiskError("The portfolio has no dated records; pass data_end.")
    return int(max(ends))


def _log_arrays(log: pd.DataFrame, ledger: Ledger) -> Rows:
    m = len(log)

    def column(name: str, fill) -> np.ndarray:
        if name not in log:
            return np.full(m, fill)
        return log[name].to_numpy(dtype=np.float64, na_value=np.nan)

    return Rows(
        **log_columns(log, ledger),
        pamount=column("promise_amount", np.nan),
        cost=column("cost", np.nan),
        propensity=column("propensity", np.nan),
        holdout=_holdout(log),
    )


def _holdout(log: pd.DataFrame) -> np.ndarray:
    """Each collection row's ``holdout`` as 1.0 (True), 0.0 (False) or NaN (missing)."""
    if "holdout" not in log:
        return np.full(len(log), np.nan)
    return log["holdout"].astype("boolean").to_numpy(dtype=np.float64, na_value=np.nan)


def _randomised(code: np.ndarray, holdout: np.ndarray, n: int) -> np.ndarray:
    """The randomised cell's rule, per loan (``code``: each log row's position in loans):
    a row with ``holdout`` True and none with False. Loans with both are left out (logged)."""
    yes = np.bincount(code, weights=holdout == 1, minlength=n) > 0
    no = np.bincount(code, weights=holdout == 0, minlength=n) > 0
    if (yes & no).any():
        logger.warning(
            "%d loans have collection rows both in and out of the randomised cell "
            "(holdout True and False); they are left out.",
            int((yes & no).sum()),
        )
    return yes & ~no


def randomised_cell(portfolio: Portfolio) -> pd.Index:
    """The loan ids of the randomised (challenger) cell, in the order of the loans table.

    The loans with collection rows marked ``holdout=True`` and none marked
    False (loans with both are left out, with a log message): the cell
    :func:`logged_decisions` reads with ``cell="randomised"``. The rule is
    per loan, so the cells of chunks of whole loans add up to the book's.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.

    Returns
    -------
    Index
        Named ``loan_id``; empty without a collections table or a ``holdout``
        column.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> from overdue_risk.prioritise import randomised_cell
    >>> cell = randomised_cell(odr.load_portfolio("data/sample"))
    >>> len(cell), cell[:2].tolist()
    (272, ['L0000035', 'L0000082'])
    """
    if not isinstance(portfolio, Portfolio):
        raise OverdueRiskError(f"portfolio must be a Portfolio; got {type(portfolio).__name__}.")
    p = validate(portfolio)
    ids = p.loans["loan_id"]
    log = p.collections
    if log is None or "holdout" not in log:
        return pd.Index(ids.array[:0], name="loan_id")
    code = pd.Index(ids).get_indexer(log["loan_id"])
    known = code >= 0  # a row of a loan not in loans belongs to no cell
    in_cell = _randomised(code[known], _holdout(log)[known], len(ids))
    return pd.Index(ids.array[in_cell], name="loan_id")


def _cell(cell, log: Rows, ledger: Ledger) -> np.ndarray:
    """Which loans (by position in loans) belong to the randomised cell."""
    n = ledger.n_loans
    if isinstance(cell, str):
        if cell != "randomised":
            raise OverdueRiskError(
                f"cell must be 'randomised' or an iterable of loan ids; got {cell!r}."
            )
        if not (log.holdout == 1).any():
            raise OverdueRiskError(
                "No loan has collection rows with holdout=True: there is no randomised cell "
                "in the log (pass cell= with the cell's loan ids if the lender records it)."
            )
        return _randomised(log.code, log.holdout, n)
    try:
        ids = pd.Series(list(cell))
    except TypeError:
        raise OverdueRiskError(
            f"cell must be 'randomised' or an iterable of loan ids; got {type(cell).__name__}."
        ) from None
    codes = ledger.codes(ids) if len(ids) else np.empty(0, np.int64)
    if (codes < 0).any():
        raise OverdueRiskError(
            f"cell names {int((codes < 0).sum())} loan ids that are not in loans, "
            f"first {ids[codes < 0].iloc[0]!r}."
        )
    out = np.zeros(n, bool)
    out[codes] = True
    return out


def _grid(ledger: Ledger, loans: pd.DataFrame, codes: np.ndarray, d0: int, d1: int) -> Rows:
    """(loan, day) for every cell loan and day of [d0, d1] after its start and up to its close.

    On its closing day a loan is still worked that morning (a restructuring
    closes it during the day), so the closing day is included.
    """
    start = to_days(loans["start_date"].to_numpy())[codes]
    closed = ledger.closed_days[codes]
    lo = np.maximum(d0, start + 1)
    hi = np.minimum(d1, closed)
    n = np.maximum(hi - lo + 1, 0)
    day = ranges(lo, n)
    return Rows(code=np.repeat(codes, n).astype(np.int64), day=day.astype(np.int64))


def _label(kinds: pd.Categorical, code: int) -> str:
    return "missing" if code < 0 else str(kinds.categories[code])


def _report_unmatched(lg: Rows, lk: np.ndarray, q: np.ndarray, loans, d0: int, d1: int) -> None:
    """Log the cell's actions of the window that fall on no decision day."""
    inside = np.flatnonzero((lg.day >= d0) & (lg.day <= d1))
    i = np.minimum(np.searchsorted(q, lk[inside]), max(q.size - 1, 0))
    miss = inside[q[i] != lk[inside]] if q.size else inside
    if miss.size:
        kinds = loans["product_type"].to_numpy()[lg.code[miss]]
        logger.warning(
            "%d of the cell's %d logged actions fall on days the ledger shows no arrears that "
            "morning and are left out (by product type: %s).",
            miss.size,
            inside.size,
            pd.Series(kinds).value_counts().to_dict(),
        )
