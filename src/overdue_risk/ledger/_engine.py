"""The repayment ledger: overdue amount, DPD and bucket at any as-of dates.

Everything is computed on sorted arrays. Records are sorted once per table by
an int64 key ``(loan code, day, instalment no)``; every (loan, as-of date)
query is then a handful of ``searchsorted`` calls into those arrays, so many
as-of dates cost little more than one.

FIFO allocation needs no loop. With ``C_k`` the cumulative amount due up to
instalment ``k`` and ``P`` the amount paid to date, instalment ``k`` is still
(partly) unpaid exactly when ``C_k > P + tolerance``; since ``C_k`` never
decreases, the oldest unpaid instalment is a binary search. Offsetting each
loan's cumulative sums by the sum over all earlier loans makes one global,
sorted array serve every loan at once. Money is held in integer minor units
so that "paid exactly in full" is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..contract import Portfolio, validate
from ..exceptions import OverdueRiskError
from ._config import LedgerConfig

__all__ = ["Ledger", "LedgerSnapshot", "compute_ledger", "parse_as_of"]

_OFF = 1 << 17  # days since 1970 plus this are positive for every allowed date
_NO_BITS = 16
_SHIFT = 18 + _NO_BITS  # loan code sits above 18 bits of day and 16 of instalment no
_MAX_CODE = (1 << (63 - _SHIFT)) - 1
_NAT = np.iinfo(np.int64).min

AsOf = str | date | datetime | pd.Timestamp | np.datetime64 | Iterable


def parse_as_of(as_of: AsOf) -> np.ndarray:
    """Sorted unique as-of dates as int64 days since 1970.

    Accepts one date or many (strings in ISO 8601, dates, Timestamps).
    """
    values = [as_of] if isinstance(as_of, str | date | datetime | np.datetime64) else list(as_of)
    if not values:
        raise OverdueRiskError("as_of must name at least one date.")
    try:
        parsed = pd.to_datetime(pd.Series(values), format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise OverdueRiskError(f"as_of must be dates in ISO 8601 (YYYY-MM-DD); {exc}") from None
    if parsed.isna().any():
        raise OverdueRiskError("as_of must not contain missing dates.")
    return np.unique(_days(parsed.to_numpy()))


def _days(values: np.ndarray) -> np.ndarray:
    """datetime64 -> int64 days since 1970 (NaT -> _NAT)."""
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _to_datetime(days: np.ndarray) -> np.ndarray:
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days == _NAT] = np.datetime64("NaT")
    return out


def _key(code: np.ndarray, day: np.ndarray, no: np.ndarray | None = None) -> np.ndarray:
    key = (code.astype(np.int64) << _SHIFT) | ((day + _OFF) << _NO_BITS)
    if no is not None:
        key |= np.minimum(no, (1 << _NO_BITS) - 1).astype(np.int64)
    return key


def _sort(key: np.ndarray) -> np.ndarray | None:
    """A stable order for ``key``, or None when it is sorted already."""
    if key.size < 2 or bool(np.all(key[1:] >= key[:-1])):
        return None
    return np.argsort(key, kind="stable")


def _segments(code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(code, minlength=n)
    end = np.cumsum(counts)
    return end - counts, end


class _Table:
    """One event table sorted by (loan, day[, no]) with its per-loan segments."""

    def __init__(
        self,
        code: np.ndarray,
        day: np.ndarray,
        n_loans: int,
        no: np.ndarray | None = None,
        **columns: np.ndarray,
    ):
        key = _key(code, day, no)
        order = _sort(key)
        take = (lambda a: a) if order is None else (lambda a: a[order])
        self.key = take(key)
        self.code = take(code)
        self.day = take(day)
        self.cols = {k: take(v) for k, v in columns.items()}
        self.start, self.end = _segments(self.code, n_loans)

    def __len__(self) -> int:
        return self.key.size

    def upto(self, qcode: np.ndarray, qday: np.ndarray) -> np.ndarray:
        """Index one past the last record of each query's loan dated <= its day."""
        return np.searchsorted(self.key, _key(qcode, qday + 1), side="left")


