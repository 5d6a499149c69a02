"""User-defined features, each computed on the portfolio cut at an as-of date."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# cut_portfolio lives in the contract; the name stays here for the callers of this module.
from ..contract import Portfolio, cut_portfolio
from ..exceptions import OverdueRiskError
from ._context import FeatureContext
from ._registry import CustomFeature

__all__ = ["compute_custom", "cut_portfolio"]


def compute_custom(ctx: FeatureContext, custom: Sequence[CustomFeature]) -> dict[str, np.ndarray]:
    if not custom:
        return {}
    loan_ids = ctx.portfolio.loans["loan_id"].to_numpy()
    out: dict[str, np.ndarray] = {}
    values: dict[str, list] = {c: [] for f in custom for c in f.columns}
    rows_by_date = []
    for t in ctx.days:
        rows = np.flatnonzero(ctx.day == t)
        if not rows.size:
            continue
        rows_by_date.append(rows)
        as_of = pd.Timestamp(int(t), unit="D")
        cut = cut_portfolio(ctx.portfolio, as_of)
        ids = pd.Index(loan_ids[ctx.code[rows]])
        for feature in custom:
            result = _call(feature, cut, as_of)
            at = pd.Index(result.index).get_indexer(ids)
            for col in feature.columns:
                series = result[col] if isinstance(result, pd.DataFrame) else result
                values[col].append((rows, series, at))
    for feature in custom:
        for col in feature.columns:
            if feature.dtype == "category":
                column = pd.Series(pd.NA, index=range(ctx.n_rows), dtype="object")
                for rows, series, at in values[col]:
                    taken = series.astype("object").to_numpy()[np.maximum(at, 0)]
                    column.iloc[rows] = np.where(at >= 0, taken, None)
                out[col] = pd.Categorical(column.to_numpy())
            else:
                column = ctx.empty()
                for rows, series, at in values[col]:
                    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
                    num = np.where(np.isfinite(num), num, np.nan)  # never inf
                    column[rows] = np.where(at >= 0, num[np.maximum(at, 0)], np.nan)
                out[col] = column
    return out


def _call(feature: CustomFeature, cut: Portfolio, as_of: pd.Timestamp):
    try:
        result = feature.func(cut, as_of)
    except OverdueRiskError:
        raise
    except Exception as exc:
        raise OverdueRiskError(
            f"Custom feature {feature.name!r} failed at as_of {as_of:%Y-%m-%d}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(result, pd.DataFrame):
        missing = [c for c in feature.columns if c not in result]
        if missing:
            raise OverdueRiskError(
                f"Custom feature {feature.name!r} returned no column(s) {missing}."
            )
    elif not isinstance(result, pd.Series) or feature.names:
        raise OverdueRiskError(
            f"Custom feature {feature.name!r} must return a Series indexed by loan_id"
            f"{' or a DataFrame' if feature.names else ''}; got {type(result).__name__}."
        )
    if not result.index.is_unique:
        raise OverdueRiskError(
            f"Custom feature {feature.name!r} returned a duplicated loan_id in its index."
        )
    return result
