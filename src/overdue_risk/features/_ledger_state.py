"""Family ``ledger``: the repayment state at the as-of date, from the ledger."""

from __future__ import annotations

import numpy as np

from ._context import FeatureContext
from ._registry import REGISTRY, FeatureSpec

_IN = ("installments", "payments", "statements")


def _spec(name: str, description: str) -> FeatureSpec:
    return FeatureSpec(name, "ledger", description, inputs=_IN)


SPECS = [
    _spec("dpd", "Days past due: days since the oldest unpaid instalment fell due."),
    _spec("bucket", "Delinquency bucket as an ordinal: 0 current, then one per bucket edge."),
    _spec("overdue_amount", "Amount due so far and not paid."),
    _spec(
        "overdue_to_installment",
        "Overdue amount divided by the loan's mean instalment amount.",
    ),
    _spec("n_installments_overdue", "Instalments due and not fully paid."),
    _spec("paid_ahead", "Amount paid beyond what is due so far."),
    _spec("outstanding_principal", "Principal not yet repaid (the balance for revolving)."),
    _spec("installments_remaining", "Scheduled instalments not yet due."),
    _spec("term_elapsed", "Share of the scheduled instalments already due."),
    _spec("loan_age_days", "Days since the loan started."),
    _spec("days_to_next_due", "Days until the next instalment falls due."),
    _spec("is_closed", "1 when the loan was closed on or before the as-of date."),
]


@REGISTRY.family(
    "ledger", "Repayment state at the as-of date (overdue, DPD, balance, term).", SPECS
)
def ledger_state(ctx: FeatureContext) -> dict[str, np.ndarray]:
    # The ledger keeps the schedule as contracted; a closing cancels instalments
    # only from the closing date on.
    led = ctx.ledger
    full = led.schedule
    total = (led.due_cum[full.end] - led.due_cum[full.start]) / led.scale
    outs = {spec.name: ctx.out(spec.name) for spec in SPECS}
    state = {
        name: ctx.state[name].to_numpy()
        for name in ("dpd", "overdue_amount", "paid_ahead", "outstanding_principal")
    }
    state["bucket"] = ctx.state["bucket"].cat.codes.to_numpy()
    state["is_closed"] = ctx.state["is_closed"].to_numpy(bool)
    state["n_paid"] = ctx.state["n_installments_paid"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows, loans in ctx.blocks():
            part = {k: v[rows] for k, v in state.items()}
            _block(ctx, full, total, part, rows, loans, outs)
    return outs


def _block(ctx: FeatureContext, full, total, s: dict, rows: slice, loans: slice, outs) -> None:
    code, day = ctx.code[rows], ctx.day[rows]
    n_inst = full.end[code] - full.start[code]
    has_schedule = n_inst > 0
    closed = s["is_closed"]
    n_due = np.where(has_schedule, full.upto(code, ctx.eff[rows], loans) - full.start[code], 0)
    mean_inst = total[code] / np.where(has_schedule, n_inst, 1)
    overdue = s["overdue_amount"]
    nxt = full.start[code] + n_due
    open_ = has_schedule & (nxt < full.end[code]) & ~closed
    next_day = full.day_at(np.minimum(nxt, len(full) - 1)) if len(full) else nxt
    values = {
        "dpd": s["dpd"],
        "bucket": s["bucket"],
        "overdue_amount": overdue,
        "overdue_to_installment": np.where(mean_inst > 0, overdue / mean_inst, np.nan),
        "n_installments_overdue": np.maximum(n_due - s["n_paid"], 0),
        "paid_ahead": s["paid_ahead"],
        "outstanding_principal": s["outstanding_principal"],
        "installments_remaining": np.where(closed, 0, n_inst - n_due),
        "term_elapsed": n_due / n_inst,
        "loan_age_days": day - ctx.ledger.start_days[code],
        "days_to_next_due": np.where(open_, next_day - day, np.nan),
        "is_closed": closed,
    }
    no_schedule = ~has_schedule
    for name, column in values.items():
        out = outs[name][rows]
        out[:] = column
        if name in _SCHEDULE_ONLY:
            out[no_schedule] = np.nan


# Meaningless without a schedule (statement-only loans): missing.
_SCHEDULE_ONLY = {
    "overdue_to_installment",
    "n_installments_overdue",
    "installments_remaining",
    "term_elapsed",
}
