"""What happened to each instalment, as arrays over the ledger's sorted schedule.

Payments settle instalments oldest first (FIFO). Instalment k is settled on
the first day the loan's cumulative payments reach its cumulative amount due
(less the ledger tolerance); that day never decreases with k. So at any date t
the instalments settled by t are a prefix of the loan's schedule, ending at
the ledger's oldest unpaid instalment ``k*(t)``, and every window aggregate
splits into a settled part, read from cumulative sums of per-instalment
facts, and an unsettled part whose delays ``t - due`` are still growing.

Everything here depends only on the records, not on any as-of date: a fact
about instalment k (its settling day, what was paid by its due date) is used
at date t only when it is known at t (settled by t, or due by t).

Sums are int64 (days, counts, minor units). An int64 cumulative sum may wrap
on a huge portfolio, but the difference of two of its entries is still exact
whenever the true sum fits, so results never depend on other loans.
"""

from __future__ import annotations

import numpy as np

from ..ledger import Ledger
from ._context import NEVER

__all__ = ["Instalments"]


def _cum0(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1, np.int64)
    np.cumsum(values, out=out[1:])
    return out


_LONG_AGO = -NEVER


class Instalments:
    """Per-instalment facts and their cumulative sums (index ``i`` = schedule row).

    Per-row arrays carry one inert extra row at index ``n``.
    """

    def __init__(self, led: Ledger):
        s, pay, pc = led._sched, led._pay, led._pay_cum
        n = len(s)
        self.n = n
        idx = np.arange(n)
        code = s.codes() if n else np.zeros(0, np.int64)
        self.due = s.day_at(idx) if n else np.zeros(0, np.int64)
        self.day0 = s.day0
        amount = led._d_cum[1:] - led._d_cum[:-1]
        due_to_k = led._d_cum[1:] - led._d_cum[s.start[code]]  # cumulative, within the loan
        need = due_to_k - led._tol
        p_first, p_end = pay.start[code], pay.end[code]
        # The payment that brings cumulative payments up to ``need`` settles k.
        j = np.searchsorted(pc, pc[p_first] + need, side="left") - 1
        paid_off = j < p_end
        if len(pay):
            settle = np.where(paid_off, pay.day_at(np.clip(j, 0, len(pay) - 1)), NEVER)
        else:
            settle = np.full(n, NEVER)
        # Within tolerance from the start: nothing to pay, settled before anything else.
        settle = np.where(need <= 0, _LONG_AGO, settle)
        self.settle = settle
        settled_ever = settle < NEVER
        delay = np.where(settled_ever, settle - self.due, 0)
        # Paid by the due date: payments dated on or before it.
        if n and len(pay):
            at_due = pay.upto(code, self.due, slice(0, led.n_loans))
            paid_at_due = pc[at_due] - pc[p_first]
        else:
            paid_at_due = np.zeros(n, np.int64)
        covered = np.clip(paid_at_due - (due_to_k - amount), 0, amount)
        late = delay > 0
        self.dpd_settled = np.maximum(delay, 0).astype(np.int32)
        dpd = self.dpd_settled.astype(np.int64)
        rel_due = self.due - self.day0
        x = idx - s.start[code]  # position within the loan, for trend slopes
        ratio = np.where(amount > 0, np.rint(covered * 1e4 / np.maximum(amount, 1)), 1e4)
        ratio = ratio.astype(np.int64)  # paid by the due date, in basis points
        rolls, cures, self.entry = self._episodes(led, code, late)
        columns = {
            "late0": late,
            "late7": delay > 7,
            "late30": delay > 30,
            "dpd": dpd,
            "early": np.where(settled_ever & (need > 0), np.maximum(-delay, 0), 0),
            "due": amount,  # minor units
            "covered": covered,
            "partial": (covered > 0) & (settle > self.due),
            "amount_dpd": amount * dpd,
            "day": rel_due,
            "amount_day": amount * rel_due,
            "rolls": rolls,
            "cures": cures,
            "x": x,
            "xx": x * x,
            "x_dpd": x * dpd,
            "x_day": x * rel_due,
            "ratio": ratio,
            "x_ratio": x * ratio,
        }
        self.cum = {name: _cum0(np.asarray(v, dtype=np.int64)) for name, v in columns.items()}
        self.amount = amount
        self.covered = covered
        self.last_on_time = _last_where(~late & settled_ever & (need > 0))
        self.last_late = _last_where(late)
        self._table = _sparse_max(self.dpd_settled, s.end - s.start)
        # One inert row past the end, so that "row m" is always a valid index.
        for name, fill in (
            ("due", 0),
            ("settle", NEVER),
            ("dpd_settled", 0),
            ("entry", 0),
            ("amount", 0),
            ("covered", 0),
            ("last_on_time", -1),
            ("last_late", -1),
        ):
            setattr(self, name, np.append(getattr(self, name), fill))

    def _episodes(
        self, led: Ledger, code: np.ndarray, late: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bucket roll-forwards and cures per settled instalment, and DPD on becoming oldest.

        While k is the oldest unpaid instalment the DPD climbs from ``entry``
        (``settle[k-1] - due[k]`` if the previous one was settled late) to
        ``settle[k] - due[k]``; it crosses bucket edge e when entry < e <= end.
        Instalments settled the same day form a group; the loan is cured when
        the group's oldest was late (DPD above 0 that morning) and the next
        instalment is not yet overdue that evening.
        """
        n = self.n
        first = np.ones(n, bool)
        first[1:] = code[1:] != code[:-1]
        prev_settle = np.where(first, _LONG_AGO, np.roll(self.settle, 1))
        entry = np.maximum(prev_settle - self.due, 0)
        end = np.where(self.settle < NEVER, self.settle - self.due, 0)
        self.edges = np.asarray(led.config.bucket_edges, dtype=np.int64)
        rolls = np.zeros(n, np.int64)
        for e in self.edges:
            rolls += (entry < e) & (end >= e)
        settled = self.settle < NEVER
        group_head = first | np.append(True, self.settle[1:] != self.settle[:-1])
        head_idx = np.maximum.accumulate(np.where(group_head, np.arange(n), 0)) if n else first
        group_last = np.append(group_head[1:], True)
        loan_last = np.append(first[1:], True)
        nxt_due = np.where(loan_last, NEVER, np.roll(self.due, -1))
        cures = group_last & settled & late[head_idx] & (nxt_due >= self.settle)
        return rolls, cures, entry

    def range_max(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Max of the settled DPD over rows ``[a, b)`` (0 where empty)."""
        length = b - a
        out = np.zeros(a.size, np.int64)
        ok = length > 0
        if not ok.any():
            return out
        lvl = np.zeros(a.size, np.int64)
        lvl[ok] = np.floor(np.log2(length[ok])).astype(np.int64)
        lvl = np.minimum(lvl, len(self._table) - 1)
        span = np.left_shift(1, lvl)
        lo = np.where(ok, a, 0)
        hi = np.where(ok, b - span, 0)
        for level in np.unique(lvl[ok]):
            m = ok & (lvl == level)
            t = self._table[level]
            out[m] = np.maximum(t[lo[m]], t[hi[m]])
        return out


def _last_where(flag: np.ndarray) -> np.ndarray:
    """For every row, the last row at or before it where ``flag`` holds (-1: none)."""
    idx = np.where(flag, np.arange(flag.size), -1)
    return np.maximum.accumulate(idx) if flag.size else idx


def _sparse_max(values: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Sparse table for range maxima: level j holds max over ``[i, i + 2**j)``.

    Only as many levels as the longest loan needs: queries never leave a loan.
    """
    table = [values]
    longest = int(lengths.max()) if lengths.size else 0
    j = 1
    while (1 << j) <= longest:
        prev, half = table[-1], 1 << (j - 1)
        nxt = prev.copy()
        np.maximum(prev[:-half], prev[half:], out=nxt[:-half])
        table.append(nxt)
        j += 1
    return table
