"""``concat`` without the empty parts: pandas 2.2 warns when they would decide a dtype."""

from __future__ import annotations

import pandas as pd

__all__ = ["concat"]


def concat(parts: list, **kwargs):
    """``pd.concat`` of the non-empty parts (the first part when all are empty)."""
    full = [p for p in parts if len(p)]
    if not full:
        return parts[0].iloc[:0]
    if len(full) == 1:
        out = full[0]
        return out.reset_index(drop=True) if kwargs.get("ignore_index") else out
    return pd.concat(full, **kwargs)
