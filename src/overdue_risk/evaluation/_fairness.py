"""The fairness table: how a score ranks, calibrates and flags within each group.

Groups are the values of sensitive attributes (age or birth year, sex, marital
status, region), given to :func:`evaluate` as ``groups=``, a frame with one
column per attribute, whether or not the model was trained on them. Formulas
and bins are in ``docs/evaluation.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ..exceptions import EvaluationError
from . import _metrics as m

__all__: list[str] = []

MAX_VALUES = 10  # a numeric attribute with at most this many values: one group each
N_QUANTILE_BINS = 5  # otherwise: quintiles of the evaluated rows
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MISSING = "missing"
COLUMNS = [
    "attribute",
    "group",
    "count",
    "share",
    "bads",
    "bad_rate",
    "mean_score",
    "calibration_gap",
    "ece",
    "auc",
    "flag_rate",
    "flag_ratio",
    *(f"score_p{round(q * 100)}" for q in QUANTILES),
]


def check_groups(groups: Any, n: int, y: Any) -> pd.DataFrame:
    """``groups`` as a frame of ``n`` rows with distinct text column names."""
    if isinstance(groups, pd.Series):
        groups = groups.to_frame()
    if not isinstance(groups, pd.DataFrame):
        raise EvaluationError(
            f"groups must be a pandas DataFrame, one column per sensitive attribute; got "
            f"{type(groups).__name__}."
        )
    if len(groups) != n:
        raise EvaluationError(f"groups must have one row per row of y ({n}); got {len(groups)}.")
    if not groups.columns.is_unique:
        dup = groups.columns[groups.columns.duplicated()].unique().tolist()
        raise EvaluationError(f"groups has duplicated column names: {dup}.")
    if isinstance(y, pd.Series) and not y.index.equals(groups.index):
        raise EvaluationError(
            "y and groups have different indexes; rows are matched by position, so align "
            "them first (e.g. groups.reindex(y.index))."
        )
    return groups.reset_index(drop=True)


def _is_number(values: pd.Series) -> bool:
    dtype = values.dtype
    return not pd.api.types.is_bool_dtype(dtype) and (
        pd.api.types.is_numeric_dtype(dtype) and dtype.kind in "iuf"
    )


def group_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group (``-1``: missing) and the groups' labels, in their order.

    Categories keep their order, other text sorts; a number with at most
    :data:`MAX_VALUES` distinct values is a group per value, any other number
    is cut at the quintiles of its known values (inverted CDF, duplicates
    dropped; bins closed on the right, labelled as in the PSI table).
    """
    if _is_number(values):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        known = np.unique(x[~np.isnan(x)])
        if len(known) <= MAX_VALUES:
            codes = np.searchsorted(known, x)
            labels = [f"{v:g}" for v in known]
        else:
            q = np.arange(1, N_QUANTILE_BINS) / N_QUANTILE_BINS
            edges = np.unique(np.quantile(x[~np.isnan(x)], q, method="inverted_cdf"))
            codes = np.searchsorted(edges, x, side="left")
            lower, upper = np.r_[-np.inf, edges], np.r_[edges, np.inf]
            labels = [f"({lo:.4g}, {hi:.4g}]" for lo, hi in zip(lower, upper, strict=True)]
            labels[-1] = labels[-1][:-1] + ")"
        return np.where(np.isnan(x), -1, codes), labels
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        return codes, [str(c) for c in values.cat.categories]
    text = values.astype(object).where(values.notna(), None).to_numpy()
    try:
        codes, uniques = pd.factorize(text, sort=True)
    except TypeError:  # values of mixed types do not sort
        codes, uniques = pd.factorize(text, sort=False)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _group_rows(
    name: str, y: np.ndarray, score: np.ndarray, flag: np.ndarray, values: pd.Series, n_bins: int
) -> list[dict]:
    codes, labels = group_codes(values)
    size = len(labels) + 1
    codes = np.where(codes < 0, size - 1, codes)  # missing: the last group
    count = np.bincount(codes, minlength=size)
    bads = np.bincount(codes, weights=y, minlength=size)
    score_sum = np.bincount(codes, weights=score, minlength=size)
    flagged = np.bincount(codes, weights=flag, minlength=size)
    overall = flag.sum() / len(flag)
    rows = []
    for k in np.flatnonzero(count):
        mask = codes == k
        yk, sk = y[mask], score[mask]
        both = 0 < bads[k] < count[k]
        rate, mean = bads[k] / count[k], score_sum[k] / count[k]
        row = {
            "attribute": str(name),
            "group": labels[k] if k < len(labels) else MISSING,
            "count": int(count[k]),
            "share": count[k] / len(y),
            "bads": int(bads[k]),
            "bad_rate": rate,
            "mean_score": mean,
            "calibration_gap": mean - rate,
            "ece": m.ece_from_table(m.calibration_table(yk, sk, n_bins)),
            "auc": float(roc_auc_score(yk, sk)) if both else np.nan,
            "flag_rate": flagged[k] / count[k],
            "flag_ratio": (flagged[k] / count[k]) / overall,
        }
        qs = np.quantile(sk, QUANTILES)
        row.update({f"score_p{round(q * 100)}": v for q, v in zip(QUANTILES, qs, strict=True)})
        rows.append(row)
    return rows


