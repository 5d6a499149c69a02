"""The generated history as the data contract's tables.

Only observable facts go in: contracts, schedules, payments, statements, the
action log and customer attributes. Hidden traits stay in the truth object.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dates import to_datetime
from . import _codes as C
from ._calendar import NEVER, dom_of, due_day, month_of
from ._observe import annuity_payment, remaining_principal
from ._params import Recorder
from ._population import (
    CARD,
    CHANNEL_NAMES,
    EMPLOYMENT,
    INCOME_BANDS,
    PRODUCTS,
    Population,
)

__all__ = ["build_tables"]


def _cat(values: np.ndarray, names) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(values, np.int64), categories=list(names))


def _concat(parts: list, n_fields: int) -> list[np.ndarray]:
    if not parts:
        return [np.zeros(0, np.int64) for _ in range(n_fields)]
    return [np.concatenate([p[i] for p in parts]) for i in range(n_fields)]


def _money(cents: np.ndarray) -> np.ndarray:
    return np.asarray(cents, np.float64) / 100


class _Segments:
    """Every loan of the history: the originals (seg 0) and their restructured successors."""

    def __init__(self, pop: Population, rec: Recorder):
        n = pop.n_loans
        slot, seg, start, princ, term, rate, pmt = _concat(rec.segments, 7)
        card = pop.product == CARD
        orig_rate = pop.annual_rate / 12
        orig_pmt = np.where(
            card, 0, annuity_payment(pop.principal, orig_rate, np.maximum(pop.term, 1))
        )
        self.slot = np.concatenate([np.arange(n), slot]).astype(np.int64)
        self.seg = np.concatenate([np.zeros(n, np.int64), seg]).astype(np.int64)
        self.start = np.concatenate([pop.start_day, start]).astype(np.int64)
        self.princ = np.concatenate([pop.principal, princ]).astype(np.int64)
        self.term = np.concatenate([pop.term, term]).astype(np.int64)
        self.rate = np.concatenate([orig_rate, rate]).astype(np.float64)
        self.pmt = np.concatenate([orig_pmt, pmt]).astype(np.int64)
        self.revolving = np.concatenate([card, np.zeros(slot.size, bool)])
        order = np.lexsort((self.seg, self.slot))
        for name in ("slot", "seg", "start", "princ", "term", "rate", "pmt", "revolving"):
            setattr(self, name, getattr(self, name)[order])
        # Loan ids: L0000001, and L0000001-R1 for its first restructured successor.
        base = pop.loan_ids[self.slot]
        ids = base.copy()
        for i in np.flatnonzero(self.seg > 0):
            ids[i] = f"{base[i]}-R{self.seg[i]}"
        self.ids = ids
        self.key = self.slot * 64 + self.seg  # sorted: searchsorted finds a segment's row
        c_slot, c_seg, c_day = _concat(rec.closures, 3)
        self.closed = np.full(self.slot.size, NEVER, np.int64)
        self.closed[self.find(c_slot, c_seg)] = c_day

    def find(self, slot: np.ndarray, seg: np.ndarray) -> np.ndarray:
        return np.searchsorted(
            self.key, np.asarray(slot, np.int64) * 64 + np.asarray(seg, np.int64)
        )


def _loans(pop: Population, sg: _Segments) -> pd.DataFrame:
    cust = pop.cust[sg.slot]
    prev = sg.find(sg.slot, np.maximum(sg.seg - 1, 0))
    restructured_from = np.where(sg.seg > 0, sg.ids[prev], None)
    term = pd.array(np.where(sg.revolving, 0, sg.term), dtype="Int64")
    term[sg.revolving] = pd.NA
    return pd.DataFrame(
        {
            "loan_id": sg.ids,
            "customer_id": pop.customer_ids[cust],
            "product_type": _cat(sg.revolving.astype(np.int64), ("instalment", "revolving")),
            "start_date": to_datetime(sg.start, missing=NEVER),
            "principal": _money(sg.princ),
            "term_months": term,
            "annual_rate": np.round(sg.rate * 12, 5),
            "product": _cat(pop.product[sg.slot], PRODUCTS),
            "region": _cat(pop.region[cust], pop.region_names),
            "channel": _cat(pop.channel[sg.slot], CHANNEL_NAMES),
            "closed_date": to_datetime(sg.closed, missing=NEVER),
            "application_score": pop.score[sg.slot],
            "restructured_from": pd.array(restructured_from, dtype="string"),
        }
    )


def _installments(sg: _Segments) -> pd.DataFrame:
    inst = np.flatnonzero(~sg.revolving)
    n = sg.term[inst]
    row = np.repeat(inst, n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1  # 1 .. n within each loan
    m0 = month_of(sg.start[inst])
    dom = np.minimum(dom_of(sg.start[inst], m0), 28)
    at = np.repeat(np.arange(inst.size), n)
    due = due_day(m0[at], k, dom[at])
    princ, rate = sg.princ[row], sg.rate[row]
    before = remaining_principal(princ, rate, sg.term[row], k - 1)
    after = remaining_principal(princ, rate, sg.term[row], k)
    part = np.round(before - after).astype(np.int64)
    # The last instalment takes the rounding, so the parts add up to the principal.
    last = k == sg.term[row]
    total = np.bincount(np.repeat(np.arange(inst.size), n), weights=part, minlength=inst.size)
    part[last] += sg.princ[inst] - total.astype(np.int64)
    part = np.clip(part, 0, sg.pmt[row])
    return pd.DataFrame(
        {
            "loan_id": sg.ids[row],
            "installment_no": k.astype(np.int64),
            "due_date": to_datetime(due, missing=NEVER),
            "amount_due": _money(sg.pmt[row]),
            "principal_due": _money(part),
        }
    )


def _merge_by_key(sg: _Segments, slot, seg, day, values: list[np.ndarray]):
    """Rows sorted by (loan, day), with same-day rows of a loan summed."""
    seg_row = sg.find(slot, seg)
    key = seg_row.astype(np.int64) * (1 << 20) + (day - day.min() if day.size else day)
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.size, bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    out = [np.add.reduceat(v[order], starts) if v.size else v for v in values]
    return seg_row[order][starts], day[order][starts], out


def _payments(sg: _Segments, rec: Recorder) -> pd.DataFrame:
    slot, seg, day, cents = _concat(rec.payments, 4)
    seg_row, day, (cents,) = _merge_by_key(
        sg, slot, seg, day.astype(np.int64), [cents.astype(np.int64)]
    )
    return pd.DataFrame(
        {
            "loan_id": sg.ids[seg_row],
            "payment_date": to_datetime(day, missing=NEVER),
            "amount": _money(cents),
        }
    )


def _statements(sg: _Segments, rec: Recorder) -> pd.DataFrame:
    slot, seg, day, bal, limit, min_due, paid, dpd = _concat(rec.statements, 8)
    seg_row = sg.find(slot, seg)
    order = np.lexsort((day, seg_row))
    seg_row, day = seg_row[order], day[order]
    return pd.DataFrame(
        {
            "loan_id": sg.ids[seg_row],
            "statement_date": to_datetime(day, missing=NEVER),
            "balance": _money(bal[order]),
            "credit_limit": _money(limit[order]),
            "min_due": _money(min_due[order]),
            "amount_paid": _money(paid[order]),
            "dpd": dpd[order].astype(np.int64),
        }
    )


def _collections(sg: _Segments, rec: Recorder) -> pd.DataFrame:
    slot, seg, day, action, outcome, p_date, p_amt, cost, prop, holdout = _concat(
        rec.collections, 10
    )
    seg_row = sg.find(slot, seg)
    order = np.lexsort((day, seg_row))
    promised = outcome[order] == C.PROMISE
    return pd.DataFrame(
        {
            "loan_id": sg.ids[seg_row[order]],
            "action_date": to_datetime(day[order], missing=NEVER),
            "action": pd.Categorical.from_codes(
                action[order].astype(np.int64) - 1, categories=list(C.ACTIONS[1:])
            ),
            "outcome": pd.Categorical.from_codes(
                outcome[order].astype(np.int64), categories=list(C.OUTCOMES)
            ),
            "promise_date": to_datetime(np.where(promised, p_date[order], NEVER), missing=NEVER),
            "promise_amount": np.where(promised, _money(p_amt[order]), np.nan),
            "cost": np.round(cost[order].astype(np.float64), 2),
            "propensity": prop[order].astype(np.float64),
            "holdout": holdout[order].astype(bool),
        }
    )


def _customers(pop: Population) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pop.customer_ids,
            "birth_year": pop.birth_year,
            "income_band": _cat(pop.income_band, INCOME_BANDS),
            "employment": _cat(pop.employment, EMPLOYMENT),
            "tenure_months": pop.tenure_months,
        }
    )


def build_tables(pop: Population, rec: Recorder) -> dict[str, pd.DataFrame]:
    """The contract tables of a generated history."""
    sg = _Segments(pop, rec)
    return {
        "loans": _loans(pop, sg),
        "installments": _installments(sg),
        "payments": _payments(sg, rec),
        "statements": _statements(sg, rec),
        "collections": _collections(sg, rec),
        "customers": _customers(pop),
    }
