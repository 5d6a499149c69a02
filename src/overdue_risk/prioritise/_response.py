"""The response model: expected amount recovered per account and action, learned.

:class:`ResponseModel` learns, from the randomised cell's logged decisions
(:func:`~overdue_risk.prioritise.logged_decisions`), the expected money
recovered within the horizon for each action: a classifier of the chance of a
payment, the action one of its features (an S-learner; one classifier per
action, a T-learner, on request), and one shared regressor for the amount
paid when there is one. Its uplift (an action's expected recovery minus that
of no action) is causal under the cell's randomisation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._params import N_JOBS, Interval, Names, Options, check_params
from ..contract import DECISION_ACTIONS, NO_ACTION
from ..exceptions import ModelError
from ..model import FeatureSchema, RiskModel
from ._decisions import DECISION_COLUMNS
from ._rules import STATE_COLUMNS

__all__ = ["DEFAULT_FEATURES", "ResponseModel"]

logger = logging.getLogger(__name__)

# The state columns the model reads by default: those logged_decisions and
# account_state share with the same meaning, so one model scores both.
DEFAULT_FEATURES = tuple(c for c in DECISION_COLUMNS if c in STATE_COLUMNS)
_OPTIONAL = ("risk_score",)  # read too when the decisions carry it
_ACTION = "action"  # the amount model's action feature
_SCALE = "overdue_amount"  # the amount model predicts payments as a multiple of it
_NO_ACTION_STATE = "legal_started"  # the state in which the randomised cell never acts
# Its level model's leaves: a share of its rows. They are a few hundred loans repeated
# daily, and a few settle in full: leaves of 1% of the rows (a handful of loans) learned
# those loans; 15% was chosen on tuning seed 101 (docs/value-model.md).
_NO_ACTION_LEAF = 0.15


# -- parameter rules (checked at the top of fit) ------------------------------------------

_RULES = {
    "actions": [None, Names()],
    "features": [None, Names()],
    "learner": Options(("t", "s")),
    "min_rows": Interval(int, 1),
    "n_estimators": Interval(int, 1),
    "learning_rate": Interval(float, 0, 1, closed="right"),
    "num_leaves": Interval(int, 2),
    # A count of rows, or a fraction of them.
    "min_child_samples": [Interval(int, 1), Interval(float, 0, 1, closed="neither")],
    "random_state": Interval(int, 0),
    "n_jobs": N_JOBS,
}


def _check_params(estimator: BaseEstimator) -> None:
    check_params(type(estimator).__name__, estimator.get_params(), _RULES, ModelError)


# -- the response model ------------------------------------------------------------------


class ResponseModel(BaseEstimator):
    """Expected recovery within the horizon per account and action.

    One LightGBM classifier estimates ``P(paid | x, a)``, the chance of a
    payment within the horizon given the morning state ``x`` and the action
    ``a`` taken that day (a categorical feature), from every arm of the
    randomised cell's rows (the S-learner, the default); with
    ``learner="t"``, one classifier per action from its rows only (the
    T-learner). One LightGBM regressor
    (gamma loss, log link), shared by the actions with the action as a
    feature, estimates ``E[amount | paid, x, a]`` as a multiple of the
    account's arrears (when ``overdue_amount`` is a feature): the ratio varies
    little between accounts, and the scale comes exactly from the arrears. The expected recovery is

        ``mu(x, a) = P(paid | x, a) * E[amount | paid, x, a]``

    and the uplift of ``a`` is ``mu(x, a) - mu(x, "none")``.

    Rows on which no action could have been drawn (``action == "none"``
    with propensity 1: after legal action the cell's policy does nothing
    more) say nothing about any action, and would make the ``"none"`` arm a
    different population from the others: the classifiers and the regressor
    leave them out. When ``legal_started`` is a feature they get a model of
    their own, ``no_action_model_``, for the level of recovery in those
    states, which the prioritiser and the direct and doubly robust estimators
    of :func:`~overdue_risk.prioritise.off_policy_value` need. There
    :meth:`predict` gives that level for ``"none"`` plus, for each action,
    the uplift the main model learned for the same state (clipped so that no
    recovery is negative). That uplift is an assumption, not an estimate:
    the log never tried an action after legal action, so its effect there is
    taken to be what it is in comparable states before. Without the separate
    level, the recovery of accounts 90+ days past due was extrapolated from
    the earlier states, at 4 to 90 times the truth on a simulated book
    (docs/value-model.md).

    Why it is causal: within the randomised cell the action was drawn at
    random given the observed state (the logged propensity depends on the
    state only through which actions were eligible), so the rows of one arm
    are a sample of the cell's decisions whose outcome distribution given
    ``x`` is that under the action: a model of the outcome given ``x`` and
    ``a`` is unbiased for ``mu(x, a)`` without weights (meta-learners;
    Kunzel et al. 2019). This
    needs overlap (each action drawn with positive probability in the states
    it is asked about), an outcome that the action can change only through
    the horizon, and that the future actions are those of the randomised
    policy: ``mu`` is the value of acting today and then following the
    cell's policy, not of following any other policy afterwards.

    The amount model is shared because a payment's size is set mostly by the
    arrears and the balance, and the arms are small (a few hundred paid rows
    each): pooling them lets the trees split on the action where the data
    show a difference, instead of fitting noise per arm.

    Why the S-learner by default: it learns an action's effect only where the
    data show one, so the uplifts of small arms shrink towards zero instead of
    carrying the noise of two separate fits. On a simulated 50,000-loan book
    (tuning seed 101, ``benchmarks/value_model.py``) its top 900 calls and top
    120 visits by predicted value recovered 92% and 79% of what the true best
    did; T-learners 57% and 45% with leaves of 50 rows, 96% and 47% with
    leaves of 1,000.

    Parameters
    ----------
    actions : list of str, optional
        The actions to model; ``"none"`` must be one. By default every
        action the decisions hold. An action left out is dropped explicitly;
        an action with fewer than ``min_rows`` rows raises, so the model never
        pretends to know an action it hardly saw randomised.
    features : list of str, optional
        State columns to read; by default :data:`DEFAULT_FEATURES` (the ones
        ``account_state`` gives too), plus ``risk_score`` when present.
    learner : {"t", "s"}, default="s"
        One classifier per action (T-learner) or one for all (S-learner).
    min_rows : int, default=200
        Fewest rows an action needs.
    n_estimators, learning_rate, num_leaves : default=200, 0.05, 15
        LightGBM's parameters for every classifier and the regressor.
    min_child_samples : int or float, default=0.01
        Fewest rows in a leaf; a float is a share of the rows each model is
        fitted on. Strong regularisation: the effects are a few points of
        probability, and finer leaves learn the noise.
    random_state : int, default=0
    n_jobs : int, optional
        Threads per LightGBM model; by default 1, the fastest for data this
        small (more threads mostly wait on each other).

    Attributes
    ----------
    actions_ : tuple of str
        The modelled actions, ``"none"`` first, in :data:`DECISION_ACTIONS` order.
    feature_names_in_ : ndarray of str
    classifiers_ : dict of str to RiskModel
        ``P(paid | x, a)`` per action (its ``predict_proba[:, 1]``); with the
        S-learner one entry, ``"*"``, whose features include ``action``.
    amount_booster_ : lightgbm.Booster
    amount_schema_ : FeatureSchema
        The amount model and its features (the state and ``action``).
    n_rows_, paid_rate_ : Series
        Rows and share paid per action in the training decisions (those
        where an action could be drawn).
    no_action_model_ : ResponseModel or None
        The level of recovery where the log never acts (``legal_started``),
        fitted on those rows with ``actions=["none"]``; None without such
        rows or without ``legal_started`` among the features.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from overdue_risk.prioritise import ResponseModel
    >>> rng = np.random.default_rng(0)
    >>> n = 3000
    >>> dpd = rng.integers(1, 90, n)
    >>> action = rng.choice(["none", "call"], n)
    >>> p = 0.3 + 0.3 * ((action == "call") & (dpd < 30))
    >>> paid = rng.random(n) < p
    >>> decisions = pd.DataFrame({"dpd": dpd, "overdue_amount": 100.0,
    ...     "action": action, "reward_amount": np.where(paid, 100.0, 0.0)})
    >>> model = ResponseModel(features=["dpd", "overdue_amount"], learner="t").fit(decisions)
    >>> state = pd.DataFrame({"dpd": [10, 60], "overdue_amount": [100.0, 100.0]})
    >>> lift = model.uplift(state)["call"]
    >>> bool(lift.iloc[0] > 15), bool(abs(lift.iloc[1]) < 15)
    (True, True)
    """

    causal = True
    value_source = "uplift model"

    def __init__(
        self,
        *,
        actions: Sequence[str] | None = None,
        features: Sequence[str] | None = None,
        learner: str = "s",
        min_rows: int = 200,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int | float = 0.01,
        random_state: int = 0,
        n_jobs: int | None = None,
    ):
        self.actions = actions
        self.features = features
        self.learner = learner
        self.min_rows = min_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fit ------------------------------------------------------------------------------

    def fit(self, decisions: pd.DataFrame) -> ResponseModel:
        """Fit one classifier per action and the shared amount model.

        Parameters
        ----------
        decisions : DataFrame
            The randomised cell's decisions: the feature columns, ``action``
            and ``reward_amount`` (paid means ``reward_amount > 0``), and
            ``propensity`` when known (see above).

        Returns
        -------
        self
        """
        _check_params(self)
        if not isinstance(decisions, pd.DataFrame):
            raise ModelError(f"decisions must be a DataFrame; got {type(decisions).__name__}.")
        features = self._features(decisions)
        for column in (_ACTION, "reward_amount"):
            if column not in decisions.columns:
                raise ModelError(f"decisions lacks the column {column!r}.")
        if _ACTION in features:
            raise ModelError("'action' is the treatment, not a feature.")
        action = _action_names(decisions[_ACTION])
        amount = decisions["reward_amount"].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(amount).any() or (amount < 0).any():
            raise ModelError("decisions.reward_amount must be amounts >= 0, with none missing.")
        no_action = None
        stuck = self._no_action_rows(decisions, action)
        if stuck.any():
            # After legal action the cell draws nothing more: those rows say nothing about
            # any action, and would make "none" a different population from the other
            # arms. Their own model gives the level of recovery in those states, in
            # amounts rather than multiples of the arrears: the oldest accounts' arrears
            # exceed any seen in training, and a multiple of them extrapolates.
            paid_stuck = amount[stuck] > 0
            both = paid_stuck.any() and not paid_stuck.all()
            if _NO_ACTION_STATE in features and stuck.sum() >= self.min_rows and both:
                rest = [c for c in features if c not in (_NO_ACTION_STATE, _SCALE)]
                no_action = clone(self).set_params(
                    actions=[NO_ACTION], features=rest, min_child_samples=_NO_ACTION_LEAF
                )
                no_action.fit(decisions.loc[stuck].drop(columns="propensity"))
            else:
                logger.info("%d rows without any possible action left out.", int(stuck.sum()))
            keep = np.flatnonzero(~stuck)
            decisions, action, amount = decisions.iloc[keep], action[keep], amount[keep]
        actions = self._actions(action)
        dropped = sorted(set(action) - set(actions))
        if dropped:
            logger.info("Actions not modelled (left out by actions=): %s.", dropped)
        paid = amount > 0
        X = decisions[features]

        def leaf(rows: int) -> int:
            m = self.min_child_samples
            return int(m) if not isinstance(m, float) else max(20, round(m * rows))

        def classifier(rows: int) -> RiskModel:
            return RiskModel(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=leaf(rows),
                random_state=self.random_state,
                n_jobs=self._threads(),
            )

        classifiers = {}
        for a in actions:
            rows = np.flatnonzero(action == a)
            y = paid[rows]
            if y.all() or not y.any():
                raise ModelError(
                    f"Every one of the {rows.size} rows of action {a!r} has paid={bool(y[0])}: "
                    "a model of P(paid) needs both outcomes."
                )
            if self.learner == "t":
                classifiers[a] = classifier(rows.size).fit(X.iloc[rows], y.astype(np.int8))
        if self.learner == "s":
            # One classifier, the action a feature: effects are learned only where the
            # data show them, so small arms shrink towards the pooled response.
            arms = np.flatnonzero(np.isin(action, actions))
            Xs = self._with_action(X.iloc[arms], action[arms], actions)
            classifiers = {"*": classifier(arms.size).fit(Xs, paid[arms].astype(np.int8))}

        # The amount when paid, one regressor for every modelled action, as a multiple of
        # the arrears when the state has them: that ratio varies little between accounts,
        # so the scale comes exactly from each account's arrears, not from a noisy fit.
        use = np.flatnonzero(paid & np.isin(action, actions))
        scale = self._scale(X)
        Xa = self._with_action(X.iloc[use], action[use], actions)
        schema = FeatureSchema.from_frame(Xa)
        data = lgb.Dataset(
            schema.encode(Xa),
            label=amount[use] / scale[use],
            feature_name=schema.booster_names(),
            categorical_feature=schema.categorical_indices,
            free_raw_data=True,
        )
        params = {
            "objective": "gamma",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": leaf(use.size),
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "feature_fraction": 0.8,
            "lambda_l2": 1.0,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self._threads(),
            "verbosity": -1,
        }
        booster = lgb.train(params, data, num_boost_round=self.n_estimators)

        self.actions_ = actions
        self.no_action_model_ = no_action
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        self.classifiers_ = classifiers
        self.amount_booster_ = lgb.Booster(model_str=booster.model_to_string())
        self.amount_schema_ = schema
        counts = pd.Series(action).value_counts()
        self.n_rows_ = counts.reindex(list(actions), fill_value=0).rename("rows")
        rate = pd.Series(paid).groupby(action).mean()
        self.paid_rate_ = rate.reindex(list(actions)).rename("paid_rate")
        return self

    @staticmethod
    def _no_action_rows(decisions: pd.DataFrame, action: np.ndarray) -> np.ndarray:
        """Rows on which no action could have been drawn: no action with propensity 1."""
        if "propensity" not in decisions.columns:
            return np.zeros(len(decisions), bool)
        p = decisions["propensity"].to_numpy(dtype=np.float64, na_value=np.nan)
        stuck = (action == NO_ACTION) & (p >= 1)
        if _NO_ACTION_STATE in decisions.columns:
            # Only where the state says so: the model must find them again at predict.
            stuck &= decisions[_NO_ACTION_STATE].to_numpy(dtype=bool, na_value=False)
        return stuck

    def _transport(self, state: pd.DataFrame, mu: pd.DataFrame) -> pd.DataFrame:
        """Where the log never acts, the no-action model's level plus the main model's
        uplift: the effect of an action is assumed to carry over (see the class notes)."""
        model = self.no_action_model_
        if model is None:
            return mu
        after = state[_NO_ACTION_STATE].to_numpy(dtype=bool, na_value=False)
        if after.any():
            level = model.predict(state.loc[after])[NO_ACTION].to_numpy()
            shift = level - mu[NO_ACTION].to_numpy()[after]
            # A recovery is never negative, whatever the uplift carried over.
            mu.loc[after, :] = np.maximum(mu.to_numpy()[after] + shift[:, None], 0.0)
        return mu

    def _threads(self) -> int:
        return 1 if self.n_jobs is None else int(self.n_jobs)

    def _features(self, decisions: pd.DataFrame) -> list[str]:
        if self.features is not None:
            wanted = list(self.features)
        else:
            wanted = [*DEFAULT_FEATURES, *(c for c in _OPTIONAL if c in decisions.columns)]
        missing = [c for c in wanted if c not in decisions.columns]
        if missing:
            raise ModelError(
                f"decisions lacks the feature columns {missing}; build it with logged_decisions "
                "or pass features= with the columns it has."
            )
        return wanted

    def _actions(self, action: np.ndarray) -> tuple[str, ...]:
        counts = pd.Series(action).value_counts()
        if self.actions is None:
            wanted = [a for a in counts.index if counts[a] > 0]
        else:
            wanted = list(self.actions)
        unknown = [a for a in wanted if a not in DECISION_ACTIONS]
        if unknown:
            raise ModelError(
                f"Unknown action(s) {unknown}; the decisions' actions are "
                f"{', '.join(DECISION_ACTIONS)}."
            )
        if NO_ACTION not in wanted:
            raise ModelError(
                f"The actions must include {NO_ACTION!r}: the uplift of an action is over no "
                "action."
            )
        few = {a: int(counts.get(a, 0)) for a in wanted if counts.get(a, 0) < self.min_rows}
        if few:
            shown = ", ".join(f"{a!r} has {n}" for a, n in few.items())
            raise ModelError(
                f"Too few randomised rows to model: {shown}; min_rows={self.min_rows}. Pass "
                "actions= without them to model the others (they get no value), or lower "
                "min_rows if you accept a noisier estimate."
            )
        return tuple(a for a in DECISION_ACTIONS if a in wanted)

    @staticmethod
    def _with_action(X: pd.DataFrame, action: np.ndarray, actions: tuple[str, ...]):
        out = X.copy()
        out[_ACTION] = pd.Categorical(action, categories=list(actions))
        return out

    # -- predict --------------------------------------------------------------------------

    def _state(self, state) -> pd.DataFrame:
        check_is_fitted(self, "classifiers_")
        if not isinstance(state, pd.DataFrame):
            raise ModelError(f"state must be a DataFrame; got {type(state).__name__}.")
        names = list(self.feature_names_in_)
        missing = [c for c in names if c not in state.columns]
        if missing:
            raise ModelError(
                f"state lacks {len(missing)} of the model's features: {missing}. The model "
                f"reads {names}."
            )
        return state[names]

    def paid_probability(self, state: pd.DataFrame) -> pd.DataFrame:
        """``P(paid within the horizon | state, action)``: one column per action."""
        X = self._state(state)
        return self._frame(self._paid(X, self._stacked(X)), state)

    def amount_if_paid(self, state: pd.DataFrame) -> pd.DataFrame:
        """``E[amount | paid, state, action]``: one column per action."""
        X = self._state(state)
        return self._frame(self._amount(X, self._stacked(X)), state)

    def _stacked(self, X: pd.DataFrame) -> pd.DataFrame:
        """Every (account, action) pair: the state repeated once per action, with it."""
        n, k = len(X), len(self.actions_)
        stacked = X.iloc[np.tile(np.arange(n), k)]
        return self._with_action(stacked, np.repeat(self.actions_, n), self.actions_)

    def _paid(self, X: pd.DataFrame, stacked: pd.DataFrame) -> np.ndarray:
        if "*" in self.classifiers_:
            p = self.classifiers_["*"].predict_proba(stacked)[:, 1]
            return p.reshape(len(self.actions_), len(X)).T
        return np.column_stack([self.classifiers_[a].predict_proba(X)[:, 1] for a in self.actions_])

    def _amount(self, X: pd.DataFrame, stacked: pd.DataFrame) -> np.ndarray:
        values = self.amount_booster_.predict(self.amount_schema_.encode(stacked, "state"))
        return values.reshape(len(self.actions_), len(X)).T * self._scale(X)[:, None]

    def _frame(self, values: np.ndarray, state: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(values, index=state.index, columns=list(self.actions_))

    def _scale(self, X: pd.DataFrame) -> np.ndarray:
        """The arrears (at least 1) of each row, or 1 when the model does not read them."""
        if _SCALE not in X.columns:
            return np.ones(len(X))
        arrears = X[_SCALE].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.maximum(np.nan_to_num(arrears, nan=1.0), 1.0)

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        """Expected recovery within the horizon, ``P(paid) * E[amount | paid]``, per action.

        Parameters
        ----------
        state : DataFrame
            The model's feature columns: the rows of
            :func:`~overdue_risk.prioritise.logged_decisions` or of
            :func:`~overdue_risk.prioritise.account_state` (with
            ``risk_score`` joined when the model was fitted with it).

        Returns
        -------
        DataFrame
            Indexed like ``state``, one column per action of ``actions_``
            (``"none"`` is the allocator's ``"wait"``); ``attrs["causal"]``
            is True.
        """
        X = self._state(state)
        stacked = self._stacked(X)  # built once for both models
        mu = self._frame(self._paid(X, stacked) * self._amount(X, stacked), state)
        out = self._transport(state, mu)
        out.attrs["causal"] = True
        return out

    def uplift(self, state: pd.DataFrame) -> pd.DataFrame:
        """Expected recovery of each action minus that of no action (``"none"`` left out)."""
        mu = self.predict(state)
        out = mu.drop(columns=NO_ACTION).sub(mu[NO_ACTION], axis=0)
        out.attrs["causal"] = True
        return out


def _action_names(values: pd.Series) -> np.ndarray:
    names = values.astype(object).to_numpy()
    if pd.isna(names).any():
        raise ModelError(f"decisions.action has missing values; no action is {NO_ACTION!r}.")
    return names.astype(str)
