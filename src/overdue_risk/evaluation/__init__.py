"""Evaluation of a risk score: ranking, calibration, stability, in one report.

``evaluate(y, score, ...)`` returns an :class:`EvaluationReport` with the
metrics (AUC, Gini, KS, PR-AUC, Brier, log loss, ECE, PSI), the gains,
calibration, PSI, monthly and fairness tables, figures (among them the
model's contributions: :class:`ContributionSummaryDisplay`,
:class:`WaterfallDisplay`) and a self-contained HTML page.
See ``docs/evaluation.md``.
"""

from ..exceptions import EvaluationError
from ._contributions import ContributionSummaryDisplay, WaterfallDisplay
from ._metrics import expected_calibration_error, ks_statistic, psi
from ._report import EvaluationReport, evaluate

__all__ = [
    "ContributionSummaryDisplay",
    "EvaluationError",
    "EvaluationReport",
    "WaterfallDisplay",
    "evaluate",
    "expected_calibration_error",
    "ks_statistic",
    "psi",
]
