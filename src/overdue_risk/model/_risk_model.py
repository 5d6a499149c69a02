"""RiskModel: LightGBM behind a scikit-learn estimator, for the risk of going overdue."""

from __future__ import annotations

import copy
import math
import os
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from .._params import Boolean, Interval, check
from ..exceptions import DataQualityWarning, ModelError
from ._calibration import fit_calibrator
from ._descriptions import descriptions
from ._inputs import as_frame, as_labels
from ._params import check_params, monotone_vector
from ._schema import FeatureSchema
from ._sensitive import fitted_sensitive

__all__ = ["EXPECTED_FAILED_CHECKS", "RiskModel"]

EXPECTED_FAILED_CHECKS: dict[str, str] = {}
"""scikit-learn's estimator checks that :class:`RiskModel` is expected to fail: ``{check: reason}``.

Empty: every check applies and passes, on scikit-learn 1.6 and later. RiskModel
declares itself a binary-only classifier (``classifier_tags.multi_class = False``),
so the checks give it two classes, and ``check_classifier_not_supporting_multiclass``
verifies that three are refused. A check added by a later scikit-learn that cannot
apply to a binary classifier goes here, with its reason. Pass it on as
``parametrize_with_checks([RiskModel()], expected_failed_checks=lambda est:
EXPECTED_FAILED_CHECKS)`` or ``check_estimator(RiskModel(),
expected_failed_checks=EXPECTED_FAILED_CHECKS)``.
"""


def _window(X: pd.DataFrame, y: np.ndarray) -> dict:
    """Rows, bad rate and as-of range of a slice, for the manifest."""
    info = {"rows": len(y), "bad_rate": float(y.mean()) if len(y) else math.nan}
    if isinstance(X.index, pd.MultiIndex) and "as_of" in X.index.names:
        dates = X.index.get_level_values("as_of")
        info["as_of"] = [dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d")]
    return info


def _slice_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    eps = 1e-12
    clipped = np.clip(p, eps, 1 - eps)
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, clipped, labels=[0, 1])),
        "mean_score": float(p.mean()),
        "bad_rate": float(y.mean()),
    }


