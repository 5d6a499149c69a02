"""Score every open loan: what ``overdue-risk score`` calls."""

from __future__ import annotations

import os

import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_path, write_table
from ..contract import Portfolio
from ..exceptions import ModelError
from ..model import RiskModel
from ._features import model_features
from ._inputs import as_model, as_portfolio

__all__ = ["score_portfolio"]


def score_portfolio(
    model: RiskModel | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    explain: int = 0,
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Score every open loan at the as-of date(s).

    Parameters
    ----------
    model : RiskModel or path
        Trained by :func:`train_risk_model`, or its folder.
    portfolio : Portfolio or path
        A portfolio, or its folder (read and validated).
    as_of : date-like or date-likes
    explain : int, default 0
        Add the top ``explain`` reason codes per loan.
    out : path, optional
        Write the scores there (``.parquet`` or ``.csv``; checked before any work).

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)``: ``score`` (calibrated probability of
        the model's target), ``points`` (scorecard points), ``dpd``, and with
        ``explain=k`` the reason-code columns of :meth:`RiskModel.explain`.
    """
    if out is not None:
        check_output_path(out)
    parse_as_of(as_of)
    if isinstance(explain, bool) or not isinstance(explain, int) or explain < 0:
        raise ModelError(f"explain must be a non-negative int; got {explain!r}.")
    model = as_model(model)
    features = model_features(model, as_portfolio(portfolio), as_of)
    if "is_closed" in features:
        features = features[features["is_closed"].to_numpy() != 1]
    score = model.predict_proba(features)[:, 1]
    scores = pd.DataFrame(
        {"score": score, "points": model.points_from_proba(score)}, index=features.index
    )
    if "dpd" in features:
        scores["dpd"] = features["dpd"].to_numpy()
    if explain:
        scores = scores.join(model.explain(features, top_k=explain))
    if out is not None:
        write_table(scores, out)
    return scores
