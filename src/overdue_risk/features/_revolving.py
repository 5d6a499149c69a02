"""Family ``revolving``: features of monthly statements (cards, credit lines).

Statements are sorted once by (loan, statement date) into a ledger ``EventTable``.
For each row, ``upto`` finds the position one past the loan's last statement
dated on or before the as-of date, so the last ``k`` statements are the ``k``
positions before it. Sums and counts over them are differences of int64
cumulative sums (money in minor units, so they are exact and do not depend on
other loans); latest values, maxima, means and the slope gather the at most 12
positions into a small matrix, one block of rows at a time.

The amount paid on a statement is what was paid in the cycle it closes, so it
is judged against the balance of the loan's statement before it: a transactor
pays that balance in full each month, a revolver a share of it. These payment
features need no minimum due; the first statement of a loan, and one after a
statement showing no balance owed, are not judged.

Optional columns (``credit_limit``, ``min_due``, ``amount_paid``, ``dpd``) that
are absent leave their features NaN. A missing ``amount_paid`` value counts as
nothing paid, as in the ledger; a missing ``min_due`` leaves the statement out
of the features against the minimum due. No minimum is made up when the
column is absent (as a share of the balance, say): lenders set it in too many
ways (a share with a floor, plus interest and fees, plus arrears) for a guess
to be right, and the payments against the previous balance carry the same
signal without it.
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
_LAGS = 6  # statements shown one by one (lag 1 is the latest)


def _spec(name: str, description: str, window: str = "") -> FeatureSpec:
    return FeatureSpec(name, "revolving", description, window=window, inputs=_IN)


def _lags(name: str, what: str, first: int) -> list[FeatureSpec]:
    """``<name>_lag<k>`` for k = first .. 6: the value on the k-th latest statement."""
    where = {1: "the latest statement", 2: "the statement before the latest"}
    return [
        _spec(
            f"{name}_lag{k}",
            f"{what} on {where.get(k, f'the statement {k - 1} before the latest')}.",
            f"last {k} statements" if k > 1 else "",
        )
        for k in range(first, _LAGS + 1)
    ]


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
    # Transactor or revolver: each statement's payment against the balance of the
    # statement before it. These need no minimum due.
    _spec(
        "paid_to_prev_balance",
        "Amount paid in the latest statement's cycle divided by the previous statement's balance.",
        "last 2 statements",
    ),
    _spec(
        "paid_to_prev_balance_3s",
        "Amount paid divided by the previous statement's balance, summed over the last 3 "
        "statements.",
        "last 4 statements",
    ),
    _spec(
        "paid_to_prev_balance_6s",
        "Amount paid divided by the previous statement's balance, summed over the last 6 "
        "statements.",
        "last 7 statements",
    ),
    _spec(
        "n_full_payments_6s",
        "Statements among the last 6 whose payment covered the previous statement's balance.",
        "last 7 statements",
    ),
    _spec(
        "n_no_payment_6s",
        "Statements among the last 6 with nothing paid although the previous statement "
        "showed a balance owed.",
        "last 7 statements",
    ),
    *_lags("balance", "Balance", 1),
    *_lags("amount_paid", "Amount paid recorded", 1),
    *_lags("utilisation", "Utilisation (balance over credit limit)", 2),
    *_lags("reported_dpd", "Days past due reported", 2),
    _spec(
        "utilisation_slope_6s",
        "Trend of the utilisation per statement over the last 6 statements (least squares).",
        "last 6 statements",
    ),
    _spec(
        "utilisation_vs_mean_6s",
        "Utilisation on the latest statement minus the mean utilisation of the last 6 statements.",
        "last 6 statements",
    ),
    _spec(
        "limit_change_6s",
        "Credit limit on the latest statement divided by the earliest limit known among the "
        "last 6 statements.",
        "last 6 statements",
    ),
    _spec(
        "n_limit_changes_6s",
        "Times the credit limit changed from one statement to the next among the last 6 "
        "statements.",
        "last 6 statements",
    ),
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
        # Shown as recorded, a missing value as nothing paid; NaN without the column.
        "paid": pad(np.nan_to_num(c["paid"]) if "amount_paid" in st else c["paid"], np.nan),
        "limit": pad(np.where(np.isnan(limit), np.nan, np.rint(limit * led.scale)), np.nan),
    }
    owed, paid_owed, bal_owed = _against_previous(t, st, led.scale)
    arrays |= {
        "prev_ratio": pad(_ratio(paid_owed, bal_owed), np.nan),
        "cum_owed": cum0(owed.astype(np.int64)),
        "cum_owed_paid": cum0(paid_owed),
        "cum_owed_bal": cum0(bal_owed),
        "cum_full": cum0((owed & (paid_owed >= bal_owed - led.tolerance_units)).astype(np.int64)),
        "cum_nothing": cum0((owed & (paid_owed == 0)).astype(np.int64)),
    }
    return t, arrays


def _against_previous(
    t: EventTable, st: pd.DataFrame, scale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each statement's payment against the balance of the loan's statement before it.

    A statement is judged (``owed``) when the loan has an earlier statement whose
    balance was above 0 and the ``amount_paid`` column exists; the payment and
    that balance are returned in minor units, 0 where not judged.
    """
    c = t.cols
    m = len(t)
    balance = c["balance"]
    codes = t.codes()
    prev = np.zeros(m, np.int64)
    prev[1:] = np.rint(np.nan_to_num(balance[:-1]) * scale)
    owed = np.zeros(m, bool)
    owed[1:] = (codes[1:] == codes[:-1]) & ~np.isnan(balance[:-1])
    owed &= (prev > 0) & ("amount_paid" in st)
    paid = np.rint(np.nan_to_num(c["paid"]) * scale).astype(np.int64)
    return owed, np.where(owed, paid, 0), np.where(owed, prev, 0)


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