def fairness_table(
    y: np.ndarray, score: np.ndarray, groups: pd.DataFrame, n_bins: int
) -> pd.DataFrame:
    """One row per (attribute, group): the groups of each column of ``groups`` in turn."""
    flag = m.top_bin_weights(score, n_bins)
    rows = []
    for name in groups.columns:
        rows.extend(_group_rows(name, y, score, flag, groups[name], n_bins))
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_lines(table: pd.DataFrame) -> list[str]:
    """Per attribute, the spread across its groups of what the table measures."""
    lines = []
    for name, t in table.groupby("attribute", sort=False):
        auc = t["auc"].dropna()
        auc_text = f"AUC {auc.min():.3f} to {auc.max():.3f}, " if len(auc) else ""
        gap = t.loc[t["calibration_gap"].abs().idxmax()]
        lines.append(
            f"Fairness by {name}: {len(t)} groups, bad rate {t['bad_rate'].min():.2%} to "
            f"{t['bad_rate'].max():.2%}, {auc_text}flag-rate ratio "
            f"{t['flag_ratio'].min():.2f} to {t['flag_ratio'].max():.2f}, largest "
            f"calibration gap {gap['calibration_gap']:+.4f} ({gap['group']})"
        )
    return lines


def plot(table: pd.DataFrame, ax: Any) -> None:
    """Bad rate and mean score per group: calibration across groups at a glance."""
    t = table.iloc[::-1]
    y = np.arange(len(t))
    ax.scatter(t["bad_rate"], y, marker="o", label="observed bad rate", zorder=3)
    ax.scatter(t["mean_score"], y, marker="x", label="mean score", zorder=3)
    pair = t[["bad_rate", "mean_score"]]
    ax.hlines(y, pair.min(axis=1), pair.max(axis=1), color="grey", linewidth=1)
    ax.set_yticks(y, labels=[f"{a}: {g}" for a, g in zip(t["attribute"], t["group"], strict=True)])
    ax.set(xlabel="probability of bad", title="Calibration by group")
    ax.legend(loc="best")


HTML_INTRO = (
    "Each group of each sensitive attribute: its rows, bad rate, mean score (the gap is "
    "mean score minus bad rate), ECE and AUC within the group, its flag rate (the share "
    "of its rows in the riskiest 1/n_bins of all rows, the gains table's first bin) and "
    "that rate over the overall one (flag_ratio: 1 is in proportion), and quantiles of "
    "its scores. Numbers with more than 10 values are cut at their quintiles."
)
