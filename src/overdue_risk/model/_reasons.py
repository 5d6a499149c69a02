"""Reason codes: the features that push each score towards risk, ranked, in words.

A sensitive feature (``RiskModel.sensitive_features_``) is never a reason code:
its contribution still counts in the score, but the ranks go to other features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ._risk_model import RiskModel

__all__ = ["reason_codes"]


def _value_text(frame: pd.DataFrame, names: list[str], rows: np.ndarray, cols: np.ndarray):
    """The feature value at each (row, column), as short text ("" where none)."""
    out = np.full(len(rows), "", dtype=object)
    for j in np.unique(cols[cols >= 0]):
        pick = cols == j
        values = frame[names[j]].to_numpy()[rows[pick]]
        out[pick] = [
            "missing"
            if pd.isna(v)
            else (f"{v:.4g}" if isinstance(v, float | np.floating) else str(v))
            for v in values
        ]
    return out


def reason_codes(
    model: RiskModel, frame: pd.DataFrame, contrib: pd.DataFrame, top_k: int, against: bool = False
):
    names = list(model.schema_.names)
    # ``against``: the contributions that lower the target's probability, ranked alike.
    phi = -contrib[names].to_numpy() if against else contrib[names].to_numpy()
    # A sensitive attribute is never a reason: it ranks below every feature, and a
    # rank is filled only by a positive contribution.
    sensitive = set(getattr(model, "sensitive_features_", ()))
    if sensitive:
        phi = np.where([nm in sensitive for nm in names], -np.inf, phi)
    n, p = phi.shape
    k = min(top_k, p)
    # Largest positive contributions first; ties by feature order, so output is stable.
    order = np.argsort(-phi, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(phi, order, axis=1)
    order = np.where(top > 0, order, -1)
    texts = np.array([model.descriptions_.get(nm, nm) for nm in names] + [""], dtype=object)
    labels = np.array([*names, ""], dtype=object)
    rows = np.arange(n)
    out = {}
    for r in range(top_k):
        col = order[:, r] if r < k else np.full(n, -1)
        got = col >= 0
        out[f"reason_{r + 1}"] = labels[col]
        out[f"reason_{r + 1}_text"] = texts[col]
        out[f"reason_{r + 1}_value"] = _value_text(frame, names, rows, col)
        logodds = np.where(got, top[:, r] if r < k else 0.0, np.nan)
        logodds = -logodds if against else logodds
        out[f"reason_{r + 1}_logodds"] = logodds
        out[f"reason_{r + 1}_points"] = -model._factor * logodds
    return pd.DataFrame(out, index=frame.index)
