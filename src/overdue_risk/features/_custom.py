"""User-defined features, each computed on the portfolio cut at an as-of date."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..contract import Portfolio
from ..contract._schema import TABLES
from ..exceptions import OverdueRiskError
from ._context import FeatureContext
from ._registry import CustomFeature

__all__ = ["compute_custom", "cut_portfolio"]


def cut_portfolio(portfolio: Portfolio, as_of: pd.Timestamp) -> Portfolio:
    """The portfolio as it was known at ``as_of``.

    Loans started by then; records of every dated table on or before it; a
    ``closed_date`` after it reads as missing. The instalment schedule of a
    started loan is known in full from its start, so it is kept whole.
    """
    loans = portfolio.loans
    loans = loans.loc[loans["start_date"] <= as_of].copy()
    if "closed_date" in loans:
        loans["closed_date"] = loans["closed_date"].where(loans["closed_date"] <= as_of)
    started = pd.Index(loans["loan_id"])
    tables: dict[str, pd.DataFrame | None] = {"loans": loans}
    for f in dataclasses.fields(Portfolio):
        name = f.name
        if name in ("loans", "validated") or getattr(portfolio, name) is None:
            continue
        df = getattr(portfolio, name)
        if "loan_id" in df:
            df = df.loc[started.get_indexer(df["loan_id"]) >= 0]
        spec = TABLES[name]
        if spec.date_column and name != "installments":
            df = df.loc[df[spec.date_column] <= as_of]
        tables[name] = df
    return Portfolio(**tables)


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
