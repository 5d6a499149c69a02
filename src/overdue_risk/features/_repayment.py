"""Families ``repayment``, ``recency`` and ``trend``: how the loan has been repaid.

Windows select instalments by due date: the last 30/90/180/365 days are
those due in ``(as_of - w, as_of]``; the last n and first n instalments are
counted among those due by ``as_of``. An instalment's delay at ``as_of`` is
``settled day - due day`` once settled, and ``as_of - due day`` while still
unpaid, so a missed instalment keeps accruing days past due. Instalment
features use FIFO allocation; payments the lender allocated to a named
instalment are honoured by the ``ledger`` family's state only.
"""

from __future__ import annotations

import numpy as np

from ..ledger import ranges
from ._context import FeatureContext
from ._instalments import Instalments
from ._registry import REGISTRY, FeatureSpec

_IN = ("installments", "payments")

DAY_WINDOWS = {"30d": 30, "90d": 90, "180d": 180, "365d": 365}
LAST_WINDOWS = {"last1": 1, "last3": 3, "last6": 6, "last12": 12}
FIRST_WINDOWS = {"first3": 3, "first6": 6}

_MEASURES = {
    "n_due": "Instalments due",
    "max_dpd": "Largest delay in days past due of the instalments",
    "mean_dpd": "Mean delay in days past due of the instalments",
    "n_late": "Instalments paid late or unpaid past their due date",
    "share_late": "Share of the instalments paid late or unpaid past their due date",
    "n_late7": "Instalments more than 7 days late",
    "share_late7": "Share of the instalments more than 7 days late",
    "n_late30": "Instalments more than 30 days late",
    "share_late30": "Share of the instalments more than 30 days late",
    "mean_days_early": "Mean days paid before the due date, over the settled instalments",
    "paid_ratio": "Amount paid by each due date over the amount due",
    "shortfall": "Amount not paid by the due dates",
    "n_partial": "Instalments partly paid by their due date",
    "weighted_dpd": "Delay in days past due weighted by the instalment amounts",
}
# With one instalment, shares equal counts and means equal maxima.
_ONE = (
    "max_dpd",
    "n_late",
    "n_late7",
    "n_late30",
    "mean_days_early",
    "paid_ratio",
    "shortfall",
    "n_partial",
)


def _window_text(w: str) -> str:
    if w in DAY_WINDOWS:
        return f"{DAY_WINDOWS[w]}d"
    kind, n = ("last", LAST_WINDOWS[w]) if w in LAST_WINDOWS else ("first", FIRST_WINDOWS[w])
    return f"{kind} {n} instalment" + ("s" if n > 1 else "")


def _window_measures(w: str) -> list[str]:
    if w in LAST_WINDOWS and LAST_WINDOWS[w] == 1:
        return list(_ONE)
    return [m for m in _MEASURES if m != "n_due" or w in DAY_WINDOWS]


RATIOS = {
    "mean_dpd_90d_to_365d": ("mean_dpd_90d", "mean_dpd_365d"),
    "max_dpd_90d_to_365d": ("max_dpd_90d", "max_dpd_365d"),
    "share_late_last3_to_last12": ("share_late_last3", "share_late_last12"),
    "paid_ratio_last3_to_last12": ("paid_ratio_last3", "paid_ratio_last12"),
}


def _scope(w: str) -> str:
    text = _window_text(w)
    return f"due in the last {text[:-1]} days" if w in DAY_WINDOWS else f"of the {text}"


def _repayment_specs() -> list[FeatureSpec]:
    specs = []
    for w in (*DAY_WINDOWS, *LAST_WINDOWS, *FIRST_WINDOWS):
        for m in _window_measures(w):
            specs.append(
                FeatureSpec(
                    f"{m}_{w}",
                    "repayment",
                    f"{_MEASURES[m]}, {_scope(w)}.",
                    window=_window_text(w),
                    inputs=_IN,
                )
            )
    for name, (num, den) in RATIOS.items():
        m, w_num = num.rsplit("_", 1)
        w_den = den.rsplit("_", 1)[1]
        specs.append(
            FeatureSpec(
                name,
                "repayment",
                f"{_MEASURES[m]}, {_scope(w_num)}, divided by the same {_scope(w_den)}: "
                "recent behaviour against the longer run.",
                window=f"{num.rsplit('_', 1)[1]} / {den.rsplit('_', 1)[1]}",
                inputs=_IN,
            )
        )
    return specs


def _instalments(ctx: FeatureContext) -> Instalments:
    return ctx.cached("instalments", lambda: Instalments(ctx.ledger))


