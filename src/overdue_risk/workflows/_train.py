"""Train a risk model out of time: what ``overdue-risk train`` calls."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._dates import AsOf, parse_as_of
from .._io import check_output_folder, check_outputs_apart, check_report_path
from ..contract import Portfolio
from ..evaluation import EvaluationReport, evaluate
from ..exceptions import ModelError
from ..labels import as_target, build_training_set
from ..ledger import LedgerConfig
from ..model import RiskModel
from ._features import build_options
from ._inputs import check_families, dated_portfolio, portfolio_files
from ._review import check_review_options, describe_or_refuse, sensitive_groups, split_sensitive

__all__ = ["TrainingResult", "train_risk_model"]

log = logging.getLogger(__name__)

# Score quantiles kept in the manifest: the reference sample for score PSI later.
_REFERENCE_QUANTILES = 200
# The most important features whose test-slice distribution is kept, for feature PSI.
_REFERENCE_FEATURES = 10
_FEATURE_QUANTILES = 100


def reference_features(X: pd.DataFrame, names) -> dict:
    """Each feature's distribution on the test slice, small enough for the manifest:
    numbers as 101 quantiles and the missing share; categories as shares."""
    out = {}
    for name in names:
        col = X[name]
        missing = float(col.isna().mean())
        if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
            shares = col.dropna().astype(str).value_counts(normalize=True).sort_index()
            out[str(name)] = {
                "shares": {k: float(v) for k, v in shares.items()},
                "missing": missing,
            }
        else:
            known = col.dropna().to_numpy(dtype=np.float64)
            if not known.size:
                continue
            q = np.quantile(known, np.linspace(0, 1, _FEATURE_QUANTILES + 1))
            out[str(name)] = {"quantiles": q.tolist(), "missing": missing}
    return out


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
    report: EvaluationReport
    dates: dict

    def save(
        self,
        out: str | os.PathLike,
        *,
        report_path: str | os.PathLike | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the model folder, and the test report as HTML when ``report_path`` is given.

        A non-empty folder is replaced only with ``overwrite``. Returns the folder.
        """
        _check_report_outside(out, report_path)
        folder = check_output_folder(out, overwrite)
        html = None if report_path is None else check_report_path(report_path)
        check_outputs_apart([folder, html])
        self.model.save(folder, overwrite=True)  # the folder was checked above
        if html is not None:
            self.report.to_html(html)
        return folder


def _check_report_outside(out, report_path) -> None:
    """Refuse a report inside the model folder: the folder is sealed, the model's files only."""
    if out is None or report_path is None:
        return
    folder, report = Path(os.path.abspath(out)), Path(os.path.abspath(report_path))
    if folder == report or folder in report.parents:
        raise ModelError(
            f"The report {str(report_path)!r} (--report, report_path) lies inside the model "
            f"folder {str(out)!r} (--out): a model folder is sealed and holds the model's "
            "files only. Write the report outside it."
        )