def _cum0(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.size + 1, dtype=values.dtype)
    out[0] = 0
    np.cumsum(values, out=out[1:])
    return out


class Ledger:
    """Repayment state of every loan at any as-of dates.

    The constructor sorts the portfolio's schedule, payments and statements
    once; :meth:`at` then answers any set of as-of dates.

    Payments go to the oldest unpaid instalment first (FIFO). A payment that
    carries ``installment_no`` is applied to that instalment, and what exceeds
    it joins the FIFO pool. A missed instalment keeps accruing DPD until paid.
    Overpayment and prepayment show as ``paid_ahead``. Instalments due after a
    loan's ``closed_date`` are cancelled. Loans without a schedule use their
    statements: the reported ``dpd`` (aged by the days since the statement
    while delinquent) or, without it, ``amount_paid`` against ``min_due``.

    Parameters
    ----------
    portfolio : Portfolio
        Validated on entry if it is not yet.
    config : LedgerConfig, optional
        Tolerance, bucket edges and money precision.

    Examples
    --------
    >>> import pandas as pd
    >>> from overdue_risk import Portfolio, Ledger
    >>> loans = pd.DataFrame({"loan_id": [1], "customer_id": [7],
    ...     "product_type": ["instalment"], "start_date": ["2024-01-01"],
    ...     "principal": [300.0]})
    >>> schedule = pd.DataFrame({"loan_id": [1, 1, 1], "installment_no": [1, 2, 3],
    ...     "due_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
    ...     "amount_due": [105.0, 105.0, 105.0]})
    >>> payments = pd.DataFrame({"loan_id": [1], "payment_date": ["2024-02-01"],
    ...     "amount": [50.0]})
    >>> state = Ledger(Portfolio(loans=loans, installments=schedule,
    ...     payments=payments)).at("2024-03-10").table()
    >>> state[["overdue_amount", "dpd"]].to_numpy().tolist()
    [[160.0, 38.0]]
    """

    def __init__(self, portfolio: Portfolio, config: LedgerConfig | None = None):
        if not isinstance(portfolio, Portfolio):
            raise OverdueRiskError(
                f"portfolio must be a Portfolio; got {type(portfolio).__name__}."
            )
        if config is not None and not isinstance(config, LedgerConfig):
            raise OverdueRiskError(f"config must be a LedgerConfig; got {type(config).__name__}.")
        self.config = config or LedgerConfig()
        p = validate(portfolio)
        self._scale = 10**self.config.decimals
        self._tol = round(self.config.tolerance * self._scale)
        loans = p.loans
        n = len(loans)
        if n > _MAX_CODE:
            raise OverdueRiskError(f"At most {_MAX_CODE:,} loans fit one ledger; got {n:,}.")
        self.n_loans = n
        self._loan_ids = loans["loan_id"].to_numpy()
        self._index = pd.Index(loans["loan_id"])
        self._start = _days(loans["start_date"].to_numpy())
        closed = (
            _days(loans["closed_date"].to_numpy()) if "closed_date" in loans else np.full(n, _NAT)
        )
        self._closed = np.where(closed == _NAT, np.iinfo(np.int64).max, closed)
        self._principal = loans["principal"].to_numpy(dtype=np.float64)
        self._build_schedule(p.installments)
        self._build_payments(p.payments)
        self._build_statements(p.statements)

    # -- preparation ---------------------------------------------------------

    def _codes(self, ids: pd.Series) -> np.ndarray:
        return self._index.get_indexer(ids).astype(np.int64)

    def _cents(self, values: pd.Series) -> np.ndarray:
        return np.rint(values.to_numpy(dtype=np.float64) * self._scale).astype(np.int64)

    def _build_schedule(self, inst: pd.DataFrame | None) -> None:
        n = self.n_loans
        if inst is None:
            inst = pd.DataFrame(
                {
                    "loan_id": self._loan_ids[:0],
                    "installment_no": [],
                    "due_date": np.array([], "datetime64[ns]"),
                    "amount_due": [],
                }
            )
        code = self._codes(inst["loan_id"])
        day = _days(inst["due_date"].to_numpy())
        live = day <= self._closed[code]  # instalments after closing are cancelled
        no = inst["installment_no"].to_numpy(dtype=np.int64)
        cents = self._cents(inst["amount_due"])
        cols = {"cents": cents, "inst_no": no}
        if "principal_due" in inst:
            cols["principal"] = inst["principal_due"].to_numpy(dtype=np.float64)
        if not live.all():
            code, day, no = code[live], day[live], no[live]
            cols = {k: v[live] for k, v in cols.items()}
        s = _Table(code, day, n, no, **cols)
        self._sched = s
        self._d_cum = _cum0(s.cols["cents"])
        total = self._d_cum[s.end] - self._d_cum[s.start]
        if "principal" in s.cols:
            pr = s.cols["principal"] * self._scale
        else:  # principal spread over the schedule in proportion to the amounts due
            share = np.divide(
                self._principal * self._scale, total, out=np.zeros(n), where=total > 0
            )
            pr = s.cols["cents"] * share[s.code]
        self._p_cum = _cum0(pr)

    def _build_payments(self, pay: pd.DataFrame | None) -> None:
        n = self.n_loans
        if pay is None:
            pay = pd.DataFrame(
                {
                    "loan_id": self._loan_ids[:0],
                    "payment_date": np.array([], "datetime64[ns]"),
                    "amount": [],
                }
            )
        code = self._codes(pay["loan_id"])
        day = _days(pay["payment_date"].to_numpy())
        cents = self._cents(pay["amount"])
        self._pay = _Table(code, day, n, cents=cents)
        self._pay_cum = _cum0(self._pay.cols["cents"])
        self._tagged = None
        if "installment_no" in pay and pay["installment_no"].notna().any():
            self._build_tagged(pay, code, day, cents)

    def _build_tagged(
        self, pay: pd.DataFrame, code: np.ndarray, day: np.ndarray, cents: np.ndarray
    ) -> None:
        """Index lender-allocated payments against the schedule rows they name."""
        s = self._sched
        no = pay["installment_no"].to_numpy(dtype=np.float64)
        tag = ~np.isnan(no)
        code, day, cents = code[tag], day[tag], cents[tag]
        no = no[tag].astype(np.int64)
        sched_key = (s.code << 20) | s.cols["inst_no"]
        order = np.argsort(sched_key, kind="stable")
        want = (code << 20) | no
        hit = np.searchsorted(sched_key[order], want)
        hit = np.minimum(hit, max(len(s) - 1, 0))
        found = sched_key[order][hit] == want if len(s) else np.zeros(code.size, bool)
        # A payment naming a cancelled instalment falls back to FIFO.
        code, day, cents, pos = code[found], day[found], cents[found], order[hit[found]]
        if not code.size:
            return
        loans = np.unique(code)
        in_loans = np.isin(s.code, loans)
        sub_pos = np.flatnonzero(in_loans)
        self._tagged = {
            "loans": loans,
            "sub_pos": sub_pos,
            "sub_code": s.code[sub_pos],
            "sub_cents": s.cols["cents"][sub_pos],
            "idx": np.searchsorted(sub_pos, pos),
            "day": day,
            "cents": cents,
        }

    def _build_statements(self, st: pd.DataFrame | None) -> None:
        n = self.n_loans
        has_schedule = (self._sched.end - self._sched.start) > 0
        if st is None or not len(st):
            self._stmt = None
            return
        code = self._codes(st["loan_id"])
        use = ~has_schedule[code]  # a schedule, where present, wins over statements
        st = st.loc[use]
        code = code[use]
        day = _days(st["statement_date"].to_numpy())

        def col(name: str) -> np.ndarray:
            if name in st:
                return st[name].to_numpy(dtype=np.float64)
            return np.full(len(st), np.nan)

        t = _Table(
            code,
            day,
            n,
            balance=col("balance"),
            dpd=col("dpd"),
            min_due=col("min_due"),
            paid=col("amount_paid"),
        )
        min_due = t.cols["min_due"]
        paid = np.nan_to_num(t.cols["paid"], nan=0.0)
        missed = np.rint(paid * self._scale) < np.rint(min_due * self._scale) - self._tol
        idx = np.arange(len(t))
        first = np.zeros(len(t), bool)
        first[t.start[t.end > t.start]] = True
        # Start of the current run of missed statements, reset at each loan.
        marker = np.where(~missed, idx, np.where(first, idx - 1, -1))
        t.cols["run_start"] = np.maximum.accumulate(marker) + 1 if len(t) else idx
        t.cols["missed"] = missed
        t.cols["due_cum"] = _cum0(np.nan_to_num(min_due, nan=0.0))
        t.cols["paid_cum"] = _cum0(paid)
        # Last statement with a payment; a value from an earlier loan is discarded later.
        t.cols["last_paid"] = np.maximum.accumulate(np.where(paid > 0, idx, -1)) if len(t) else idx
        self._stmt = t
        self._stmt_has_min_due = "min_due" in st

    # -- queries -------------------------------------------------------------

    def at(self, as_of: AsOf) -> LedgerSnapshot:
        """The ledger at one or many as-of dates.

        Parameters
        ----------
        as_of : date-like or iterable of date-likes
            Records dated on or before each date count; later ones are ignored.

        Returns
        -------
        LedgerSnapshot
            One row per (loan, as-of date) for loans started by that date.
        """
        days = parse_as_of(as_of)
        n, t_count = self.n_loans, days.size
        qcode = np.repeat(np.arange(n, dtype=np.int64), t_count)
        qday = np.tile(days, n)
        started = qday >= self._start[qcode]
        qcode, qday = qcode[started], qday[started]
        cols = self._schedule_state(qcode, qday)
        if self._tagged is not None:
            self._apply_tagged(qcode, qday, cols)
        if self._stmt is not None:
            self._apply_statements(qcode, qday, cols)
        return LedgerSnapshot(self._frame(qcode, qday, cols), self.config)

    def _schedule_state(self, qcode: np.ndarray, qday: np.ndarray) -> dict[str, np.ndarray]:
        s, pay, scale = self._sched, self._pay, self._scale
        ip = pay.upto(qcode, qday)
        p_first = pay.start[qcode]
        paid = self._pay_cum[ip] - self._pay_cum[p_first]
        n_pay = ip - p_first
        last_pay = np.where(n_pay > 0, pay.day[np.maximum(ip - 1, 0)] if len(pay) else 0, _NAT)

        idue = s.upto(qcode, qday)
        d_first, d_end = s.start[qcode], s.end[qcode]
        base = self._d_cum[d_first]
        due = self._d_cum[idue] - base
        n_sched = len(s)
        safe = np.minimum(idue, max(n_sched - 1, 0))
        next_due = np.where(idue < d_end, s.day[safe] if n_sched else 0, _NAT)

        k = np.searchsorted(self._d_cum[1:], base + paid + self._tol, side="right")
        dpd = self._dpd_from(k, d_end, qday)

        # Principal repaid: FIFO position of the amount paid, without tolerance.
        k0 = np.searchsorted(self._d_cum[1:], base + paid, side="right")
        inside = k0 < d_end
        k0s = np.minimum(k0, max(n_sched - 1, 0))
        if n_sched:
            part_c = np.where(inside, base + paid - self._d_cum[k0s], 0)
            inst_c = s.cols["cents"][k0s]
            inst_p = self._p_cum[k0s + 1] - self._p_cum[k0s]
            frac = np.divide(part_c, inst_c, out=np.zeros(qcode.size), where=inside & (inst_c > 0))
            repaid = np.where(
                inside,
                self._p_cum[k0s] - self._p_cum[d_first] + frac * inst_p,
                self._p_cum[d_end] - self._p_cum[d_first],
            )
        else:
            repaid = np.zeros(qcode.size)
        principal = self._principal[qcode]
        has_sched = d_end > d_first
        outstanding = np.where(
            has_sched,
            np.maximum(principal - repaid / scale, 0.0),
            np.maximum(principal - paid / scale, 0.0),
        )
        return {
            "amount_due_to_date": due / scale,
            "amount_paid_to_date": paid / scale,
            "overdue_amount": np.maximum(due - paid, 0) / scale,
            "paid_ahead": np.maximum(paid - due, 0) / scale,
            "dpd": dpd,
            "outstanding_principal": outstanding,
            "next_due_date": next_due,
            "last_payment_date": last_pay,
            "n_installments": d_end - d_first,
            "n_installments_due": idue - d_first,
            "n_installments_paid": np.minimum(k0, d_end) - d_first,
            "source": np.where(has_sched, 1, 0).astype(np.int8),
        }

    def _dpd_from(self, k: np.ndarray, d_end: np.ndarray, qday: np.ndarray) -> np.ndarray:
        """DPD given the global index of each query's oldest unpaid instalment."""
        s = self._sched
        open_ = k < d_end
        if not len(s):
            return np.zeros(qday.size, np.int64)
        oldest = s.day[np.minimum(k, len(s) - 1)]
        return np.where(open_ & (oldest <= qday), qday - oldest, 0)

    def _apply_tagged(
        self, qcode: np.ndarray, qday: np.ndarray, cols: dict[str, np.ndarray]
    ) -> None:
        """Redo the oldest-unpaid search for loans with lender-allocated payments.

        Instalment k is open when ``C_k + A_k > P + tolerance``, with ``A_k`` the
        allocated amounts applied to instalments after k; that sum never
        decreases in k, so a binary search still finds the oldest open one.
        """
        tg, s = self._tagged, self._sched
        rows = np.flatnonzero(np.isin(qcode, tg["loans"]))
        if not rows.size:
            return
        sub_code, sub_cents = tg["sub_code"], tg["sub_cents"]
        _, sub_end = _segments(sub_code, self.n_loans)
        paid_c = np.rint(cols["amount_paid_to_date"][rows] * self._scale).astype(np.int64)
        base = self._d_cum[s.start[qcode[rows]]]
        for t in np.unique(qday[rows]):
            at_t = qday[rows] == t
            upto = tg["day"] <= t
            tagged = np.bincount(
                tg["idx"][upto], weights=tg["cents"][upto], minlength=sub_code.size
            ).astype(np.int64)
            applied = np.minimum(tagged, sub_cents)
            cum_applied = _cum0(applied)
            after = cum_applied[sub_end[sub_code]] - cum_applied[1:]
            gm = self._d_cum[tg["sub_pos"] + 1] + after
            r = rows[at_t]
            ks = np.searchsorted(gm, base[at_t] + paid_c[at_t] + self._tol, side="right")
            in_loan = (ks < sub_code.size) & (
                sub_code[np.minimum(ks, sub_code.size - 1)] == qcode[r]
            )
            k = np.where(in_loan, tg["sub_pos"][np.minimum(ks, sub_code.size - 1)], len(s))
            cols["dpd"][r] = self._dpd_from(k, s.end[qcode[r]], qday[r])

    def _apply_statements(
        self, qcode: np.ndarray, qday: np.ndarray, cols: dict[str, np.ndarray]
    ) -> None:
        t = self._stmt
        i = t.upto(qcode, qday)
        has = i > t.start[qcode]
        rows = np.flatnonzero(has)
        if not rows.size:
            return
        j = i[rows] - 1
        c = t.cols
        day = qday[rows]
        rep = c["dpd"][j]
        from_report = ~np.isnan(rep)
        aged = np.where(rep > 0, rep + (day - t.day[j]), 0)
        missed = c["missed"][j]
        run = t.day[np.minimum(c["run_start"][j], len(t) - 1)]
        derived = np.where(missed, day - run, 0)
        dpd = np.where(from_report, aged, np.where(self._stmt_has_min_due, derived, 0))
        first = t.start[qcode[rows]]
        due = c["due_cum"][j + 1] - c["due_cum"][first]
        paid = c["paid_cum"][j + 1] - c["paid_cum"][first]
        shortfall = np.maximum(np.nan_to_num(c["min_due"][j]) - np.nan_to_num(c["paid"][j]), 0.0)
        overdue = (
            np.where(missed, shortfall, 0.0)
            if self._stmt_has_min_due
            else np.full(rows.size, np.nan)
        )
        lp = c["last_paid"][j]
        stmt_paid_day = np.where(lp >= first, t.day[np.maximum(lp, 0)], _NAT)
        cols["dpd"][rows] = dpd.astype(np.int64)
        cols["amount_due_to_date"][rows] = due
        cols["amount_paid_to_date"][rows] = paid
        cols["overdue_amount"][rows] = overdue
        cols["paid_ahead"][rows] = np.nan
        cols["outstanding_principal"][rows] = np.maximum(c["balance"][j], 0.0)
        cols["last_payment_date"][rows] = np.maximum(cols["last_payment_date"][rows], stmt_paid_day)
        cols["source"][rows] = 2

    def _frame(
        self, qcode: np.ndarray, qday: np.ndarray, cols: dict[str, np.ndarray]
    ) -> pd.DataFrame:
        edges = np.asarray(self.config.bucket_edges)
        dpd = cols["dpd"].astype(np.int64)
        bucket = pd.Categorical.from_codes(
            np.searchsorted(edges, dpd, side="right"),
            categories=list(self.config.bucket_labels),
            ordered=True,
        )
        last = cols["last_payment_date"]
        since = np.where(last == _NAT, np.nan, (qday - last).astype(np.float64))
        index = pd.MultiIndex.from_arrays(
            [self._loan_ids[qcode], _to_datetime(qday)], names=["loan_id", "as_of"]
        )
        data = {
            "amount_due_to_date": cols["amount_due_to_date"],
            "amount_paid_to_date": cols["amount_paid_to_date"],
            "overdue_amount": cols["overdue_amount"],
            "paid_ahead": cols["paid_ahead"],
            "dpd": dpd,
            "bucket": bucket,
            "outstanding_principal": cols["outstanding_principal"],
            "next_due_date": _to_datetime(cols["next_due_date"]),
            "last_payment_date": _to_datetime(last),
            "days_since_last_payment": since,
            "n_installments": cols["n_installments"],
            "n_installments_due": cols["n_installments_due"],
            "n_installments_paid": cols["n_installments_paid"],
            "is_closed": qday >= self._closed[qcode],
            "source": pd.Categorical.from_codes(
                cols["source"], categories=["none", "schedule", "statements"]
            ),
        }
        return pd.DataFrame(data, index=index)


