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

Queries are answered a block of loans at a time (about ``_CHUNK`` rows) and
written into the preallocated columns of the result: the temporaries stay
small and cache-resident, and a block's searches only look at its own loans'
records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime

import numpy as np
import pandas as pd

from .._sorting import sort_in_place
from ..contract import Portfolio, validate
from ..exceptions import OverdueRiskError
from ._config import LedgerConfig

__all__ = ["Ledger", "LedgerSnapshot", "compute_ledger", "parse_as_of"]

_NO_BITS = 16  # instalment numbers are clipped to 16 bits in the sort key
_MAX_CODE = (1 << 29) - 1  # loan code, day offset and instalment no fit in 63 bits
_NAT = np.iinfo(np.int64).min
_NS_PER_DAY = 86_400 * 10**9
_CHUNK = 1 << 14  # query rows answered at a time: their temporaries stay in L2 cache

AsOf = str | date | datetime | pd.Timestamp | np.datetime64 | Iterable


def parse_as_of(as_of: AsOf) -> np.ndarray:
    """Sorted unique as-of dates as int64 days since 1970.

    Accepts one date or many (strings in ISO 8601, dates, Timestamps).
    """
    values = [as_of] if isinstance(as_of, str | date | datetime | np.datetime64) else list(as_of)
    if not values:
        raise OverdueRiskError("as_of must name at least one date.")
    series = pd.Series(values, dtype=object)
    parsed = pd.to_datetime(series, format="ISO8601", errors="coerce")
    bad = series[parsed.isna() & series.notna()]
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.head(3))
        raise OverdueRiskError(f"as_of must be dates in ISO 8601 (YYYY-MM-DD); got {shown}.")
    if parsed.isna().any():
        raise OverdueRiskError("as_of must not contain missing dates.")
    outside = parsed[(parsed < "1900-01-01") | (parsed >= "2200-01-01")]
    if len(outside):  # the range the data contract allows for every date
        raise OverdueRiskError(f"as_of must be between 1900 and 2200; got {outside.iloc[0]}.")
    return np.unique(_days(parsed.to_numpy()))


def _days(values: np.ndarray) -> np.ndarray:
    """datetime64 -> int64 days since 1970, rounded down (NaT -> _NAT)."""
    values = np.asarray(values)
    if values.dtype != "datetime64[ns]":
        return values.astype("datetime64[D]").astype(np.int64)
    ns = values.view(np.int64)
    days = ns // _NS_PER_DAY  # one pass instead of two casts
    nat = ns == _NAT
    if nat.any():
        days[nat] = _NAT
    return days


def _to_datetime(days: np.ndarray) -> np.ndarray:
    """int64 days since 1970 (_NAT: missing) -> datetime64[ns]."""
    ns = days * _NS_PER_DAY
    ns[days == _NAT] = _NAT
    return ns.view("datetime64[ns]")


