"""tune_risk_model: a hyperparameter search over RiskModel, out of time, and its result."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from .._params import N_JOBS, Interval, Options, check, suggest
from ..exceptions import ModelError
from ._risk_model import RiskModel

__all__ = ["TUNING_SPACE", "TuningResult", "tune_risk_model"]

TUNING_SPACE: dict[str, Any] = {
    "learning_rate": loguniform(0.01, 0.3),
    "num_leaves": randint(4, 64),
    "min_child_samples": [10, 20, 50, 100, 200, 500],
    "colsample_bytree": uniform(0.3, 0.7),
    "reg_lambda": loguniform(0.01, 100.0),
}
"""The search space of :func:`tune_risk_model` when none is given: RiskModel's
parameters, each a list (drawn uniformly) or a scipy.stats distribution."""

_SEARCHES = ("halving", "optuna")
_RESOURCE = "n_estimators"  # successive halving's budget: boosting rounds


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_risk_model` found: the best parameters, every candidate, the refit.

    Attributes
    ----------
    best_params_ : dict
        The best candidate's parameters (with ``n_estimators``, the rounds it
        was scored at), as plain Python numbers.
    best_score_ : float
        Its mean score over the folds.
    best_model : RiskModel or None
        A clone of the model with ``best_params_``, fitted on every row
        (None with ``refit=False``).
    search : str
        ``"halving"`` or ``"optuna"``.
    scoring : str or callable
    n_splits : int
        Folds of the cross-validation.
    """

    best_params_: dict
    best_score_: float
    best_model: RiskModel | None
    search: str
    scoring: Any
    n_splits: int
    _table: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row per candidate scored: ``iteration`` (halving rung or optuna trial),
        ``candidate``, ``n_estimators``, the parameters searched, ``mean_score``,
        ``std_score`` (over the folds), ``rank`` (1: best; halving: within its rung,
        optuna: among all trials) and ``fit_s`` (mean seconds per fit). Earliest
        iteration first, best first within it."""
        return self._table.copy()

    def summary(self) -> str:
        """What was searched, and the best candidate."""
        t = self._table
        best = ", ".join(f"{k}={_show(v)}" for k, v in self.best_params_.items())
        per = t.groupby("iteration", sort=True).size().tolist()
        if self.search == "halving":
            rounds = t.groupby("iteration", sort=True)["n_estimators"].first().tolist()
            how = (
                f"Successive halving over boosting rounds: {per[0]} candidates, "
                f"{len(per)} rungs of {', '.join(map(str, rounds))} rounds keeping "
                f"{', '.join(map(str, per))} candidates"
            )
        else:
            how = f"Optuna (TPE): {len(per)} trials"
        last = t["iteration"].eq(t["iteration"].max()) if self.search == "halving" else True
        row = t.loc[t["rank"].eq(1) & last].iloc[0]
        return (
            f"{how}; {self.n_splits} folds, scoring {_scoring_name(self.scoring)}.\n"
            f"Best: mean {self.best_score_:.4f} ± {row['std_score']:.4f} over the folds; "
            f"{best}."
        )

    def plot(self, ax=None):
        """Mean score per candidate against the rounds (halving) or the trial (optuna).

        Halving draws one line per candidate across the rungs it reached;
        optuna the score of each trial and the best so far. Returns the axes.
        """
        from .._compat import pyplot

        if ax is None:
            _, ax = pyplot().subplots(figsize=(7, 4))
        t = self._table
        if self.search == "halving":
            for _, rows in t.groupby("candidate", sort=True):
                rows = rows.sort_values("iteration")
                ax.plot(rows["n_estimators"], rows["mean_score"], marker="o", color="0.6", lw=1)
            top = t[t["iteration"].eq(t["iteration"].max()) & t["rank"].eq(1)]
            best = t[t["candidate"].isin(top["candidate"])].sort_values("iteration")
            ax.plot(
                best["n_estimators"], best["mean_score"], marker="o", color="C0", lw=2, label="best"
            )
            ax.set_xscale("log")
            rounds = sorted(t["n_estimators"].unique())
            ax.set_xticks(rounds, [str(r) for r in rounds])
            ax.minorticks_off()
            ax.set_xlabel("boosting rounds (successive halving)")
        else:
            ax.plot(t["iteration"], t["mean_score"], "o", color="0.6", label="trial")
            ax.plot(t["iteration"], t["mean_score"].cummax(), color="C0", label="best so far")
            ax.set_xlabel("trial")
        ax.set_ylabel(f"mean {_scoring_name(self.scoring)} over {self.n_splits} folds")
        ax.legend(loc="lower right")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (the table as a list of rows)."""
        return {
            "search": self.search,
            "scoring": _scoring_name(self.scoring),
            "n_splits": self.n_splits,
            "best_params": dict(self.best_params_),
            "best_score": self.best_score_,
            "table": self._table.to_dict("records"),
        }


