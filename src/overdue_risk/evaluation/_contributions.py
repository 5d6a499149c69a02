"""Figures from a model's exact contributions: a summary of many rows, a waterfall of one.

The contributions are LightGBM's TreeSHAP values in log-odds
(:meth:`RiskModel.contributions`, the numbers behind reason codes): each row's
contributions and the model's expected value add up to its raw log-odds. Both
figures are displays in the style of scikit-learn's: ``from_model(...)``
computes and draws, ``plot(ax=None)`` draws again, and the display keeps its
``ax_`` and ``figure_``. matplotlib is imported only to make a figure when no
axes are given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from ..exceptions import DataQualityWarning, EvaluationError

__all__ = ["ContributionSummaryDisplay", "WaterfallDisplay"]

MAX_ROWS = 1000  # rows explained in a report: TreeSHAP costs ~0.4 ms a row
_RISE, _FALL = "#d62728", "#1f77b4"  # raises the risk, lowers it


def _new_axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    from .._compat import pyplot

    _, ax = pyplot().subplots(figsize=size)
    return ax


def _contributions(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """The model's contributions of ``X``'s rows, without repeating scoring's warnings."""
    if not hasattr(model, "contributions"):
        raise EvaluationError(
            f"model must be a fitted RiskModel (with contributions()); got {type(model).__name__}."
        )
    if not isinstance(X, pd.DataFrame):
        raise EvaluationError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
    with warnings.catch_warnings():  # scoring these rows warned already
        warnings.simplefilter("ignore", DataQualityWarning)
        return model.contributions(X)


def _value_text(v: Any) -> str:
    if pd.isna(v):
        return "missing"
    return f"{v:.4g}" if isinstance(v, float | np.floating) else str(v)


