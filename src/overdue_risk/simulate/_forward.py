"""Forward simulation: run a policy for N days from the portfolio's state at a date.

Every run starts from a snapshot of the history (see
:meth:`SimulationTruth.state_at`), replicates the chosen loans ``n_paths``
times, redraws the customers' hardship clocks (memoryless, so the future's law
is unchanged and no path inherits the history's own future), and steps the
same engine that generated the history. Draws are keyed by (seed, stream, day,
replicate, loan slot): two policies run from the same state with the same seed
see the same numbers, so their difference is the policies' alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._dates import day_of, to_date, to_datetime
from ..exceptions import OverdueRiskError
from . import _codes as C
from . import _crn
from ._calendar import NEVER
from ._engine import reset_clocks, run
from ._observe import dpd_tonight
from ._params import Env, Tracker
from ._policy import as_policy
from ._population import PRODUCTS
from ._state import CUSTOMER_FIELDS, LOAN_FIELDS, State

__all__ = ["PolicyResult", "SimulationState", "simulate_policy"]

# The totals kept at the end of every day of a run (cumulative), then one per action.
DAILY = ("recovered", "cost", "contacts", "harsh_actions", "complaints", "delinquent_accounts")


class SimulationState:
    """The simulated portfolio as at the end of one day: the start of a forward run.

    Obtained from :meth:`SimulationTruth.state_at`; hidden state included (it
    is what the simulation continues from) but :meth:`table` shows only what
    a lender observes.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> _, truth = odr.simulate_portfolio(300, "2024-01-01", "2024-06-30", seed=1)
    >>> state = truth.state_at("2024-04-30")
    >>> overdue = state.table().query("dpd > 0").index
    >>> from overdue_risk.simulate import NoAction, simulate_policy
    >>> result = simulate_policy(state, "2024-05-01", 30, NoAction(), loans=overdue)
    >>> len(result.table()) == len(overdue)
    True
    """

    def __init__(self, truth, day: int, state: State):
        self._truth = truth
        self._day = day
        self._state = state

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(to_date(self._day))

    def alive_rows(self) -> np.ndarray:
        st = self._state
        return np.flatnonzero((st.closed == NEVER) & (st.start <= self._day))

    def loan_ids(self, rows: np.ndarray) -> np.ndarray:
        st = self._state
        ids = self._truth._pop.loan_ids[st.slot[rows]].copy()
        seg = st.seg[rows]
        for i in np.flatnonzero(seg > 0):
            ids[i] = f"{ids[i]}-R{seg[i]}"
        return ids

    def table(self) -> pd.DataFrame:
        """Open loans at ``as_of``: ``loan_id``, ``product``, ``dpd``, ``overdue_amount``.

        ``dpd`` is the true DPD at the end of the day (for cards the ledger,
        working from monthly statements, may show a different figure).
        """
        rows = self.alive_rows()
        dpd, _, ob = dpd_tonight(self._state, rows, self._day)
        return pd.DataFrame(
            {
                "loan_id": self.loan_ids(rows),
                "product": np.asarray(PRODUCTS, dtype=object)[self._state.prod[rows]],
                "dpd": dpd,
                "overdue_amount": np.maximum(ob.ov_start, 0) / 100,
            }
        ).set_index("loan_id")

    def __repr__(self) -> str:
        return f"SimulationState(as_of={self.as_of.date()}, open_loans={self.alive_rows().size:,})"


def select_rows(source: SimulationState, loans) -> np.ndarray:
    """Open loans at the state's date, optionally only those listed in ``loans``."""
    rows = source.alive_rows()
    if loans is None:
        return rows
    wanted = pd.Index(pd.Series(list(loans) if not isinstance(loans, str) else [loans]).astype(str))
    ids = pd.Index(source.loan_ids(rows).astype(str))
    return rows[ids.isin(wanted)]


@dataclass
class ForwardRun:
    """The replicated state after a run, its tracker and how rows map to loans."""

    state: State
    tracker: Tracker
    rows: np.ndarray  # rows of the source state, one per loan
    n_paths: int
    n_blocks: int  # copies of (loans x paths), e.g. one per forced action
    first: int
    last: int
    daily: np.ndarray | None = None  # (days, DAILY + actions) totals at each day's end


