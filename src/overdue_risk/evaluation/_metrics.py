"""The numbers of an evaluation: KS, ECE, PSI and the gains, calibration and monthly tables.

Everything works on arrays already checked by ``_validation``; ``y`` is float
0.0/1.0 and ``score`` float in [0, 1]. Formulas are in ``docs/evaluation.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from . import _validation as v

__all__ = ["expected_calibration_error", "ks_statistic", "psi"]

PSI_EPS = 1e-4  # share that stands in for an empty bin, so ln(a/e) stays finite
PSI_STABLE, PSI_SHIFT = 0.1, 0.25


def ratio(num: Any, den: Any) -> np.ndarray:
    """num / den, NaN where den is 0 (without a RuntimeWarning)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    return np.divide(num, den, out=out, where=den != 0)


def psi_status(value: float) -> str:
    if np.isnan(value):
        return ""
    return "stable" if value < PSI_STABLE else "moderate" if value < PSI_SHIFT else "shift"


def ks(y: np.ndarray, score: np.ndarray) -> float:
    """Max distance between the score CDFs of bads and goods; ties form one step."""
    values, inverse = np.unique(score, return_inverse=True)
    bads = np.bincount(inverse.ravel(), weights=y, minlength=len(values))
    goods = np.bincount(inverse.ravel(), minlength=len(values)) - bads
    n_bad, n_good = bads.sum(), goods.sum()
    if n_bad == 0 or n_good == 0:
        return float("nan")
    return float(np.max(np.abs(np.cumsum(bads) / n_bad - np.cumsum(goods) / n_good)))


def binned(y: np.ndarray, score: np.ndarray, n_bins: int, descending: bool) -> pd.DataFrame:
    """Equal-frequency score bins, tied scores always in the same bin.

    A row's bin is ``n_bins * r // n`` with ``r`` the position of the first
    row with its score in sorted order; bins that ties leave empty are omitted.
    """
    key = -score if descending else score
    order = np.argsort(key, kind="stable")
    s, t, k = score[order], y[order], key[order]
    bins = np.searchsorted(k, k, side="left") * n_bins // len(k)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    count = np.diff(np.r_[starts, len(s)])
    first, last = s[starts], s[starts + count - 1]
    return pd.DataFrame(
        {
            "bin": bins[starts] + 1,
            "count": count,
            "bads": np.add.reduceat(t, starts).astype(np.int64),
            "score_sum": np.add.reduceat(s, starts),
            "score_min": last if descending else first,
            "score_max": first if descending else last,
        }
    )