def _cum0(values: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """``[0, v0, v0 + v1, ...]``, in ``dtype`` (default: that of ``values``)."""
    out = np.empty(values.size + 1, dtype=dtype or values.dtype)
    out[0] = 0
    out[1:] = values
    np.cumsum(out[1:], out=out[1:])
    return out


def _code_dtype(n: int) -> type:
    """The integer type pandas uses for the codes of ``n`` categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if n < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices ``start, ..., start + length - 1`` of every range, concatenated."""
    skip = np.cumsum(lengths) - lengths
    return np.repeat(starts - skip, lengths) + np.arange(lengths.sum())


class _Table:
    """One event table sorted by (loan, day[, no]) with its per-loan segments.

    The sort key packs the loan code, the day as an offset from the table's
    first day and, for the schedule, the instalment number into one int64.
    Only the key is kept: the loan and day of any record are read back from it.
    ``code`` and ``day`` must be int64 arrays the caller does not need again.
    """

    def __init__(
        self,
        code: np.ndarray,
        day: np.ndarray,
        n_loans: int,
        no: np.ndarray | None = None,
        **columns: np.ndarray,
    ):
        n = code.size
        self.day0 = int(day.min()) if n else 0
        day_bits = (int(day.max()) - self.day0 + 1).bit_length() if n else 1
        no_bits = 0
        if no is not None and n:
            top = int(no.max())
            no_bits = min(max(top, 1).bit_length(), _NO_BITS)
            if top >= 1 << no_bits:
                no = np.minimum(no, (1 << no_bits) - 1)
        self._day_shift = no_bits
        self._day_mask = (1 << day_bits) - 1  # also holds (last day + 1) - day0
        self._code_shift = no_bits + day_bits
        counts = np.bincount(code, minlength=n_loans)
        # The key is built in the memory of ``code`` and ``day``: both are consumed.
        key = np.left_shift(code, self._code_shift, out=code)
        day -= self.day0
        day <<= no_bits
        key |= day
        if no_bits:
            key |= no
        order = sort_in_place(key, self._code_shift + max(n_loans - 1, 0).bit_length())
        self.key = key
        self.cols = {k: v if order is None else v[order] for k, v in columns.items()}
        self._set_segments(counts)

    def _set_segments(self, counts: np.ndarray) -> None:
        self.end = np.cumsum(counts)
        self.start = self.end - counts

    def __len__(self) -> int:
        return self.key.size

    def codes(self) -> np.ndarray:
        """The loan code of every record."""
        return self.key >> self._code_shift

    def day_at(self, i: np.ndarray) -> np.ndarray:
        """The day of records ``i``."""
        return ((self.key[i] >> self._day_shift) & self._day_mask) + self.day0

    def upto(self, qcode: np.ndarray, qday: np.ndarray, loans: slice) -> np.ndarray:
        """Index one past the last record of each query's loan dated <= its day.

        ``loans`` bounds the queries' loan codes; only their records are searched.
        """
        lo, hi = self.start[loans.start], self.end[loans.stop - 1]
        offset = np.clip(qday + (1 - self.day0), 0, self._day_mask)
        q = (qcode << self._code_shift) | (offset << self._day_shift)
        return np.searchsorted(self.key[lo:hi], q, side="left") + lo


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

    # -- preparation ---------------------------------------------------------

    def _codes(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        """Position in ``loans`` of each id (-1 if unknown)."""
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
        cents = np.multiply(values, self._scale, dtype=np.float64)
        return np.rint(cents, out=cents)

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
        s = _Table(self._codes(inst["loan_id"]), _days(inst["due_date"].to_numpy()), n, no, **cols)
        self._sched = s
        # Closing cancels the instalments due after it, but only from the closing
        # date on: before it nobody knows the loan will close. Each loan's
        # schedule ends at ``_cut_end`` once closed and at ``s.end`` until then.
        self._cut_end = s.end.copy()
        closing = np.flatnonzero(self._closed != np.iinfo(np.int64).max)
        if closing.size and len(s):
            self._cut_end[closing] = s.upto(closing, self._closed[closing], slice(0, n))
        cents = self._cents(s.cols.pop("amount"))
        self._d_cum = _cum0(cents, np.int64)
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
        self._p_cum = _cum0(pr)

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
        code = self._codes(pay["loan_id"])
        self._pay = _Table(code, _days(pay["payment_date"].to_numpy()), n, amount=amount)
        self._pay_cum = _cum0(self._cents(self._pay.cols.pop("amount")), np.int64)

    def _build_tagged(self, pay: pd.DataFrame) -> dict[str, np.ndarray] | None:
        """Index lender-allocated payments against the schedule rows they name."""
        s = self._sched
        no = pay["installment_no"].to_numpy(dtype=np.float64)
        tag = ~np.isnan(no)
        code = self._codes(pay["loan_id"].to_numpy()[tag])
        day = _days(pay["payment_date"].to_numpy()[tag])
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
        pays = _Table(np.searchsorted(sub_pos, pos), day, sub_pos.size, cents=cents)
        return {
            "is_tagged": is_tagged,
            "sub_pos": sub_pos,
            "sub_cents": self._inst_cents(sub_pos),
            "pays": pays,  # by (index into sub_pos, day)
            "cum": _cum0(pays.cols.pop("cents"), np.int64),
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
        # In minor units: a loan's sums then never depend on other loans' amounts.
        t.cols["due_cum"] = _cum0(self._cents(np.nan_to_num(min_due, nan=0.0)), np.int64)
        t.cols["paid_cum"] = _cum0(self._cents(paid), np.int64)
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
        row0 = _cum0(t_count - first)  # the loans' first rows in the result
        n_rows = int(row0[-1])
        out = {name: np.empty(n_rows, dtype) for name, dtype in _COLUMNS.items()}
        out["bucket"] = np.empty(n_rows, _code_dtype(len(self.config.bucket_labels)))
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
        ``_CHUNK`` queries of whole loans, so its searches only look at those
        loans' records.

        Yields the block's query slice, its loan codes and days (int64) and the
        state columns; with ``full=False`` only ``dpd`` is computed.
        """
        n_q = int(row0[-1])
        if not n_q:
            return
        # Blocks start at the loan of every _CHUNK-th query.
        loan_at = np.searchsorted(row0, np.arange(0, n_q, _CHUNK), side="right") - 1
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

    def _query(
        self, qcode: np.ndarray, qday: np.ndarray, columns: tuple[str, ...] = ("dpd",)
    ) -> dict[str, np.ndarray]:
        """The state at (loan code, day) pairs, in query order: ``columns`` of :meth:`_blocks`.

        ``qcode`` (positions in ``loans``) must be sorted; ``qday`` is in int days
        since 1970. Unlike :meth:`at`, each pair has its own day, and a pair
        before the loan's start is answered too (nothing due, nothing paid).
        Dates come back as int days (``_NAT``: none). Asking for ``dpd`` alone
        is cheaper: nothing else is computed.
        """
        qcode = np.asarray(qcode)
        if qcode.size > 1 and bool(np.any(qcode[1:] < qcode[:-1])):
            raise ValueError("_query needs the loan codes sorted.")
        full = tuple(columns) != ("dpd",)
        out = {name: np.empty(qcode.size, _RAW.get(name, np.float64)) for name in columns}
        row0 = _cum0(np.bincount(qcode, minlength=self.n_loans), np.int64)
        for rows, _, _, cols in self._blocks(row0, np.asarray(qday), full=full):
            for name in columns:
                out[name][rows] = cols[name]
        return out

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
            k = self._fifo_position(base + paid + self._tol, loans)
            return {"dpd": self._dpd_from(k, d_end, qday), "_paid_c": paid}
        last_pay = np.where(
            ip > p_first, pay.day_at(np.maximum(ip - 1, 0)) if len(pay) else 0, _NAT
        )

        idue = s.upto(qcode, qday, loans)
        n_inst = d_end - d_first
        has_sched = s.end[qcode] > d_first
        due = self._d_cum[idue] - base
        n_sched = len(s)
        last_row = max(n_sched - 1, 0)
        next_due = np.where(
            idue < d_end, s.day_at(np.minimum(idue, last_row)) if n_sched else 0, _NAT
        )

        k = self._fifo_position(base + paid + self._tol, loans)
        dpd = self._dpd_from(k, d_end, qday)

        # Principal repaid: FIFO position of the amount paid, without tolerance.
        k0 = k if self._tol == 0 else self._fifo_position(base + paid, loans)
        inside = k0 < d_end
        if n_sched:
            at = np.minimum(k0, last_row)  # the instalment being paid
            after = at + 1
            part_c = np.where(inside, base + paid - self._d_cum[at], 0)
            inst_c = self._d_cum[after] - self._d_cum[at]
            p_at, p_first_inst = self._p_cum[at], self._p_cum[d_first]
            inst_p = self._p_cum[after] - p_at
            frac = np.divide(part_c, inst_c, out=np.zeros(qcode.size), where=inside & (inst_c > 0))
            repaid = np.where(
                inside, p_at - p_first_inst + frac * inst_p, self._p_cum[d_end] - p_first_inst
            )
            # A loan closed with everything due paid was settled: nothing outstanding.
            settled = ~inside & (d_end < s.end[qcode])
            repaid = np.where(settled, self._principal[qcode] * scale, repaid)
        else:
            repaid = np.zeros(qcode.size)
        paid_amount = paid / scale
        repaid_amount = np.where(has_sched, repaid / scale, paid_amount)
        short = due - paid
        return {
            "amount_due_to_date": due / scale,
            "amount_paid_to_date": paid_amount,
            "overdue_amount": np.maximum(short, 0) / scale,
            "paid_ahead": np.maximum(-short, 0) / scale,
            "dpd": dpd,
            "outstanding_principal": np.maximum(self._principal[qcode] - repaid_amount, 0.0),
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

    def _fifo_position(self, amount: np.ndarray, loans: slice) -> np.ndarray:
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
        limit = 16 * _CHUNK  # expanded (query, instalment) pairs at a time
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
            i = _ranges(np.searchsorted(sub_pos, first), n)  # index into the tagged loans' rows
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
        shortfall = np.maximum(np.nan_to_num(c["min_due"][j]) - np.nan_to_num(c["paid"][j]), 0.0)
        overdue = (
            np.where(missed, shortfall, 0.0)
            if self._stmt_has_min_due
            else np.full(rows.size, np.nan)
        )
        lp = c["last_paid"][j]
        stmt_paid_day = np.where(lp >= first, t.day_at(np.maximum(lp, 0)), _NAT)
        cols["amount_due_to_date"][rows] = due
        cols["amount_paid_to_date"][rows] = paid
        cols["overdue_amount"][rows] = overdue
        cols["paid_ahead"][rows] = np.nan
        cols["outstanding_principal"][rows] = np.maximum(c["balance"][j], 0.0)
        cols["last_payment_date"][rows] = np.maximum(cols["last_payment_date"][rows], stmt_paid_day)
        cols["source"][rows] = 2

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
        for name in _COPIED:
            out[name][rows] = cols[name]
        out["dpd"][rows] = cols["dpd"]
        out["bucket"][rows] = self._bucket(cols["dpd"])
        last = cols["last_payment_date"]
        out["next_due_date"][rows] = _to_datetime(cols["next_due_date"])
        out["last_payment_date"][rows] = _to_datetime(last)
        out["days_since_last_payment"][rows] = np.where(
            last == _NAT, np.nan, (qday - last).astype(np.float64)
        )
        out["is_closed"][rows] = qday >= self._closed[qcode]

    def _frame(
        self, out: dict[str, np.ndarray], days: np.ndarray, first: np.ndarray
    ) -> pd.DataFrame:
        index = self._row_index(days, first, out.pop("as_of"))
        data = {name: out[name] for name in _COLUMNS if name in out}
        data["bucket"] = pd.Categorical.from_codes(
            out["bucket"], categories=list(self.config.bucket_labels), ordered=True
        )
        data["source"] = pd.Categorical.from_codes(
            out["source"], categories=["none", "schedule", "statements"]
        )
        return pd.DataFrame(data, index=index, copy=False)

    def _row_index(
        self, days: np.ndarray, first: np.ndarray, as_of: np.ndarray | None = None
    ) -> pd.MultiIndex:
        """The ``(loan_id, as_of)`` index of the rows of ``at(days)``.

        ``first[c]`` is the position in ``days`` of loan ``c``'s first row;
        ``as_of`` (consumed) each row's position in ``days``, computed if None.
        """
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
            codes = np.arange(ids.size, dtype=_code_dtype(ids.size))
        else:
            loans = pd.Categorical(ids)
            level, codes = loans.categories, loans.codes
        loan_code = np.full(self.n_loans, -1, codes.dtype)
        loan_code[present] = codes
        row_loan = np.repeat(loan_code, n_dates - first)
        d0 = int(first.min()) if first.size else n_dates  # the first date with any loan
        dates = pd.Categorical(_to_datetime(days[d0:]))
        as_of -= d0
        return pd.MultiIndex(
            levels=[level, dates.categories],
            codes=[row_loan, as_of.astype(dates.codes.dtype, copy=False)],
            names=["loan_id", "as_of"],
            verify_integrity=False,
        )


# The result's columns, in order, with the dtypes of their values or codes.
_COLUMNS = {
    "amount_due_to_date": np.float64,
    "amount_paid_to_date": np.float64,
    "overdue_amount": np.float64,
    "paid_ahead": np.float64,
    "dpd": np.int64,
    "bucket": np.int8,
    "outstanding_principal": np.float64,
    "next_due_date": "datetime64[ns]",
    "last_payment_date": "datetime64[ns]",
    "days_since_last_payment": np.float64,
    "n_installments": np.int64,
    "n_installments_due": np.int64,
    "n_installments_paid": np.int64,
    "is_closed": bool,
    "source": np.int8,
}
# The raw state columns of _blocks that are not float64.
_RAW = {
    "dpd": np.int64,
    "next_due_date": np.int64,
    "last_payment_date": np.int64,
    "n_installments": np.int64,
    "n_installments_due": np.int64,
    "n_installments_paid": np.int64,
    "source": np.int8,
    "_paid_c": np.int64,
    "_due_c": np.int64,
}
_COPIED = (
    "amount_due_to_date",
    "amount_paid_to_date",
    "overdue_amount",
    "paid_ahead",
    "outstanding_principal",
    "n_installments",
    "n_installments_due",
    "n_installments_paid",
    "source",
)


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
