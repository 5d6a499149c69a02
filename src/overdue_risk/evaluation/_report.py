"""``evaluate``: how well a risk score ranks, how well it is calibrated, how stable it is."""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from .._io import check_output_file, write_text
from ..exceptions import EvaluationError, OverdueRiskError
from . import _contributions as c
from . import _fairness as f
from . import _metrics as m
from . import _plots
from . import _validation as v

__all__ = ["EvaluationReport", "evaluate"]

LOG_LOSS_EPS = 1e-15  # scores of exactly 0 or 1 would make the log loss infinite
TABLE_KINDS = (
    "metrics",
    "gains",
    "calibration",
    "psi",
    "feature_psi",
    "by_month",
    "importance",
    "fairness",
    "contributions",
)
_NEEDS = {
    "psi": "reference_score=",
    "feature_psi": "X= and reference_X=",
    "by_month": "as_of=",
    "importance": "importance=",
    "fairness": "groups=",
    "contributions": "model= and X=",
    "waterfall": "model= and X=",
}
_METRIC_NAMES = {
    "n": "rows",
    "bads": "bads (y = 1)",
    "bad_rate": "bad rate",
    "auc": "AUC",
    "gini": "Gini",
    "ks": "KS",
    "pr_auc": "PR-AUC (average precision)",
    "brier": "Brier score",
    "log_loss": "log loss",
    "ece": "ECE",
    "score_psi": "score PSI",
}