class _Block:
    """One block of rows: their loans, as-of days and FIFO positions."""

    def __init__(self, ctx: FeatureContext, rows: slice, loans: slice, inst: Instalments):
        led = ctx.ledger
        s, pay = led.schedule, led.payments
        self.rows = rows
        self.code = ctx.code[rows]
        self.t = ctx.eff[rows]  # a closed loan is read as at its closing
        self.now = ctx.day[rows]  # recency counts to the as-of date itself
        self.s0 = s.start[self.code]
        self.s_end = s.end[self.code]
        self.loans = loans
        self._s = s
        self.idue = self.upto(self.t)
        ip = pay.upto(self.code, self.t, loans)
        paid = led.paid_cum[ip] - led.paid_cum[pay.start[self.code]]
        base = led.due_cum[self.s0]
        # The oldest unpaid instalment; those before it are settled.
        self.kstar = np.minimum(
            led.fifo_position(base + paid + led.tolerance_units, loans), self.s_end
        )
        self.t_rel = self.t - inst.day0
        # Sums at the window bounds most windows share, gathered once per block.
        self.at_kstar = _At(inst, self.kstar)
        self.at_due = _At(inst, self.idue)
        self.at_start = _At(inst, self.s0)

    def upto(self, day: np.ndarray) -> np.ndarray:
        """Schedule rows of each loan due on or before ``day``: one past the last."""
        return self._s.upto(self.code, day, self.loans)


class _At:
    """The cumulative sums at one row index per query, gathered on first use."""

    def __init__(self, inst: Instalments, idx: np.ndarray):
        self.idx = idx
        self._cum = inst.cum
        self._got: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        got = self._got.get(name)
        if got is None:
            got = self._got[name] = self._cum[name][self.idx]
        return got


class _Sums:
    """Sums over rows ``[a, m)`` (settled) and ``[m, b)`` (unpaid and due) of each query.

    ``m`` is the oldest unpaid instalment clipped into ``[a, b)``; its sums are
    picked from those at ``a``, ``b`` and the oldest unpaid, already gathered.
    """

    def __init__(self, blk: _Block, a: _At, b: _At):
        self.a, self.b, self.k = a, b, blk.at_kstar
        self.lo = blk.kstar <= a.idx
        self.hi = blk.kstar >= b.idx
        self.m = np.clip(blk.kstar, a.idx, b.idx)
        self.n = b.idx - a.idx
        self.n_open = b.idx - self.m
        self._m: dict[str, np.ndarray] = {}

    def at_m(self, name: str) -> np.ndarray:
        got = self._m.get(name)
        if got is None:
            got = np.where(self.lo, self.a[name], np.where(self.hi, self.b[name], self.k[name]))
            self._m[name] = got
        return got

    def s(self, name: str) -> np.ndarray:
        return self.at_m(name) - self.a[name]

    def u(self, name: str) -> np.ndarray:
        return self.b[name] - self.at_m(name)

    def all(self, name: str) -> np.ndarray:
        return self.b[name] - self.a[name]

    def sum_dpd(self, t_rel: np.ndarray) -> np.ndarray:
        """Sum of the delays: settled ones as recorded, unpaid ones ``t - due``."""
        return self.s("dpd") + self.n_open * t_rel - self.u("day")


def _window(inst: Instalments, blk: _Block, a: _At, b: _At, late_at) -> dict[str, np.ndarray]:
    """Every measure over the instalment rows ``[a, b)`` of each query."""
    z = _Sums(blk, a, b)
    m, n = z.m, z.n
    lo, hi = a.idx, b.idx
    due, covered = z.all("due"), z.all("covered")
    out: dict[str, np.ndarray] = {"n_due": n}
    open_max = np.where(z.n_open > 0, blk.t - inst.due[m], 0)
    out["max_dpd"] = np.maximum(inst.range_max(lo, m), open_max)
    out["mean_dpd"] = z.sum_dpd(blk.t_rel) / n
    for x, suffix in ((0, ""), (7, "7"), (30, "30")):
        # Unpaid instalments are late by more than x days when due before t - x.
        count = z.s(f"late{x}") + np.clip(late_at[x], m, hi) - m
        out[f"n_late{suffix}"] = count
        out[f"share_late{suffix}"] = count / n
    out["mean_days_early"] = z.s("early") / (m - lo)  # 0 / 0: nothing settled, NaN
    out["paid_ratio"] = covered / due
    out["shortfall"] = (due - covered) / inst.scale
    out["n_partial"] = z.all("partial")
    weighted = z.s("amount_dpd") + blk.t_rel * z.u("due") - z.u("amount_day")
    out["weighted_dpd"] = weighted / due
    out["_empty"] = n == 0
    return out


