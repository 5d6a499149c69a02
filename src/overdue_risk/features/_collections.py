"""Family ``collections``: contacts, promises and outcomes from the action log.

The action log is sorted once by (loan, action date) into a ledger ``EventTable``;
counts in a window ``(as_of - w, as_of]`` are differences of int64 cumulative
sums between two ``upto`` positions, and "the last action such that ..." is a
running maximum of positions, so every row is answered by binary searches.

Promises (``outcome == "promise"``) are judged once each: a promise with a date
and an amount is *resolved* the day after ``max(promise_date, action_date)``
and *kept* when the payments dated from the action date through the promise
date add up to the amount promised, less the ledger's tolerance. Resolved
promises are sorted by resolution day in a second table, so that what is known
at the as-of date is again a binary search. The pending promise behind
``days_to_promise`` is found by binary lifting over running maxima of the
promise dates, one vectorised step per power of two.

Actions of one day are taken in contract order of action, then outcome, and
promises of one day in order of promise date, so that "the last action" and
"the latest promise" never depend on the order of the rows.

Counts are 0 for a loan without actions when the portfolio has a collections
table, and NaN everywhere when it has none. Without a payments table promises
cannot be judged, so the features of kept and broken promises are NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import NAT, to_days
from ..contract import LOGGED_ACTIONS, OUTCOMES, REACHED_OUTCOMES
from ..ledger import EventTable, cum0
from ._context import FeatureContext
from ._registry import REGISTRY, Dtype, FeatureSpec

_IN = ("collections",)
_IN_PAY = ("collections", "payments")
_PROMISE = OUTCOMES.index("promise")
_WINDOWS = (7, 30)
_COUNTS = (
    *(f"n_contacts_{w}d" for w in _WINDOWS),
    "n_contacts_total",
    *(f"n_contacts_{w}d_{a}" for w in _WINDOWS for a in LOGGED_ACTIONS),
    "n_promises",
    "n_promises_kept",
    "n_promises_broken",
)


def _spec(
    name: str,
    description: str,
    window: str = "",
    dtype: Dtype = "float32",
    inputs: tuple[str, ...] = _IN,
) -> FeatureSpec:
    return FeatureSpec(name, "collections", description, dtype, window, inputs)


SPECS = [
    *(
        _spec(f"n_contacts_{w}d", f"Collection actions in the last {w} days.", f"{w}d")
        for w in _WINDOWS
    ),
    _spec("n_contacts_total", "Collection actions taken so far.", "all history"),
    *(
        _spec(
            f"n_contacts_{w}d_{a}", f"Collection actions of type {a} in the last {w} days.", f"{w}d"
        )
        for w in _WINDOWS
        for a in LOGGED_ACTIONS
    ),
    _spec("days_since_contact", "Days since the last collection action."),
    _spec("days_since_reached", "Days since a collection action last reached the customer."),
    _spec("n_promises", "Promises to pay made so far.", "all history"),
    _spec(
        "n_promises_kept",
        "Promises to pay kept: paid in full by the promised date.",
        "all history",
        inputs=_IN_PAY,
    ),
    _spec(
        "n_promises_broken",
        "Promises to pay broken: not paid in full by the promised date.",
        "all history",
        inputs=_IN_PAY,
    ),
    _spec(
        "share_promises_kept",
        "Share of the promises to pay due so far that were kept.",
        "all history",
        inputs=_IN_PAY,
    ),
    _spec("days_to_promise", "Days until the date of the latest promise to pay still open."),
    _spec(
        "days_since_broken_promise",
        "Days since the last promise to pay was broken.",
        inputs=_IN_PAY,
    ),
    _spec("last_outcome", "Outcome of the last collection action.", dtype="category"),
    _spec("last_action", "Type of the last collection action.", dtype="category"),
]


def _codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Positions in ``categories`` (-1: missing or unknown), from category or text."""
    return pd.Categorical(values, categories=list(categories)).codes.astype(np.int8)


def _pad(values: np.ndarray, fill: int) -> np.ndarray:
    """``values`` and one more slot: position -1 (a loan with nothing before) reads ``fill``."""
    return np.append(values, np.asarray(fill, values.dtype))