def _swarm(x: np.ndarray, width: float = 0.4, n_cells: int = 100) -> np.ndarray:
    """Vertical offsets that spread points of similar ``x`` apart, alternately up and down."""
    if len(x) == 0:
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    cell = np.zeros(len(x), np.int64)
    if hi > lo:
        cell = np.minimum(((x - lo) / (hi - lo) * n_cells).astype(np.int64), n_cells - 1)
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    head = np.r_[True, sorted_cells[1:] != sorted_cells[:-1]]
    rank = np.arange(len(x)) - np.flatnonzero(head)[np.cumsum(head) - 1]
    offset = np.empty(len(x))
    offset[order] = np.where(rank % 2 == 1, -1.0, 1.0) * ((rank + 1) // 2)
    top = np.abs(offset).max()
    return offset * (width / top) if top > 0 else offset


def _ranks(values: pd.Series) -> np.ndarray:
    """A number's rank among the rows in [0, 1]; NaN for missing values and categories."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return np.full(len(values), np.nan)
    x = pd.Series(values.to_numpy(dtype=float, na_value=np.nan))
    n = int(x.notna().sum())
    if n <= 1:
        return np.where(x.notna(), 0.5, np.nan)
    return ((x.rank(method="average") - 1) / (n - 1)).to_numpy()


class ContributionSummaryDisplay:
    """Each feature's contributions over many rows, coloured by the feature's value.

    A row per feature, most influential (largest mean absolute contribution)
    at the top; each point is an account, placed at its contribution to the
    log-odds and spread vertically where points crowd. Its colour is the
    feature value's rank among the rows (blue low, red high); grey for a
    missing value or a category.

    Parameters
    ----------
    contributions : DataFrame
        One column per feature (log-odds), one row per account.
    values : DataFrame
        The features' values, same rows; colours the points.
    max_display : int, default=15
        The features shown.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
        Where :meth:`plot` drew.
    order_ : list of str
        The features shown, top first.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from matplotlib.figure import Figure
    >>> rng = np.random.default_rng(0)
    >>> values = pd.DataFrame({"dpd": rng.integers(0, 60, 50).astype(float),
    ...                        "balance": rng.normal(size=50)})
    >>> contrib = pd.DataFrame({"dpd": values["dpd"] / 30 - 1, "balance": 0.1 * values["balance"]})
    >>> display = ContributionSummaryDisplay(contributions=contrib, values=values)
    >>> display.plot(ax=Figure().add_subplot()).order_
    ['dpd', 'balance']
    """

    def __init__(self, *, contributions: pd.DataFrame, values: pd.DataFrame, max_display=15):
        self.contributions = contributions
        self.values = values
        self.max_display = max_display

    @classmethod
    def from_model(cls, model: Any, X: pd.DataFrame, *, max_display: int = 15, ax: Any = None):
        """Compute the contributions of ``X``'s rows and draw them (about 0.4 ms a row)."""
        contrib = _contributions(model, X)
        features = list(model.feature_names_in_)
        values = X[[c for c in X.columns if str(c) in set(features)]]
        values.columns = [str(c) for c in values.columns]
        display = cls(contributions=contrib[features], values=values, max_display=max_display)
        return display.plot(ax=ax)

    def plot(self, ax: Any = None) -> ContributionSummaryDisplay:
        """Draw on ``ax`` (a new figure when omitted); returns the display."""
        phi = self.contributions
        strength = phi.abs().mean().sort_values(ascending=False, kind="stable")
        order = [str(f) for f in strength.index[: self.max_display]]
        ax = _new_axes(ax, (7, 1.5 + 0.35 * len(order)))
        mappable = None
        for i, name in enumerate(order):
            x = phi[name].to_numpy(dtype=float)
            y = len(order) - 1 - i + _swarm(x)
            rank = _ranks(self.values[name]) if name in self.values else np.full(len(x), np.nan)
            grey = np.isnan(rank)
            ax.scatter(x[grey], y[grey], s=8, color="#999999", alpha=0.7, linewidths=0)
            mappable = ax.scatter(
                x[~grey],
                y[~grey],
                s=8,
                c=rank[~grey],
                cmap="coolwarm",
                vmin=0,
                vmax=1,
                alpha=0.8,
                linewidths=0,
            )
        ax.axvline(0.0, color="grey", linewidth=1)
        ax.set_yticks(np.arange(len(order))[::-1], labels=order)
        ax.set(xlabel="contribution to the log-odds (TreeSHAP)", title="Contributions by feature")
        if mappable is not None:
            bar = ax.figure.colorbar(mappable, ax=ax, ticks=[0, 1])
            bar.ax.set_yticklabels(["low", "high"])
            bar.set_label("feature value (rank)")
        self.ax_, self.figure_, self.order_ = ax, ax.figure, order
        return self


class WaterfallDisplay:
    """One account's score, built up from the expected value feature by feature.

    Starts at the model's expected log-odds; each bar adds one feature's
    contribution (red raises the risk, blue lowers it), largest first, the
    smallest ones pooled in one bar; the last bar ends at the account's raw
    log-odds, shown with its probability (calibrated, when given).

    Parameters
    ----------
    contributions : Series
        Log-odds per feature of the account.
    expected : float
        The model's expected value (log-odds).
    values : Series, optional
        The account's feature values, shown beside the names.
    probability : float, optional
        The account's (calibrated) probability; ``expit`` of the log-odds otherwise.
    max_display : int, default=10
        Bars, the pooled one included.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    logodds_ : float
        ``expected`` plus every contribution.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> display = WaterfallDisplay(contributions=pd.Series({"dpd": 1.2, "balance": -0.3}),
    ...                            expected=-3.0)
    >>> round(display.plot(ax=Figure().add_subplot()).logodds_, 6)
    -2.1
    """

    def __init__(
        self,
        *,
        contributions: pd.Series,
        expected: float,
        values: pd.Series | None = None,
        probability: float | None = None,
        max_display: int = 10,
    ):
        self.contributions = contributions
        self.expected = expected
        self.values = values
        self.probability = probability
        self.max_display = max_display

    @classmethod
    def from_model(
        cls, model: Any, X: pd.DataFrame, *, row: int = 0, max_display: int = 10, ax: Any = None
    ):
        """Explain the row at position ``row`` of ``X`` and draw it."""
        if not isinstance(X, pd.DataFrame):
            raise EvaluationError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
        if (
            isinstance(row, bool)
            or not isinstance(row, int | np.integer)
            or not (-len(X) <= row < len(X))
        ):
            raise EvaluationError(f"row must be a position in X (0 to {len(X) - 1}); got {row!r}.")
        one = X.iloc[[int(row)]]
        contrib = _contributions(model, one).iloc[0]
        features = [str(f) for f in model.feature_names_in_]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            probability = float(model.predict_proba(one)[0, 1])
        values = pd.Series({str(c): one[c].iloc[0] for c in one.columns})
        display = cls(
            contributions=contrib[features],
            expected=float(contrib["expected"]),
            values=values,
            probability=probability,
            max_display=max_display,
        )
        return display.plot(ax=ax)

    def plot(self, ax: Any = None) -> WaterfallDisplay:
        """Draw on ``ax`` (a new figure when omitted); returns the display."""
        phi = self.contributions.astype(float)
        order = phi.abs().sort_values(ascending=False, kind="stable").index
        shown = list(order[: max(self.max_display - 1, 1)])
        rest = [f for f in order if f not in set(shown)]
        steps = [(phi[f], self._label(f)) for f in shown]
        if rest:
            steps.append((float(phi[rest].sum()), f"{len(rest)} other features"))
        ax = _new_axes(ax, (7, 1.5 + 0.4 * (len(steps) + 1)))
        start = self.expected + np.r_[0.0, np.cumsum([s for s, _ in steps])]
        y = np.arange(len(steps), 0, -1)
        widths = np.array([s for s, _ in steps])
        colours = [_RISE if w > 0 else _FALL for w in widths]
        ax.barh(y, widths, left=start[:-1], color=colours, height=0.6)
        for yi, left, w in zip(y, start[:-1], widths, strict=True):
            ax.annotate(
                f"{w:+.3f}",
                (left + w, yi),
                xytext=(3 if w > 0 else -3, 0),
                textcoords="offset points",
                va="center",
                ha="left" if w > 0 else "right",
                fontsize=8,
            )
        logodds = float(start[-1])
        ax.axvline(self.expected, color="grey", linestyle="--", linewidth=1, label="expected")
        ax.axvline(logodds, color="black", linewidth=1, label="score")
        ax.set_yticks(y, labels=[label for _, label in steps])
        lo, hi = float(start.min()), float(start.max())
        pad = 0.15 * (hi - lo) if hi > lo else 0.5  # room for the labels of the outer bars
        ax.set_xlim(lo - pad, hi + pad)
        ax.legend(loc="best", fontsize=8)
        p = float(expit(logodds))
        shown_p = f"P(bad) {p:.4g}"
        if self.probability is not None and not np.isclose(self.probability, p):
            shown_p = f"P(bad) {p:.4g} raw, {self.probability:.4g} calibrated"
        ax.set(
            xlabel="log-odds",
            title=f"expected {self.expected:+.3f} -> score {logodds:+.3f} log-odds ({shown_p})",
        )
        self.ax_, self.figure_, self.logodds_ = ax, ax.figure, logodds
        return self

    def _label(self, feature: str) -> str:
        if self.values is None or feature not in self.values.index:
            return str(feature)
        return f"{feature} = {_value_text(self.values[feature])}"


@dataclass(frozen=True)
class Explanation:
    """What a report keeps to draw its contribution figures: a sample, and one account."""

    contributions: pd.DataFrame  # the sample's contributions, features only
    values: pd.DataFrame  # the sample's feature values
    expected: float
    riskiest: int  # the sample's row of the highest score
    probability: float  # its score as evaluated

    def table(self) -> pd.DataFrame:
        """Mean absolute and mean contribution per feature over the sample, largest first."""
        phi = self.contributions
        strength = phi.abs().mean()
        t = pd.DataFrame(
            {
                "feature": [str(c) for c in phi.columns],
                "mean_abs_contribution": strength.to_numpy(),
                "mean_contribution": phi.mean().to_numpy(),
            }
        )
        t["share"] = t["mean_abs_contribution"] / max(float(strength.sum()), np.finfo(float).tiny)
        return t.sort_values("mean_abs_contribution", ascending=False, kind="stable").reset_index(
            drop=True
        )

    def summary(self) -> ContributionSummaryDisplay:
        return ContributionSummaryDisplay(contributions=self.contributions, values=self.values)

    def waterfall(self) -> WaterfallDisplay:
        return WaterfallDisplay(
            contributions=self.contributions.iloc[self.riskiest],
            expected=self.expected,
            values=self.values.iloc[self.riskiest],
            probability=self.probability,
        )


def explain_sample(model: Any, X: pd.DataFrame, order: np.ndarray, score: np.ndarray):
    """The contributions of up to :data:`MAX_ROWS` rows spread evenly over the scores.

    ``order`` puts ``X``'s rows in the report's canonical order (by score, then
    outcome) and ``score`` is in that order: the sample takes rows at evenly
    spaced ranks, the riskiest (last) always among them, so it depends on the
    scores alone, never on the order the rows came in.
    """
    n = len(order)
    picks = np.unique(np.round(np.linspace(0, n - 1, min(n, MAX_ROWS))).astype(np.int64))
    rows = X.iloc[order[picks]]
    contrib = _contributions(model, rows)
    features = [str(f) for f in model.feature_names_in_]
    columns = {str(c): c for c in rows.columns}
    values = pd.DataFrame({f: rows[columns[f]].to_numpy() for f in features})
    return Explanation(
        contributions=contrib[features].reset_index(drop=True),
        values=values,
        expected=float(contrib["expected"].iloc[0]),
        riskiest=len(picks) - 1,
        probability=float(score[picks[-1]]),
    )