def forward_run(
    source: SimulationState,
    rows: np.ndarray,
    first: int,
    days: int,
    policy,
    *,
    seed: int,
    stream: int,
    n_paths: int,
    forced_actions: tuple[int, ...] | None = None,
    forced_codes: np.ndarray | None = None,
    window: int | None = None,
    daily: bool = False,
) -> ForwardRun:
    """Simulate days ``first .. first + days - 1`` for ``rows`` x ``n_paths``.

    With ``forced_actions``, the loans x paths block is repeated once per
    action and each copy gets that action on day ``first`` (the policy acts
    from the next day on); the copies share customers and random draws.
    With ``forced_codes`` (one action code per entry of ``rows``, which may
    repeat a row), each row gets its own action on day ``first`` instead.
    With ``daily``, the totals at the end of each day are kept (``DAILY``).
    """
    truth = source._truth
    sub = source._state.take(rows, n_paths)
    n_blocks = 1
    forced = None
    if forced_codes is not None:
        forced = {first: np.tile(np.asarray(forced_codes, np.int8), n_paths)}
        sub.next_check[:] = np.minimum(sub.next_check, first)
    if forced_actions is not None:
        n_blocks = len(forced_actions)
        base = sub
        sub = State(0, 0, _empty=True)
        for name in LOAN_FIELDS:
            setattr(sub, name, np.tile(getattr(base, name), n_blocks))
        for name in CUSTOMER_FIELDS:
            setattr(sub, name, getattr(base, name))
        sub.day = base.day
        codes = np.repeat(np.asarray(forced_actions, np.int8), base.n_rows)
        forced = {first: codes}
        # The forced action must be applied even to rows not otherwise due today.
        sub.next_check[:] = np.minimum(sub.next_check, first)
    last = first + days - 1
    tracker = Tracker(sub.n_rows, track_from=first, window_end=first + (window or days) - 1)
    tracker.seg0[:] = sub.seg
    env = Env(
        pop=truth._pop,
        params=truth._params,
        seed=seed,
        stream=stream,
        cstream=stream + 100,
        policy=as_policy(policy),
        forced=forced,
        tracker=tracker,
    )
    reset_clocks(env, sub, first, stationary=False)
    if not daily:
        run(env, sub, first, last)
        return ForwardRun(sub, tracker, rows, n_paths, n_blocks, first, last)
    totals = _run_days(env, sub, first, last)
    return ForwardRun(sub, tracker, rows, n_paths, n_blocks, first, last, totals)


def _run_days(env: Env, st: State, first: int, last: int, morning=None) -> np.ndarray:
    """Run day by day, keeping the totals at each day's end; ``morning(day)`` runs first."""
    tr = env.tracker
    out = np.zeros((last - first + 1, len(DAILY) + len(C.ACTIONS) - 1))
    for k, day in enumerate(range(first, last + 1)):
        if morning is not None:
            morning(day)
        run(env, st, day, day)
        out[k, : len(DAILY)] = (
            np.where(tr.delinquent, tr.recovered, 0).sum() / 100,
            tr.cost.sum(),
            tr.contacts.sum(),
            tr.harsh.sum(),
            tr.complaints.sum(),
            tr.delinquent.sum(),
        )
        out[k, len(DAILY) :] = tr.actions[1:]
    return out