def _repayment_block(inst: Instalments, blk: _Block, outs: dict[str, np.ndarray]) -> None:
    late_at = {x: blk.upto(blk.t - x - 1) for x in (0, 7, 30)}  # due before t - x
    b = blk.at_due
    windows = {w: (_At(inst, blk.upto(blk.t - d)), b) for w, d in DAY_WINDOWS.items()}
    for w, k in LAST_WINDOWS.items():
        windows[w] = (_At(inst, np.maximum(blk.idue - k, blk.s0)), b)
    for w, k in FIRST_WINDOWS.items():
        windows[w] = (blk.at_start, _At(inst, np.minimum(blk.s0 + k, blk.idue)))
    for w, (a, bb) in windows.items():
        values = _window(inst, blk, a, bb, late_at)
        empty = values["_empty"]
        for measure in _window_measures(w):
            column = outs[f"{measure}_{w}"][blk.rows]
            column[:] = values[measure]
            column[empty] = np.nan  # no instalment in the window: not observed


def _recency_block(inst: Instalments, blk: _Block, outs: dict[str, np.ndarray]) -> None:
    rows, a, b = blk.rows, blk.s0, blk.idue
    m = np.clip(blk.kstar, a, b)
    has = b > a
    prev = np.maximum(m - 1, 0)
    any_settled = m > a
    j = np.where(any_settled, inst.last_on_time[prev], -1)
    on_time_day = inst.settle[np.where(j >= a, j, inst.n)]
    outs["days_since_on_time"][rows] = np.where(j >= a, blk.now - on_time_day, np.nan)
    j = np.where(any_settled, inst.last_late[prev], -1)
    late_day = inst.settle[np.where(j >= a, j, inst.n)]
    overdue_to = np.minimum(blk.upto(blk.t - 1), b)  # unpaid and due before t: past due
    n_missed = np.maximum(overdue_to - m, 0)
    outs["days_since_delinquent"][rows] = np.where(
        n_missed > 0, 0, np.where(j >= a, blk.now - late_day, np.nan)
    )
    outs["missed_streak"][rows] = np.where(has, n_missed, np.nan)
    # Not late: settled on time, or due today and not yet paid.
    settled_run = m - np.maximum(j + 1, a)
    outs["on_time_streak"][rows] = np.where(
        has, np.where(n_missed > 0, 0, settled_run + (b - m)), np.nan
    )
    cum = inst.cum
    k = np.where(m < b, m, inst.n)  # the current oldest unpaid, if due
    now_dpd = blk.t - inst.due[k]
    rolling = np.zeros(a.size, np.int64)
    for e in inst.edges:
        rolling += (k < inst.n) & (inst.entry[k] < e) & (now_dpd >= e)
    rolls = cum["rolls"][m] - blk.at_start["rolls"] + rolling
    outs["n_roll_forward"][rows] = np.where(has, rolls, np.nan)
    # A payment that cures the loan may also prepay instalments not yet due.
    cures = blk.at_kstar["cures"] - blk.at_start["cures"]
    outs["n_cures"][rows] = np.where(has, cures, np.nan)


def _trend_block(inst: Instalments, blk: _Block, outs: dict[str, np.ndarray]) -> None:
    rows, b = blk.rows, blk.idue
    for k in (3, 6, 12):
        z = _Sums(blk, _At(inst, np.maximum(b - k, blk.s0)), blk.at_due)
        n, sx, sxx = z.n, z.all("x"), z.all("xx")
        den = (n * sxx - sx * sx).astype(np.float64)  # exact integers until here
        ok = (n >= 3) & (den > 0)
        sy = z.sum_dpd(blk.t_rel)
        sxy = z.s("x_dpd") + blk.t_rel * z.u("x") - z.u("x_day")
        outs[f"dpd_slope_last{k}"][rows] = np.where(ok, (n * sxy - sx * sy) / den, np.nan)
        if k > 3:
            num = n * z.all("x_ratio") - sx * z.all("ratio")
            outs[f"paid_ratio_slope_last{k}"][rows] = np.where(ok, num / den / 1e4, np.nan)
    # The decayed delay does not factor into cumulative sums: expand the last 12.
    lo = np.maximum(b - 12, blk.s0)
    n = b - lo
    q = np.repeat(np.arange(n.size), n)
    i = ranges(lo, n)
    t = blk.t[q]
    dpd = np.where(i < blk.kstar[q], inst.dpd_settled[i], t - inst.due[i])
    w = np.exp2((inst.due[i] - t) / _HALF_LIFE)
    sw = np.bincount(q, w, n.size)
    outs["decayed_dpd_last12"][rows] = np.bincount(q, w * dpd, n.size) / sw


