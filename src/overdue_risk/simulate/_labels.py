"""Realised outcomes of a portfolio, from its tables through the ledger.

Used to check the simulator against its own truth (and in calibration): the
label the truth's probabilities are about is computed here from the
observable tables only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import Portfolio
from ..ledger import Ledger

__all__ = ["dpd30_labels", "ledger_daily_dpd"]


def ledger_daily_dpd(portfolio: Portfolio, first, last) -> pd.DataFrame:
    """DPD of every loan on each day from ``first`` to ``last``: loans x days, NaN before start."""
    days = pd.date_range(first, last, freq="D")
    table = Ledger(portfolio).at(days).table()
    dpd = table["dpd"].astype(np.float64)
    # A closed loan is no longer overdue: its DPD stops counting.
    dpd[table["is_closed"].to_numpy()] = 0.0
    return dpd.unstack("as_of")


def dpd30_labels(portfolio: Portfolio, as_of_dates, *, horizon_days: int = 90) -> pd.Series:
    """1 when a loan open at the as-of date reaches DPD >= 30 within the next ``horizon_days``.

    Returns a Series indexed by (``loan_id``, ``as_of``), for loans started on
    or before the date and not closed by it.
    """
    dates = pd.DatetimeIndex(pd.to_datetime(list(as_of_dates))).sort_values()
    grid = ledger_daily_dpd(portfolio, dates[0], dates[-1] + pd.Timedelta(days=horizon_days))
    closed = portfolio.loans.set_index("loan_id")["closed_date"]
    out = []
    for d in dates:
        window = grid.loc[
            :, (grid.columns > d) & (grid.columns <= d + pd.Timedelta(days=horizon_days))
        ]
        started = grid[d].notna()
        open_ = ~(closed.reindex(grid.index) <= d).to_numpy()
        keep = started.to_numpy() & open_
        hit = (window.to_numpy()[keep] >= 30).any(axis=1).astype(np.int64)
        idx = pd.MultiIndex.from_arrays(
            [grid.index[keep], np.full(keep.sum(), d)], names=["loan_id", "as_of"]
        )
        out.append(pd.Series(hit, index=idx, name="label"))
    return pd.concat(out)