class PolicyResult:
    """What a policy achieved in a forward simulation.

    ``table()`` has one row per loan (averages over the Monte Carlo paths);
    ``summary()`` the totals per path. A loan is *delinquent* when it was
    overdue on any day of the run; it is *cured* when, after that, it came
    back to current (or was repaid) on some day of the run, on the same loan
    (a restructuring is not a cure).
    Recovered amounts are money received from delinquent loans (restructuring
    transfers are not money and never count). ``by_day()`` gives the totals
    as they stood at the end of each day.
    """

    def __init__(self, fr: ForwardRun, source: SimulationState, policy) -> None:
        self.policy = repr(policy)
        self.start = pd.Timestamp(to_date(fr.first))
        self.days = fr.last - fr.first + 1
        self.n_paths = fr.n_paths
        st, tr, m = fr.state, fr.tracker, fr.rows.size
        start_dpd, _, ob0 = dpd_tonight(source._state, fr.rows, fr.first - 1)
        end_dpd, _, _ = dpd_tonight(st, np.arange(st.n_rows), fr.last)
        cured = tr.cured & ~tr.restructured
        opted_out = st.opt_out & ~np.tile(source._state.opt_out[fr.rows], fr.n_paths)

        def per_loan(a: np.ndarray) -> np.ndarray:
            return np.asarray(a, np.float64).reshape(fr.n_paths, m).mean(axis=0)

        table = pd.DataFrame(
            {
                "loan_id": source.loan_ids(fr.rows),
                "product": np.asarray(PRODUCTS, dtype=object)[source._state.prod[fr.rows]],
                "dpd_at_start": start_dpd,
                "overdue_at_start": np.maximum(ob0.ov_start, 0) / 100,
                "delinquent": per_loan(tr.delinquent),
                "recovered": per_loan(np.where(tr.delinquent, tr.recovered, 0)) / 100,
                "paid_total": per_loan(tr.recovered) / 100,
                "cost": per_loan(tr.cost),
                "contacts": per_loan(tr.contacts),
                "harsh_actions": per_loan(tr.harsh),
                "complaints": per_loan(tr.complaints),
                "opted_out": per_loan(opted_out),
                "cured": per_loan(cured),
                "restructured": per_loan(tr.restructured),
                "current_at_end": per_loan(end_dpd == 0),
                "cured_by_end": per_loan((end_dpd == 0) & ~tr.restructured),
                "dpd_at_end": per_loan(end_dpd),
            }
        ).set_index("loan_id")
        self._table = table
        self._actions = tr.actions / fr.n_paths
        self._blocked = tr.blocked.sum() / fr.n_paths
        self._daily = None
        if fr.daily is not None:
            names = [*DAILY, *(f"n_{a}" for a in C.ACTIONS[1:])]
            days = pd.DatetimeIndex(to_datetime(np.arange(fr.first, fr.last + 1)))
            daily = pd.DataFrame(fr.daily / fr.n_paths, index=days.rename("date"), columns=names)
            daily.insert(2, "net", daily["recovered"] - daily["cost"])
            self._daily = daily

    def table(self) -> pd.DataFrame:
        """Per loan: DPD and overdue at the start, then averages over paths of
        ``delinquent`` (share), ``recovered``, ``paid_total``, ``cost``,
        ``contacts``, ``harsh_actions``, ``complaints``, ``opted_out`` (opted
        out of calls and visits during the run), ``cured``, ``restructured``,
        ``current_at_end``, ``cured_by_end`` (current at the end on the same
        loan: a restructuring is not a cure) and ``dpd_at_end``."""
        return self._table.copy()

    def by_day(self) -> pd.DataFrame:
        """Per day, the totals per path as they stood at its end (a run stopped that day).

        Columns ``recovered``, ``cost``, ``net``, ``contacts``,
        ``harsh_actions``, ``complaints``, ``delinquent_accounts`` and
        ``n_<action>``, cumulative from the first day; ``recovered`` counts
        the loans delinquent by that day, as :meth:`summary` does at the end.
        """
        if self._daily is None:  # pragma: no cover - every run of simulate_policy keeps them
            raise OverdueRiskError("This result kept no daily totals.")
        return self._daily.copy()

    def summary(self) -> pd.Series:
        """Totals per path: recovered, cost, net, cures, contacts per account, ...

        ``contacts_per_account`` divides contact attempts by delinquent loans;
        ``harsh_per_cure`` divides visits and legal actions by cures.
        """
        t = self._table
        delinquent = t["delinquent"].sum()
        cures = t["cured"].sum()
        out = {
            "accounts": float(len(t)),
            "delinquent_accounts": delinquent,
            "recovered": t["recovered"].sum(),
            "cost": t["cost"].sum(),
            "net": t["recovered"].sum() - t["cost"].sum(),
            "cures": cures,
            "cure_rate": cures / delinquent if delinquent else np.nan,
            "restructured": t["restructured"].sum(),
            "contacts": t["contacts"].sum(),
            "contacts_per_account": t["contacts"].sum() / delinquent if delinquent else np.nan,
            "harsh_actions": t["harsh_actions"].sum(),
            "harsh_per_cure": t["harsh_actions"].sum() / cures if cures else np.nan,
            "complaints": t["complaints"].sum(),
            "opt_outs": t["opted_out"].sum(),
            "blocked_actions": float(self._blocked),
        }
        for code, name in enumerate(C.ACTIONS[1:], start=1):
            out[f"n_{name}"] = float(self._actions[code])
        return pd.Series(out, name=self.policy, dtype=float)

    def to_dict(self) -> dict:
        return {
            "policy": self.policy,
            "start": str(self.start.date()),
            "days": self.days,
            "n_paths": self.n_paths,
            "summary": self.summary().to_dict(),
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"PolicyResult({self.policy}, {self.days} days from {self.start.date()}: "
            f"recovered {s['recovered']:,.0f}, cost {s['cost']:,.0f}, cures {s['cures']:,.1f})"
        )