class RiskModel(ClassifierMixin, BaseEstimator):
    """Probability that an account goes (further) overdue, from LightGBM.

    Trains unweighted (class weights wreck calibration), stops early on a later
    out-of-time slice, optionally calibrates on a later held-out slice, and
    explains each score with reason codes from exact TreeSHAP contributions.

    Parameters
    ----------
    n_estimators : int, default=1000
        Most boosting rounds; early stopping on ``X_val`` picks fewer.
    learning_rate, num_leaves, max_depth, min_child_samples, subsample, colsample_bytree, \
reg_lambda : default=0.03, 15, -1, 100, 0.8, 0.5, 10.0
        LightGBM's parameters of the same names (``subsample`` is
        ``bagging_fraction``, applied every round). The defaults were tuned
        once, on a simulated portfolio (``benchmarks/model_quality.py --tune``;
        see ``docs/benchmarks.md``); override them for your data.
    early_stopping_rounds : int, default=100
        Stop when the log loss on ``X_val`` has not improved for this many rounds.
    calibration : {None, "isotonic", "sigmoid"}, default=None
        Calibrate on ``X_cal`` (or ``X_val`` when no ``X_cal`` is given).
    monotone_constraints : dict, optional
        ``{feature: 1}`` (risk never falls as it grows), ``-1`` or ``0``.
        Checked before LightGBM runs: numeric features only.
    sensitive_features : tuple of str, default=()
        Features of ``X`` that are sensitive attributes (age, sex, region as a
        proxy, ...) trained on by choice: each must be a feature of ``X``, and
        none is ever given as a reason code by :meth:`explain`.
        :func:`~overdue_risk.workflows.train_risk_model` leaves them out of
        training by default and sets this when asked to include them.
    target : DpdTarget, CureTarget or str, optional
        What ``y`` means; recorded in the saved artifact.
    pdo, base_score, base_odds : float, default=20, 600, 50
        Scorecard scaling for :meth:`points`: ``base_score`` points at good:bad
        odds of ``base_odds``, and ``pdo`` more points each time the odds double.
    random_state : int, default=0
        Seed of LightGBM's sampling; training is deterministic.
    n_jobs : int, optional
        Threads. Default: the cores this process may use, but no more than the
        OpenMP thread limit in force (``OMP_NUM_THREADS``, or threadpoolctl's
        ``threadpool_limits``), so that each worker of a parallel search
        (``GridSearchCV(n_jobs=2)``, which sets ``OMP_NUM_THREADS`` in its
        workers) trains on its share of the cores instead of all of them.
        Negative values count back from all cores, as in LightGBM (``-1``: all).
    verbose : int, default=0
        With ``verbose > 0``, LightGBM logs the log loss every ``verbose``
        rounds (``lgb.log_evaluation``), on the training rows and on ``X_val``
        when given, and early stopping says where it stopped. Silent at 0.
    callbacks : list of callable, optional
        LightGBM callbacks passed to ``lgb.train``, after early stopping and
        logging. They are not saved with the model (:meth:`save` records
        ``callbacks=None``), and scikit-learn's ``clone`` (a search, a
        cross-validation) deep-copies them: a callback that records into an
        object of yours records into a copy there.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The trained trees, cut at the best iteration.
    classes_ : ndarray of shape (2,)
        The two labels of ``y``, sorted: ``[0, 1]`` when ``y`` holds 0 and 1 (as
        numbers, booleans or text). Columns of :meth:`predict_proba` follow them.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The DataFrame's column names, or ``x0, x1, ...`` for an array.
    schema_ : FeatureSchema
        Feature kinds and category lists, used to encode every scoring frame.
    calibrator_ : Calibrator or None
    best_iteration_ : int
    windows_ : dict
        Rows, bad rate and as-of range of the training, validation and
        calibration slices.
    metrics_ : dict
        Metrics on the validation and calibration slices; add your own before
        :meth:`save` to record them in the manifest.
    descriptions_ : dict
        Each feature's description, for reason codes: the feature catalogue's
        after ``fit`` alone (a feature without one shows its name).
        ``train_risk_model`` describes every feature; update it before
        :meth:`save` to describe your own.
    sensitive_features_ : tuple of str
        The fitted features named by ``sensitive_features``, in feature order.
    build_options_ : dict or None
        How the features were built (families, exclusions, tolerance), when
        trained by :func:`~overdue_risk.model.train_risk_model`.
    reference_scores_ : list of float or None
        Quantiles of the test-slice scores, the reference for score PSI.
    reference_features_ : dict or None
        The test-slice distribution of the most important features (numbers:
        101 quantiles and the missing share; categories: their shares), per
        population (``"not_in_arrears"``: DPD 0, ``"in_arrears"``: DPD >= 1),
        the reference for feature PSI.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from overdue_risk import RiskModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"dpd": rng.integers(0, 60, 4000).astype("float32"),
    ...                   "region": pd.Categorical(rng.choice(["north", "south"], 4000))})
    >>> y = (rng.random(4000) < 0.02 + X["dpd"] / 100).astype(int)
    >>> model = RiskModel(n_estimators=50, monotone_constraints={"dpd": 1})
    >>> model = model.fit(X[:3000], y[:3000], X_val=X[3000:], y_val=y[3000:])
    >>> p = model.predict_proba(X[:2])[:, 1]
    >>> bool(p[X["dpd"][:2].argmax()] >= p.min())
    True
    """

    def __init__(
        self,
        *,
        n_estimators: int = 1000,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        max_depth: int = -1,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 10.0,
        early_stopping_rounds: int = 100,
        calibration: str | None = None,
        monotone_constraints: dict | None = None,
        sensitive_features=(),
        target=None,
        pdo: float = 20.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        random_state: int = 0,
        n_jobs: int | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.monotone_constraints = monotone_constraints
        self.sensitive_features = sensitive_features
        self.target = target
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callbacks = callbacks

    # -- training ---------------------------------------------------------------------------

    def _lgb_params(self, monotone: list[int] | None) -> dict:
        params = {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        # An explicit thread count: LightGBM's OpenMP default was 10x slower here
        # whenever another process shared the cores.
        params["num_threads"] = _threads(self.n_jobs)
        if monotone is not None:
            params["monotone_constraints"] = monotone
            # "advanced" broke monotonicity here (lightgbm 4.7, with categorical features).
            params["monotone_constraints_method"] = "intermediate"
        return params

    def fit(self, X, y, X_val=None, y_val=None, *, X_cal=None, y_cal=None) -> RiskModel:
        """Train on ``X``, stop early on ``X_val``, calibrate on ``X_cal`` or ``X_val``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features, e.g. from :func:`~overdue_risk.build_training_set` without
            its ``label`` column. Text and category columns become categorical.
            An array must be numeric; its features are named ``x0, x1, ...``.
        y : array-like of shape (n_samples,)
            Two classes: 0 (good) and 1 (bad), or any two labels, the larger of
            which is the outcome whose probability the model gives (``classes_[1]``).
        X_val, y_val : optional
            A later (out-of-time) slice for early stopping. Without it,
            ``n_estimators`` rounds are trained.
        X_cal, y_cal : optional
            A later held-out slice for calibration; default ``X_val``. With
            neither, a model with ``calibration`` set refuses to fit: the
            training rows would make the calibrator trust the trees' own fit.

        Returns
        -------
        self
        """
        check_params(self.get_params())
        X = as_frame(X, "X")
        y_arr, classes = as_labels(y, len(X), "y")
        schema = FeatureSchema.from_frame(X)
        monotone = monotone_vector(self.monotone_constraints, schema)
        self.sensitive_features_ = fitted_sensitive(self.sensitive_features, schema)
        if (X_val is None) != (y_val is None) or (X_cal is None) != (y_cal is None):
            raise ModelError("Pass X_val with y_val, and X_cal with y_cal.")
        if self.calibration is not None and X_val is None and X_cal is None:
            raise ModelError(
                f"calibration={self.calibration!r} needs a later held-out slice: "
                "pass X_cal and y_cal (or X_val and y_val)."
            )
        names = schema.booster_names()
        train = lgb.Dataset(
            schema.encode(X),
            label=y_arr,
            feature_name=names,
            categorical_feature=schema.categorical_indices,
            free_raw_data=True,
        )
        params = self._lgb_params(monotone)
        windows = {"train": _window(X, y_arr)}
        callbacks, valid_sets, valid_names = [], [], []
        if self.verbose:  # the training loss too; early stopping ignores it
            valid_sets, valid_names = [train], ["training"]
            callbacks.append(lgb.log_evaluation(period=self.verbose))
        if X_val is not None:
            X_val = as_frame(X_val, "X_val", len(schema.names))
            yv, _ = as_labels(y_val, len(X_val), "y_val", classes)
            valid_sets.append(train.create_valid(schema.encode(X_val, "X_val"), label=yv))
            valid_names.append("validation")
            stop = lgb.early_stopping(self.early_stopping_rounds, verbose=bool(self.verbose))
            callbacks.insert(0, stop)
            windows["validation"] = _window(X_val, yv)
        booster = lgb.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            valid_names=valid_names,
            callbacks=[*callbacks, *(self.callbacks or ())],
        )
        stopped = X_val is not None and booster.best_iteration > 0
        best = booster.best_iteration if stopped else None
        # The canonical form is text: what is saved is exactly what scores.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.best_iteration_ = self.booster_.current_iteration()
        self.schema_ = schema
        self.feature_names_in_ = np.asarray(schema.names, dtype=object)
        self.n_features_in_ = len(schema.names)
        self.classes_ = np.array(classes)
        self.calibrator_ = None
        self.metrics_ = {}
        if X_val is not None:
            self.metrics_["validation"] = _slice_metrics(yv, self._raw_proba(X_val))
        if self.calibration is not None:
            if X_cal is None:
                X_cal, yc = X_val, yv
            else:
                X_cal = as_frame(X_cal, "X_cal", len(schema.names))
                yc, _ = as_labels(y_cal, len(X_cal), "y_cal", classes)
                windows["calibration"] = _window(X_cal, yc)
            margin = self._margin(X_cal, warn=False)
            self.calibrator_ = fit_calibrator(margin, yc, self.calibration)
            self.metrics_["calibration"] = _slice_metrics(yc, self._calibrated(margin))
        self.windows_ = windows
        self.descriptions_ = descriptions(schema.names)
        self.build_options_ = None  # set by train_risk_model: how to rebuild the features
        self.reference_scores_ = None  # set by train_risk_model: test-slice score quantiles
        self.reference_features_ = None  # and the top features' distributions
        return self

    # -- scoring ----------------------------------------------------------------------------

    def _scoring_frame(self, X) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        return as_frame(X, "X", self.n_features_in_)

    def _matrix(self, X, warn: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
        """The scoring frame and LightGBM's matrix of it; a warning names the unseen
        categories (fit scores its own slices without one)."""
        frame = self._scoring_frame(X)
        matrix = self.schema_.encode(frame)
        if warn:
            _warn_unseen(_unseen(self.schema_, frame, matrix), frame)
        return frame, matrix

    def _margin(self, X, warn: bool = True) -> np.ndarray:
        _, matrix = self._matrix(X, warn)  # checks that the model is fitted
        return self.booster_.predict(matrix, raw_score=True)

    def decision_function(self, X) -> np.ndarray:
        """Raw log-odds of the trees, before calibration: positive favours ``classes_[1]``."""
        return self._margin(X)

    def _raw_proba(self, X) -> np.ndarray:
        return expit(self._margin(X, warn=False))

    def _calibrated(self, margin: np.ndarray) -> np.ndarray:
        return expit(margin) if self.calibrator_ is None else self.calibrator_.apply(margin)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities per row, one column per class of ``classes_``.

        With labels 0 (good) and 1 (bad): ``[P(good), P(bad)]``. A category
        the model never saw at fit scores as missing, with a
        :class:`~overdue_risk.DataQualityWarning` (see :meth:`unseen_categories`).
        """
        bad = self._calibrated(self._margin(X))
        return np.column_stack([1.0 - bad, bad])

    def unseen_categories(self, X) -> dict[str, int]:
        """Rows per category feature whose value the model never saw at fit.

        Those values score as missing. Every category feature is listed, with 0
        when all its values were seen; missing values are not counted.
        """
        frame = self._scoring_frame(X)
        self.schema_.check(frame)
        schema = self.schema_
        names = [schema.names[j] for j in schema.categorical_indices]
        # Only the category features need coding to count.
        cats = FeatureSchema(tuple(names), ("category",) * len(names), schema.categories)
        unseen = _unseen(cats, frame, cats.encode(frame))
        return {name: int(m.sum()) for name, m in unseen.items()}

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """``classes_[1]`` (1: bad) where P reaches ``threshold``, else ``classes_[0]``."""
        positive = self.predict_proba(X)[:, 1] >= threshold
        return self.classes_[positive.astype(np.int64)]

    def points(self, X) -> np.ndarray:
        """Scorecard points: higher is safer; ``pdo`` points double the good:bad odds."""
        return self.points_from_proba(self.predict_proba(X)[:, 1])

    @property
    def _factor(self) -> float:
        return self.pdo / math.log(2.0)

    def points_from_proba(self, p_bad: np.ndarray) -> np.ndarray:
        """Scorecard points of probabilities of the bad class already computed.

        The same as :meth:`points` without scoring the features a second time.
        """
        p = np.clip(np.asarray(p_bad, dtype=np.float64), 1e-9, 1 - 1e-9)  # isotonic gives 0, 1
        offset = self.base_score - self._factor * math.log(self.base_odds)
        return offset + self._factor * np.log((1 - p) / p)

    # -- understanding ----------------------------------------------------------------------

    def feature_importance(self, importance_type: str = "gain") -> pd.Series:
        """Importance per feature (``"gain"`` or ``"split"``), largest first."""
        check_is_fitted(self, "booster_")
        if importance_type not in ("gain", "split"):
            raise ModelError(f"importance_type must be 'gain' or 'split'; got {importance_type!r}.")
        values = self.booster_.feature_importance(importance_type=importance_type)
        s = pd.Series(
            values.astype(np.float64), index=list(self.schema_.names), name=importance_type
        )
        return s.sort_values(ascending=False, kind="stable")

    def contributions(self, X) -> pd.DataFrame:
        """Exact TreeSHAP contributions in log-odds, one column per feature plus ``expected``.

        Each row sums to :meth:`decision_function`. About 0.4 ms a row with
        hundreds of trees: ask for the rows you need.
        """
        frame, matrix = self._matrix(X)
        contrib = self.booster_.predict(matrix, pred_contrib=True)
        return pd.DataFrame(contrib, index=frame.index, columns=[*self.schema_.names, "expected"])

    def explain(self, X, top_k: int = 3, *, against: bool = False) -> pd.DataFrame:
        """Reason codes: the ``top_k`` features that raise each row's risk the most.

        Returns, per row and rank k: ``reason_k`` (feature), ``reason_k_text``
        (its description in ``descriptions_``), ``reason_k_value`` (the feature's value,
        as text), ``reason_k_logodds`` (its contribution) and
        ``reason_k_points`` (the scorecard points it costs). A rank is empty
        when fewer features raise the risk. ``top_k`` is at most the number
        of features (checked before any work).

        With ``against=True`` the features that *lower* the probability of the
        target the most (negative log-odds): for a model of a good outcome,
        such as curing (:class:`~overdue_risk.labels.CureTarget`), the reasons
        an account is unlikely to cure.
        """
        from ._reasons import reason_codes

        check_is_fitted(self, "booster_")
        check(Interval(int, 1, self.n_features_in_), top_k, key="top_k", error=ModelError)
        check(Boolean(), against, key="against", error=ModelError)
        frame = self._scoring_frame(X)
        return reason_codes(self, frame, self.contributions(frame), top_k, against)

    # -- artifact ---------------------------------------------------------------------------

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the model folder: ``model.txt``, ``calibration.json``, ``manifest.json``.

        The folder appears whole or not at all. See :meth:`load`.
        """
        from ._artifact import save

        check_is_fitted(self, "booster_")
        # Callbacks are code, not data: the manifest records callbacks=None.
        plain = copy.copy(self)
        plain.callbacks = None
        return save(plain, path, overwrite=overwrite)

    @classmethod
    def load(cls, path) -> RiskModel:
        """Read a model folder written by :meth:`save`, without unpickling anything.

        Every file's sha256 must match the manifest, or ArtifactError is raised.
        """
        from ._artifact import load

        return load(cls, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # LightGBM routes missing values itself
        # Category and text columns of a DataFrame; an array must be numeric.
        tags.input_tags.categorical = True
        tags.input_tags.string = False
        tags.classifier_tags.multi_class = False
        return tags


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _threads(n_jobs: int | None) -> int:
    """LightGBM's thread count for ``n_jobs`` (see :class:`RiskModel`)."""
    cores = _cores()
    if n_jobs is None:
        return max(1, min(cores, _openmp_limit()))
    return n_jobs if n_jobs > 0 else max(cores + 1 + n_jobs, 1)


def _openmp_limit() -> int:
    """The OpenMP thread limit in force: what LightGBM's own default would use.

    joblib's process workers (scikit-learn's ``n_jobs``) start with
    ``OMP_NUM_THREADS`` set to their share of the cores, and threadpoolctl's
    ``threadpool_limits`` lowers the OpenMP libraries' limit in place: both
    show in ``omp_get_max_threads`` of the loaded OpenMP libraries, which
    threadpoolctl reads. The variable itself is read as well, for a value set
    after OpenMP was loaded.
    """
    from threadpoolctl import ThreadpoolController

    found = ThreadpoolController().select(user_api="openmp").lib_controllers
    limits = [c.num_threads for c in found if c.num_threads]
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if first.isdigit() and int(first) > 0:
        limits.append(int(first))
    return min(limits, default=_cores())


def _unseen(schema: FeatureSchema, frame: pd.DataFrame, matrix: np.ndarray) -> dict:
    """Per category feature, the rows whose value the model never saw: coded missing
    (NaN) though the value is there."""
    columns = {str(c): c for c in frame.columns}
    return {
        schema.names[j]: np.isnan(matrix[:, j]) & frame[columns[schema.names[j]]].notna().to_numpy()
        for j in schema.categorical_indices
    }


def _warn_unseen(unseen: dict, frame: pd.DataFrame) -> None:
    columns = {str(c): c for c in frame.columns}
    parts = []
    for name, mask in unseen.items():
        if mask.any():
            values = pd.unique(frame[columns[name]].to_numpy(dtype=object)[mask])[:3]
            shown = ", ".join(repr(v) for v in values) + (", ..." if len(values) == 3 else "")
            parts.append(f"{name} {int(mask.sum()):,} of {len(frame):,} rows ({shown})")
    if parts:
        warnings.warn(
            f"Categories the model never saw at fit score as missing: {'; '.join(parts)}. "
            "These scores rest on less than the model learned from; check the values "
            "(a renamed region or product?) or retrain.",
            DataQualityWarning,
            stacklevel=5,  # predict_proba's caller
        )