class EvaluationReport:
    """The result of :func:`evaluate`: metrics, tables, figures and an HTML report.

    Attributes
    ----------
    name : str or None
        The label given to :func:`evaluate`.
    n_bins : int
        Bins of the gains, calibration and PSI tables.
    metrics : dict of str to float
        ``n``, ``bads``, ``bad_rate``, ``auc``, ``gini``, ``ks``, ``pr_auc``,
        ``brier``, ``log_loss``, ``ece`` and, with a reference, ``score_psi``.
    notes : tuple of str
        Why some numbers are NaN (e.g. a single class in ``y``), and what else
        a reader of the numbers should know (``evaluate_model`` adds the rows
        scored with category values the model never saw at fit).

    Examples
    --------
    >>> report = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_bins=2)
    >>> report.metrics["auc"], report.metrics["ks"]
    (0.75, 0.5)
    >>> report.table("gains")["capture_rate"].tolist()
    [0.5, 1.0]
    """

    def __init__(
        self,
        *,
        name: str | None,
        n_bins: int,
        metrics: dict[str, float],
        tables: dict[str, pd.DataFrame],
        notes: tuple[str, ...],
        y: np.ndarray,
        score: np.ndarray,
        reference_score: np.ndarray | None,
        explanation: c.Explanation | None = None,
    ):
        self.name = name
        self.n_bins = n_bins
        self.metrics = metrics
        self.notes = notes
        self._tables = tables
        self._y = y
        self._score = score
        self._reference_score = reference_score
        self._explanation = explanation

    @property
    def table_kinds(self) -> tuple[str, ...]:
        """The tables this report holds (some need optional inputs of ``evaluate``)."""
        return ("metrics", *(k for k in TABLE_KINDS if k in self._tables))

    @property
    def plot_kinds(self) -> tuple[str, ...]:
        """The figures this report can draw; ROC and gains need both classes in ``y``."""
        both = not math.isnan(self.metrics["auc"])
        have = {*self._tables, *(("waterfall",) if self._explanation is not None else ())}
        return tuple(
            k
            for k in _plots.PLOTS
            if (k not in ("roc", "gains") or both) and (k not in _NEEDS or k in have)
        )

    def table(self, kind: str = "metrics") -> pd.DataFrame:
        """One of the report's tables, as a new DataFrame.

        Parameters
        ----------
        kind : {"metrics", "gains", "calibration", "psi", "feature_psi", "by_month", \
"importance", "fairness", "contributions"}
            ``metrics``: one row per metric (``metric``, ``value``, ``description``).
            ``gains``: score bins of ``n / n_bins`` rows (ties split, their bads
            spread evenly), highest scores first, with ``count``, ``bads``,
            ``bad_rate``, ``cum_bads``, ``capture_rate`` (cumulative share of all
            bads), ``cum_population_share``, ``lift``, ``cum_lift``,
            ``score_min``, ``score_max``.
            ``calibration``: the ECE bins, lowest scores first (``count``,
            ``mean_score``, ``bad_rate``, ``abs_gap``, ``score_min``, ``score_max``).
            ``psi``: score PSI bin by bin (``lower``, ``upper``, reference and
            current ``count`` and ``share``, ``psi``).
            ``feature_psi``: one row per feature (``kind``, ``n_bins``, ``psi``,
            ``status``), largest PSI first.
            ``by_month``: ``month``, ``count``, ``bads``, ``bad_rate``, ``auc``,
            ``gini``.
            ``importance``: ``feature``, ``importance``, ``share``, largest first.
            ``fairness``: one row per group of each column of ``groups``
            (``attribute``, ``group``, ``count``, ``share``, ``bads``,
            ``bad_rate``, ``mean_score``, ``calibration_gap``, ``ece``, ``auc``,
            ``flag_rate``, ``flag_ratio``, ``score_p10`` ... ``score_p90``).
            ``contributions``: per feature, ``mean_abs_contribution``,
            ``mean_contribution`` and ``share`` over the explained rows.

        Returns
        -------
        DataFrame
        """
        if kind == "metrics":
            return pd.DataFrame(
                {
                    "metric": list(self.metrics),
                    "value": [float(x) for x in self.metrics.values()],
                    "description": [_METRIC_NAMES[k] for k in self.metrics],
                }
            )
        if kind not in TABLE_KINDS:
            raise EvaluationError(f"Unknown table kind {kind!r}; expected one of {TABLE_KINDS}.")
        if kind not in self._tables:
            raise EvaluationError(
                f"The {kind!r} table needs {_NEEDS[kind]} in evaluate(); it was not given."
            )
        return self._tables[kind].copy()

    def summary(self) -> str:
        """A few lines of text: size, ranking, calibration, stability, notes."""
        mt = self.metrics
        lines = [
            f"Evaluation{f' of {self.name}' if self.name else ''}: {mt['n']:,} rows, "
            f"{mt['bads']:,} bads ({mt['bad_rate']:.2%})",
            f"AUC {mt['auc']:.4f}  Gini {mt['gini']:.4f}  KS {mt['ks']:.4f}  "
            f"PR-AUC {mt['pr_auc']:.4f}",
            f"Brier {mt['brier']:.4f}  log loss {mt['log_loss']:.4f}  ECE {mt['ece']:.4f}",
        ]
        if "score_psi" in mt:
            psi = mt["score_psi"]
            lines.append(f"Score PSI {psi:.4f} ({m.psi_status(psi)})")
        if "feature_psi" in self._tables:
            t = self._tables["feature_psi"]
            moved = int((t["psi"] >= m.PSI_STABLE).sum())
            top = t.iloc[0]
            lines.append(
                f"Feature PSI: {moved} of {len(t)} features >= {m.PSI_STABLE} "
                f"(largest: {top['feature']} {top['psi']:.4f})"
            )
        if "by_month" in self._tables:
            t = self._tables["by_month"].dropna(subset=["auc"])
            if len(t):
                lo, hi = t.loc[t["auc"].idxmin()], t.loc[t["auc"].idxmax()]
                lines.append(
                    f"AUC by month: {len(self._tables['by_month'])} months, "
                    f"min {lo['auc']:.4f} ({lo['month']}), max {hi['auc']:.4f} ({hi['month']})"
                )
        if "fairness" in self._tables:
            lines += f.summary_lines(self._tables["fairness"])
        if "contributions" in self._tables:
            t = self._tables["contributions"].head(3)
            top = ", ".join(
                f"{r.feature} {r.mean_abs_contribution:.3f}" for r in t.itertuples(index=False)
            )
            rows = len(self._explanation.contributions)
            lines.append(f"Mean |contribution| (log-odds, {rows:,} rows explained): {top}")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def plot(self, kind: str = "roc", ax: Any = None) -> Any:
        """Draw one figure of the report.

        Parameters
        ----------
        kind : {"roc", "calibration", "gains", "score_distribution", "by_month", \
"importance", "fairness", "contributions", "waterfall"}
            ``calibration`` is the reliability diagram of the ECE bins;
            ``score_distribution`` overlays the reference scores when given;
            ``fairness`` the bad rate and mean score of each group;
            ``contributions`` and ``waterfall`` draw a
            :class:`ContributionSummaryDisplay` of the explained rows and a
            :class:`WaterfallDisplay` of the riskiest one.
        ax : matplotlib Axes, optional
            Where to draw; a new figure (through pyplot) when omitted.

        Returns
        -------
        matplotlib Axes
        """
        if kind not in _plots.PLOTS:
            raise EvaluationError(
                f"Unknown plot kind {kind!r}; expected one of {tuple(_plots.PLOTS)}."
            )
        if kind not in self.plot_kinds:
            need = _NEEDS.get(kind, "both classes in y")
            raise EvaluationError(f"The {kind!r} plot needs {need}; this report has none.")
        ax = _plots.new_axes(ax)
        _plots.PLOTS[kind](self, ax)
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe data: metrics, notes and every table as records.

        NaN becomes ``None`` and months become ``"YYYY-MM"``, so the result
        passes ``json.dumps(..., allow_nan=False)`` and fits a model manifest.
        """
        return _plain(
            {
                "name": self.name,
                "n_bins": self.n_bins,
                "metrics": self.metrics,
                "notes": list(self.notes),
                "tables": {k: self._tables[k].to_dict("records") for k in self._tables},
            }
        )

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML report: the summary, every figure and every table.

        Figures are embedded as base64 PNG; there are no external resources.

        Parameters
        ----------
        path : path-like, optional
            Where to write the report. It is written to a temporary file in
            the same folder, then moved into place: a reader never sees half
            a file, and a failure leaves no new file (nor temporary file) behind.

        Returns
        -------
        str
            The HTML document.
        """
        out = None if path is None else _check_html_path(path)
        text = self._html()
        if out is not None:
            write_text(text, out)
        return text

    def _html(self) -> str:
        title = html.escape(f"Evaluation{f' of {self.name}' if self.name else ''}")
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{title}</title>",
            "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
            "table{border-collapse:collapse;font-size:90%}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>",
            f"</head><body><h1>{title}</h1>",
            f"<pre>{html.escape(self.summary())}</pre>",
        ]
        sections = _plots.SECTIONS
        parts += [self._figure(k, "h2") for k in self.plot_kinds if k not in sections]
        if self._explanation is not None:
            parts.append(f"<h2>Explanations</h2><p>{html.escape(_EXPLAIN_INTRO)}</p>")
            parts += [self._figure(k, "h3") for k in ("contributions", "waterfall")]
            parts.append(self._table_html("contributions", "h3"))
        if "fairness" in self._tables:
            parts.append(f"<h2>Fairness</h2><p>{html.escape(f.HTML_INTRO)}</p>")
            parts += [self._figure("fairness", "h3"), self._table_html("fairness", "h3")]
        in_sections = ("contributions", "fairness")
        parts += [self._table_html(k, "h2") for k in self.table_kinds if k not in in_sections]
        parts.append("</body></html>")
        return "\n".join(parts)

    def _figure(self, kind: str, tag: str) -> str:
        png = base64.b64encode(_png(self, kind)).decode("ascii")
        name = _plots.TITLES[kind]
        return f'<{tag}>{name}</{tag}><img alt="{name}" src="data:image/png;base64,{png}">'

    def _table_html(self, kind: str, tag: str) -> str:
        table = self.table(kind).to_html(index=False, na_rep="", float_format="{:.4f}".format)
        return f"<{tag}>Table: {kind}</{tag}>{table}"

    def __repr__(self) -> str:
        mt = self.metrics
        return (
            f"EvaluationReport(name={self.name!r}, n={mt['n']}, bads={mt['bads']}, "
            f"auc={mt['auc']:.4f}, ks={mt['ks']:.4f}, ece={mt['ece']:.4f})"
        )


