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


_LONG_AGO = -NEVER
_BLOCK = 1 << 18  # schedule rows prepared at a time: temporaries stay small

# The per-instalment facts kept as cumulative sums, in the order they are built.
_SUMS = (
    "late0", "late7", "late30", "dpd", "early", "covered", "partial",
    "amount_dpd", "day", "amount_day", "rolls", "cures",
    "x", "xx", "x_dpd", "x_day", "ratio", "x_ratio",
)  # fmt: skip


class Instalments:
    """Per-instalment facts and their cumulative sums (index ``i`` = schedule row).

    Per-row arrays carry one inert extra row at index ``n``. They are filled a
    block of whole loans at a time, so the temporaries stay small; the only
    full-size arrays are the results.
    """

    def __init__(self, led: Ledger):
        s = led.schedule
        n = len(s)
        self.n = n
        self.day0 = s.day0
        self.edges = np.asarray(led.config.bucket_edges, dtype=np.int64)
        self.due = np.zeros(n + 1, np.int64)
        self.settle = np.full(n + 1, NEVER, np.int64)
        self.dpd_settled = np.zeros(n + 1, np.int32)
        self.entry = np.zeros(n + 1, np.int64)
        self.amount = np.zeros(n + 1, np.int64)
        self.covered = np.zeros(n + 1, np.int64)
        self.last_on_time = np.full(n + 1, -1, np.int64)
        self.last_late = np.full(n + 1, -1, np.int64)
        self.cum = {name: np.zeros(n + 1, np.int64) for name in _SUMS}
        # Blocks start at loan starts, so no loan straddles two blocks.
        cuts = np.arange(0, n, _BLOCK)
        starts = np.unique(s.start[np.searchsorted(s.end, cuts, side="right")])
        bounds = np.append(starts, n) if n else np.zeros(1, np.int64)
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            self._fill(led, lo, hi)
        for values in self.cum.values():
            np.cumsum(values, out=values)
        self.cum["due"] = led.due_cum  # amounts due: the ledger already sums them
        self.scale = led.scale
        self._table = _sparse_max(self.dpd_settled[:n], s.end - s.start)

    def _fill(self, led: Ledger, lo: int, hi: int) -> None:
        """Facts of schedule rows ``[lo, hi)``, whole loans."""
        s, pay, pc = led.schedule, led.payments, led.paid_cum
        rows = slice(lo, hi)
        idx = np.arange(lo, hi)
        code = s.code_at(rows)
        loans = slice(int(code[0]), int(code[-1]) + 1)
        due = s.day_at(idx)
        amount = led.due_cum[lo + 1 : hi + 1] - led.due_cum[lo:hi]
        due_to_k = led.due_cum[lo + 1 : hi + 1] - led.due_cum[s.start[code]]  # within the loan
        need = due_to_k - led.tolerance_units
        p_first, p_end = pay.start[code], pay.end[code]
        # The payment that brings cumulative payments up to ``need`` settles k.
        j = np.searchsorted(pc, pc[p_first] + need, side="left") - 1
        if len(pay):
            settle = np.where(j < p_end, pay.day_at(np.clip(j, 0, len(pay) - 1)), NEVER)
            paid_at_due = pc[pay.upto(code, due, loans)] - pc[p_first]  # on or before due
        else:
            settle = np.full(hi - lo, NEVER)
            paid_at_due = np.zeros(hi - lo, np.int64)
        # Within tolerance from the start: nothing to pay, settled before anything else.
        settle[need <= 0] = _LONG_AGO
        settled = settle < NEVER
        delay = np.where(settled, settle - due, 0)
        covered = np.clip(paid_at_due - (due_to_k - amount), 0, amount)
        late = delay > 0
        dpd = np.maximum(delay, 0)
        rel_due = due - self.day0
        x = idx - s.start[code]  # position within the loan, for trend slopes
        ratio = np.where(amount > 0, np.rint(covered * 1e4 / np.maximum(amount, 1)), 1e4)
        ratio = ratio.astype(np.int64)  # paid by the due date, in basis points
        self.due[rows], self.settle[rows], self.amount[rows] = due, settle, amount
        self.covered[rows], self.dpd_settled[rows] = covered, dpd
        rolls, cures = self._episodes(code, due, settle, late, rows)
        carry = self.last_on_time[lo - 1] if lo else -1
        self.last_on_time[rows] = _last_where(late | ~settled | (need <= 0), idx, carry, neg=True)
        self.last_late[rows] = _last_where(late, idx, self.last_late[lo - 1] if lo else -1)
        values = {
            "late0": late,
            "late7": delay > 7,
            "late30": delay > 30,
            "dpd": dpd,
            "early": np.where(settled & (need > 0), np.maximum(-delay, 0), 0),
            "covered": covered,
            "partial": (covered > 0) & (settle > due),
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
        for name, v in values.items():
            self.cum[name][lo + 1 : hi + 1] = v

    def _episodes(self, code, due, settle, late, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Bucket roll-forwards and cures per settled instalment; sets ``entry``.

        While k is the oldest unpaid instalment the DPD climbs from ``entry``
        (``settle[k-1] - due[k]`` if the previous one was settled late) to
        ``settle[k] - due[k]``; it crosses bucket edge e when entry < e <= end.
        Instalments settled the same day form a group; the loan is cured when
        the group's oldest was late (DPD above 0 that morning) and the next
        instalment is not yet overdue that evening.
        """
        n = code.size
        first = np.ones(n, bool)
        first[1:] = code[1:] != code[:-1]
        prev_settle = np.where(first, _LONG_AGO, np.roll(settle, 1))
        entry = np.maximum(prev_settle - due, 0)
        self.entry[rows] = entry
        end = np.where(settle < NEVER, settle - due, 0)
        rolls = np.zeros(n, np.int64)
        for e in self.edges:
            rolls += (entry < e) & (end >= e)
        group_head = first | np.append(True, settle[1:] != settle[:-1])
        head_idx = np.maximum.accumulate(np.where(group_head, np.arange(n), 0))
        group_last = np.append(group_head[1:], True)
        loan_last = np.append(first[1:], True)
        nxt_due = np.where(loan_last, NEVER, np.roll(due, -1))
        cures = group_last & (settle < NEVER) & late[head_idx] & (nxt_due >= settle)
        return rolls, cures

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


def _last_where(flag: np.ndarray, idx: np.ndarray, carry: int, neg: bool = False) -> np.ndarray:
    """For every row, the last row at or before it where ``flag`` holds (``not flag``
    with ``neg``); ``carry`` is the answer just before the first row (-1: none)."""
    hit = ~flag if neg else flag
    last = np.maximum.accumulate(np.where(hit, idx, -1))
    return np.maximum(last, carry)


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