def _pass(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Compute the selected ones of the three families in one pass over the blocks.

    They share the per-block searches (instalments due, oldest unpaid).
    """
    inst = _instalments(ctx)
    chosen = [f for f in ("repayment", "recency", "trend") if f in ctx.families]
    outs = {s.name: ctx.out(s.name) for f in chosen for s in REGISTRY.families[f].specs}
    steps = {"repayment": _repayment_block, "recency": _recency_block, "trend": _trend_block}
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows, loans in ctx.blocks():
            blk = _Block(ctx, rows, loans, inst)
            for f in chosen:
                steps[f](inst, blk, outs)
        if "repayment" in chosen:
            for name, (num, den) in RATIOS.items():
                x, y = outs[num], outs[den]
                outs[name][:] = np.where(y > 0, x / y, np.nan)  # NaN, never inf
    if "recency" in chosen:
        outs["days_since_payment"][:] = ctx.state["days_since_last_payment"].to_numpy()
    return outs


def _family_outputs(ctx: FeatureContext, family: str) -> dict[str, np.ndarray]:
    outs = ctx.cached("repayment_pass", lambda: _pass(ctx))
    return {s.name: outs[s.name] for s in REGISTRY.families[family].specs}


@REGISTRY.family(
    "repayment",
    "How instalments were repaid over windows of days and of instalments.",
    _repayment_specs(),
)
def repayment(ctx: FeatureContext) -> dict[str, np.ndarray]:
    return _family_outputs(ctx, "repayment")


RECENCY_SPECS = [
    FeatureSpec(
        "days_since_payment",
        "recency",
        "Days since the last payment received.",
        inputs=("payments", "statements"),
    ),
    FeatureSpec(
        "days_since_on_time",
        "recency",
        "Days since the last instalment paid in full by its due date was settled.",
        inputs=_IN,
    ),
    FeatureSpec(
        "days_since_delinquent",
        "recency",
        "Days since the loan was last past due (0 while it is; days since last current is DPD).",
        inputs=_IN,
    ),
    FeatureSpec(
        "on_time_streak",
        "recency",
        "Most recent instalments in a row not late at the as-of date.",
        inputs=_IN,
    ),
    FeatureSpec(
        "missed_streak",
        "recency",
        "Most recent instalments in a row unpaid past their due date.",
        inputs=_IN,
    ),
    FeatureSpec(
        "n_roll_forward",
        "recency",
        "Times the loan rolled into a worse delinquency bucket.",
        inputs=_IN,
    ),
    FeatureSpec(
        "n_cures",
        "recency",
        "Times the loan returned to current after being past due.",
        inputs=_IN,
    ),
]


@REGISTRY.family(
    "recency", "Recency of payments and delinquency, streaks, rolls and cures.", RECENCY_SPECS
)
def recency(ctx: FeatureContext) -> dict[str, np.ndarray]:
    return _family_outputs(ctx, "recency")


_HALF_LIFE = 90  # days, for the time-decayed delay

TREND_SPECS = (
    [
        FeatureSpec(
            f"dpd_slope_last{k}",
            "trend",
            f"Slope of the delay in days past due per instalment over the last {k} instalments.",
            window=f"last {k} instalments",
            inputs=_IN,
        )
        for k in (3, 6, 12)
    ]
    + [
        FeatureSpec(
            f"paid_ratio_slope_last{k}",
            "trend",
            f"Slope of the share paid by each due date over the last {k} instalments.",
            window=f"last {k} instalments",
            inputs=_IN,
        )
        for k in (6, 12)
    ]
    + [
        FeatureSpec(
            "decayed_dpd_last12",
            "trend",
            f"Delay in days past due of the last 12 instalments, weighted by recency "
            f"(half-life {_HALF_LIFE} days).",
            window="last 12 instalments",
            inputs=_IN,
        )
    ]
)


@REGISTRY.family("trend", "Trends of delay and payment over the last instalments.", TREND_SPECS)
def trend(ctx: FeatureContext) -> dict[str, np.ndarray]:
    return _family_outputs(ctx, "trend")
