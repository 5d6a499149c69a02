"""Which candidate value model :class:`~._shrunk.ShrunkUplift` keeps, by cross-fitted DR value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._ope import cluster_se

__all__ = ["select_candidate"]


def select_candidate(
    names, weights, terms: np.ndarray, groups: np.ndarray, *, shrinkage, one_se: bool, z: float
) -> tuple[pd.DataFrame, float, str]:
    """The candidate kept, the simplest within one standard error of the best, and the
    stated rule unless a candidate beats it by ``z`` standard errors.

    Simplest first: the stated rule (no estimate at all; its weight is NaN), then the
    weights of the learned part from the least; the paired difference from the best
    candidate carries the standard error. Returns the selection table, the weight kept
    (NaN for the stated rule) and the candidate's name.
    """
    value = terms.mean(axis=1)
    se = np.array([cluster_se(t, groups) for t in terms])
    if shrinkage != "auto":
        grid = np.flatnonzero(~np.isnan(weights))
        chosen = int(grid[np.argmin(np.abs(weights[grid] - float(shrinkage)))])
        if weights[chosen] != float(shrinkage):
            chosen = -1  # a weight off the grid: reported, not evaluated
    else:
        best = int(np.argmax(value))
        chosen = best
        if one_se:
            simplest = np.argsort(np.nan_to_num(weights, nan=-1.0), kind="stable")
            for c in simplest:
                diff = terms[c] - terms[best]
                if diff.mean() >= -cluster_se(diff, groups) or c == best:
                    chosen = int(c)
                    break
        stated = np.flatnonzero(np.isnan(weights))
        if stated.size and chosen != stated[0]:
            # The stated rule gives way only to a candidate z standard errors better.
            gain = terms[chosen] - terms[stated[0]]
            if gain.mean() < z * cluster_se(gain, groups):
                chosen = int(stated[0])
    table = pd.DataFrame({"candidate": names, "shrinkage": weights, "dr": value, "se": se})
    if chosen < 0:
        table["vs_chosen"] = np.nan
        table["se_vs_chosen"] = np.nan
        table["chosen"] = False
        return table, float(shrinkage), f"w={float(shrinkage):g}"
    diffs = terms - terms[chosen]
    table["vs_chosen"] = diffs.mean(axis=1)
    table["se_vs_chosen"] = [cluster_se(d, groups) for d in diffs]
    table["chosen"] = np.arange(len(names)) == chosen
    return table, float(weights[chosen]), str(names[chosen])
