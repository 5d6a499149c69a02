"""The repayment ledger: overdue amount, DPD and bucket at any as-of dates.

The :class:`Ledger` sorts a portfolio's schedule, payments and statements once
(:mod:`._arrays`); any (loan, as-of date) query is then a handful of
``searchsorted`` calls (:mod:`._state`). Queries are answered a block of loans
at a time (about ``CHUNK`` rows) and written into the preallocated columns of
the result: the temporaries stay small and cache-resident, and a block's
searches only look at its own loans' records.

Feature, label and prioritisation code reads the sorted tables through the
ledger's documented read-only accessors (:attr:`Ledger.schedule`,
:attr:`Ledger.payments`, :meth:`Ledger.codes`, :meth:`Ledger.query`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from .._dates import NAT, AsOf, parse_as_of, to_datetime, to_days
from ..contract import Portfolio, validate
from ..exceptions import OverdueRiskError
from ._arrays import CHUNK, MAX_CODE, EventTable, code_dtype, cum0
from ._config import LedgerConfig
from ._money import check_totals, minor_units
from ._snapshot import COLUMNS, COPIED, RAW, LedgerSnapshot
from ._state import BlockState

__all__ = ["Ledger", "compute_ledger"]


class Ledger(BlockState):
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
        check_totals(p, self._scale)  # before any sum: int64 sums must not wrap
        self._tol = round(self.config.tolerance * self._scale)
        loans = p.loans
        n = len(loans)
        if n > MAX_CODE:
            raise OverdueRiskError(f"At most {MAX_CODE:,} loans fit one ledger; got {n:,}.")
        self.n_loans = n
        self._loan_ids = loans["loan_id"].to_numpy()
        self._index = pd.Index(loans["loan_id"])
        self._start = to_days(loans["start_date"].to_numpy())
        closed = (
            to_days(loans["closed_date"].to_numpy()) if "closed_date" in loans else np.full(n, NAT)
        )
        self._closed = np.where(closed == NAT, np.iinfo(np.int64).max, closed)
        self._principal = loans["principal"].to_numpy(dtype=np.float64)
        pay = p.payments
        allocated = (
            pay is not None
            and "installment_no" in pay
            and bool(pay["installment_no"].notna().any())
        )
        self._build_schedule(p.installments, keep_no=allocated)
        self._build_payments(p.payments)
        self._tagged = self._build_tagged(pay) if allocated else None
        self._build_statements(p.statements)

    # -- read-only views, for feature, label and prioritisation code ----------
    #
    # A loan's *code* is its position in the loans table; days are int days since
    # 1970 (overdue_risk._dates); money is in integer minor units (``scale`` per
    # unit of currency). The arrays returned are views that cannot be written.

    @property
    def loan_ids(self) -> np.ndarray:
        """The loan ids in code order (the order of the validated loans table)."""
        return _frozen(self._loan_ids)

    @property
    def start_days(self) -> np.ndarray:
        """Each loan's ``start_date`` as an int day, in code order."""
        return _frozen(self._start)

    @property
    def closed_days(self) -> np.ndarray:
        """Each loan's ``closed_date`` as an int day; the largest int64 for open loans."""
        return _frozen(self._closed)

    @property
    def scale(self) -> int:
        """Minor units per unit of currency (``10 ** config.decimals``)."""
        return self._scale

    @property
    def tolerance_units(self) -> int:
        """The DPD tolerance (``config.tolerance``) in minor units."""
        return self._tol

    @property
    def schedule(self) -> EventTable:
        """The instalment schedule sorted by (loan code, due day, instalment number).

        Read only. Row ``i``'s amount due is ``due_cum[i + 1] - due_cum[i]``.
        """
        return self._sched

    @property
    def due_cum(self) -> np.ndarray:
        """Cumulative amounts due over :attr:`schedule`'s rows, in minor units (one longer)."""
        return _frozen(self._d_cum)

    @property
    def payments(self) -> EventTable:
        """The payments sorted by (loan code, payment day). Read only."""
        return self._pay

    @property
    def paid_cum(self) -> np.ndarray:
        """Cumulative amounts paid over :attr:`payments`' rows, in minor units (one longer)."""
        return _frozen(self._pay_cum)

    @property
    def statements(self) -> EventTable | None:
        """The statements of loans without a schedule, by (loan code, statement day).

        None when no such loan has a statement. Read only.
        """
        return self._stmt

    # -- preparation ---------------------------------------------------------

    def codes(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        """The code (position in the loans table) of each loan id; -1 if unknown."""
        values = np.asarray(ids) if isinstance(ids.dtype, np.dtype) else ids
        if not isinstance(values, np.ndarray):
            # Extension arrays (e.g. Arrow strings) factorise much faster than they
            # are looked up: look up each distinct id once.
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            return self._index.get_indexer(uniques).astype(np.int64, copy=False)[codes]
        if values.dtype.kind in "iuf" and values.size > 1:
            # Rows usually come grouped by loan: look each run of equal ids up once.
            head = np.empty(values.size, bool)
            head[0] = True
            np.not_equal(values[1:], values[:-1], out=head[1:])
            first = np.flatnonzero(head)
            if 2 * first.size < values.size:
                codes = self._index.get_indexer(values[first]).astype(np.int64, copy=False)
                return np.repeat(codes, np.diff(first, append=values.size))
        return self._index.get_indexer(values).astype(np.int64, copy=False)

    def _cents(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Amounts in whole minor units, as float64 (exact below 2**53)."""
        return minor_units(values, self._scale)

    def _build_schedule(self, inst: pd.DataFrame | None, keep_no: bool) -> None:
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
        no = inst["installment_no"].to_numpy(dtype=np.int64)
        cols = {"amount": inst["amount_due"].to_numpy(dtype=np.float64)}
        if "principal_due" in inst:
            cols["principal"] = inst["principal_due"].to_numpy(dtype=np.float64)
        if keep_no:
            cols["inst_no"] = no
        s = EventTable(
            self.codes(inst["loan_id"]), to_days(inst["due_date"].to_numpy()), n, no, **cols
        )
        self._sched = s
        # Closing cancels the instalments due after it, but only from the closing
        # date on: before it nobody knows the loan will close. Each loan's
        # schedule ends at ``_cut_end`` once closed and at ``s.end`` until then.
        self._cut_end = s.end.copy()
        closing = np.flatnonzero(self._closed != np.iinfo(np.int64).max)
        if closing.size and len(s):
            self._cut_end[closing] = s.upto(closing, self._closed[closing], slice(0, n))
        cents = self._cents(s.cols.pop("amount"))
        self._d_cum = cum0(cents, np.int64)
        if "principal" in s.cols:
            pr = s.cols.pop("principal") * self._scale
        else:  # principal spread over the schedule in proportion to the amounts due
            total = self._d_cum[s.end] - self._d_cum[s.start]
            share = np.divide(
                self._principal * self._scale, total, out=np.zeros(n), where=total > 0
            )
            pr = np.repeat(share, s.end - s.start)  # rows are grouped by loan
            pr *= cents
        del cents
        self._p_cum = cum0(pr)
        # Each loan's whole principal in minor units, summed loan by loan: a loan
        # repaid in full repays exactly this, whatever the global sums' rounding.
        self._pr_total = np.bincount(s.codes(), weights=pr, minlength=n) if len(s) else np.zeros(n)

    def _inst_cents(self, i: np.ndarray) -> np.ndarray:
        """The amount due of schedule rows ``i``, in minor units."""
        return self._d_cum[i + 1] - self._d_cum[i]

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
        amount = pay["amount"].to_numpy(dtype=np.float64)
        code = self.codes(pay["loan_id"])
        self._pay = EventTable(code, to_days(pay["payment_date"].to_numpy()), n, amount=amount)
        self._pay_cum = cum0(self._cents(self._pay.cols.pop("amount")), np.int64)

    def _build_tagged(self, pay: pd.DataFrame) -> dict[str, np.ndarray] | None:
        """Index lender-allocated payments against the schedule rows they name."""
        s = self._sched
        no = pay["installment_no"].to_numpy(dtype=np.float64)
        tag = ~np.isnan(no)
        code = self.codes(pay["loan_id"].to_numpy()[tag])
        day = to_days(pay["payment_date"].to_numpy()[tag])
        cents = self._cents(pay["amount"].to_numpy(dtype=np.float64)[tag]).astype(np.int64)
        no = no[tag].astype(np.int64)
        s_code = s.codes()
        sched_key = (s_code << 20) | s.cols.pop("inst_no")
        order = np.argsort(sched_key, kind="stable")
        want = (code << 20) | no
        hit = np.searchsorted(sched_key[order], want)
        hit = np.minimum(hit, max(len(s) - 1, 0))
        found = sched_key[order][hit] == want if len(s) else np.zeros(code.size, bool)
        # A payment naming a cancelled instalment falls back to FIFO.
        code, day, cents, pos = code[found], day[found], cents[found], order[hit[found]]
        if not code.size:
            return None
        loans = np.unique(code)
        in_loans = np.isin(s_code, loans)
        sub_pos = np.flatnonzero(in_loans)
        is_tagged = np.zeros(self.n_loans, bool)
        is_tagged[loans] = True
        pays = EventTable(np.searchsorted(sub_pos, pos), day, sub_pos.size, cents=cents)
        return {
            "is_tagged": is_tagged,
            "sub_pos": sub_pos,
            "sub_cents": self._inst_cents(sub_pos),
            "pays": pays,  # by (index into sub_pos, day)
            "cum": cum0(pays.cols.pop("cents"), np.int64),
        }

    def _build_statements(self, st: pd.DataFrame | None) -> None:
        n = self.n_loans
        has_schedule = (self._sched.end - self._sched.start) > 0
        if st is None or not len(st):
            self._stmt = None
            return
        code = self.codes(st["loan_id"])
        use = ~has_schedule[code]  # a schedule, where present, wins over statements
        st = st.loc[use]
        code = code[use]
        day = to_days(st["statement_date"].to_numpy())

        def col(name: str) -> np.ndarray:
            if name in st:
                return st[name].to_numpy(dtype=np.float64)
            return np.full(len(st), np.nan)

        t = EventTable(
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
        # In minor units: a loan's sums then never depend on other loans' amounts.
        t.cols["due_cum"] = cum0(self._cents(np.nan_to_num(min_due, nan=0.0)), np.int64)
        t.cols["paid_cum"] = cum0(self._cents(paid), np.int64)
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
        t_count = days.size
        # A loan has a row at every date on or after its start: from date first[c] on.
        first = np.searchsorted(days, self._start, side="left")
        row0 = cum0(t_count - first)  # the loans' first rows in the result
        n_rows = int(row0[-1])
        out = {name: np.empty(n_rows, dtype) for name, dtype in COLUMNS.items()}
        out["bucket"] = np.empty(n_rows, code_dtype(len(self.config.bucket_labels)))
        out["as_of"] = np.empty(n_rows, np.min_scalar_type(-t_count))  # position in days
        for rows, qc, qd, cols in self._blocks(row0, days=days, first=first):
            self._fill(out, rows, qc, qd, cols)
            out["as_of"][rows] = np.searchsorted(days, qd)
        return LedgerSnapshot(self._frame(out, days, first), self.config)

    def _blocks(
        self,
        row0: np.ndarray,
        qday: np.ndarray | None = None,
        *,
        days: np.ndarray | None = None,
        first: np.ndarray | None = None,
        full: bool = True,
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """The state at (loan, day) queries, a block of whole loans at a time.

        The one code path of every query. The queries are grouped by loan, in
        the order of ``loans``: those of loan ``c`` are ``row0[c]:row0[c + 1]``.
        ``qday`` gives each query's day (int days since 1970); without it the
        queries of loan ``c`` are ``days[first[c]:]``, as in :meth:`at`. A closed
        loan's state is read at its ``closed_date``. A block holds about
        ``CHUNK`` queries of whole loans, so its searches only look at those
        loans' records.

        Yields the block's query slice, its loan codes and days (int64) and the
        state columns; with ``full=False`` only ``dpd`` is computed.
        """
        n_q = int(row0[-1])
        if not n_q:
            return
        # Blocks start at the loan of every CHUNK-th query.
        loan_at = np.searchsorted(row0, np.arange(0, n_q, CHUNK), side="right") - 1
        bounds = np.append(np.unique(loan_at), self.n_loans)
        for c0, c1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            a, b = int(row0[c0]), int(row0[c1])
            n = np.diff(row0[c0 : c1 + 1])
            qc = np.repeat(np.arange(c0, c1), n)
            if qday is not None:
                qd = qday[a:b].astype(np.int64, copy=False)
            else:  # loan c's dates from days[first[c]] on
                qd = days[np.arange(b - a) - np.repeat(row0[c0:c1] - a - first[c0:c1], n)]
            loans = slice(c0, c1)
            qeff = np.minimum(qd, self._closed[qc])  # frozen at closing
            cols = self._schedule_state(qc, qeff, loans, full)
            if self._stmt is not None:
                self._apply_statements(qc, qeff, cols, loans, full)
            if self._tagged is not None:
                self._apply_tagged(qc, qeff, cols, full)
            yield slice(a, b), qc, qd, cols

    def query(
        self, qcode: np.ndarray, qday: np.ndarray, columns: tuple[str, ...] = ("dpd",)
    ) -> dict[str, np.ndarray]:
        """The state at (loan code, day) pairs, in query order: ``columns`` of :meth:`at`.

        ``qcode`` (positions in ``loans``) must be sorted; ``qday`` is in int days
        since 1970. Unlike :meth:`at`, each pair has its own day, and a pair
        before the loan's start is answered too (nothing due, nothing paid).
        Dates come back as int days (``NAT``: none). Asking for ``dpd`` alone
        is cheaper: nothing else is computed.
        """
        qcode = np.asarray(qcode)
        if qcode.size > 1 and bool(np.any(qcode[1:] < qcode[:-1])):
            raise ValueError("Ledger.query needs the loan codes sorted.")
        full = tuple(columns) != ("dpd",)
        out = {name: np.empty(qcode.size, RAW.get(name, np.float64)) for name in columns}
        row0 = cum0(np.bincount(qcode, minlength=self.n_loans), np.int64)
        for rows, _, _, cols in self._blocks(row0, np.asarray(qday), full=full):
            for name in columns:
                out[name][rows] = cols[name]
        return out

    def _bucket(self, dpd: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.config.bucket_edges), dpd, side="right")

    def _fill(
        self,
        out: dict[str, np.ndarray],
        rows: slice | np.ndarray,
        qcode: np.ndarray,
        qday: np.ndarray,
        cols: dict[str, np.ndarray],
    ) -> None:
        """Write query results into ``rows`` of the result columns."""
        for name in COPIED:
            out[name][rows] = cols[name]
        out["dpd"][rows] = cols["dpd"]
        out["bucket"][rows] = self._bucket(cols["dpd"])
        last = cols["last_payment_date"]
        out["next_due_date"][rows] = to_datetime(cols["next_due_date"])
        out["last_payment_date"][rows] = to_datetime(last)
        out["days_since_last_payment"][rows] = np.where(
            last == NAT, np.nan, (qday - last).astype(np.float64)
        )
        out["is_closed"][rows] = qday >= self._closed[qcode]

    def _frame(
        self, out: dict[str, np.ndarray], days: np.ndarray, first: np.ndarray
    ) -> pd.DataFrame:
        index = self.row_index(days, first, out.pop("as_of"))
        data = {name: out[name] for name in COLUMNS if name in out}
        data["bucket"] = pd.Categorical.from_codes(
            out["bucket"], categories=list(self.config.bucket_labels), ordered=True
        )
        data["source"] = pd.Categorical.from_codes(
            out["source"], categories=["none", "schedule", "statements"]
        )
        return pd.DataFrame(data, index=index, copy=False)

    def row_index(
        self, days: np.ndarray, first: np.ndarray | None = None, as_of: np.ndarray | None = None
    ) -> pd.MultiIndex:
        """The ``(loan_id, as_of)`` index of the rows of ``at(days)``.

        ``days`` are sorted unique int days. ``first[c]`` is the position in
        ``days`` of loan ``c``'s first row (default: the first date on or after
        its start); ``as_of`` (consumed) each row's position in ``days``,
        computed if None.
        """
        if first is None:
            first = np.searchsorted(days, self._start, side="left")
        n_dates = days.size
        if as_of is None:
            counts = n_dates - first
            as_of = np.arange(int(counts.sum()), dtype=np.int64)
            as_of -= np.repeat(np.cumsum(counts) - counts - first, counts)
            as_of = as_of.astype(np.min_scalar_type(-n_dates))
        # The index is built from codes, as MultiIndex.from_arrays would factorise it.
        present = first < n_dates  # loans started by the last date
        ids = self._loan_ids[present]
        if ids.dtype.kind in "iu" and bool(np.all(ids[1:] > ids[:-1])):
            # Sorted unique integer ids: they are their own sorted categories.
            level = pd.Index(ids)
            codes = np.arange(ids.size, dtype=code_dtype(ids.size))
        else:
            loans = pd.Categorical(ids)
            level, codes = loans.categories, loans.codes
        loan_code = np.full(self.n_loans, -1, codes.dtype)
        loan_code[present] = codes
        row_loan = np.repeat(loan_code, n_dates - first)
        d0 = int(first.min()) if first.size else n_dates  # the first date with any loan
        dates = pd.Categorical(to_datetime(days[d0:]))
        as_of -= d0
        return pd.MultiIndex(
            levels=[level, dates.categories],
            codes=[row_loan, as_of.astype(dates.codes.dtype, copy=False)],
            names=["loan_id", "as_of"],
            verify_integrity=False,
        )


def compute_ledger(
    portfolio: Portfolio, as_of: AsOf, config: LedgerConfig | None = None
) -> LedgerSnapshot:
    """Shorthand for ``Ledger(portfolio, config).at(as_of)``."""
    return Ledger(portfolio, config).at(as_of)


def _frozen(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view
