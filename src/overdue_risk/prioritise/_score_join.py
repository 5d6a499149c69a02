"""Risk scores joined to decision rows: each row's latest score dated before its day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import NAT, to_days
from ..exceptions import OverdueRiskError
from ..ledger import Ledger
from ._loan_days import Events, Keys, Rows

__all__: list[str] = []


def _join_scores(scores, ledger: Ledger, g: Rows) -> np.ndarray:
    """The latest score dated strictly before each row's day (NaN: none)."""
    if isinstance(scores, pd.DataFrame):
        if "risk_score" in scores.columns:
            values = scores["risk_score"]
        elif scores.shape[1] == 1:
            values = scores.iloc[:, 0]
        else:
            raise OverdueRiskError(
                "scores must be a Series or a frame with one column or a risk_score column; "
                f"got columns {list(scores.columns)[:5]}."
            )
    elif isinstance(scores, pd.Series):
        values = scores
    else:
        raise OverdueRiskError(
            f"scores must be a DataFrame or Series; got {type(scores).__name__}."
        )
    index = values.index
    if not isinstance(index, pd.MultiIndex) or list(index.names) != ["loan_id", "as_of"]:
        raise OverdueRiskError(
            f"scores must be indexed by (loan_id, as_of); got index names {list(index.names)}."
        )
    if index.has_duplicates:
        raise OverdueRiskError("scores has repeated (loan_id, as_of) pairs.")
    code = ledger.codes(pd.Series(index.get_level_values("loan_id")))
    day = to_days(pd.to_datetime(index.get_level_values("as_of")).to_numpy())
    known = code >= 0
    code, day = code[known], day[known]
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)[known]
    if not g.size or not code.size:
        return np.full(g.size, np.nan)
    lo = int(min(day.min(), g.day.min())) - 1
    keys = Keys(lo, int(max(day.max(), g.day.max())) - lo + 2)
    k = keys.of(code, day)
    order = np.argsort(k, kind="stable")
    events = Events(k[order], code[order], np.arange(code.size)[order])
    pos = events.last(keys.of(g.code, g.day), g.code)
    return np.where(pos == NAT, np.nan, x[np.maximum(pos, 0)])