_EXPLAIN_INTRO = (
    "Exact TreeSHAP contributions of the model (log-odds): each account's contributions "
    "and the expected value add up to its raw log-odds. The summary shows up to "
    f"{c.MAX_ROWS:,} accounts at evenly spaced ranks of the score; the waterfall, the "
    "account with the highest score."
)


def _png(report: EvaluationReport, kind: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_plots.size(report, kind))
    try:
        report.plot(kind, ax=fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        return buf.getvalue()
    finally:
        fig.clear()  # a bare Figure is not in pyplot's registry; free its artists now


def _check_html_path(path: str | os.PathLike[str]) -> Path:
    try:
        return check_output_file(path)
    except OverdueRiskError as exc:  # the report's own error class, the output rule's words
        raise EvaluationError(str(exc)) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(x) for x in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)  # Period, Timestamp, a feature name of another type


def evaluate(
    y: Any,
    score: Any,
    *,
    as_of: Any = None,
    reference_score: Any = None,
    X: Any = None,
    reference_X: Any = None,
    importance: Any = None,
    groups: Any = None,
    model: Any = None,
    n_bins: int = 10,
    name: str | None = None,
) -> EvaluationReport:
    """Evaluate a risk score against observed outcomes.

    Ranking: AUC, Gini ``2 * AUC - 1``, KS (largest distance between the
    score CDFs of bads and goods) and PR-AUC (average precision).
    Calibration: Brier score, log loss (scores clipped to
    ``[1e-15, 1 - 1e-15]``) and the expected calibration error
    ``ECE = sum_b (n_b / n) * |mean(y in b) - mean(score in b)|`` over
    ``n_bins`` equal-frequency score bins (tied scores share a bin).
    Stability: PSI of the scores against ``reference_score``, of each column
    of ``X`` against ``reference_X``, and AUC by as-of month. Fairness: the
    same measures within each group of each sensitive attribute of
    ``groups``. Explanations: the ``model``'s exact contributions on ``X``.
    Formulas are in ``docs/evaluation.md``.

    With a single class in ``y`` the ranking metrics (AUC, Gini, KS, PR-AUC)
    are NaN and ``notes`` says why; calibration metrics are still computed.
    Months with a single class get a NaN AUC in the same way.

    Parameters
    ----------
    y : array-like of 0/1
        Observed outcome, 1 = bad (bool is accepted).
    score : array-like of float in [0, 1]
        Predicted probability of bad, aligned with ``y`` by position.
    as_of : array-like of dates, optional
        The as-of date of each row; gives the ``by_month`` table.
    reference_score : array-like of float in [0, 1], optional
        Scores of a reference sample (e.g. at training time) for the score
        PSI; its ``k / n_bins`` quantiles cut the bins.
    X, reference_X : DataFrame, optional
        Features of the evaluated and the reference population, given
        together; the PSI of each column of ``X`` (extra columns of
        ``reference_X`` are ignored). Numeric columns are cut at the
        reference's quantiles, other dtypes bin by category; missing values
        are a bin of their own. With ``model``, ``X`` may come alone.
    importance : Series or dict, optional
        Feature importances (e.g. LightGBM gain) indexed by feature name.
    groups : DataFrame, optional
        Sensitive attributes of the rows, one column each (e.g. ``region``,
        ``customer_birth_year``), aligned with ``y`` by position; gives the
        ``fairness`` table. A number with more than 10 values is cut at its
        quintiles.
    model : RiskModel, optional
        The fitted model that gave ``score``, with ``X`` its features of the
        same rows: the report explains up to 1,000 rows at evenly spaced
        ranks of the score (``contributions`` table and figure) and the
        riskiest row (``waterfall`` figure).
    n_bins : int, default 10
        Bins of the gains, calibration and PSI tables (>= 2).
    name : str, optional
        A label for the report (e.g. ``"out-of-time 2024H2"``).

    Returns
    -------
    EvaluationReport

    Raises
    ------
    EvaluationError
        On lengths that differ, ``y`` not 0/1, scores missing or outside
        [0, 1], unreadable dates, ``X`` without ``reference_X`` or ``model``,
        ``model`` without ``X``, or ``groups`` that is not a frame of one row
        per row of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> score = rng.uniform(size=1000)
    >>> y = (rng.uniform(size=1000) < score).astype(int)
    >>> report = evaluate(y, score, reference_score=rng.uniform(size=1000))
    >>> 0.8 < report.metrics["auc"] < 0.9, report.metrics["score_psi"] < 0.1
    (True, True)
    >>> float(report.table("gains")["capture_rate"].iloc[-1])
    1.0
    """
    n_bins = v.check_n_bins(n_bins)
    if name is not None and not isinstance(name, str):
        raise EvaluationError(f"name must be a string; got {type(name).__name__}.")
    v.check_same_index({"y": y, "score": score, "as_of": as_of})
    y_ = v.binary(y)
    score_ = v.probabilities("score", score, len(y_))
    # A canonical row order (by score, then y) makes every number independent of
    # the caller's order down to the last bit, floating-point sums included.
    order = np.lexsort((y_, score_))
    y_, score_ = y_[order], score_[order]
    month = None if as_of is None else v.months(as_of, len(y_)).iloc[order]
    ref = None if reference_score is None else v.probabilities("reference_score", reference_score)
    explained = model is not None
    if explained and not isinstance(X, pd.DataFrame):
        raise EvaluationError("model= needs X=, the model's features of the evaluated rows.")
    if explained and len(X) != len(y_):
        raise EvaluationError(f"X must have one row per row of y ({len(y_)}); got {len(X)}.")
    psi_wanted = reference_X is not None or (X is not None and not explained)
    features = v.frames(X, reference_X) if psi_wanted else None
    groups_ = None if groups is None else f.check_groups(groups, len(y_), y).iloc[order]
    imp = None if importance is None else v.importance_series(importance)

    n, bads = len(y_), int(y_.sum())
    both = 0 < bads < n
    nan = float("nan")
    calibration = m.calibration_table(y_, score_, n_bins)
    auc = float(roc_auc_score(y_, score_)) if both else nan
    metrics: dict[str, float] = {
        "n": n,
        "bads": bads,
        "bad_rate": bads / n,
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": m.ks(y_, score_),
        "pr_auc": float(average_precision_score(y_, score_)) if both else nan,
        "brier": float(brier_score_loss(y_, score_)),
        "log_loss": float(
            log_loss(y_, np.clip(score_, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS), labels=[0, 1])
        ),
        "ece": m.ece_from_table(calibration),
    }
    notes = []
    if not both:
        notes.append(
            f"y holds only {'bads (1)' if bads else 'goods (0)'}: AUC, Gini, KS and PR-AUC "
            "are NaN and there is no ROC or gains plot."
        )
    tables = {"gains": m.gains_table(y_, score_, n_bins), "calibration": calibration}
    if ref is not None:
        tables["psi"] = m.psi_table(pd.Series(ref), pd.Series(score_), n_bins)
        metrics["score_psi"] = float(tables["psi"]["psi"].sum())
    if features is not None:
        tables["feature_psi"] = m.feature_psi_table(X, reference_X, features, n_bins)
    if month is not None:
        t = tables["by_month"] = m.by_month_table(y_, score_, month)
        single = t.loc[t["auc"].isna(), "month"].astype(str).tolist()
        if single:
            notes.append(f"AUC is NaN in {len(single)} month(s) with one class: {single}.")
    if groups_ is not None:
        tables["fairness"] = f.fairness_table(y_, score_, groups_, n_bins)
    explanation = None
    if explained:
        explanation = c.explain_sample(model, X, order, score_)
        tables["contributions"] = explanation.table()
    if imp is not None:
        t = pd.DataFrame({"feature": imp.index, "importance": imp.to_numpy()})
        t = t.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        t["share"] = m.ratio(t["importance"], t["importance"].sum())
        tables["importance"] = t
    return EvaluationReport(
        name=name,
        n_bins=n_bins,
        metrics=metrics,
        tables=tables,
        notes=tuple(notes),
        y=y_,
        score=score_,
        reference_score=ref,
        explanation=explanation,
    )