def simulate_policy(
    source,
    start_date,
    days: int,
    policy,
    *,
    seed: int | None = None,
    n_paths: int = 1,
    loans=None,
) -> PolicyResult:
    """Simulate a collection policy for ``days`` days from the portfolio's state.

    Parameters
    ----------
    source : SimulationTruth or SimulationState
        The simulated portfolio (its state the day before ``start_date`` is
        rebuilt by replaying the history) or a state from
        :meth:`SimulationTruth.state_at`.
    start_date : date-like
        The first simulated day. With a state, it must be the day after the
        state's ``as_of``.
    days : int
        Number of days to simulate.
    policy : callable, mapping or None
        ``policy(ctx: PolicyContext) -> actions`` (names or codes, optionally
        with propensities); a mapping ``{date: DataFrame(loan_id, action)}`` of
        worklists; or None for no action. Ready-made: :class:`LoggedPolicy`,
        :class:`RandomPolicy`, :class:`NoAction`.
    seed : int, optional
        Seed of the future's random draws; the portfolio's seed by default.
        The same seed gives every policy the same draws (common random numbers).
    n_paths : int, default 1
        Monte Carlo paths; the results are averages.
    loans : list of str, optional
        Only these loans (those open at the start).

    Returns
    -------
    PolicyResult

    Examples
    --------
    >>> import overdue_risk as odr
    >>> portfolio, truth = odr.simulate_portfolio(300, "2024-01-01", "2024-06-30", seed=1)
    >>> from overdue_risk.simulate import LoggedPolicy, NoAction, simulate_policy
    >>> logged = simulate_policy(truth, "2024-05-01", 30, LoggedPolicy(truth.scenario))
    >>> idle = simulate_policy(truth, "2024-05-01", 30, NoAction())
    >>> bool(logged.summary()["cost"] > idle.summary()["cost"] == 0)
    True
    """
    state, rows, first = _start(source, start_date, days, n_paths, loans)
    fr = forward_run(
        state,
        rows,
        first,
        int(days),
        policy,
        seed=state._truth.seed if seed is None else int(seed),
        stream=_crn.FORWARD,
        n_paths=int(n_paths),
        daily=True,
    )
    return PolicyResult(fr, state, policy)


def _start(source, start_date, days, n_paths, loans) -> tuple[SimulationState, np.ndarray, int]:
    """The state the day before ``start_date``, the rows to run and the first day."""
    from ._truth import SimulationTruth

    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise OverdueRiskError(f"days must be a positive integer; got {days!r}.")
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 1:
        raise OverdueRiskError(f"n_paths must be a positive integer; got {n_paths!r}.")
    first = day_of(start_date, "start_date")
    if isinstance(source, SimulationTruth):
        state = source.state_at(to_date(first - 1))
    elif isinstance(source, SimulationState):
        state = source
        if first != state._day + 1:
            raise OverdueRiskError(
                f"start_date must be the day after the state's as_of ({state.as_of.date()}); "
                f"got {to_date(first)}."
            )
    else:
        raise OverdueRiskError(
            f"source must be a SimulationTruth or SimulationState; got {type(source).__name__}."
        )
    return state, select_rows(state, loans), first