def _last(flag: np.ndarray) -> np.ndarray:
    """For each position, the last position up to it where ``flag`` holds (-1: none), padded."""
    idx = np.where(flag, np.arange(flag.size), -1)
    return _pad(np.maximum.accumulate(idx) if flag.size else idx, -1)


def _lifting(dates: np.ndarray) -> list[np.ndarray]:
    """``levels[k][p]``: the latest of ``dates[p - 2**k + 1 : p + 1]``, padded.

    There are enough levels for runs of ``2**k`` to add up to any count of promises.
    """
    levels = [dates]
    while (1 << len(levels)) <= dates.size:
        prev, w = levels[-1], 1 << (len(levels) - 1)
        levels.append(np.maximum(prev, np.concatenate([np.full(w, NAT), prev[:-w]])))
    return [_pad(level, NAT) for level in levels]


class _Log:
    """The action log and its promises, sorted once, with what rows look up in them."""

    def __init__(self, ctx: FeatureContext, log: pd.DataFrame):
        led = ctx.ledger
        n, m = led.n_loans, len(log)
        # Absent optional columns read as missing values: no outcome, no promise.
        outcome = np.full(m, -1, np.int8)
        if "outcome" in log:
            outcome = _codes(log["outcome"], OUTCOMES)
        pdate = np.full(m, NAT)
        if "promise_date" in log:
            pdate = to_days(log["promise_date"].to_numpy())
        amount = np.full(m, np.nan)
        if "promise_amount" in log:
            amount = log["promise_amount"].to_numpy(np.float64)
        code, day = led.codes(log["loan_id"]), to_days(log["action_date"].to_numpy())
        action = _codes(log["action"], LOGGED_ACTIONS)
        # Actions of one day are ordered by action, then outcome (contract order), so
        # that "the last action" does not depend on the order of the rows.
        tie = (action.astype(np.int64) + 1) * 8 + outcome + 1
        t = EventTable(
            code, day, n, tie, action=action, outcome=outcome, pdate=pdate, amount=amount
        )
        c = t.cols
        self.t = t
        self.day = _pad(t.day_at(np.arange(len(t))), 0)
        self.action = _pad(c["action"], -1)
        self.outcome = _pad(c["outcome"], -1)
        self.cum_action = [
            cum0((c["action"] == k).astype(np.int64)) for k in range(len(LOGGED_ACTIONS))
        ]
        self.last_reached = _last(
            np.isin(c["outcome"], [OUTCOMES.index(o) for o in REACHED_OUTCOMES])
        )
        # Promises made, in (loan, action date) order; a missing date never comes.
        p = np.flatnonzero(c["outcome"] == _PROMISE)
        p_code, p_day = t.codes()[p], t.day_at(p)
        p_date, p_amount = c["pdate"][p], c["amount"][p]
        # Promises of one day are ordered by promise date, for the same reason.
        tie = np.maximum(p_date, p_day - 1) - p_day + 1  # 0 without a promise date
        self.made = EventTable(p_code.copy(), p_day.copy(), n, tie, pdate=p_date)
        self.lift = _lifting(self.made.cols["pdate"])
        # Promises with a date and an amount, judged against the ledger's payments.
        ok = (p_date != NAT) & ~np.isnan(p_amount)
        p_code, p_day, p_date = p_code[ok], p_day[ok], p_date[ok]
        pay, every = led.payments, slice(0, n)
        lo = pay.upto(p_code, p_day - 1, every)  # the first payment on or after the action
        hi = np.maximum(pay.upto(p_code, p_date, every), lo)
        paid = led.paid_cum[hi] - led.paid_cum[lo]
        promised = np.rint(p_amount[ok] * led.scale).astype(np.int64)
        rt = EventTable(
            p_code, np.maximum(p_date, p_day) + 1, n, kept=paid >= promised - led.tolerance_units
        )
        self.resolved = rt
        self.resolved_day = _pad(rt.day_at(np.arange(len(rt))), 0)
        self.cum_kept = cum0(rt.cols["kept"].astype(np.int64))
        self.last_broken = _last(~rt.cols["kept"])

    def block(self, qcode: np.ndarray, qday: np.ndarray, loans: slice) -> dict[str, np.ndarray]:
        """Every feature for rows ``(qcode, qday)`` of the loans in ``loans``."""
        t = self.t
        i = t.upto(qcode, qday, loans)
        first = t.start[qcode]
        any_ = i > first
        out: dict[str, np.ndarray] = {}
        since = {w: t.upto(qcode, qday - w, loans) for w in _WINDOWS}
        for w in _WINDOWS:
            out[f"n_contacts_{w}d"] = i - since[w]
        out["n_contacts_total"] = i - first
        for w in _WINDOWS:
            for k, a in enumerate(LOGGED_ACTIONS):
                cum = self.cum_action[k]
                out[f"n_contacts_{w}d_{a}"] = cum[i] - cum[since[w]]
        out["days_since_contact"] = np.where(any_, qday - self.day[i - 1], np.nan)
        r = self.last_reached[i - 1]  # -1 or another loan's action when none
        out["days_since_reached"] = np.where(r >= first, qday - self.day[r], np.nan)

        made = self.made.upto(qcode, qday, loans)
        made0 = self.made.start[qcode]
        out["n_promises"] = made - made0
        j = self.resolved.upto(qcode, qday, loans)
        r0 = self.resolved.start[qcode]
        n_resolved = j - r0
        n_kept = self.cum_kept[j] - self.cum_kept[r0]
        out["n_promises_kept"] = n_kept
        out["n_promises_broken"] = n_resolved - n_kept
        out["share_promises_kept"] = np.divide(
            n_kept, n_resolved, out=np.full(n_resolved.size, np.nan), where=n_resolved > 0
        )
        out["days_to_promise"] = self._days_to_promise(made - 1, made0, qday)
        b = self.last_broken[j - 1]
        out["days_since_broken_promise"] = np.where(b >= r0, qday - self.resolved_day[b], np.nan)
        out["last_outcome"] = np.where(any_, self.outcome[i - 1], -1)
        out["last_action"] = np.where(any_, self.action[i - 1], -1)
        return out

    def _days_to_promise(self, pos: np.ndarray, start: np.ndarray, qday: np.ndarray) -> np.ndarray:
        """Days to the date of the latest promise up to ``pos`` dated on or after as-of.

        Walking back from ``pos``, runs of ``2**k`` of the loan's promises all
        dated before the as-of date are skipped, largest runs first.
        """
        for k in range(len(self.lift) - 1, -1, -1):
            w = 1 << k
            inside = pos - w + 1 >= start
            latest = self.lift[k][np.where(inside, pos, -1)]
            pos = np.where(inside & (latest < qday), pos - w, pos)
        date = self.lift[0][pos]  # pos is -1 or another loan's promise when none
        return np.where((pos >= start) & (date >= qday), date - qday, np.nan)


