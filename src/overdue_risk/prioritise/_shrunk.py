"""The value model noise cannot fool: learned uplift shrunk toward its action's average.

A per-account uplift learned from a few hundred randomised decisions per action
is noisy; the average uplift of an action over the same decisions, per unit of
arrears, is precise. :class:`ShrunkUplift` blends the two:

    ``uplift(x, a) = (1 - w) * g_a * lift(segment(x), a) * arrears(x) + w * learned(x, a)``

where ``learned`` is the average of response models fitted on cross-fitting
folds (each on the other folds' loans, each with its own seed: bagging),
``lift`` the action's average uplift per unit of arrears in the account's
segment (the augmented IPW estimate with the cross-fitted models, shrunk toward
the action's pooled average by its precision), and ``g_a`` is 0 for an action
whose pooled average uplift cannot be told from zero: such an action gets
capacity only where the learned part, having earned its weight on held-out
decisions, finds it pays. The weight ``w`` is chosen on the log itself: every
candidate weight is a policy (each account's best action by net value), and its
value is estimated on the held-out folds by the doubly robust estimator, the
fold's own response model as the outcome model. The stated arrears rule (the
stated lifts times the arrears, nothing estimated) is a candidate too. The
simplest candidate whose value is within one standard error of the best is
kept, the stated rule first and then the weights from the least, and the stated
rule gives way only to a candidate ``z`` standard errors better: an estimate,
and then the learned part, must earn its place. With ``capacity`` each
candidate policy is the one the worklist would run: the held-out decisions
allocated greedily under the actions' shares of a day's decisions, so that a
candidate is judged by whom it gives the scarce actions to. Candidates are
compared where the log can judge them: an action is open to a candidate only on
the rows the cell randomised and within the DPD range it was drawn on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._params import Boolean, Interval, Options, Satisfies, check_params
from ..contract import AS_LOGGED, NO_ACTION
from ..exceptions import ModelError
from ._arrears import ARREARS_LIFTS, ArrearsRule
from ._averages import Cell, aipw_lifts, centers, shares, supported
from ._greedy import best_actions
from ._ope import dr_terms, loan_groups
from ._response import ResponseModel
from ._selection import select_candidate

__all__ = ["ShrunkUplift"]

logger = logging.getLogger(__name__)

_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
STATED = "arrears rule (stated)"
_AMOUNT = "overdue_amount"


def _grid_ok(v) -> bool:
    if isinstance(v, str | bytes) or not isinstance(v, Sequence) or len(v) == 0:
        return False
    return all(
        isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1 for x in v
    ) and len(set(v)) == len(v)


def _mapping(high: float):
    """A check of None or a dict of str to a finite number in [0, ``high``]."""

    def ok(v) -> bool:
        if v is None:
            return True
        if not isinstance(v, Mapping):
            return False
        return all(
            isinstance(k, str)
            and isinstance(c, int | float)
            and not isinstance(c, bool)
            and np.isfinite(c)
            and 0 <= c <= high
            for k, c in v.items()
        )

    return ok


_PARAMS = {
    "response": [None, Satisfies(lambda v: isinstance(v, ResponseModel), "a ResponseModel")],
    "prior_lifts": Satisfies(_mapping(np.inf), "None or a dict of action to a lift >= 0"),
    "by": [None, Satisfies(lambda v: isinstance(v, str), "a column name or 'dpd_bucket'")],
    "z": Interval(float, 0),
    "shrinkage": [Options(("auto",)), Interval(float, 0, 1)],
    "grid": Satisfies(_grid_ok, "a list of distinct numbers in [0, 1]"),
    "n_folds": Interval(int, 2, 20),
    "one_se": Boolean(),
    "costs": Satisfies(_mapping(np.inf), "None or a dict of action to a cost >= 0"),
    "capacity": Satisfies(_mapping(1.0), "None or a dict of action to a share in [0, 1]"),
    "random_state": Interval(int, 0),
}


class ShrunkUplift(BaseEstimator):
    """Learned uplift shrunk toward its action's average, bagged, and tuned by DR.

    Parameters
    ----------
    response : ResponseModel, optional
        The learner of per-account response, cloned once per fold with
        ``random_state + fold``. Default ``ResponseModel()``; with its
        ``actions=None`` the actions modelled are those with ``min_rows``
        rows in every fold's training part.
    prior_lifts : dict of str to float, optional
        The stated lifts (the share of the arrears an action brings back),
        read as a prior of that mean and standard deviation which the cell's
        estimate updates; default :data:`ARREARS_LIFTS` (SMS 1%, call 5%,
        visit 15%), ``{}`` for none. An action without a stated lift gets an
        average only when its estimate is distinguishable from 0.
    by : str or None, default="dpd_bucket"
        The segments of the average uplift: ``"dpd_bucket"`` (the ledger's
        DPD buckets), a column of the decisions and the state
        (``"product_type"``), or None for one average per action.
    z : float, default=1.96
        An action without a stated lift whose pooled average uplift is not
        above ``z`` standard errors gets no value from the average (the
        learned part alone, by its weight); and a candidate replaces the
        stated rule only when its value beats the rule's by ``z`` standard
        errors of the paired difference.
    shrinkage : "auto" or float in [0, 1], default="auto"
        The weight ``w`` of the learned part; ``"auto"`` chooses it from
        ``grid`` by cross-fitted doubly robust policy value.
    grid : list of float, default=(0, 0.25, 0.5, 0.75, 1)
        The candidate weights.
    n_folds : int, default=5
        Cross-fitting folds, split by loan; also the number of bagged models.
    one_se : bool, default=True
        Keep the least learned weight whose value is within one standard
        error (of the paired difference) of the best; False keeps the best.
    costs : dict of str to float, optional
        Each action's cost, for the candidate policies' net values and the
        rewards; by default the median logged cost of each action.
    capacity : dict of str to float, optional
        Each action's capacity as a share of a day's decisions (the accounts
        overdue that morning), e.g. ``{"call": 0.18, "visit": 0.024}``: the
        candidate policies are then allocated greedily under these shares on
        each held-out fold, as a worklist would be; an action left out is
        unlimited. By default (None) each decision gets its best action by net
        value.
    random_state : int, default=0

    Attributes
    ----------
    actions_ : tuple of str
        The actions valued (``"none"`` first).
    members_ : list of ResponseModel
        The bagged response models, one per fold.
    lifts_ : DataFrame
        Each action's average uplift per unit of arrears, pooled
        (``segment == "all"``) and per segment: ``estimate``, ``se``,
        ``rows``, ``rows_none``, ``distinct`` (``estimate - z * se > 0``).
    centers_ : DataFrame
        The average uplift applied per segment (rows) and action (columns),
        each segment's estimate shrunk toward the pooled one.
    gate_ : ndarray of shape (1, actions)
        1 for the actions whose pooled average is distinguishable from 0 or
        that have a stated lift.
    extra_ : tuple of str
        Actions with a stated lift that the log holds too few decisions of
        for the response model: valued by the stated lift updated by the
        cell's plain estimate (:class:`ArrearsRule`'s), with no learned part.
    shrinkage_ : float
        The weight used; NaN when the stated rule was kept.
    candidate_ : str
        The candidate kept: ``"arrears rule (stated)"`` or ``"w=<weight>"``.
    stated_lifts_ : dict of str to float
        The stated lifts (``prior_lifts``) of the stated rule candidate.
    selection_ : DataFrame
        Per candidate (the stated arrears rule when some lift is stated, then
        each weight): the doubly robust value per decision on the held-out
        folds, its standard error, the difference from the chosen candidate
        with its standard error, and ``chosen``.
    costs_ : dict of str to float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from overdue_risk.prioritise import ResponseModel, ShrunkUplift
    >>> rng = np.random.default_rng(0)
    >>> n = 6000
    >>> action = rng.choice(["none", "call"], n)
    >>> amount = rng.uniform(100, 500, n)
    >>> paid = rng.random(n) < 0.3 + 0.2 * (action == "call")
    >>> d = pd.DataFrame({"dpd": rng.integers(1, 90, n), "overdue_amount": amount,
    ...     "action": action, "propensity": 0.5, "cost": np.where(action == "call", 2.0, 0.0),
    ...     "reward_amount": np.where(paid, amount, 0.0)})
    >>> model = ShrunkUplift(response=ResponseModel(features=["dpd", "overdue_amount"],
    ...     n_estimators=30), n_folds=3).fit(d)
    >>> model.actions_
    ('none', 'call')
    >>> bool(model.uplift(d.head(3))["call"].gt(0).all())
    True
    """

    causal = True

    def __init__(
        self,
        *,
        response: ResponseModel | None = None,
        prior_lifts: Mapping[str, float] | None = None,
        by: str | None = "dpd_bucket",
        z: float = 1.96,
        shrinkage: str | float = "auto",
        grid: Sequence[float] = _GRID,
        n_folds: int = 5,
        one_se: bool = True,
        costs: Mapping[str, float] | None = None,
        capacity: Mapping[str, float] | None = None,
        random_state: int = 0,
    ):
        self.response = response
        self.prior_lifts = prior_lifts
        self.by = by
        self.z = z
        self.shrinkage = shrinkage
        self.grid = grid
        self.n_folds = n_folds
        self.one_se = one_se
        self.costs = costs
        self.capacity = capacity
        self.random_state = random_state

    @property
    def value_source(self) -> str:
        """How a worklist names these values: the candidate kept and its evidence."""
        if not hasattr(self, "shrinkage_"):
            return "shrunk uplift model (not fitted)"
        sel = self.selection_
        chosen = sel[sel["chosen"]]
        dr = f"cross-fitted DR {chosen['dr'].iloc[0]:+.2f} per decision" if len(chosen) else ""
        if np.isnan(self.shrinkage_):
            others = sel.loc[~sel["chosen"], "dr"]
            return (
                f"the stated arrears rule, kept by the randomised cell: {dr}, no other "
                f"candidate better by a standard error (best other {others.max():+.2f})"
            )
        head = (
            f"uplift shrunk toward the arrears rule, weight {self.shrinkage_:g} on the learned part"
        )
        stated = sel[sel["candidate"] == STATED]
        if not len(chosen) or not len(stated):
            return head + (f": {dr}" if dr else "")
        return f"{head}: {dr} vs {stated['dr'].iloc[0]:+.2f} for the stated arrears rule"

    # -- fit ------------------------------------------------------------------------------

    def fit(self, decisions: pd.DataFrame) -> ShrunkUplift:
        """Fit the bagged response models and the average uplifts, and choose the weight.

        Parameters
        ----------
        decisions : DataFrame
            The randomised cell's decisions (:func:`logged_decisions`):
            the response model's features, ``action``, ``propensity``,
            ``reward_amount``, ``cost`` (or ``costs=``) and
            ``overdue_amount``; indexed by ``loan_id`` for folds by loan.

        Returns
        -------
        self
        """
        check_params(type(self).__name__, self.get_params(deep=False), _PARAMS, ModelError)
        if not isinstance(decisions, pd.DataFrame):
            raise ModelError(f"decisions must be a DataFrame; got {type(decisions).__name__}.")
        needed = ["action", "propensity", "reward_amount", _AMOUNT]
        missing = [c for c in needed if c not in decisions.columns]
        if missing:
            raise ModelError(f"decisions lacks the columns {missing}.")
        if "loan_id" in (decisions.index.names or []) and decisions.index.is_unique:
            # One canonical order (the log's is arbitrary): row order changes nothing.
            decisions = decisions.sort_index(kind="stable")
        action = decisions["action"].astype(object).map(lambda a: AS_LOGGED.get(a, a))
        if action.isna().any():
            raise ModelError(f"decisions.action has missing values; no action is {NO_ACTION!r}.")
        action = action.to_numpy(dtype=object).astype(str)
        groups = loan_groups(decisions)
        rng = np.random.default_rng(self.random_state)
        fold = rng.permutation(int(groups.max()) + 1)[groups] % self.n_folds
        costs = self._costs(decisions, action)
        response = ResponseModel() if self.response is None else self.response
        propensity = decisions["propensity"].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~((propensity > 0) & (propensity <= 1))
        if bad.any():
            raise ModelError(
                f"{int(bad.sum())} decision rows have a propensity outside (0, 1] or missing; "
                "the cell's estimates weight each row by 1 / propensity."
            )
        # ``min_rows`` counts an action's rows in all: each fold trains on (K - 1) / K of them.
        need = int(np.ceil(response.min_rows * (self.n_folds - 1) / self.n_folds))
        response = clone(response).set_params(min_rows=need)
        if response.actions is None:
            response.set_params(actions=self._foldwise(action, fold, need))

        cost_row = (
            decisions["cost"].to_numpy(dtype=np.float64, na_value=np.nan)
            if ("cost" in decisions.columns and self.costs is None)
            else np.full(len(decisions), np.nan)
        )
        fallback = np.array([costs.get(a, np.nan) for a in action])
        reward = decisions["reward_amount"].to_numpy(dtype=np.float64, na_value=np.nan) - np.where(
            np.isnan(cost_row), fallback, cost_row
        )

        ok = ~((action == NO_ACTION) & (propensity >= 1))  # rows the cell randomised
        amount = np.maximum(_amount(decisions), 1.0)
        segment = ArrearsRule(by=self.by)._segments(decisions) if self.by else None
        dpd = (
            decisions["dpd"].to_numpy(dtype=np.float64, na_value=np.nan)
            if "dpd" in decisions.columns
            else None
        )
        gross = decisions["reward_amount"].to_numpy(dtype=np.float64, na_value=np.nan)
        prior = ARREARS_LIFTS if self.prior_lifts is None else dict(self.prior_lifts)

        # Cross-fitting: each fold's response model predicts the rows it never saw.
        members, levels = [], None
        for k in range(self.n_folds):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            try:
                member = clone(response).set_params(random_state=self.random_state + k)
                member.fit(decisions.iloc[train])
            except ModelError as exc:
                raise ModelError(f"Fold {k + 1} of {self.n_folds}: {exc}") from exc
            members.append(member)
            level = member.predict(decisions.iloc[test])
            if levels is None:
                acts = list(level.columns)
                levels = np.full((len(decisions), len(acts)), np.nan)
            levels[test] = level.to_numpy()
        data = Cell(action, gross, propensity, amount, segment, dpd, groups, ok, acts, levels)
        # Actions with a stated lift that the log holds too few of to learn: the stated
        # lift updated by the cell's plain estimate, with no learned part.
        extra = [a for a in costs if prior.get(a, 0.0) > 0 and a not in acts]
        every = [*acts, *extra]
        cost = np.array([costs.get(a, 0.0) if a != NO_ACTION else 0.0 for a in every])
        pos = pd.Index(every).get_indexer(action)
        learned = levels - levels[:, [0]]
        lifts = np.array([float(prior.get(a, 0.0)) if a != NO_ACTION else 0.0 for a in every])
        stated = lifts[None, :] * amount[:, None]
        has_rule = bool((lifts > 0).any())
        names = [STATED] * has_rule + [f"w={w:g}" for w in self.grid]
        weights = np.array([np.nan] * has_rule + list(self.grid), dtype=np.float64)
        share = self._shares(every)
        support = supported(action, every, dpd, ok)
        terms = np.full((len(names), len(decisions)), np.nan)
        for k in range(self.n_folds):
            test = np.flatnonzero(fold == k)
            fold_centers, gate = centers(aipw_lifts(data.rows(fold != k), self.z), acts, prior)
            rule = gate * shares(fold_centers, segment, test) * amount[test, None]
            more = self._extra(decisions.iloc[np.flatnonzero(fold != k)], extra, prior)
            more = more[None, :] * amount[test, None]
            rule = np.hstack([rule, more])
            mine = np.hstack([learned[test], more])  # no learned part for the extra actions
            # The outcome model, net of cost; for the extra actions, no action plus the average.
            q = np.hstack([levels[test], levels[test, :1] + more]) - cost
            q_a = np.where(
                pos[test] >= 0, q[np.arange(len(test)), np.maximum(pos[test], 0)], np.nan
            )
            for c, w in enumerate(weights):
                up = stated[test] if np.isnan(w) else (1 - w) * rule + w * mine
                pick = best_actions(np.where(support[test], up - cost, -np.inf), share)
                weight = np.where(pos[test] == pick, 1.0 / propensity[test], 0.0)
                chosen = q[np.arange(len(test)), pick]
                terms[c, test] = dr_terms(chosen, q_a, weight, reward[test])
        bad = ~np.isfinite(terms)
        if bad.any():
            raise ModelError(
                f"{int(bad.any(axis=0).sum())} decision rows have no usable reward or "
                "propensity where a candidate policy matches the logged action."
            )
        self.selection_, self.shrinkage_, self.candidate_ = select_candidate(
            names,
            weights,
            terms,
            groups,
            shrinkage=self.shrinkage,
            one_se=self.one_se,
            z=self.z,
        )
        self.stated_lifts_ = {a: float(v) for a, v in zip(every, lifts, strict=True) if v > 0}
        self.lifts_ = aipw_lifts(data, self.z)
        self.centers_, gate = centers(self.lifts_, acts, prior)
        for a, v in zip(extra, self._extra(decisions, extra, prior), strict=True):
            self.centers_[a] = v
        self.gate_ = np.hstack([gate, np.ones((1, len(extra)))])
        self.members_ = members
        self.extra_ = tuple(extra)
        self.actions_ = tuple(every)
        self.costs_ = costs
        self.n_features_in_ = members[0].n_features_in_
        self.feature_names_in_ = members[0].feature_names_in_
        return self

    def _extra(self, decisions: pd.DataFrame, extra: list, prior) -> np.ndarray:
        """The stated lift of each action of ``extra``, updated by the cell's plain
        estimate (a ratio of IPW-weighted sums on the action's DPD range) by precision."""
        out = np.array([float(prior[a]) for a in extra])
        if not extra:
            return out
        try:
            table = ArrearsRule(z=self.z, min_rows=1).fit(decisions).pooled_lifts_
        except ModelError:
            return out
        table = table.set_index("action")
        for i, a in enumerate(extra):
            if a in table.index:
                e, se = table.loc[a, ["estimate", "se"]].to_numpy(dtype=np.float64)
                if np.isfinite(e) and np.isfinite(se) and se > 0:
                    s = out[i]
                    out[i] = (s / s**2 + e / se**2) / (1 / s**2 + 1 / se**2)
        return out

    def _shares(self, every: list[str]) -> np.ndarray | None:
        """Each valued action's share of a day's decisions (``capacity``), or None."""
        if self.capacity is None:
            return None
        given = {AS_LOGGED.get(a, a): float(c) for a, c in self.capacity.items()}
        return np.array([np.inf if a == NO_ACTION else given.get(a, np.inf) for a in every])

    def _foldwise(self, action: np.ndarray, fold: np.ndarray, need: int) -> list[str]:
        """The actions with ``need`` rows in every fold's training part."""
        keys = pd.MultiIndex.from_arrays([action, fold])
        counts = pd.Series(1, index=keys).groupby(level=[0, 1]).sum().unstack(fill_value=0)
        counts = counts.reindex(columns=range(self.n_folds), fill_value=0)
        train = counts.sum(axis=1).to_numpy()[:, None] - counts.to_numpy()
        ok = [a for a, row in zip(counts.index, train, strict=True) if row.min() >= need]
        if NO_ACTION not in ok or len(ok) < 2:
            rows = {str(a): int(n) for a, n in counts.sum(axis=1).items()}
            raise ModelError(
                f"Too few randomised decisions: with {self.n_folds} folds, no action and at "
                f"least one action need {need} rows in every fold's training part (the "
                f"response model's min_rows x {self.n_folds - 1}/{self.n_folds}); rows per "
                f"action: {rows}."
            )
        dropped = sorted(set(counts.index) - set(ok))
        if dropped:
            logger.info("Actions with too few rows to learn, left out: %s.", dropped)
        return ok

    def _costs(self, decisions: pd.DataFrame, action: np.ndarray) -> dict[str, float]:
        if self.costs is not None:
            given = {AS_LOGGED.get(a, a): float(c) for a, c in self.costs.items()}
            unknown = sorted(str(a) for a in set(action) - set(given) - {NO_ACTION})
            if unknown:
                raise ModelError(f"costs= has no cost for the logged action(s) {unknown}.")
            return {NO_ACTION: 0.0, **given}
        if "cost" not in decisions.columns:
            raise ModelError("decisions lacks the column 'cost'; pass costs= per action.")
        cost = decisions["cost"].to_numpy(dtype=np.float64, na_value=np.nan)
        median = pd.Series(cost).groupby(action).median()
        out = {a: (0.0 if a == NO_ACTION else float(v)) for a, v in median.items()}
        unknown = sorted(a for a, v in out.items() if np.isnan(v))
        if unknown:
            raise ModelError(f"No logged cost for the action(s) {unknown}; pass costs= per action.")
        return out

    # -- predict --------------------------------------------------------------------------

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        """Expected recovery per action: the bagged level of no action plus each uplift."""
        up, level = self._uplift(state)
        base = level[NO_ACTION]
        out = up.add(base, axis=0)
        out.insert(0, NO_ACTION, base)
        out.attrs["causal"] = True
        return out

    def uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Expected recovery of each action over no action (``"none"`` left out)."""
        return self._uplift(state)[0]

    def _uplift(self, state: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The uplift and the bagged levels it was built from (the members predict once)."""
        check_is_fitted(self, "members_")
        level = self._level(state)
        acts = list(level.columns)
        segment = ArrearsRule(by=self.by)._segments(state) if self.by else None
        rows = np.arange(len(state))
        every = list(self.actions_)
        table = self.centers_.reindex(columns=every)
        rule = self.gate_ * shares(table, segment, rows) * _amount(state)[:, None]
        learned = level.to_numpy() - level[[NO_ACTION]].to_numpy()
        learned = np.hstack([learned, rule[:, len(acts) :]])  # extra actions: no learned part
        w = self.shrinkage_
        if np.isnan(w):  # the stated rule was kept
            lifts = np.array([self.stated_lifts_.get(a, 0.0) for a in every])
            up = lifts[None, :] * _amount(state)[:, None]
        else:
            up = (1 - w) * rule + w * learned
        out = pd.DataFrame(up, index=state.index, columns=every).drop(columns=NO_ACTION)
        out.attrs["causal"] = True
        return out, level

    def _level(self, state: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(state, pd.DataFrame):
            raise ModelError(f"state must be a DataFrame; got {type(state).__name__}.")
        total = None
        for member in self.members_:
            mu = member.predict(state)
            total = mu if total is None else total + mu
        return total / len(self.members_)

    # -- results --------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """The candidates' cross-fitted doubly robust values (see ``selection_``)."""
        check_is_fitted(self, "selection_")
        return self.selection_.copy()

    def summary(self) -> str:
        """The weight chosen, the candidates' values, and the actions given no value."""
        check_is_fitted(self, "selection_")
        kept = (
            "the stated arrears rule kept"
            if np.isnan(self.shrinkage_)
            else f"weight {self.shrinkage_:g} on the learned uplift"
        )
        lines = [
            f"ShrunkUplift: {kept}, {len(self.members_)} bagged response models; doubly "
            "robust value per decision on held-out folds"
            + (" (allocated under the capacity shares):" if self.capacity else ":")
        ]
        for row in self.selection_.itertuples(index=False):
            mark = " <- chosen" if row.chosen else ""
            lines.append(f"  {row.candidate}: {row.dr:+.3f} ± {row.se:.3f}{mark}")
        gated = [a for j, a in enumerate(self.actions_) if j and not self.gate_[0, j]]
        if self.extra_:
            lines.append(
                f"  Too few decisions to learn, valued by the stated lift and the cell's plain "
                f"estimate: {list(self.extra_)}."
            )
        if gated:
            lines.append(
                f"  Average uplift not distinguishable from 0 (the rule gives no value): {gated}."
            )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Each candidate's value with a 95% interval; returns the axes."""
        import matplotlib.pyplot as plt

        check_is_fitted(self, "selection_")
        if ax is None:
            _, ax = plt.subplots()
        t = self.selection_
        y = np.arange(len(t))
        ax.errorbar(t["dr"], y, xerr=1.96 * t["se"], fmt="o")
        ax.set_yticks(y, t["candidate"])
        ax.set_xlabel("doubly robust value per decision (held-out folds)")
        return ax


def _amount(frame: pd.DataFrame) -> np.ndarray:
    if _AMOUNT not in frame.columns:
        raise ModelError(f"ShrunkUplift reads the column {_AMOUNT!r}; it is missing.")
    return np.maximum(frame[_AMOUNT].to_numpy(dtype=np.float64, na_value=0.0), 0.0)