def tune_risk_model(
    X,
    y,
    *,
    cv,
    model: RiskModel | None = None,
    param_distributions: Mapping[str, Any] | None = None,
    search: str = "halving",
    n_candidates: int = 20,
    factor: float = 3,
    scoring: str | Callable = "roc_auc",
    groups=None,
    refit: bool = True,
    random_state: int = 0,
    n_jobs: int | None = None,
) -> TuningResult:
    """Search RiskModel's hyperparameters by cross-validation out of time.

    ``search="halving"`` (the default) runs scikit-learn's successive halving
    (``HalvingRandomSearchCV``) with the boosting rounds as the budget: the
    ``n_candidates`` candidates drawn from ``param_distributions`` are all
    scored at a few rounds, the best ``1 / factor`` of them at ``factor``
    times as many, and so on up to ``model.n_estimators`` rounds, so that the
    last rung compares the finalists at the full count. Every fit sees all the
    training rows of its fold. Few rounds favour fast learning rates in the
    first rungs; the finalists are compared at the full count.
    ``search="optuna"`` runs Optuna's TPE sampler for ``n_candidates`` trials,
    each scored at ``model.n_estimators`` rounds (Optuna is optional: ``pip
    install optuna``).

    Fits inside the folds have no validation slice, so they train the rounds
    given, without early stopping, and without calibration.

    Parameters
    ----------
    X, y
        Features and labels, e.g. :func:`~overdue_risk.build_training_set`
        without and with its ``label`` column.
    cv : cross-validation splitter
        Out of time for stacked snapshots: ``AsOfSplit(n_splits, horizon=...)``.
        An integer is refused: it would split the rows without regard to time.
    model : RiskModel, optional
        The starting point; its other parameters are kept (default
        ``RiskModel()``). Its ``calibration`` must be None.
    param_distributions : dict, optional
        ``{parameter: list or scipy.stats distribution}`` over RiskModel's
        parameters (default :data:`TUNING_SPACE`). With ``search="optuna"``,
        lists and scipy's ``uniform``, ``loguniform`` and ``randint`` are read.
        ``n_estimators`` is the halving budget, not a searched parameter.
    search : {"halving", "optuna"}, default="halving"
    n_candidates : int, default=20
        Candidates of the first rung, or Optuna trials.
    factor : float, default=3
        Halving: the share of candidates kept per rung is ``1 / factor``.
    scoring : str or callable, default="roc_auc"
        A scikit-learn scorer; larger is better.
    groups : array-like, optional
        Passed to ``cv.split`` (``AsOfSplit`` reads dates there when ``X``
        has no ``as_of`` index level).
    refit : bool, default=True
        Fit the best candidate on every row (``best_model``).
    random_state : int, default=0
        Seed of the candidates drawn; the same inputs give the same result.
    n_jobs : int, optional
        Fits in parallel (joblib workers). Each RiskModel with ``n_jobs=None``
        then trains on its worker's share of the cores.

    Returns
    -------
    TuningResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from overdue_risk import AsOfSplit, RiskModel, tune_risk_model
    >>> rng = np.random.default_rng(0)
    >>> dates = pd.date_range("2023-01-31", periods=12, freq="ME")
    >>> index = pd.MultiIndex.from_product([range(300), dates], names=["loan_id", "as_of"])
    >>> X = pd.DataFrame({"dpd": rng.integers(0, 30, len(index)).astype(float)}, index=index)
    >>> y = (rng.random(len(index)) < 0.05 + X["dpd"] / 60).astype(int)
    >>> result = tune_risk_model(X, y, cv=AsOfSplit(3, horizon=60), n_candidates=4,
    ...                          model=RiskModel(n_estimators=20), refit=False)
    >>> sorted(result.best_params_)[:2], result.best_params_["n_estimators"]
    (['colsample_bytree', 'learning_rate'], 18)
    >>> result.table().groupby("iteration").size().tolist()
    [4, 2]
    """
    model = RiskModel() if model is None else model
    _check(model, cv, search, n_candidates, factor, scoring, refit, random_state, n_jobs)
    space = _space(model, param_distributions, search)
    base = clone(model)
    if search == "halving":
        found = _halving(
            base,
            space,
            X,
            y,
            groups,
            cv,
            n_candidates,
            factor,
            scoring,
            refit,
            random_state,
            n_jobs,
        )
    else:
        found = _optuna(
            base, space, X, y, groups, cv, n_candidates, scoring, refit, random_state, n_jobs
        )
    table, best_params, best_score, best_model, n_splits = found
    return TuningResult(
        best_params_={k: _plain(v) for k, v in best_params.items()},
        best_score_=float(best_score),
        best_model=best_model,
        search=search,
        scoring=scoring,
        n_splits=n_splits,
        _table=table,
    )