@REGISTRY.family(
    "collections",
    "Collection contacts, promises to pay and their outcomes from the action log.",
    SPECS,
)
def collections(ctx: FeatureContext) -> dict[str, np.ndarray | pd.Categorical]:
    out = {s.name: ctx.out(s.name, np.nan) for s in SPECS if s.dtype == "float32"}
    codes = {name: np.full(ctx.n_rows, -1, np.int8) for name in ("last_outcome", "last_action")}
    log = ctx.portfolio.collections
    if log is not None:
        for name in _COUNTS:  # every loan is in the log's scope: no action is a count of 0
            out[name][:] = 0
        if len(log) and ctx.n_rows:
            actions = _Log(ctx, log)
            for rows, loans in ctx.blocks():
                values = actions.block(ctx.code[rows], ctx.day[rows], loans)
                for name, column in values.items():
                    (codes if name in codes else out)[name][rows] = column
        if ctx.portfolio.payments is None:  # promises cannot be judged without payments
            for s in SPECS:
                if "payments" in s.inputs:
                    out[s.name].fill(np.nan)
    return {
        **out,
        "last_outcome": pd.Categorical.from_codes(codes["last_outcome"], list(OUTCOMES)),
        "last_action": pd.Categorical.from_codes(codes["last_action"], list(LOGGED_ACTIONS)),
    }