def train_risk_model(
    portfolio: Portfolio | str | os.PathLike,
    as_of_dates: AsOf,
    target="dpd30_90d",
    *,
    model: RiskModel | None = None,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    tolerance: float = 0.0,
    out: str | os.PathLike | None = None,
    report_path: str | os.PathLike | None = None,
    overwrite: bool = False,
    allow_future: bool = False,
    sensitive: Sequence[str] | None = None,
    include_sensitive: bool = False,
    descriptions: Mapping[str, str] | None = None,
) -> TrainingResult:
    """Train a :class:`RiskModel` with an out-of-time split of monthly snapshots.

    The last as-of date whose horizon is observed is the test set, the one
    before it stops the boosting early (and calibrates, when the model
    calibrates), and every earlier date whose horizon ended by then trains
    (dates closer to the early-stopping date are left out: their label
    windows overlap its own).

    Parameters
    ----------
    portfolio : Portfolio or path
        A portfolio, or its folder (read and validated).
    as_of_dates : date-likes
        At least three with an observed horizon.
    target : DpdTarget, CureTarget or str, default "dpd30_90d"
    model : RiskModel, optional
        Its parameters are used (default: ``RiskModel(calibration="isotonic")``);
        it is cloned, never changed.
    families, exclude, tolerance
        Passed to :func:`~overdue_risk.build_training_set` and recorded in the
        model, so that scoring builds the same features.
    out : path, optional
        Write the model folder there (see :meth:`TrainingResult.save`).
    report_path : path, optional
        Write the test report there, as HTML.
    overwrite : bool, default False
        Replace a non-empty ``out`` folder.
    allow_future : bool, default False
        Take as-of dates after the morning after the data's last record with a
        warning instead of refusing them (they have no observed horizon).
    sensitive : list of str, optional
        The sensitive attributes: columns (``birth_year``) or features
        (``customer_birth_year``), matched as
        :func:`~overdue_risk.model.sensitive_columns` says (default
        :data:`~overdue_risk.model.SENSITIVE_ATTRIBUTES`: age and birth year,
        sex and gender, marital status, region). ``[]`` names none. Recorded
        in the model; the model's own ``sensitive_features`` count too.
    include_sensitive : bool, default False
        Train on the sensitive features (with a
        :class:`~overdue_risk.DataQualityWarning`) instead of leaving them out
        (the default, recorded among the exclusions). Either way they are never
        reason codes, and the report's fairness table shows their groups
        (read from the portfolio, whichever families are built).
    descriptions : mapping, optional
        ``{feature: text}`` for reason codes and the model folder, over the
        feature catalogue's texts and the templates of ``loans`` and
        ``customers`` columns. A feature without any text is an error.

    The outputs, dates, target, families and the options above are checked
    before any work.

    Returns
    -------
    TrainingResult
    """
    _check_report_outside(out, report_path)
    if out is not None:
        check_output_folder(out, overwrite)
    if report_path is not None:
        check_report_path(report_path)
    check_outputs_apart([out, report_path], portfolio_files(portfolio))
    parse_as_of(as_of_dates, "as_of_dates")
    target = as_target(target)
    check_families(families)
    sensitive = check_review_options(sensitive, include_sensitive, descriptions)
    portfolio = dated_portfolio(
        portfolio, as_of_dates, allow_future=allow_future, name="as_of_dates"
    )
    data = build_training_set(
        portfolio,
        as_of_dates,
        target,
        families=families,
        exclude=exclude,
        ledger_config=LedgerConfig(tolerance=tolerance),
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
    estimator = clone(model) if model is not None else RiskModel(calibration="isotonic")
    estimator.set_params(target=target)
    # The model's own sensitive features are sensitive too, whatever the list says.
    sensitive = (*sensitive, *(n for n in estimator.sensitive_features if n not in sensitive))
    built = [c for c in data.columns if c != "label"]
    data, left_out = split_sensitive(data, estimator, sensitive, include_sensitive)
    features = [c for c in data.columns if c != "label"]
    texts = describe_or_refuse(features, portfolio, built, descriptions)
    train, val, test = (data[before], data[dates == val_date], data[dates == test_date])

    def split(frame: pd.DataFrame):
        return frame.drop(columns="label"), frame["label"]

    log.info("training on %d rows, stopping on %d, testing on %d", len(train), len(val), len(test))
    estimator.fit(*split(train), *split(val))
    estimator.descriptions_ = texts
    X_test, y_test = split(test)
    score = estimator.predict_proba(X_test)[:, 1]
    report = evaluate(
        y_test.to_numpy(),
        score,
        as_of=X_test.index.get_level_values("as_of"),
        importance=estimator.feature_importance(),
        groups=sensitive_groups(portfolio, X_test.index.get_level_values("loan_id"), sensitive),
        model=estimator,
        X=X_test,
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
    top = estimator.feature_importance().nlargest(_REFERENCE_FEATURES).index
    # Per population the nightly run scores (not in arrears: DPD 0; in arrears: DPD >= 1),
    # so that a model is compared with the part of its test slice it scores tonight.
    arrears = X_test["dpd"].to_numpy() >= 1 if "dpd" in X_test else np.zeros(len(X_test), bool)
    estimator.reference_features_ = {
        name: reference_features(X_test[rows], top)
        for name, rows in (("not_in_arrears", ~arrears), ("in_arrears", arrears))
        if rows.any()
    }
    estimator.build_options_ = {
        **build_options(families, [*exclude, *left_out], tolerance),
        "sensitive": list(sensitive),
    }
    fmt = "%Y-%m-%d"
    split_dates = {
        "train": sorted({pd.Timestamp(d).strftime(fmt) for d in dates[before]}),
        "validation": [pd.Timestamp(val_date).strftime(fmt)],
        "test": [pd.Timestamp(test_date).strftime(fmt)],
    }
    result = TrainingResult(estimator, report, split_dates)
    if out is not None:
        result.save(out, report_path=report_path, overwrite=overwrite)
    elif report_path is not None:
        report.to_html(report_path)
    return result
