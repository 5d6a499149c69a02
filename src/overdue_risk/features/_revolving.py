"""Family ``revolving``: features of monthly statements (cards, credit lines).

Statements are sorted once by (loan, statement date) into a ledger ``EventTable``.
For each row, ``upto`` finds the position one past the loan's last statement
dated on or before the as-of date, so the last ``k`` statements are the ``k``
positions before it. Sums and counts over them are differences of int64
cumulative sums (money in minor units, so they are exact and do not depend on
other loans); latest values, maxima, means and the slope gather the at most 12
positions into a small matrix, one block of rows at a time.

Optional columns (``credit_limit``, ``min_due``, ``amount_paid``, ``dpd``) that
are absent leave their features NaN. A missing ``amount_paid`` value counts as
nothing paid, as in the ledger; a missing ``min_due`` leaves the statement out
of the payment features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import to_days
from ..ledger import EventTable, cum0
from ._context import FeatureContext
from ._registry import REGISTRY, FeatureSpec

_IN = ("statements",)
_K = 12  # the longest window, in statements


def _spec(name: str, description: str, window: str = "") -> FeatureSpec:
    return FeatureSpec(name, "revolving", description, window=window, inputs=_IN)


SPECS = [
    _spec("utilisation", "Balance divided by the credit limit on the latest statement."),
    _spec(
        "utilisation_mean_3s",
        "Mean utilisation (balance over credit limit) of the last 3 statements.",
        "last 3 statements",
    ),
    _spec(
        "utilisation_max_6s",
        "Highest utilisation (balance over credit limit) of the last 6 statements.",
        "last 6 statements",
    ),
    _spec("paid_to_min_due", "Amount paid divided by the minimum due on the latest statement."),
    _spec(
        "paid_to_min_due_3s",
        "Amount paid divided by the minimum due, summed over the last 3 statements.",
        "last 3 statements",
    ),
    _spec(
        "paid_to_min_due_6s",
        "Amount paid divided by the minimum due, summed over the last 6 statements.",
        "last 6 statements",
    ),
    _spec(
        "n_min_missed_6s",
        "Statements among the last 6 where less than the minimum due was paid.",
        "last 6 statements",
    ),
    _spec(
        "balance_change_3s",
        "Relative change of the balance since the statement 3 before the latest.",
        "last 4 statements",
    ),
    _spec(
        "balance_slope_6s",
        "Trend of the balance per statement over the last 6 statements (least squares).",
        "last 6 statements",
    ),
    _spec("reported_dpd", "Days past due reported on the latest statement."),
    _spec(
        "reported_dpd_max_6s",
        "Highest days past due reported on the last 6 statements.",
        "last 6 statements",
    ),
    _spec(
        "reported_dpd_max_12s",
        "Highest days past due reported on the last 12 statements.",
        "last 12 statements",
    ),
    _spec(
        "n_reported_delinquent_12s",
        "Statements among the last 12 that reported the account past due.",
        "last 12 statements",
    ),
    _spec(
        "months_since_delinquent_reported",
        "Statements since the last one that reported the account past due.",
    ),
    _spec("n_statements", "Statements issued so far."),
]


def _column(st: pd.DataFrame, name: str) -> np.ndarray:
    if name in st:
        return st[name].to_numpy(dtype=np.float64)
    return np.full(len(st), np.nan)


def _prepare(ctx: FeatureContext, st: pd.DataFrame) -> tuple[EventTable, dict[str, np.ndarray]]:
    """Sort the statements once; per-statement values and their cumulative sums."""
    led = ctx.ledger
    t = EventTable(
        led.codes(st["loan_id"]),
        to_days(st["statement_date"].to_numpy()),
        led.n_loans,
        balance=_column(st, "balance"),
        limit=_column(st, "credit_limit"),
        min_due=_column(st, "min_due"),
        paid=_column(st, "amount_paid"),
        dpd=_column(st, "dpd"),
    )
    c = t.cols
    m = len(t)
    limit, min_due = c["limit"], c["min_due"]
    util = np.divide(c["balance"], limit, out=np.full(m, np.nan), where=limit > 0)
    # Payments are judged only where both the minimum and the paid column exist.
    judged = ~np.isnan(min_due) & ("amount_paid" in st)
    paid_c = np.rint(np.nan_to_num(c["paid"]) * led.scale).astype(np.int64)
    min_c = np.rint(np.nan_to_num(min_due) * led.scale).astype(np.int64)
    paid_c[~judged] = 0
    min_c[~judged] = 0
    ratio = np.divide(paid_c, min_c, out=np.full(m, np.nan), where=min_c > 0)
    dpd = c["dpd"]
    late = dpd > 0
    idx = np.arange(m)

    def pad(values: np.ndarray, fill: float) -> np.ndarray:
        # One extra slot at position m answers "no such statement".
        return np.append(values, fill)

    arrays = {
        "balance": pad(c["balance"], np.nan),
        "util": pad(util, np.nan),
        "ratio": pad(ratio, np.nan),
        "dpd": pad(dpd, np.nan),
        "last_late": pad(np.maximum.accumulate(np.where(late, idx, -1)) if m else idx, -1),
        "cum_paid": cum0(paid_c),
        "cum_min": cum0(min_c),
        "cum_judged": cum0(judged.astype(np.int64)),
        "cum_missed": cum0((judged & (paid_c < min_c - led.tolerance_units)).astype(np.int64)),
        "cum_reported": cum0((~np.isnan(dpd)).astype(np.int64)),
        "cum_late": cum0(late.astype(np.int64)),
    }
    return t, arrays


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else NaN."""
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _slope(y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``y`` (column 0 newest) against position."""
    ok = ~np.isnan(y)
    n = ok.sum(axis=1)
    x = np.where(ok, -np.arange(y.shape[1], dtype=np.float64), 0.0)
    y = np.where(ok, y, 0.0)
    n1 = np.maximum(n, 1)[:, None]
    dx = np.where(ok, x - x.sum(axis=1, keepdims=True) / n1, 0.0)
    dy = y - y.sum(axis=1, keepdims=True) / n1
    sxx = (dx * dx).sum(axis=1)
    out = np.full(y.shape[0], np.nan)
    return np.divide((dx * dy).sum(axis=1), sxx, out=out, where=(n >= 3) & (sxx > 0))


def _block(
    t: EventTable, a: dict[str, np.ndarray], qcode: np.ndarray, qday: np.ndarray, loans: slice
) -> dict[str, np.ndarray]:
    i = t.upto(qcode, qday, loans)
    first = t.start[qcode]
    # Positions of the last _K statements, newest first; len(t) marks "none".
    back = (i - 1)[:, None] - np.arange(_K)
    back = np.where(back >= first[:, None], back, len(t))
    latest = back[:, 0]

    def window(cum: str, k: int) -> np.ndarray:
        return a[cum][i] - a[cum][np.maximum(i - k, first)]

    util = a["util"][back[:, :6]]
    seen = ~np.isnan(util[:, :3])
    util_sum3 = np.where(seen, util[:, :3], 0.0).sum(axis=1)
    judged6 = window("cum_judged", 6)
    reported12 = window("cum_reported", 12)
    dpd = a["dpd"][back]
    last_late = a["last_late"][latest]
    balance = a["balance"][back[:, :6]]
    return {
        "utilisation": util[:, 0],
        "utilisation_mean_3s": _ratio(util_sum3, seen.sum(axis=1)),
        "utilisation_max_6s": np.fmax.reduce(util, axis=1),
        "paid_to_min_due": a["ratio"][latest],
        "paid_to_min_due_3s": _ratio(window("cum_paid", 3), window("cum_min", 3)),
        "paid_to_min_due_6s": _ratio(window("cum_paid", 6), window("cum_min", 6)),
        "n_min_missed_6s": np.where(judged6 > 0, window("cum_missed", 6), np.nan),
        "balance_change_3s": _ratio(balance[:, 0], a["balance"][back[:, 3]]) - 1.0,
        "balance_slope_6s": _slope(balance),
        "reported_dpd": dpd[:, 0],
        "reported_dpd_max_6s": np.fmax.reduce(dpd[:, :6], axis=1),
        "reported_dpd_max_12s": np.fmax.reduce(dpd, axis=1),
        "n_reported_delinquent_12s": np.where(reported12 > 0, window("cum_late", 12), np.nan),
        "months_since_delinquent_reported": np.where(
            (i > first) & (last_late >= first), i - 1 - last_late, np.nan
        ),
        "n_statements": (i - first).astype(np.float64),
    }


@REGISTRY.family(
    "revolving",
    "Utilisation, payments against the minimum due and reported delinquency from statements.",
    SPECS,
)
def revolving(ctx: FeatureContext) -> dict[str, np.ndarray]:
    out = {s.name: ctx.out(s.name, np.nan) for s in SPECS}
    st = ctx.portfolio.statements
    if st is None:
        return out
    t, arrays = _prepare(ctx, st)
    for rows, loans in ctx.blocks():
        for name, values in _block(t, arrays, ctx.code[rows], ctx.day[rows], loans).items():
            out[name][rows] = values
    # Before its first statement a revolving loan has 0 statements; any other loan
    # without statements is simply not observed through them.
    revolving = (ctx.portfolio.loans["product_type"] == "revolving").to_numpy(dtype=bool)
    n = out["n_statements"]
    n[(n == 0) & ~revolving[ctx.code]] = np.nan
    return out
