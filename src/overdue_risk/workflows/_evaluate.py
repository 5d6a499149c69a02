"""Evaluate a trained model on realised outcomes: what ``overdue-risk evaluate`` calls."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .._dates import AsOf, parse_as_of
from .._io import check_outputs_apart, check_report_path
from ..contract import Portfolio
from ..evaluation import EvaluationReport, evaluate
from ..exceptions import ModelError
from ..labels import as_target, make_labels
from ..ledger import LedgerConfig
from ..model import SENSITIVE_ATTRIBUTES, RiskModel
from ._features import model_features, recorded_options
from ._inputs import as_model, dated_portfolio, portfolio_files
from ._review import check_review_options, sensitive_groups

__all__ = ["evaluate_model"]


def evaluate_model(
    model: RiskModel | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    out: str | os.PathLike | None = None,
    allow_future: bool = False,
    sensitive: Sequence[str] | None = None,
) -> EvaluationReport:
    """Evaluate a trained model on the realised outcomes at later as-of dates.

    Rebuilds the features as at training, labels the rows with the model's
    target, and reports against the scores of the model's test slice (score PSI),
    with the fairness table of the sensitive attributes (read from the
    portfolio) and the model's contributions.

    Parameters
    ----------
    model : RiskModel or path
        Trained by :func:`train_risk_model`, or its folder.
    portfolio : Portfolio or path
        A portfolio, or its folder (read and validated).
    as_of : date-like or date-likes
        Dates whose horizon ends within the data.
    out : path, optional
        Write the report there, as HTML (checked before any work).
    allow_future : bool, default False
        Take as-of dates after the morning after the data's last record with a
        warning instead of refusing them (they have no observed horizon).
    sensitive : list of str, optional
        The sensitive attributes whose groups make the fairness table (default:
        those recorded at training, else
        :data:`~overdue_risk.model.SENSITIVE_ATTRIBUTES`), besides the model's own
        ``sensitive_features``. ``[]`` with a model trained without them: no table.

    Returns
    -------
    EvaluationReport
    """
    if out is not None:
        check_report_path(out)
    check_outputs_apart([out], [model, *portfolio_files(portfolio)])
    parse_as_of(as_of)
    if sensitive is not None:
        check_review_options(sensitive, False, None)
    model = as_model(model)
    portfolio = dated_portfolio(portfolio, as_of, allow_future=allow_future)
    if model.target is None:
        raise ModelError("The model records no target; evaluate it with evaluate().")
    target = as_target(model.target)
    options = recorded_options(model)
    labels = make_labels(portfolio, as_of, target, LedgerConfig(tolerance=options["tolerance"]))
    if labels.empty:
        raise ModelError(
            f"No loan can be labelled at {as_of}: the {target.horizon_days}-day horizon "
            "must end within the data."
        )
    features = model_features(model, portfolio, labels.index.get_level_values("as_of").unique())
    X = features.loc[labels.index]
    recorded = options.get("sensitive", SENSITIVE_ATTRIBUTES)
    names = [*(recorded if sensitive is None else sensitive), *model.sensitive_features]
    score = model.predict_proba(X)[:, 1]
    dates = X.index.get_level_values("as_of")
    report = evaluate(
        labels.to_numpy(),
        score,
        as_of=dates,
        reference_score=getattr(model, "reference_scores_", None),
        importance=model.feature_importance(),
        groups=sensitive_groups(portfolio, X.index.get_level_values("loan_id"), names),
        model=model,
        X=X,
        name=f"{target.name}: {', '.join(sorted(d.strftime('%Y-%m-%d') for d in dates.unique()))}",
    )
    unseen = {k: n for k, n in model.unseen_categories(X).items() if n}
    if unseen:  # recorded in the report, as score_portfolio records them in its output
        counts = ", ".join(f"{name}: {n:,} rows" for name, n in sorted(unseen.items()))
        report.notes = (
            *report.notes,
            f"Category values the model never saw at fit were scored as missing: {counts}.",
        )
    if out is not None:
        report.to_html(out)
    return report
