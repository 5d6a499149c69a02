"""Family ``ledger``: the repayment state at the as-of date, from the ledger."""

from __future__ import annotations

import numpy as np

from ..ledger._engine import _days, _Table
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
    s = ctx.state
    led = ctx.ledger

    def f32(values) -> np.ndarray:
        return np.asarray(values, dtype=np.float32)

    # The schedule as contracted: instalments a later closing cancels are not
    # known to be cancelled before the closing date.
    full = ctx.cached("contract_schedule", lambda: _contract_schedule(ctx))
    n_inst = (full.end - full.start)[ctx.code].astype(np.float64)
    has_schedule = n_inst > 0
    closed = s["is_closed"].to_numpy(bool)
    n_due = np.where(
        has_schedule,
        full.upto(ctx.code, ctx.eff, slice(0, led.n_loans)) - full.start[ctx.code],
        0,
    ).astype(np.float64)
    n_paid = s["n_installments_paid"].to_numpy(np.float64)
    mean_inst = full.total[ctx.code] / np.where(has_schedule, n_inst, 1.0)
    overdue = s["overdue_amount"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_schedule & (mean_inst > 0), overdue / mean_inst, np.nan)
        elapsed = np.where(has_schedule, n_due / n_inst, np.nan)
    nxt = full.start[ctx.code] + n_due.astype(np.int64)
    open_ = has_schedule & (nxt < full.end[ctx.code]) & ~closed
    next_day = full.day_at(np.minimum(nxt, max(len(full) - 1, 0))) if len(full) else nxt
    to_next = np.where(open_, next_day - ctx.day, np.nan)
    remaining = np.where(closed, 0, n_inst - n_due)
    return {
        "dpd": f32(s["dpd"].to_numpy()),
        "bucket": f32(s["bucket"].cat.codes.to_numpy()),
        "overdue_amount": f32(overdue),
        "overdue_to_installment": f32(ratio),
        "n_installments_overdue": f32(
            np.where(has_schedule, np.maximum(n_due - n_paid, 0), np.nan)
        ),
        "paid_ahead": f32(s["paid_ahead"].to_numpy()),
        "outstanding_principal": f32(s["outstanding_principal"].to_numpy()),
        "installments_remaining": f32(np.where(has_schedule, remaining, np.nan)),
        "term_elapsed": f32(elapsed),
        "loan_age_days": f32(ctx.day - led._start[ctx.code]),
        "days_to_next_due": f32(to_next),
        "is_closed": f32(s["is_closed"].to_numpy()),
    }


def _contract_schedule(ctx: FeatureContext) -> _Table:
    """Every scheduled instalment, cancelled or not, sorted by loan and due date."""
    led = ctx.ledger
    inst = ctx.portfolio.installments
    if inst is None:
        code, day, amount = (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    else:
        code = led._codes(inst["loan_id"])
        day = _days(inst["due_date"].to_numpy())
        amount = inst["amount_due"].to_numpy(np.float64)
    table = _Table(code.copy(), day.copy(), led.n_loans)
    table.total = np.bincount(code, weights=amount, minlength=led.n_loans)
    return table