def _check(model, cv, search, n_candidates, factor, scoring, refit, random_state, n_jobs):
    if not isinstance(model, RiskModel):
        raise ModelError(f"model must be a RiskModel; got {type(model).__name__}.")
    if model.calibration is not None:
        raise ModelError(
            f"model has calibration={model.calibration!r}: the fits of a search have no "
            "held-out slice to calibrate on. Tune with calibration=None, then fit the "
            "chosen parameters with calibration and a later slice (X_val or X_cal)."
        )
    if isinstance(cv, numbers.Integral) or not (
        hasattr(cv, "split") or (isinstance(cv, Sequence) and not isinstance(cv, str))
    ):
        raise ModelError(
            f"cv must be a cross-validation splitter, such as AsOfSplit(n_splits=3, "
            f"horizon=90), or a list of (train, test) pairs; got {cv!r}. An integer would "
            "split the rows without regard to their as-of dates."
        )
    check(Options(_SEARCHES), search, key="search", error=ModelError)
    check(Interval(int, 1, 100_000), n_candidates, key="n_candidates", error=ModelError)
    check(Interval(float, 1, 100, closed="right"), factor, key="factor", error=ModelError)
    if not (isinstance(scoring, str) or callable(scoring)):
        raise ModelError(f"scoring must be a scorer's name or a callable; got {scoring!r}.")
    if not isinstance(refit, bool):
        raise ModelError(f"refit must be true or false; got {refit!r}.")
    check(Interval(int, 0, 2**32 - 1), random_state, key="random_state", error=ModelError)
    check(N_JOBS, n_jobs, key="n_jobs", error=ModelError)


def _space(model: RiskModel, space: Mapping | None, search: str) -> dict:
    space = TUNING_SPACE if space is None else space
    if not isinstance(space, Mapping) or not space:
        raise ModelError(
            f"param_distributions must be a non-empty mapping of RiskModel parameters to "
            f"lists or distributions; got {space!r}."
        )
    names = sorted(model.get_params())
    for name, values in space.items():
        if name not in names:
            raise ModelError(
                f"param_distributions names {name!r}, which is not a RiskModel "
                f"parameter{suggest(name, names) or '.'}"
            )
        if search == "halving" and name == _RESOURCE:
            raise ModelError(
                "param_distributions may not search n_estimators with search='halving': "
                "the boosting rounds are its budget, up to model.n_estimators."
            )
        if not (hasattr(values, "rvs") or (isinstance(values, Sequence) and len(values))):
            raise ModelError(
                f"param_distributions[{name!r}] must be a non-empty list or a "
                f"scipy.stats distribution; got {values!r}."
            )
    return dict(space)


def _halving(model, space, X, y, groups, cv, n_candidates, factor, scoring, refit, seed, n_jobs):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    search = HalvingRandomSearchCV(
        model,
        space,
        n_candidates=n_candidates,
        factor=factor,
        resource=_RESOURCE,
        max_resources=model.n_estimators,
        min_resources="exhaust",
        cv=cv,
        scoring=scoring,
        refit=refit,
        error_score="raise",
        return_train_score=False,
        random_state=seed,
        n_jobs=n_jobs,
    )
    search.fit(X, y, groups=groups)
    results = pd.DataFrame(search.cv_results_)
    first = results[results["iter"].eq(0)]
    ids = {_key(p): i for i, p in enumerate(first["params"])}
    table = _table(
        iteration=results["iter"],
        candidate=[ids[_key(p)] for p in results["params"]],
        n_estimators=results["n_resources"],
        params=results["params"],
        space=space,
        mean=results["mean_test_score"],
        std=results["std_test_score"],
        fit_s=results["mean_fit_time"],
    )
    best_model = search.best_estimator_ if refit else None
    return table, search.best_params_, search.best_score_, best_model, search.n_splits_


