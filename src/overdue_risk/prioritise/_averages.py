"""The average uplift of each action per unit of arrears, estimated on a randomised cell.

:func:`aipw_lifts` estimates it per segment and pooled by the augmented IPW estimator
with cross-fitted response models; :func:`centers` turns the estimates into the average
applied to each segment (stated lifts as a prior, segments shrunk toward the pooled
estimate, a gate for actions indistinguishable from zero); :func:`shares` reads them
for given rows. :class:`Cell` holds the decisions as arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract import NO_ACTION

__all__ = ["OVERALL", "Cell", "aipw_lifts", "centers", "drawn_range", "shares", "supported"]

OVERALL = "(overall)"  # the row of the pooled average, for segments the log never showed


def drawn_range(codes: np.ndarray, mine: np.ndarray, dpd: np.ndarray, groups: int) -> np.ndarray:
    """The rows within the DPD range an action was drawn on in their segment (``codes``):
    outside it the action was never possible, and no action there is another population."""
    lo, hi = np.full(groups, np.inf), np.full(groups, -np.inf)
    np.minimum.at(lo, codes[mine], dpd[mine])
    np.maximum.at(hi, codes[mine], dpd[mine])
    return (dpd >= lo[codes]) & (dpd <= hi[codes])


def supported(
    action: np.ndarray, every: list, dpd: np.ndarray | None, ok: np.ndarray
) -> np.ndarray:
    """Where a policy judged on the cell may take each action of ``every`` (no action
    first): on the rows the cell randomised (``ok``), within the DPD range the action
    was drawn on. Elsewhere the log says nothing of it, and a policy judged there would
    be judged by an outcome model's extrapolation."""
    support = np.ones((len(action), len(every)), dtype=bool)
    one = np.zeros(len(action), dtype=np.int64)
    for j, a in enumerate(every[1:], start=1):
        mine = action == a
        if dpd is not None:
            support[:, j] = drawn_range(one, mine, dpd, 1) if mine.any() else False
    support[~ok, 1:] = False
    return support


@dataclass(frozen=True)
class Cell:
    """The randomised decisions as arrays, with the cross-fitted levels of each action."""

    action: np.ndarray
    reward: np.ndarray  # money recovered within the horizon (gross of cost)
    propensity: np.ndarray
    amount: np.ndarray  # arrears, at least 1
    segment: np.ndarray | None
    dpd: np.ndarray | None
    groups: np.ndarray  # loan of each row
    ok: np.ndarray  # rows the cell randomised (not "none" with propensity 1)
    acts: list
    levels: np.ndarray  # (rows, acts): cross-fitted expected recovery

    def rows(self, mask: np.ndarray) -> Cell:
        def pick(v):
            return None if v is None else v[mask]

        return Cell(
            self.action[mask],
            self.reward[mask],
            self.propensity[mask],
            self.amount[mask],
            pick(self.segment),
            pick(self.dpd),
            self.groups[mask],
            self.ok[mask],
            self.acts,
            self.levels[mask],
        )


