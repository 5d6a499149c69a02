"""Ground truth of a simulated portfolio: hidden state and true probabilities.

Nothing here is in the portfolio's tables. The true probabilities are Monte
Carlo estimates: from the exact (hidden) state at an as-of date, the next days
are simulated ``n_paths`` times with the same engine and the logged policy,
and each estimate comes with its standard error ``sqrt(p (1 - p) / n_paths)``.

States at as-of dates are rebuilt by replaying the history from its start:
every draw is a function of (seed, day, slot), so the replay is exact; the
states are cached, and ``simulate_portfolio(..., snapshots=...)`` keeps them
during generation instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import day_of, to_date, to_datetime
from ..exceptions import OverdueRiskError
from . import _codes as C
from . import _crn
from ._engine import init_state, reset_clocks, run
from ._forward import SimulationState, forward_run, select_rows
from ._observe import dpd_tonight
from ._oracle import simulate_oracle
from ._params import Env, Params
from ._policy import LoggedPolicy
from ._population import HABITS, Population
from ._scenario import CAUSES, RESPONSE_TYPES, Scenario
from ._state import State

__all__ = ["SimulationTruth", "replay_history"]

_DEFAULT_RESPONSE_ACTIONS = C.ACTIONS  # no action and every treatment


def replay_history(
    pop: Population, params: Params, seed: int, last: int, snapshot_days=(), recorder=None
) -> tuple[State, dict[int, State]]:
    """Run the history from its start to ``last``; the final state and snapshots."""
    st = init_state(pop, params)
    env = Env(
        pop=pop,
        params=params,
        seed=seed,
        stream=_crn.HISTORY,
        cstream=_crn.CUSTOMER,
        policy=LoggedPolicy(params.s),
        recorder=recorder,
        snapshot_days=tuple(sorted(set(snapshot_days))),
    )
    reset_clocks(env, st, pop.start, stationary=True)
    run(env, st, pop.start, last)
    return st, env.snapshots


def _as_days(values, name: str) -> list[int]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        values = [values]
    days = sorted({day_of(v, name) for v in values})
    if not days:
        raise OverdueRiskError(f"{name} must name at least one date.")
    return days


def _causes(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), list(CAUSES))


def _check_paths(n_paths) -> int:
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 2:
        raise OverdueRiskError(f"n_paths must be an integer >= 2; got {n_paths!r}.")
    return int(n_paths)


class SimulationTruth:
    """The hidden side of a simulated portfolio.

    Holds each customer's latent traits, the regional economy, the final
    hidden state, and computes true probabilities by Monte Carlo from the
    exact state at any as-of date. Returned by
    :func:`~overdue_risk.simulate_portfolio`; never used as model input.

    Attributes
    ----------
    scenario : Scenario
    seed : int
    start, end : Timestamp
        The simulated window.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> portfolio, truth = odr.simulate_portfolio(300, "2024-01-01", "2024-06-30", seed=3)
    >>> pd_true = truth.pd_dpd30_90d("2024-03-31", n_paths=50)
    >>> list(pd_true.columns)
    ['p_dpd30_90d', 'se', 'dpd', 'n_paths']
    >>> bool(pd_true["p_dpd30_90d"].between(0, 1).all())
    True
    """

    def __init__(self, pop: Population, params: Params, seed: int, final: State, snapshots=None):
        self._pop = pop
        self._params = params
        self.seed = seed
        self._final = final
        self._cache: dict[int, State] = dict(snapshots or {})
        self._cache[pop.end] = final
        self._pd_cache: dict[tuple[int, int], pd.DataFrame] = {}

    # -- plain facts -------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self._params.s

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(to_date(self._pop.start))

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(to_date(self._pop.end))

    def customers(self) -> pd.DataFrame:
        """Hidden customer traits: capacity, willingness, habit, response type, region.

        In a scenario with causes enabled, ``cause`` too: why the customer
        falls behind (``forgetful``, ``confused``, ``hardship``, ``strategic``).
        """
        p = self._pop
        df = pd.DataFrame(
            {
                "customer_id": p.customer_ids,
                "capacity": p.capacity.astype(np.float64),
                "willingness": p.willingness.astype(np.float64),
                "habit": pd.Categorical.from_codes(p.habit.astype(np.int64), list(HABITS)),
                "habit_offset_days": p.habit_offset.astype(np.int64),
                "response_type": pd.Categorical.from_codes(
                    p.response_type.astype(np.int64), list(RESPONSE_TYPES)
                ),
                "region": pd.Categorical.from_codes(
                    p.region.astype(np.int64), list(p.region_names)
                ),
                "card_pay_share": p.pay_share.astype(np.float64),
                "shock_multiplier": p.shock_mult.astype(np.float64),
            }
        )
        if p.cause is not None:
            df["cause"] = _causes(p.cause)
        return df.set_index("customer_id")

    def economy(self) -> pd.DataFrame:
        """Monthly unemployment by region (the series that drives income shocks)."""
        e, names = self._pop.economy, self._pop.region_names
        months = e.months.astype("datetime64[M]").astype("datetime64[ns]")
        frames = [
            pd.DataFrame({"region": name, "month": months, "unemployment": e.unemployment[i]})
            for i, name in enumerate(names)
        ]
        df = pd.concat(frames, ignore_index=True)
        df["region"] = pd.Categorical(df["region"], categories=list(names))
        return df

    def hidden_state(self, as_of=None) -> pd.DataFrame:
        """Per open loan at ``as_of`` (default: the end): DPD, hardship and arrears cause.

        ``in_hardship`` is the customer's hardship flag; ``arrears_cause`` is
        ``confusion`` (a misunderstood product or a partial payment),
        ``inability``, or empty when the loan is not in arrears. With causes
        enabled, ``cause`` is the customer's cause of delinquency.
        """
        day = self._pop.end if as_of is None else day_of(as_of, "as_of")
        state = self.state_at(to_date(day))
        st, rows = state._state, state.alive_rows()
        dpd, ledger_dpd, ob = dpd_tonight(st, rows, day)
        cause = np.where(dpd > 0, st.reason[rows], 0)
        df = pd.DataFrame(
            {
                "loan_id": state.loan_ids(rows),
                "dpd": dpd,
                "ledger_dpd": ledger_dpd,
                "overdue_amount": ob.ov_start / 100,
                "in_hardship": st.hard[st.cust[rows]],
                "arrears_cause": pd.Categorical.from_codes(
                    cause.astype(np.int64), ["", "confusion", "inability"]
                ),
                "response_type": pd.Categorical.from_codes(
                    st.rtype[rows].astype(np.int64), list(RESPONSE_TYPES)
                ),
                "in_challenger_cell": st.holdout[rows],
            }
        )
        if self._pop.cause is not None:
            df["cause"] = _causes(st.cause[rows])
        return df.set_index("loan_id")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The static truth as tables: customers, economy and the hidden state at the end."""
        return {
            "customers": self.customers().reset_index(),
            "economy": self.economy(),
            "hidden_state": self.hidden_state().reset_index(),
        }

    # -- states ------------------------------------------------------------------------

    def _states(self, days: list[int]) -> dict[int, State]:
        lo, hi = self._pop.start, self._pop.end
        bad = [d for d in days if not lo <= d <= hi]
        if bad:
            raise OverdueRiskError(
                f"as_of must be within the simulated window {to_date(lo)} .. {to_date(hi)}; "
                f"got {to_date(bad[0])}."
            )
        missing = [d for d in days if d not in self._cache]
        if missing:
            _, snaps = replay_history(self._pop, self._params, self.seed, max(missing), missing)
            self._cache.update(snaps)
        return {d: self._cache[d] for d in days}

    def state_at(self, as_of) -> SimulationState:
        """The exact state at the end of ``as_of``, to start :func:`simulate_policy` from.

        Rebuilt by replaying the history (cached); the replay is exact because
        every random draw is keyed by day and loan.
        """
        day = day_of(as_of, "as_of")
        return SimulationState(self, day, self._states([day])[day])

    # -- true probabilities ------------------------------------------------------------

    def pd_dpd30_90d(self, as_of_dates, *, n_paths: int = 200, loans=None) -> pd.DataFrame:
        """True probability that each open loan reaches DPD >= 30 within 90 days.

        For every as-of date, the exact state at its end is replicated
        ``n_paths`` times and the next 90 days are simulated under the logged
        policy; the label is whether the DPD the ledger would show (for cards,
        the statement DPD) reaches 30 on any day of ``as_of + 1 .. as_of + 90``
        while the loan is open and not restructured.

        Parameters
        ----------
        as_of_dates : date-like or list of date-likes
            Within the simulated window.
        n_paths : int, default 200
            Monte Carlo paths per loan and date.
        loans : list of str, optional
            Only these loans (default: every loan open at the date).

        Returns
        -------
        DataFrame
            Indexed by (``loan_id``, ``as_of``): ``p_dpd30_90d``, its Monte Carlo
            standard error ``se``, the ``dpd`` at ``as_of`` and ``n_paths``.
        """
        n_paths = _check_paths(n_paths)
        days = _as_days(as_of_dates, "as_of_dates")
        frames = []
        for day, snap in self._states(days).items():
            cached = self._pd_cache.get((day, n_paths))
            if cached is not None:  # the same paths again: reuse them
                if loans is not None:
                    wanted = pd.Index(pd.Series(list(loans)).astype(str))
                    cached = cached[cached["loan_id"].isin(wanted)]
                frames.append(cached)
                continue
            state = SimulationState(self, day, snap)
            rows = select_rows(state, loans)
            if not rows.size:
                continue
            fr = forward_run(
                state,
                rows,
                day + 1,
                90,
                LoggedPolicy(self.scenario),
                seed=self.seed,
                stream=_crn.TRUTH,
                n_paths=n_paths,
            )
            hits = fr.tracker.hit30.reshape(n_paths, rows.size)
            p = hits.mean(axis=0)
            dpd, _, _ = dpd_tonight(snap, rows, day)
            frame = pd.DataFrame(
                {
                    "loan_id": state.loan_ids(rows),
                    "as_of": to_datetime(np.full(rows.size, day)),
                    "p_dpd30_90d": p,
                    "se": np.sqrt(p * (1 - p) / n_paths),
                    "dpd": dpd,
                    "n_paths": n_paths,
                }
            )
            if loans is None:
                self._pd_cache[(day, n_paths)] = frame
            frames.append(frame)
        if not frames:
            return pd.DataFrame(
                columns=["loan_id", "as_of", "p_dpd30_90d", "se", "dpd", "n_paths"]
            ).set_index(["loan_id", "as_of"])
        return pd.concat(frames, ignore_index=True).set_index(["loan_id", "as_of"])

    def action_response(
        self,
        as_of,
        *,
        actions=_DEFAULT_RESPONSE_ACTIONS,
        n_paths: int = 100,
        days: int = 30,
        loans=None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """True response of each overdue account to each action.

        For every loan overdue at the end of ``as_of`` and every action, the
        action is taken on the next day, instead of whatever the logged policy
        would have done that day, and the logged policy runs afterwards;
        ``n_paths`` paths (shared by all actions: common random numbers) give
        the probability of a payment within ``days`` days and the expected
        amount paid (money only: restructuring transfers do not count).
        ``"none"`` is the baseline, so ``uplift`` is each action's probability
        minus that of no action today.

        ``seed`` draws another set of futures (the portfolio's seed by
        default): an oracle that chooses actions on one set's estimates and is
        scored on another's does not profit from Monte Carlo noise.

        Returns
        -------
        DataFrame
            Indexed by (``loan_id``, ``action``): ``p_pay``, ``se``,
            ``expected_amount``, ``uplift``, ``cost`` (expected collection cost
            over the window), ``dpd`` and ``eligible`` (False when the action
            is blocked for the account: opted out, already under legal action,
            or no restructuring left; it then acts as "none").
        """
        n_paths = _check_paths(n_paths)
        day = day_of(as_of, "as_of")
        names = [actions] if isinstance(actions, str) else list(actions)
        unknown = [a for a in names if a not in C.ACTION_CODES]
        if unknown or not names:
            raise OverdueRiskError(
                f"actions must be among {', '.join(C.ACTIONS)}; got {unknown or names!r}."
            )
        if "none" not in names:
            names = ["none", *names]
        snap = self._states([day])[day]
        state = SimulationState(self, day, snap)
        rows = select_rows(state, loans)
        dpd, _, _ = dpd_tonight(snap, rows, day)
        rows, dpd = rows[dpd >= 1], dpd[dpd >= 1]
        codes = tuple(C.ACTION_CODES[a] for a in names)
        fr = forward_run(
            state,
            rows,
            day + 1,
            days,
            LoggedPolicy(self.scenario),
            seed=self.seed if seed is None else seed,
            stream=_crn.RESPONSE,
            n_paths=n_paths,
            forced_actions=codes,
        )
        m, tr = rows.size, fr.tracker
        shape = (len(codes), n_paths, m)
        paid = (tr.first_pay <= fr.last).reshape(shape)
        p = paid.mean(axis=1)
        amount = (tr.recovered.reshape(shape) / 100).mean(axis=1)
        cost = tr.cost.reshape(shape).mean(axis=1)
        blocked = (tr.blocked.reshape(shape) > 0).any(axis=1)
        s = snap
        c = self.scenario.collections
        eligible = np.ones((len(codes), m), bool)
        for i, code in enumerate(codes):
            if code in (C.CALL, C.VISIT):
                eligible[i] = ~s.opt_out[rows]
            elif code == C.LEGAL:
                eligible[i] = ~s.in_legal[rows]
            elif code == C.RESTRUCTURE:
                eligible[i] = s.n_restr[rows] < c.max_restructures
        eligible &= ~blocked
        ids = state.loan_ids(rows)
        out = pd.DataFrame(
            {
                "loan_id": np.tile(ids, len(codes)),
                "action": pd.Categorical(np.repeat(names, m), categories=list(C.ACTIONS)),
                "p_pay": p.ravel(),
                "se": np.sqrt(p * (1 - p) / n_paths).ravel(),
                "expected_amount": amount.ravel(),
                "uplift": (p - p[0]).ravel(),
                "cost": cost.ravel(),
                "dpd": np.tile(dpd, len(codes)),
                "eligible": eligible.ravel(),
            }
        )
        return out.set_index(["loan_id", "action"]).sort_index(level=0, sort_remaining=False)

    def simulate_oracle(
        self,
        start_date,
        days: int,
        policy,
        *,
        horizon_days: int = 30,
        lookahead_paths: int = 10,
        then=None,
        n_paths: int = 1,
        seed: int | None = None,
        loans=None,
    ):
        """Simulate a policy that sees the truth: a one-step oracle's run.

        Each morning ``policy(ctx, lookahead)`` gets the observable context of
        the overdue accounts (as any policy does) and ``lookahead(actions,
        eligible)``, which returns, per account and action, the true expected
        net gain (money recovered less every collection cost, over ``horizon_days``
        days) of taking the action today instead of none, the logged policy
        acting on the following days; NaN where ``eligible`` is False. It is
        estimated from the account's exact hidden state that morning, on the
        path the account is on, with ``lookahead_paths`` Monte Carlo
        look-aheads shared by the actions (common random numbers: differences between
        actions are not blurred by different draws). The look-aheads draw from
        another stream than the run, so the oracle never sees its own future.
        Run with the same seed, the days between the mornings are the same as
        those of :func:`~overdue_risk.simulate.simulate_policy`: an oracle that
        always returns ``none`` gives the result of
        :class:`~overdue_risk.simulate.NoAction`.

        The cost is that of a look-ahead every morning: (accounts valued +
        eligible pairs) x ``lookahead_paths`` rows for ``horizon_days`` days.

        Parameters
        ----------
        start_date, days, seed, n_paths, loans
            As for :func:`~overdue_risk.simulate.simulate_policy`.
        policy : callable
            ``policy(ctx: PolicyContext, lookahead) -> actions`` (names or codes).
        horizon_days : int, default 30
            Days each look-ahead runs, from the morning's action on.
        lookahead_paths : int, default 10
            Monte Carlo look-aheads per account and morning.

        Returns
        -------
        PolicyResult

        Examples
        --------
        Call the overdue accounts whose call is worth more than it costs:

        >>> import numpy as np
        >>> import overdue_risk as odr
        >>> from overdue_risk.simulate import simulate_policy, NoAction
        >>> _, truth = odr.simulate_portfolio(300, "2024-01-01", "2024-06-30", seed=1)
        >>> def calls_that_pay(ctx, lookahead):
        ...     gain = lookahead(["call"], ~ctx.opted_out[:, None])[:, 0]
        ...     return np.where(gain > 0, "call", "none")
        >>> result = truth.simulate_oracle("2024-05-01", 5, calls_that_pay, lookahead_paths=4)
        >>> bool(result.summary()["n_call"] > 0)
        True
        >>> idle = truth.simulate_oracle("2024-05-01", 5, lambda ctx, look: None)
        >>> bool(idle.summary()["net"] == simulate_policy(truth, "2024-05-01", 5, NoAction())
        ...      .summary()["net"])
        True
        """
        return simulate_oracle(
            self,
            start_date,
            days,
            policy,
            horizon_days=horizon_days,
            lookahead_paths=lookahead_paths,
            then=then,
            seed=seed,
            n_paths=n_paths,
            loans=loans,
        )

    def oracle_auc(self, labels, *, as_of_dates=None, n_paths: int = 200) -> float:
        """AUC of the true probabilities against realised labels: the best any model can do.

        Parameters
        ----------
        labels : Series or DataFrame
            0/1 outcomes indexed by (``loan_id``, ``as_of``), or a frame with
            columns ``loan_id``, ``as_of`` and ``label``.
        as_of_dates : list of date-likes, optional
            Restrict to these dates (default: every date in ``labels``).
        n_paths : int, default 200
            Monte Carlo paths for the true probabilities.

        Returns
        -------
        float
            ROC AUC over the labelled loans that were open at their as-of date.
        """
        from sklearn.metrics import roc_auc_score

        if isinstance(labels, pd.DataFrame):
            if {"loan_id", "as_of", "label"} <= set(labels.columns):
                labels = labels.set_index(["loan_id", "as_of"])["label"]
            elif labels.shape[1] == 1:
                labels = labels.iloc[:, 0]
            else:
                raise OverdueRiskError(
                    "labels must be a Series indexed by (loan_id, as_of) or a DataFrame "
                    "with columns loan_id, as_of and label."
                )
        if not isinstance(labels, pd.Series) or labels.index.nlevels != 2:
            raise OverdueRiskError("labels must be indexed by (loan_id, as_of).")
        y = labels.copy()
        y.index = pd.MultiIndex.from_arrays(
            [
                y.index.get_level_values(0).astype(str),
                pd.to_datetime(y.index.get_level_values(1)).astype("datetime64[ns]"),
            ],
            names=["loan_id", "as_of"],
        )
        dates = y.index.get_level_values(1).unique() if as_of_dates is None else as_of_dates
        truth = self.pd_dpd30_90d(list(dates), n_paths=n_paths)
        joined = truth.join(y.rename("label"), how="inner").dropna(subset=["label"])
        if joined["label"].nunique() < 2:
            raise OverdueRiskError("oracle_auc needs both labels (0 and 1) among open loans.")
        return float(roc_auc_score(joined["label"].astype(int), joined["p_dpd30_90d"]))

    def __repr__(self) -> str:
        return (
            f"SimulationTruth(loans={self._pop.n_loans:,}, customers={self._pop.n_customers:,}, "
            f"{self.start.date()} .. {self.end.date()}, seed={self.seed})"
        )