def spread_ties(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores highest first, and the outcomes with each tie's bads spread evenly through it.

    Rows tied on score have no order of their own. In a tie of ``g`` rows
    holding ``b`` bads, the ``j``-th row (from 1) is bad when ``round(j * b /
    g)`` steps up (rounding half up): the first ``j`` rows hold ``round(j * b /
    g)`` bads, the share a random order gives on average. A bin that cuts a
    tie gets neither all its bads first (the flattering order) nor last, and
    the result depends on the counts alone, never on the rows' order.
    """
    order = np.argsort(-score, kind="stable")
    s = score[order]
    n = len(s)
    head = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(head)
    group = np.cumsum(head) - 1
    size = np.diff(np.r_[starts, n])[group]
    bads = np.add.reduceat(y[order], starts).astype(np.int64)[group]
    j = np.arange(1, n + 1) - starts[group]
    # round(j * b / g) in integers: floor((2 j b + g) / (2 g)); exact for any size.
    cum = (2 * j * bads + size) // (2 * size)
    prev = (2 * (j - 1) * bads + size) // (2 * size)
    return s, (cum - prev).astype(np.float64)


def ranked_bins(y: np.ndarray, score: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Bins of ``n / n_bins`` rows (give or take one), highest scores first.

    Row ``i`` (from 0) of :func:`spread_ties`'s order falls in bin ``n_bins * i
    // n``: ties are cut where a bin ends, so every bin has ``floor(n /
    n_bins)`` or ``ceil(n / n_bins)`` rows however heavy the ties. With fewer
    rows than bins, the empty bins are omitted.
    """
    s, t = spread_ties(y, score)
    n = len(s)
    bins = np.arange(n, dtype=np.int64) * n_bins // n
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    count = np.diff(np.r_[starts, n])
    return pd.DataFrame(
        {
            "bin": bins[starts] + 1,
            "count": count,
            "bads": np.add.reduceat(t, starts).astype(np.int64),
            "score_sum": np.add.reduceat(s, starts),
            "score_min": s[starts + count - 1],
            "score_max": s[starts],
        }
    )


def top_bin_weights(score: np.ndarray, n_bins: int) -> np.ndarray:
    """Each row's share in the riskiest ``1 / n_bins`` of rows (the gains table's first bin).

    The bin holds ``ceil(n / n_bins)`` rows: those scoring above its lowest
    score count whole; a tie at that score shares the places left, each of
    its rows with the same fraction (the expectation over the tie's orders).
    """
    n = len(score)
    k = -(-n // n_bins)
    cut = np.sort(score)[n - k]  # the k-th highest score
    above = score > cut
    at = score == cut
    left = k - int(above.sum())
    return np.where(above, 1.0, np.where(at, left / max(int(at.sum()), 1), 0.0))


def calibration_table(y: np.ndarray, score: np.ndarray, n_bins: int) -> pd.DataFrame:
    b = binned(y, score, n_bins, descending=False)
    out = b[["bin", "count"]].copy()
    out["mean_score"] = b["score_sum"] / b["count"]
    out["bad_rate"] = b["bads"] / b["count"]
    out["abs_gap"] = (out["bad_rate"] - out["mean_score"]).abs()
    out[["score_min", "score_max"]] = b[["score_min", "score_max"]]
    return out


def ece_from_table(table: pd.DataFrame) -> float:
    weights = table["count"].to_numpy() / table["count"].sum()
    return float(np.sum(weights * table["abs_gap"].to_numpy()))


def gains_table(y: np.ndarray, score: np.ndarray, n_bins: int) -> pd.DataFrame:
    b = ranked_bins(y, score, n_bins)
    count, bads = b["count"].to_numpy(), b["bads"].to_numpy()
    cum_count, cum_bads = np.cumsum(count), np.cumsum(bads)
    overall = bads.sum() / count.sum()
    return pd.DataFrame(
        {
            "bin": b["bin"],
            "count": count,
            "bads": bads,
            "bad_rate": bads / count,
            "cum_bads": cum_bads,
            "capture_rate": ratio(cum_bads, bads.sum()),
            "cum_population_share": cum_count / count.sum(),
            "lift": ratio(bads / count, overall),
            "cum_lift": ratio(cum_bads / cum_count, overall),
            "score_min": b["score_min"],
            "score_max": b["score_max"],
        }
    )


def by_month_table(y: np.ndarray, score: np.ndarray, month: pd.Series) -> pd.DataFrame:
    codes, uniques = pd.factorize(month, sort=True)
    count = np.bincount(codes, minlength=len(uniques))
    bads = np.bincount(codes, weights=y, minlength=len(uniques)).astype(np.int64)
    auc = np.full(len(uniques), np.nan)
    for k in np.flatnonzero((bads > 0) & (bads < count)):  # AUC needs both classes
        mask = codes == k
        auc[k] = roc_auc_score(y[mask], score[mask])
    return pd.DataFrame(
        {
            "month": uniques,
            "count": count,
            "bads": bads,
            "bad_rate": bads / count,
            "auc": auc,
            "gini": 2 * auc - 1,
        }
    )


def _is_numeric(values: pd.Series) -> bool:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return pd.api.types.is_datetime64_any_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and dtype.kind in "iuf"
    )


def _numeric(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if values.dt.tz is not None:
            values = values.dt.tz_convert(None)
        return ((values - pd.Timestamp(0)) / pd.Timedelta(days=1)).to_numpy(
            dtype=float, na_value=np.nan
        )
    return values.to_numpy(dtype=float, na_value=np.nan)


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def psi_table(reference: pd.Series, current: pd.Series, n_bins: int) -> pd.DataFrame:
    """PSI bin by bin: quantile bins of a numeric reference, or its categories.

    Numeric bins are closed on the right, their inner edges the reference's
    ``k / n_bins`` quantiles (actual reference values, duplicates dropped);
    missing values form their own ``"missing"`` bin, shown only when present.
    """
    numeric = _is_numeric(reference)
    if numeric != _is_numeric(current):
        raise v.EvaluationError(
            f"reference and current must both be numeric or both categorical; got dtypes "
            f"{reference.dtype} and {current.dtype}."
        )
    if numeric:
        ref, cur = _numeric(reference), _numeric(current)
        known = ref[~np.isnan(ref)]
        q = np.arange(1, n_bins) / n_bins
        edges = np.unique(np.quantile(known, q, method="inverted_cdf")) if len(known) else q[:0]
        size = len(edges) + 2  # value bins, then the missing bin

        def counts(x: np.ndarray) -> np.ndarray:
            code = np.searchsorted(edges, x, side="left")
            code[np.isnan(x)] = size - 1
            return np.bincount(code, minlength=size)

        lower, upper = np.r_[-np.inf, edges, np.nan], np.r_[edges, np.inf, np.nan]
        labels = [f"({lo:.4g}, {hi:.4g}]" for lo, hi in zip(lower[:-1], upper[:-1], strict=True)]
        frame = pd.DataFrame({"bin": [*labels, "missing"], "lower": lower, "upper": upper})
        ref_counts, cur_counts = counts(ref), counts(cur)
    else:
        both = pd.concat([reference.astype(object), current.astype(object)], ignore_index=True)
        try:
            codes, uniques = pd.factorize(both, sort=True)
        except TypeError:  # categories of mixed types do not sort
            codes, uniques = pd.factorize(both, sort=False)
        size = len(uniques) + 1
        codes = np.where(codes < 0, size - 1, codes)
        ref_counts = np.bincount(codes[: len(reference)], minlength=size)
        cur_counts = np.bincount(codes[len(reference) :], minlength=size)
        frame = pd.DataFrame({"bin": [*(str(u) for u in uniques), "missing"]})
    frame["reference_count"] = ref_counts
    frame["reference_share"] = _shares(ref_counts)
    frame["count"] = cur_counts
    frame["share"] = _shares(cur_counts)
    e = np.maximum(frame["reference_share"].to_numpy(), PSI_EPS)
    a = np.maximum(frame["share"].to_numpy(), PSI_EPS)
    frame["psi"] = (a - e) * np.log(a / e)
    has_missing = ref_counts[-1] + cur_counts[-1] > 0
    return frame if has_missing else frame.iloc[:-1].reset_index(drop=True)


def feature_psi_table(
    x: pd.DataFrame, reference_x: pd.DataFrame, features: list[Any], n_bins: int
) -> pd.DataFrame:
    rows = []
    for name in features:
        table = psi_table(reference_x[name], x[name], n_bins)
        value = float(table["psi"].sum())
        kind = "numeric" if _is_numeric(reference_x[name]) else "categorical"
        rows.append((name, kind, len(table), value, psi_status(value)))
    out = pd.DataFrame(rows, columns=["feature", "kind", "n_bins", "psi", "status"])
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def _sample(name: str, values: Any) -> pd.Series:
    s = v.vector(name, values)
    if len(s) == 0:
        raise v.EvaluationError(f"{name} is empty.")
    return s


def ks_statistic(y: Any, score: Any) -> float:
    """Kolmogorov-Smirnov statistic of a risk score.

    The largest distance between the cumulative score distributions of bads
    (``y == 1``) and goods: ``max_t |F_bad(t) - F_good(t)|`` over every
    observed score ``t``; rows with equal scores enter together.

    Parameters
    ----------
    y : array-like of 0/1
        Observed outcome, 1 = bad.
    score : array-like of float in [0, 1]
        Predicted probability of bad, aligned with ``y`` by position.

    Returns
    -------
    float
        In [0, 1]; NaN when ``y`` holds one class only.

    Examples
    --------
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    y_ = v.binary(y)
    return ks(y_, v.probabilities("score", score, len(y_)))


def expected_calibration_error(y: Any, score: Any, n_bins: int = 10) -> float:
    """Expected calibration error over equal-frequency score bins.

    Rows are sorted by score and cut into ``n_bins`` bins of (about) equal
    count, tied scores kept in one bin. Then
    ``ECE = sum_b (n_b / n) * |mean(y in b) - mean(score in b)|``.

    Parameters
    ----------
    y : array-like of 0/1
        Observed outcome, 1 = bad.
    score : array-like of float in [0, 1]
        Predicted probability of bad, aligned with ``y`` by position.
    n_bins : int, default 10
        Number of bins (>= 2).

    Returns
    -------
    float
        0 for a perfectly calibrated score, at most 1.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.2, 0.2, 0.6, 0.8], n_bins=2), 6)
    0.25
    """
    n_bins = v.check_n_bins(n_bins)
    y_ = v.binary(y)
    p = v.probabilities("score", score, len(y_))
    return ece_from_table(calibration_table(y_, p, n_bins))


def psi(reference: Any, current: Any, *, n_bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` with ``e_i`` and ``a_i`` the
    shares of the reference and current samples in bin ``i``; a share of 0 is
    replaced by ``1e-4``. Numeric samples are cut at the reference's
    ``k / n_bins`` quantiles (bins closed on the right); other dtypes (object,
    string, category, bool) bin by category. Missing values form their own
    bin. Read < 0.1 as stable, 0.1 to 0.25 as a moderate shift, >= 0.25 as a
    major shift.

    Parameters
    ----------
    reference, current : array-like
        The two samples, e.g. training-time and recent scores.
    n_bins : int, default 10
        Number of quantile bins for numeric samples (>= 2).

    Returns
    -------
    float
        0 when both samples fill every bin in the same shares.

    Examples
    --------
    >>> psi([1, 2, 3, 4], [1, 2, 3, 4], n_bins=2)
    0.0
    >>> round(psi(["a", "a", "b", "b"], ["a", "b", "b", "b"]), 4)
    0.2747
    """
    n_bins = v.check_n_bins(n_bins)
    table = psi_table(_sample("reference", reference), _sample("current", current), n_bins)
    return float(table["psi"].sum())