class LedgerSnapshot:
    """The ledger at one or more as-of dates.

    Attributes
    ----------
    frame : DataFrame
        Indexed by (loan_id, as_of); see :meth:`table`.
    config : LedgerConfig
    """

    def __init__(self, frame: pd.DataFrame, config: LedgerConfig):
        self.frame = frame
        self.config = config

    def table(self) -> pd.DataFrame:
        """One row per (loan, as-of date); columns are documented in ``docs/ledger.md``."""
        return self.frame

    def summary(self) -> pd.DataFrame:
        """Loans, share, overdue and outstanding amounts by as-of date and bucket."""
        f = self.frame
        as_of = f.index.get_level_values("as_of")
        g = f.groupby([as_of, f["bucket"]], observed=False, sort=True)
        out = g.agg(
            loans=("dpd", "size"),
            overdue_amount=("overdue_amount", "sum"),
            outstanding_principal=("outstanding_principal", "sum"),
        )
        totals = out.groupby(level=0)["loans"].transform("sum")
        out.insert(1, "share", (out["loans"] / totals.where(totals > 0)).fillna(0.0))
        return out

    def plot(self, ax=None):
        """Share of loans by bucket at each as-of date, as stacked bars."""
        from .._compat import pyplot

        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        shares = self.summary()["share"].unstack("bucket")
        shares.index = [d.strftime("%Y-%m-%d") for d in shares.index]
        shares.plot.bar(stacked=True, ax=ax, width=0.8)
        ax.set_ylabel("share of loans")
        ax.set_xlabel("as of")
        ax.legend(title="bucket", loc="upper left", bbox_to_anchor=(1, 1))
        return ax

    def __repr__(self) -> str:
        n_dates = self.frame.index.get_level_values("as_of").nunique()
        return f"LedgerSnapshot({len(self.frame):,} rows, {n_dates} as-of dates)"


def compute_ledger(
    portfolio: Portfolio, as_of: AsOf, config: LedgerConfig | None = None
) -> LedgerSnapshot:
    """Shorthand for ``Ledger(portfolio, config).at(as_of)``."""
    return Ledger(portfolio, config).at(as_of)
