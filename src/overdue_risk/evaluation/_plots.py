"""The report's figures; each draws on the axes it is given and returns them.

matplotlib is imported only when a figure is drawn without axes (then
through pyplot, like scikit-learn's displays); ``to_html`` hands in axes of a
bare :class:`matplotlib.figure.Figure` so that no pyplot state is touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import roc_curve

from . import _fairness

if TYPE_CHECKING:
    from ._report import EvaluationReport

__all__: list[str] = []

_TOP_FEATURES = 20  # bars in the importance plot


def new_axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    from .._compat import pyplot

    _, ax = pyplot().subplots(figsize=(6, 4))
    return ax


def _diagonal(ax: Any, label: str) -> None:
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label=label)


def roc(report: EvaluationReport, ax: Any) -> None:
    fpr, tpr, _ = roc_curve(report._y, report._score)
    ax.plot(fpr, tpr, label=f"AUC {report.metrics['auc']:.3f}")
    _diagonal(ax, "random")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")


def calibration(report: EvaluationReport, ax: Any) -> None:
    t = report.table("calibration")
    _diagonal(ax, "perfect calibration")
    ax.plot(t["mean_score"], t["bad_rate"], marker="o", label=f"ECE {report.metrics['ece']:.3f}")
    ax.set(xlabel="mean score in bin", ylabel="observed bad rate", title="Reliability diagram")
    ax.legend(loc="upper left")


def gains(report: EvaluationReport, ax: Any) -> None:
    t = report.table("gains")
    share = np.r_[0.0, t["cum_population_share"].to_numpy()]
    ax.plot(share, np.r_[0.0, t["capture_rate"].to_numpy()], marker="o", label="model")
    rate = report.metrics["bad_rate"]
    ax.plot([0, rate, 1], [0, 1, 1], color="grey", linewidth=1, label="perfect")
    _diagonal(ax, "random")
    ax.set(
        xlabel="share of population, highest scores first",
        ylabel="share of bads captured",
        title="Cumulative gains",
    )
    ax.legend(loc="lower right")


def score_distribution(report: EvaluationReport, ax: Any) -> None:
    edges = np.linspace(0.0, 1.0, 41)
    ax.hist(report._score, bins=edges, density=True, histtype="step", label="evaluated")
    if report._reference_score is not None:
        label = f"reference (PSI {report.metrics['score_psi']:.3f})"
        ax.hist(report._reference_score, bins=edges, density=True, histtype="step", label=label)
    ax.set(xlabel="score", ylabel="density", title="Score distribution")
    ax.legend(loc="upper right")


def by_month(report: EvaluationReport, ax: Any) -> None:
    t = report.table("by_month")
    x = np.arange(len(t))
    ax.plot(x, t["auc"], marker="o", label="AUC")
    ax.set_xticks(x, labels=[str(m) for m in t["month"]], rotation=45, ha="right")
    ax.set(xlabel="as-of month", ylabel="AUC", title="AUC by month")
    ax.legend(loc="best")


def importance(report: EvaluationReport, ax: Any) -> None:
    t = report.table("importance").head(_TOP_FEATURES).iloc[::-1]
    y = np.arange(len(t))
    ax.barh(y, t["importance"])
    ax.set_yticks(y, labels=[str(f) for f in t["feature"]])
    ax.set(xlabel="importance", title="Feature importance")


def fairness(report: EvaluationReport, ax: Any) -> None:
    _fairness.plot(report._tables["fairness"], ax)


def contributions(report: EvaluationReport, ax: Any) -> None:
    report._explanation.summary().plot(ax=ax)


def waterfall(report: EvaluationReport, ax: Any) -> None:
    report._explanation.waterfall().plot(ax=ax)


PLOTS = {
    "roc": roc,
    "calibration": calibration,
    "gains": gains,
    "score_distribution": score_distribution,
    "by_month": by_month,
    "importance": importance,
    "fairness": fairness,
    "contributions": contributions,
    "waterfall": waterfall,
}
TITLES = {
    "roc": "ROC curve",
    "calibration": "Reliability diagram",
    "gains": "Cumulative gains",
    "score_distribution": "Score distribution",
    "by_month": "AUC by month",
    "importance": "Feature importance",
    "fairness": "Calibration by group",
    "contributions": "Contributions by feature",
    "waterfall": "The riskiest account, feature by feature",
}
# The figures of the report's own sections; the others come first, in the order above.
SECTIONS = {"fairness": "Fairness", "contributions": "Explanations", "waterfall": "Explanations"}


def size(report: EvaluationReport, kind: str) -> tuple[float, float]:
    """The figure size of a kind in the HTML report: tall enough for one row per label."""
    if kind == "fairness":
        return (7.0, 1.5 + 0.3 * len(report._tables["fairness"]))
    if kind == "contributions":
        return (7.0, 1.5 + 0.35 * min(report._explanation.contributions.shape[1], 15))
    if kind == "waterfall":
        return (7.0, 5.5)
    return (6.0, 4.0)
