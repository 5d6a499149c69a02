"""Train, evaluate and score from a portfolio: what the ``train``, ``evaluate`` and
``score`` commands call.

A model remembers how its features were built (families, exclusions, DPD
tolerance), so scoring and evaluation rebuild exactly the same columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract import Portfolio, validate
from ..exceptions import ModelError
from ..ledger import LedgerConfig
from ..ledger._engine import AsOf
from ._risk_model import RiskModel

__all__ = ["TrainingResult", "evaluate_model", "score_portfolio", "train_risk_model"]

log = logging.getLogger(__name__)

# Score quantiles kept in the manifest: the reference sample for score PSI later.
_REFERENCE_QUANTILES = 200


@dataclass(frozen=True)
class TrainingResult:
    """A model trained out of time, and its report on the held-out last date.

    Attributes
    ----------
    model : RiskModel
        Fitted; ``model.metrics_["test"]`` holds the test metrics.
    report : EvaluationReport
        On the test date, with feature importance.
    dates : dict
        The as-of dates of the ``train``, ``validation`` and ``test`` slices.
    """

    model: RiskModel
    report: object
    dates: dict


def _build_options(families, exclude, tolerance: float) -> dict:
    return {
        "families": None if families is None else list(families),
        "exclude": list(exclude),
        "tolerance": float(tolerance),
    }


def _options(model: RiskModel) -> dict:
    options = getattr(model, "build_options_", None)
    if options is None:
        raise ModelError(
            "The model does not record how its features were built (it was not trained "
            "with train_risk_model); build the features yourself and call predict_proba."
        )
    return options


def train_risk_model(
    portfolio: Portfolio,
    as_of_dates: AsOf,
    target="dpd30_90d",
    *,
    model: RiskModel | None = None,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    tolerance: float = 0.0,
) -> TrainingResult:
    """Train a :class:`RiskModel` with an out-of-time split of monthly snapshots.

    The last as-of date whose horizon is observed is the test set, the one
    before it stops the boosting early (and calibrates, when the model
    calibrates), and every earlier date whose horizon ended by then trains
    (dates closer to the early-stopping date are left out: their label
    windows overlap its own).

    Parameters
    ----------
    portfolio : Portfolio
    as_of_dates : date-likes
        At least three with an observed horizon.
    target : DpdTarget, CureTarget or str, default "dpd30_90d"
    model : RiskModel, optional
        Its parameters are used (default: ``RiskModel(calibration="isotonic")``);
        it is cloned, never changed.
    families, exclude, tolerance
        Passed to :func:`~overdue_risk.build_training_set` and recorded in the
        model, so that scoring builds the same features.

    Returns
    -------
    TrainingResult
    """
    from sklearn.base import clone

    from ..evaluation import evaluate
    from ..labels import build_training_set
    from ..labels._targets import as_target

    target = as_target(target)
    config = LedgerConfig(tolerance=tolerance)
    portfolio = validate(portfolio)  # returns a validated portfolio as it is
    data = build_training_set(
        portfolio, as_of_dates, target, families=families, exclude=exclude, ledger_config=config
    )
    dates = data.index.get_level_values("as_of")
    observed = np.sort(dates.unique())
    if len(observed) < 3:
        raise ModelError(
            f"An out-of-time split needs at least 3 as-of dates with an observed "
            f"{target.name} horizon; got {len(observed)}. Give more (earlier) dates."
        )
    test_date, val_date = observed[-1], observed[-2]
    # Train only on dates whose horizon ended by the validation date: with overlapping
    # label windows the validation month rewards trees that recognise its customers,
    # and early stopping never stops (benchmarks/model_quality.py --leak-check).
    horizon = pd.Timedelta(days=target.horizon_days)
    before = dates + horizon <= val_date
    if not before.any():
        raise ModelError(
            f"No as-of date ends its {target.horizon_days}-day horizon by the early-stopping "
            f"date {pd.Timestamp(val_date).date()}; give dates further back."
        )
    train, val, test = (data[before], data[dates == val_date], data[dates == test_date])
    estimator = clone(model) if model is not None else RiskModel(calibration="isotonic")
    estimator.set_params(target=target)

    def split(frame: pd.DataFrame):
        return frame.drop(columns="label"), frame["label"]

    log.info("training on %d rows, stopping on %d, testing on %d", len(train), len(val), len(test))
    estimator.fit(*split(train), *split(val))
    X_test, y_test = split(test)
    score = estimator.predict_proba(X_test)[:, 1]
    report = evaluate(
        y_test.to_numpy(),
        score,
        as_of=X_test.index.get_level_values("as_of"),
        importance=estimator.feature_importance(),
        name=f"{target.name}: test {pd.Timestamp(test_date).date()}",
    )
    estimator.metrics_["test"] = {k: float(v) for k, v in report.metrics.items()}
    estimator.windows_["test"] = {
        "rows": len(y_test),
        "bad_rate": float(y_test.mean()),
        "as_of": [pd.Timestamp(test_date).strftime("%Y-%m-%d")] * 2,
    }
    estimator.reference_scores_ = np.quantile(
        score, np.linspace(0, 1, _REFERENCE_QUANTILES + 1)
    ).tolist()
    estimator.build_options_ = _build_options(families, exclude, tolerance)
    fmt = "%Y-%m-%d"
    split_dates = {
        "train": sorted({pd.Timestamp(d).strftime(fmt) for d in dates[before]}),
        "validation": [pd.Timestamp(val_date).strftime(fmt)],
        "test": [pd.Timestamp(test_date).strftime(fmt)],
    }
    return TrainingResult(estimator, report, split_dates)


def _features(model: RiskModel, portfolio: Portfolio, as_of: AsOf) -> pd.DataFrame:
    from ..features import build_features

    options = _options(model)
    return build_features(
        portfolio,
        as_of,
        families=options["families"],
        exclude=options["exclude"],
        ledger_config=LedgerConfig(tolerance=options["tolerance"]),
    )


def score_portfolio(
    model: RiskModel, portfolio: Portfolio, as_of: AsOf, *, explain: int = 0
) -> pd.DataFrame:
    """Score every open loan at the as-of date(s).

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)``: ``score`` (calibrated probability of
        the model's target), ``points`` (scorecard points), ``dpd``, and with
        ``explain=k`` the reason-code columns of :meth:`RiskModel.explain`.
    """
    if isinstance(explain, bool) or not isinstance(explain, int) or explain < 0:
        raise ModelError(f"explain must be a non-negative int; got {explain!r}.")
    features = _features(model, portfolio, as_of)
    if "is_closed" in features:
        features = features[features["is_closed"].to_numpy() != 1]
    score = model.predict_proba(features)[:, 1]
    out = pd.DataFrame(
        {"score": score, "points": model._points_of(score)},
        index=features.index,
    )
    if "dpd" in features:
        out["dpd"] = features["dpd"].to_numpy()
    if explain:
        out = out.join(model.explain(features, top_k=explain))
    return out


def evaluate_model(model: RiskModel, portfolio: Portfolio, as_of: AsOf):
    """Evaluate a trained model on the realised outcomes at later as-of dates.

    Rebuilds the features as at training, labels the rows with the model's
    target, and reports against the scores of the model's test slice (score PSI).
    """
    from ..evaluation import evaluate
    from ..labels import make_labels
    from ..labels._targets import as_target

    if model.target is None:
        raise ModelError("The model records no target; evaluate it with evaluate().")
    target = as_target(model.target)
    options = _options(model)
    portfolio = validate(portfolio)  # returns a validated portfolio as it is
    labels = make_labels(portfolio, as_of, target, LedgerConfig(tolerance=options["tolerance"]))
    if labels.empty:
        raise ModelError(
            f"No loan can be labelled at {as_of}: the {target.horizon_days}-day horizon "
            "must end within the data."
        )
    features = _features(model, portfolio, labels.index.get_level_values("as_of").unique())
    X = features.loc[labels.index]
    score = model.predict_proba(X)[:, 1]
    dates = X.index.get_level_values("as_of")
    return evaluate(
        labels.to_numpy(),
        score,
        as_of=dates,
        reference_score=getattr(model, "reference_scores_", None),
        importance=model.feature_importance(),
        name=f"{target.name}: {', '.join(sorted(d.strftime('%Y-%m-%d') for d in dates.unique()))}",
    )
