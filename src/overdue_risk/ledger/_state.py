"""The state of a block of (loan, day) queries: FIFO position, DPD, amounts.

FIFO allocation needs no loop. With ``C_k`` the cumulative amount due up to
instalment ``k`` and ``P`` the amount paid to date, instalment ``k`` is still
(partly) unpaid exactly when ``C_k > P + tolerance``; since ``C_k`` never
decreases, the oldest unpaid instalment is a binary search. Offsetting each
loan's cumulative sums by the sum over all earlier loans makes one global,
sorted array serve every loan at once. Money is held in integer minor units
so that "paid exactly in full" is exact.

:class:`BlockState` holds these computations; :class:`~overdue_risk.ledger.Ledger`
inherits them and supplies the sorted tables they read.
"""

from __future__ import annotations

import numpy as np

from .._dates import NAT
from ._arrays import CHUNK, ranges

__all__ = ["BlockState"]


class BlockState:
    """The per-block state computations of the ledger (a mixin of :class:`Ledger`).

    Every method takes the loan codes ``qcode`` and days ``qday`` (int days
    since 1970) of a block of queries grouped by loan, and reads the sorted
    tables the ledger built: ``_sched``, ``_pay``, ``_stmt``, ``_tagged`` and
    their cumulative sums in minor units.
    """

    def _schedule_state(
        self, qcode: np.ndarray, qday: np.ndarray, loans: slice, full: bool = True
    ) -> dict[str, np.ndarray]:
        s, pay, scale = self._sched, self._pay, self._scale
        ip = pay.upto(qcode, qday, loans)
        p_first = pay.start[qcode]
        paid = self._pay_cum[ip] - self._pay_cum[p_first]
        d_first, d_end = s.start[qcode], self._schedule_end(qcode, qday)
        base = self._d_cum[d_first]
        if not full:
            k = self.fifo_position(base + paid + self._tol, loans)
            return {"dpd": self._dpd_from(k, d_end, qday), "_paid_c": paid}
        last_pay = np.where(ip > p_first, pay.day_at(np.maximum(ip - 1, 0)) if len(pay) else 0, NAT)

        idue = s.upto(qcode, qday, loans)
        n_inst = d_end - d_first
        has_sched = s.end[qcode] > d_first
        due = self._d_cum[idue] - base
        n_sched = len(s)
        last_row = max(n_sched - 1, 0)
        next_due = np.where(
            idue < d_end, s.day_at(np.minimum(idue, last_row)) if n_sched else 0, NAT
        )

        k = self.fifo_position(base + paid + self._tol, loans)
        dpd = self._dpd_from(k, d_end, qday)

        # Principal repaid: FIFO position of the amount paid, without tolerance.
        k0 = k if self._tol == 0 else self.fifo_position(base + paid, loans)
        inside = k0 < d_end
        if n_sched:
            at = np.minimum(k0, last_row)  # the instalment being paid
            after = at + 1
            part_c = np.where(inside, base + paid - self._d_cum[at], 0)
            inst_c = self._d_cum[after] - self._d_cum[at]
            p_at, p_first_inst = self._p_cum[at], self._p_cum[d_first]
            inst_p = self._p_cum[after] - p_at
            frac = np.divide(part_c, inst_c, out=np.zeros(qcode.size), where=inside & (inst_c > 0))
            # Everything due paid: the schedule's whole principal (summed loan by loan).
            repaid = np.where(inside, p_at - p_first_inst + frac * inst_p, self._pr_total[qcode])
            # A loan closed with everything due paid was settled: nothing outstanding.
            settled = ~inside & (d_end < s.end[qcode])
            repaid = np.where(settled, self._principal[qcode] * scale, repaid)
        else:
            repaid = np.zeros(qcode.size)
        paid_amount = paid / scale
        # Outstanding principal in minor units, to the cent: a loan repaid in full owes 0.
        repaid_c = np.where(has_sched, repaid, paid)
        outstanding = np.maximum(np.rint(self._principal[qcode] * scale - repaid_c), 0.0) / scale
        short = due - paid
        return {
            "amount_due_to_date": due / scale,
            "amount_paid_to_date": paid_amount,
            "overdue_amount": np.maximum(short, 0) / scale,
            "paid_ahead": np.maximum(-short, 0) / scale,
            "dpd": dpd,
            "outstanding_principal": outstanding,
            "next_due_date": next_due,
            "last_payment_date": last_pay,
            "n_installments": n_inst,
            "n_installments_due": idue - d_first,
            "n_installments_paid": np.minimum(k0, d_end) - d_first,
            "source": has_sched.astype(np.int8),
            "_paid_c": paid,  # in minor units, for lender-allocated payments
            "_due_c": due,
        }

    def _schedule_end(self, qcode: np.ndarray, qday: np.ndarray) -> np.ndarray:
        """One past each query's last instalment: cancelled ones drop out once closed."""
        closed = qday >= self._closed[qcode]
        return np.where(closed, self._cut_end[qcode], self._sched.end[qcode])

    def fifo_position(self, amount: np.ndarray, loans: slice) -> np.ndarray:
        """Global index of the first schedule row whose cumulative due exceeds ``amount``.

        Only the rows of ``loans`` are searched: a position past a loan's last
        row means "all paid" whichever it is.
        """
        lo, hi = self._sched.start[loans.start], self._sched.end[loans.stop - 1]
        return np.searchsorted(self._d_cum[lo + 1 : hi + 1], amount, side="right") + lo

    def _dpd_from(self, k: np.ndarray, d_end: np.ndarray, qday: np.ndarray) -> np.ndarray:
        """DPD given the global index of each query's oldest unpaid instalment."""
        s = self._sched
        open_ = k < d_end
        if not len(s):
            return np.zeros(qday.size, np.int64)
        oldest = s.day_at(np.minimum(k, len(s) - 1))
        return np.where(open_ & (oldest <= qday), qday - oldest, 0)

    def _apply_tagged(
        self, qcode: np.ndarray, qday: np.ndarray, cols: dict[str, np.ndarray], full: bool = True
    ) -> None:
        """Redo the oldest-unpaid search for loans with lender-allocated payments.

        Instalment k is open when ``C_k + A_k > P + tolerance``, with ``A_k`` the
        allocated amounts applied to instalments after k; that sum never
        decreases in k, so the instalments settled are the first ones, and
        ``C_k + A_k - P`` at the last instalment due is the amount overdue.
        Each query is expanded over its loan's instalments (a bounded number at
        a time), so queries at many different days cost no more than at one.
        """
        tg, s = self._tagged, self._sched
        rows = np.flatnonzero(tg["is_tagged"][qcode])
        if not rows.size:
            return
        n_inst = s.end[qcode[rows]] - s.start[qcode[rows]]
        cum_n = np.cumsum(n_inst)
        limit = 16 * CHUNK  # expanded (query, instalment) pairs at a time
        cuts = np.searchsorted(cum_n, np.arange(limit, int(cum_n[-1]), limit), side="right")
        bounds = np.unique(np.concatenate([[0], cuts, [rows.size]]))
        pays, t_cum, sub_pos = tg["pays"], tg["cum"], tg["sub_pos"]
        everything = slice(0, len(pays.end))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            r, n = rows[a:b], n_inst[a:b]
            c, t = qcode[r], qday[r]
            first = s.start[c]  # the loan's first schedule row
            g0 = np.cumsum(n) - n  # each query's first expanded pair
            q = np.repeat(np.arange(r.size), n)
            i = ranges(np.searchsorted(sub_pos, first), n)  # index into the tagged loans' rows
            j = pays.upto(i, t[q], everything)
            applied = np.minimum(t_cum[j] - t_cum[pays.start[i]], tg["sub_cents"][i])
            # Once closed, money allocated to a cancelled instalment goes FIFO.
            d_end = self._schedule_end(c, t)
            applied[sub_pos[i] >= d_end[q]] = 0
            cum_applied = np.cumsum(applied)
            after = cum_applied[g0 + n - 1][q] - cum_applied  # applied to later instalments
            gm = self._d_cum[sub_pos[i] + 1] + after
            base = self._d_cum[first]
            paid_c = cols["_paid_c"][r]
            settled = np.bincount(q, weights=gm <= (base + paid_c + self._tol)[q], minlength=r.size)
            settled = settled.astype(np.int64)
            k = np.where(settled < n, first + settled, len(s))
            cols["dpd"][r] = self._dpd_from(k, d_end, t)
            if not full:
                continue
            # Overdue is what is unpaid on the instalments due so far: a payment the
            # lender allocated to a later instalment does not settle an earlier one.
            n_due = cols["n_installments_due"][r].astype(np.int64)
            unpaid = gm[g0 + np.maximum(n_due - 1, 0)] - base - paid_c
            overdue = np.where(n_due > 0, np.maximum(unpaid, 0), 0)
            cols["overdue_amount"][r] = overdue / self._scale
            cols["paid_ahead"][r] = (paid_c - (cols["_due_c"][r] - overdue)) / self._scale

    def _apply_statements(
        self,
        qcode: np.ndarray,
        qday: np.ndarray,
        cols: dict[str, np.ndarray],
        loans: slice,
        full: bool = True,
    ) -> None:
        t = self._stmt
        i = t.upto(qcode, qday, loans)
        has = i > t.start[qcode]
        rows = np.flatnonzero(has)
        if not rows.size:
            return
        j = i[rows] - 1
        c = t.cols
        day = qday[rows]
        t_day = t.day_at(j)
        rep = c["dpd"][j]
        from_report = ~np.isnan(rep)
        aged = np.where(rep > 0, rep + (day - t_day), 0)
        missed = c["missed"][j]
        run = t.day_at(np.minimum(c["run_start"][j], len(t) - 1))
        derived = np.where(missed, day - run, 0)
        dpd = np.where(from_report, aged, np.where(self._stmt_has_min_due, derived, 0))
        cols["dpd"][rows] = dpd.astype(np.int64)
        if not full:
            return
        first = t.start[qcode[rows]]
        due = (c["due_cum"][j + 1] - c["due_cum"][first]) / self._scale
        paid = (c["paid_cum"][j + 1] - c["paid_cum"][first]) / self._scale
        scale = self._scale
        min_c = np.rint(np.nan_to_num(c["min_due"][j]) * scale)
        shortfall = np.maximum(min_c - np.rint(np.nan_to_num(c["paid"][j]) * scale), 0.0) / scale
        overdue = (
            np.where(missed, shortfall, 0.0)
            if self._stmt_has_min_due
            else np.full(rows.size, np.nan)
        )
        lp = c["last_paid"][j]
        stmt_paid_day = np.where(lp >= first, t.day_at(np.maximum(lp, 0)), NAT)
        cols["amount_due_to_date"][rows] = due
        cols["amount_paid_to_date"][rows] = paid
        cols["overdue_amount"][rows] = overdue
        cols["paid_ahead"][rows] = np.nan
        cols["outstanding_principal"][rows] = (
            np.maximum(np.rint(c["balance"][j] * scale), 0.0) / scale
        )
        cols["last_payment_date"][rows] = np.maximum(cols["last_payment_date"][rows], stmt_paid_day)
        cols["source"][rows] = 2