def _optuna(model, space, X, y, groups, cv, n_trials, scoring, refit, seed, n_jobs):
    from .._compat import optuna

    opt = optuna()
    rows: list[dict] = []

    def objective(trial) -> float:
        params = {name: _suggest(trial, name, values) for name, values in space.items()}
        start = time.perf_counter()
        scores = cross_val_score(
            clone(model).set_params(**params),
            X,
            y,
            groups=groups,
            cv=cv,
            scoring=scoring,
            n_jobs=n_jobs,
            error_score="raise",
        )
        rows.append(
            {
                "params": params,
                "mean": scores.mean(),
                "std": scores.std(),
                "n_splits": len(scores),
                "fit_s": (time.perf_counter() - start) / len(scores),
            }
        )
        return float(scores.mean())

    verbosity = opt.logging.get_verbosity()
    opt.logging.set_verbosity(opt.logging.WARNING)  # no line per trial on stderr
    try:
        study = opt.create_study(direction="maximize", sampler=opt.samplers.TPESampler(seed=seed))
        study.optimize(objective, n_trials=n_trials)
    finally:
        opt.logging.set_verbosity(verbosity)
    frame = pd.DataFrame(rows)
    table = _table(
        iteration=np.arange(len(frame)),  # one trial per iteration, ranked among all
        candidate=np.arange(len(frame)),
        n_estimators=np.full(len(frame), model.n_estimators),
        params=frame["params"],
        space=space,
        mean=frame["mean"],
        std=frame["std"],
        fit_s=frame["fit_s"],
        rank_by_iteration=False,
    )
    best = rows[int(frame["mean"].to_numpy().argmax())]
    best_params = {**best["params"], "n_estimators": model.n_estimators}
    best_model = clone(model).set_params(**best["params"]).fit(X, y) if refit else None
    return table, best_params, best["mean"], best_model, int(frame["n_splits"].iloc[0])


def _suggest(trial, name: str, values) -> Any:
    """Optuna's suggestion for one parameter of a list or a scipy distribution."""
    if not hasattr(values, "rvs"):
        return trial.suggest_categorical(name, [_plain(v) for v in values])
    kind = getattr(getattr(values, "dist", None), "name", None)
    args = tuple(getattr(values, "args", ()))
    if not getattr(values, "kwds", {}) and len(args) == 2:
        a, b = (float(v) for v in args)
        if kind in ("loguniform", "reciprocal"):
            return trial.suggest_float(name, a, b, log=True)
        if kind == "uniform":
            return trial.suggest_float(name, a, a + b)
        if kind == "randint":
            return trial.suggest_int(name, int(a), int(b) - 1)
    raise ModelError(
        f"search='optuna' reads lists and scipy.stats' uniform, loguniform and randint "
        f"(positional arguments); param_distributions[{name!r}] is {values!r}."
    )


def _table(
    *, iteration, candidate, n_estimators, params, space, mean, std, fit_s, rank_by_iteration=True
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "iteration": np.asarray(iteration, dtype=np.int64),
            "candidate": np.asarray(candidate, dtype=np.int64),
            "n_estimators": np.asarray(n_estimators, dtype=np.int64),
        }
    )
    for name in space:
        out[name] = [_plain(p[name]) for p in params]
    out["mean_score"] = np.asarray(mean, dtype=np.float64)
    out["std_score"] = np.asarray(std, dtype=np.float64)
    scores = out.groupby("iteration")["mean_score"] if rank_by_iteration else out["mean_score"]
    out["rank"] = scores.rank(ascending=False, method="min").astype(int)
    out["fit_s"] = np.asarray(fit_s, dtype=np.float64)
    return out.sort_values(["iteration", "rank", "candidate"], kind="stable").reset_index(drop=True)


def _key(params: Mapping) -> tuple:
    """A candidate's identity across rungs: its parameters without the budget."""
    return tuple(sorted((k, repr(_plain(v))) for k, v in params.items() if k != _RESOURCE))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return repr(value)


def _scoring_name(scoring) -> str:
    return scoring if isinstance(scoring, str) else getattr(scoring, "__name__", repr(scoring))
