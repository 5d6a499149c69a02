"""The ceiling policy: the best a value model reading the same state columns could do."""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd

from ..exceptions import OverdueRiskError
from ..model import FeatureSchema
from ._day import _morning, _outcomes, _response

_CEILING_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "lambda_l2": 1.0,
    "seed": 0,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}


class _Ceiling:
    """The best a value model reading given state columns could do: one regressor per
    action of the truth's net gain over waiting, fitted on earlier dates' exact expected
    values (no noisy outcomes, no randomised cell needed). Its share of the oracle bounds
    what better learning can add; the rest needs other columns."""

    def __init__(self, features: Sequence[str]):
        self.features = list(features)

    def fit(self, frames: Sequence[pd.DataFrame], gains: Sequence[pd.DataFrame]) -> _Ceiling:
        X = pd.concat([f[self.features] for f in frames])
        G = pd.concat(gains)
        self.schema_ = FeatureSchema.from_frame(X)
        encoded = self.schema_.encode(X)
        self.boosters_ = {}
        for a in G.columns:
            data = lgb.Dataset(
                encoded,
                label=G[a].to_numpy(),
                feature_name=self.schema_.booster_names(),
                categorical_feature=self.schema_.categorical_indices,
            )
            self.boosters_[a] = lgb.train(_CEILING_PARAMS, data, num_boost_round=300)
        return self

    def predict(self, state: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
        encoded = self.schema_.encode(state[self.features], "state")
        return np.column_stack([self.boosters_[a].predict(encoded) for a in names])


def _fit_ceiling(
    truth, portfolio, dates, strategy, scores, features, *, first, n_paths, horizon_days
) -> _Ceiling:
    """The ceiling policy's regressors, fitted on the truth of ``dates`` (before ``first``)."""
    days = pd.to_datetime(list(dates))
    if not len(days) or days.max() >= first:
        raise OverdueRiskError(
            "ceiling_dates must be one or more dates before the first decision date "
            f"{first.date()}; got {[str(d.date()) for d in days]}."
        )
    frames, gains = [], []
    for date in days:
        wanted, tab = _response(truth, date, strategy, n_paths, horizon_days)
        m = _morning(portfolio, date, strategy, scores, tab)
        amount, cost, _ = _outcomes(tab, m.ids, wanted)
        net = amount - cost
        frames.append(m.state)
        gains.append(pd.DataFrame(net[:, 1:] - net[:, :1], columns=list(m.names)))
    return _Ceiling(features).fit(frames, gains)