def aipw_lifts(cell: Cell, z: float) -> pd.DataFrame:
    """Each action's average uplift per unit of arrears, per segment and pooled
    (``"all"``), by the augmented IPW estimator with the cross-fitted levels.

    Per row ``psi = m(x, a) - m(x, none) + 1[A = a] / p (y - m(x, a))
    - 1[A = none] / p (y - m(x, none))``, on the rows within the DPD range the action
    was drawn on in the segment (elsewhere it was never possible); the lift is
    ``sum(psi) / sum(arrears)``, its standard error clustered by loan. The model explains
    most of each account's payments (instalments falling due, habits), so the
    residuals, and the standard error, are far smaller than a difference in means'.
    """
    frames = []
    for name, seg in (("all", None), ("segment", cell.segment)):
        if name == "segment" and seg is None:
            continue
        if seg is None:
            codes, labels = np.zeros(cell.action.size, np.int64), np.array(["all"], dtype=object)
        else:
            codes, labels = pd.factorize(pd.Series(seg, dtype=object), sort=True)
            labels = np.asarray(labels, dtype=object)
        g = len(labels)
        none = (cell.action == NO_ACTION) & cell.ok
        m0 = cell.levels[:, 0]
        for j, a in enumerate(cell.acts):
            if a == NO_ACTION:
                continue
            mine = (cell.action == a) & cell.ok
            rows = cell.ok.copy()
            if cell.dpd is not None:
                rows &= drawn_range(codes, mine, cell.dpd, g)
            ma = cell.levels[:, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                psi = (
                    ma
                    - m0
                    + np.where(mine, (cell.reward - ma) / cell.propensity, 0.0)
                    - np.where(none, (cell.reward - m0) / cell.propensity, 0.0)
                )
            c = codes[rows]
            x = np.bincount(c, cell.amount[rows], minlength=g)
            est = np.bincount(c, psi[rows], minlength=g) / np.where(x > 0, x, np.nan)
            resid = psi[rows] - np.nan_to_num(est)[c] * cell.amount[rows]
            # Clustered by loan within the segment: one loan's days are not independent.
            # (segment, loan) pairs as one integer each: a MultiIndex would build tuples.
            pair = c.astype(np.int64) * (int(cell.groups.max()) + 1) + cell.groups[rows]
            key = np.unique(pair, return_inverse=True)[1].ravel()
            sums = np.bincount(key, resid)
            seg_of = np.zeros(sums.size, np.int64)
            seg_of[key] = c
            var = np.bincount(seg_of, sums**2, minlength=g) / np.where(x > 0, x, np.nan) ** 2
            n_a = np.bincount(codes[mine & rows], minlength=g)
            n_0 = np.bincount(codes[none & rows], minlength=g)
            seen = n_a > 0
            frames.append(
                pd.DataFrame(
                    {
                        "segment": labels[seen],
                        "action": a,
                        "estimate": est[seen],
                        "se": np.sqrt(var)[seen],
                        "rows": n_a[seen].astype(np.int64),
                        "rows_none": n_0[seen].astype(np.int64),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    table["distinct"] = table["estimate"] - z * table["se"] > 0
    return table


def centers(
    lifts: pd.DataFrame, acts: list, prior: Mapping[str, float]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Each action's average uplift per segment, per unit of arrears, and the gate.

    The pooled estimate ``e`` (standard error ``se``) updates the stated lift ``s`` of
    the action, read as a prior of mean ``s`` and standard deviation ``s``
    (``p = (s / s**2 + e / se**2) / (1 / s**2 + 1 / se**2)``): a large cell overrules
    the judgement, a small one moves it. Without a stated lift the action's average is
    its estimate, and only when the estimate is distinguishable from 0 (``distinct``);
    otherwise the action gets no value from the average (``gate`` 0).

    A segment's estimate ``e_s`` is shrunk toward the pooled one by its precision
    (empirical Bayes: ``p + t2 / (t2 + se_s**2) * (e_s - e)``, ``t2`` the variance
    between segments beyond their noise, at least 0): a noisy segment keeps little of
    its own estimate. A segment the log never showed (``OVERALL``) takes ``p``.
    """
    pooled = lifts[lifts["segment"] == "all"].set_index("action").reindex(acts)
    e, se = pooled["estimate"], pooled["se"]
    s = pd.Series({a: float(prior.get(a, 0.0)) for a in acts})
    stated = s > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        posterior = (s / s**2 + e / se**2) / (1 / s**2 + 1 / se**2)
    p = pd.Series(np.where(stated, posterior.fillna(s), e), index=acts)
    distinct = pooled["distinct"].eq(True).to_numpy()  # False where never estimated
    gate = (stated.to_numpy() | distinct).astype(np.float64)
    gate[acts.index(NO_ACTION)] = 0.0
    seg = lifts[lifts["segment"] != "all"]
    if len(seg):
        est = seg.pivot(index="segment", columns="action", values="estimate").reindex(columns=acts)
        sse = seg.pivot(index="segment", columns="action", values="se").reindex(columns=acts)
        between = (est.var(axis=0, ddof=1) - (sse**2).mean(axis=0)).clip(lower=0.0).fillna(0.0)
        keep = (between / (between + sse**2)).fillna(0.0)
        out = (p + keep * (est - e)).where(est.notna(), p, axis=1)
    else:
        out = pd.DataFrame(columns=acts, dtype=np.float64)
    out.loc[OVERALL] = p
    return out.fillna(0.0) * gate, gate[None, :]


def shares(table: pd.DataFrame, segment: np.ndarray | None, rows) -> np.ndarray:
    """(rows, acts): the center of each row's segment (the pooled one when unseen)."""
    if segment is None:
        return np.tile(table.loc[OVERALL].to_numpy(), (len(rows), 1))
    seg = np.asarray(segment, dtype=object)[rows]
    seg = np.where(np.isin(seg, table.index), seg, OVERALL)
    return table.loc[seg].to_numpy()