def _limits(limits: np.ndarray) -> dict[str, np.ndarray]:
    """Limit change and count of changes from each row's last limits (column 0 newest).

    A statement without a limit is skipped: a change is counted between each
    known limit and the known limit before it.
    """
    rows = np.arange(limits.shape[0])
    known = ~np.isnan(limits)
    # The earliest known limit is in the last column that has one (NaN when none does).
    earliest = limits[rows, limits.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)]
    oldest_first, known = limits[:, ::-1], known[:, ::-1]
    last_known = np.maximum.accumulate(np.where(known, np.arange(known.shape[1]), -1), axis=1)
    before = last_known[:, :-1]  # the latest known column before each column
    compared = known[:, 1:] & (before >= 0)
    changed = compared & (oldest_first[:, 1:] != oldest_first[rows[:, None], before])
    return {
        "limit_change_6s": _ratio(limits[:, 0], earliest),
        "n_limit_changes_6s": np.where(compared.any(axis=1), changed.sum(axis=1), np.nan),
    }


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
    seen6 = ~np.isnan(util)
    util_sum6 = np.where(seen6, util, 0.0).sum(axis=1)
    paid = a["paid"][back[:, :_LAGS]]
    owed6 = window("cum_owed", 6)
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
        "paid_to_prev_balance": a["prev_ratio"][latest],
        "paid_to_prev_balance_3s": _ratio(window("cum_owed_paid", 3), window("cum_owed_bal", 3)),
        "paid_to_prev_balance_6s": _ratio(window("cum_owed_paid", 6), window("cum_owed_bal", 6)),
        "n_full_payments_6s": np.where(owed6 > 0, window("cum_full", 6), np.nan),
        "n_no_payment_6s": np.where(owed6 > 0, window("cum_nothing", 6), np.nan),
        **{f"balance_lag{k + 1}": balance[:, k] for k in range(_LAGS)},
        **{f"amount_paid_lag{k + 1}": paid[:, k] for k in range(_LAGS)},
        **{f"utilisation_lag{k + 1}": util[:, k] for k in range(1, _LAGS)},
        **{f"reported_dpd_lag{k + 1}": dpd[:, k] for k in range(1, _LAGS)},
        "utilisation_slope_6s": _slope(util),
        "utilisation_vs_mean_6s": util[:, 0] - _ratio(util_sum6, seen6.sum(axis=1)),
        **_limits(a["limit"][back[:, :_LAGS]]),
    }


@REGISTRY.family(
    "revolving",
    "Utilisation, payments against the minimum due and the previous balance, credit limits "
    "and reported delinquency from statements, with the latest six statements one by one.",
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
