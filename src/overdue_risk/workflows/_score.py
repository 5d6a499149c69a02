"""Score every open loan: what ``overdue-risk score`` calls."""

from __future__ import annotations

import os
import warnings

import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_path, check_outputs_apart, write_table
from .._params import Interval, check
from ..contract import Portfolio
from ..exceptions import DataQualityWarning, ModelError
from ..model import RiskModel
from ._features import model_features
from ._inputs import as_model, check_argument, dated_portfolio, portfolio_files

__all__ = ["score_portfolio"]


def score_portfolio(
    model: RiskModel | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    explain: int = 0,
    out: str | os.PathLike | None = None,
    allow_future: bool = False,
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
        Add the top ``explain`` reason codes per loan: at most the model's
        number of features, checked before any work.
    out : path, optional
        Write the scores there (``.parquet`` or ``.csv``; checked before any work).
    allow_future : bool, default False
        Score at dates after the morning after the data's last record (with a
        warning) instead of refusing them.

    Returns
    -------
    DataFrame
        Indexed by ``(loan_id, as_of)``: ``score`` (calibrated probability of
        the model's target), ``points`` (scorecard points), ``dpd``, and with
        ``explain=k`` the reason-code columns of :meth:`RiskModel.explain`.
        When category values the model never saw at fit were scored (as
        missing, with a :class:`~overdue_risk.DataQualityWarning`), ``attrs``
        holds ``{"unseen_categories": {feature: rows}}``, which a Parquet
        output keeps in its metadata (a CSV file has none).
    """
    owner = "score_portfolio"
    check_argument(owner, "model", model, (RiskModel,), "a RiskModel or its folder")
    check_argument(owner, "portfolio", portfolio, (Portfolio,), "a Portfolio or its folder")
    check_argument(owner, "out", out, (), "the path of a .parquet or .csv file", optional=True)
    if out is not None:
        check_output_path(out)
    check_outputs_apart([out], [model, *portfolio_files(portfolio)])
    parse_as_of(as_of)
    check(Interval(int, 0), explain, key="explain", error=ModelError)
    model = as_model(model)
    # At most one reason per feature: checked before any feature is built.
    check(Interval(int, 0, model.n_features_in_), explain, key="explain", error=ModelError)
    portfolio = dated_portfolio(portfolio, as_of, allow_future=allow_future)
    features = model_features(model, portfolio, as_of)
    if "is_closed" in features:
        features = features[features["is_closed"].to_numpy() != 1]
    score = model.predict_proba(features)[:, 1]  # warns of unseen categories
    scores = pd.DataFrame(
        {"score": score, "points": model.points_from_proba(score)}, index=features.index
    )
    if "dpd" in features:
        scores["dpd"] = features["dpd"].to_numpy()
    if explain:
        with warnings.catch_warnings():  # predict_proba has told of these rows already
            warnings.simplefilter("ignore", DataQualityWarning)
            scores = scores.join(model.explain(features, top_k=explain))
    unseen = {k: n for k, n in model.unseen_categories(features).items() if n}
    if unseen:  # kept in the output: attrs, and the Parquet file's metadata
        scores.attrs["unseen_categories"] = unseen
    if out is not None:
        write_table(scores, out)
    return scores
