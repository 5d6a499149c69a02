"""The simulation state: numpy arrays with one entry per loan (or loan x replicate).

A row is an account *slot*: a loan and, after a restructuring, the loan that
replaces it (``seg`` counts the replacements). Customer-level state (hardship)
lives in separate arrays with one entry per customer (or customer x replicate);
``cust`` links a loan row to its customer row.
"""

from __future__ import annotations

import numpy as np

from ._calendar import NEVER

__all__ = ["CUSTOMER_FIELDS", "LOAN_FIELDS", "State"]

# name: dtype. Money is in integer cents so that "paid in full" is exact.
LOAN_FIELDS: dict[str, type] = {
    # identity
    "slot": np.int32,  # the loan's fixed position: keys its random draws
    "rep": np.int32,  # replicate (Monte Carlo path)
    "cust": np.int32,  # row of the customer arrays
    "seg": np.int16,  # 0 for the original loan, k after k restructurings
    "kind": np.int8,  # 0 instalment, 1 revolving
    "prod": np.int8,  # pos, cash, card
    # contract of the current segment
    "start": np.int32,
    "closed": np.int32,
    "m0": np.int32,  # start month: instalment k falls due in month m0 + k
    "dom": np.int8,  # day of the month instalments (or card minimums) fall due
    "n": np.int16,  # instalments
    "pmt": np.int64,  # instalment amount
    "princ": np.int64,  # principal (credit limit for cards)
    "rate": np.float64,  # monthly interest rate
    "paid": np.int64,  # paid on this segment (instalment loans)
    # revolving
    "bal": np.int64,
    "min_rem": np.int64,  # unpaid part of the current minimum
    "due_day": np.int32,  # when the current minimum falls due
    "arrears": np.int64,  # unpaid minimums past their due date
    "delinq": np.int32,  # due date of the oldest unpaid minimum
    "paid_cycle": np.int64,
    "min_prev": np.int64,  # minimum printed on the last statement
    "next_stmt": np.int32,
    "stmt_day": np.int32,
    "stmt_dpd": np.int32,
    # hidden traits (copied from the customer; never in the portfolio tables)
    "cap": np.float32,
    "will": np.float32,
    "bonus": np.float32,  # willingness gained by restructuring
    "habit": np.int8,
    "offset": np.int8,
    "rtype": np.int8,
    "cause": np.int8,  # why the customer falls behind (causes enabled; else 0, unused)
    "pshare": np.float32,
    "spend": np.float32,
    "reason": np.int8,  # why the account is in arrears: 0 -, 1 confusion or partial, 2 inability
    "reason_due": np.int32,  # due day of the obligation the reason explains
    # collections
    "holdout": np.bool_,
    "opt_out": np.bool_,
    "in_legal": np.bool_,
    "n_restr": np.int8,
    "last_contact": np.int32,
    "cmask": np.uint16,  # contact attempts on the last days, bit i = day cmask_day - i
    "vmask": np.uint16,  # the same for calls and visits only
    "cmask_day": np.int32,
    "boost": np.float32,  # multiplier of the payment hazard while boost_until >= day
    "boost_until": np.int32,
    "promise_date": np.int32,
    "promise_amt": np.int64,
    "promise_pay": np.int32,  # day a kept promise is paid
    "promise_paid": np.int64,
    "cure_pay": np.int32,  # day a cured customer pays their arrears (causes enabled)
    "n_broken": np.int16,
    "last_pay": np.int32,
    "next_check": np.int32,  # the next day anything can happen to this row
}

_INITIAL = {
    "closed": NEVER,
    "due_day": NEVER,
    "delinq": NEVER,
    "next_stmt": NEVER,
    "stmt_day": NEVER,
    "last_contact": NEVER,
    "cmask_day": 0,
    "boost": 1.0,
    "boost_until": -1,
    "promise_date": NEVER,
    "promise_pay": NEVER,
    "cure_pay": NEVER,
    "last_pay": NEVER,
    "next_check": NEVER,
}

CUSTOMER_FIELDS: dict[str, type] = {
    "cslot": np.int32,  # the customer's fixed position: keys its random draws
    "crep": np.int32,
    "region": np.int8,
    "shock_mult": np.float32,
    "hard": np.bool_,  # in a hardship episode
    "hs_next": np.int32,  # day of the next hardship transition
}


class State:
    """Arrays of loan rows and customer rows; ``take`` extracts and replicates.

    Parameters
    ----------
    n_loans, n_customers : int
        Rows to allocate (filled with neutral values).
    """

    def __init__(self, n_loans: int, n_customers: int, *, _empty: bool = False):
        if _empty:
            return
        for name, dtype in LOAN_FIELDS.items():
            setattr(self, name, np.full(n_loans, _INITIAL.get(name, 0), dtype=dtype))
        for name, dtype in CUSTOMER_FIELDS.items():
            setattr(self, name, np.zeros(n_customers, dtype=dtype))
        self.day = -1  # the last day simulated (state is as at its end)

    @property
    def n_rows(self) -> int:
        return self.slot.size

    def copy(self) -> State:
        out = State(0, 0, _empty=True)
        for name in (*LOAN_FIELDS, *CUSTOMER_FIELDS):
            setattr(out, name, getattr(self, name).copy())
        out.day = self.day
        return out

    def take(self, rows: np.ndarray, n_paths: int = 1) -> State:
        """The given loan rows and their customers, repeated for ``n_paths`` replicates.

        Replicate ``p`` of loan row ``rows[i]`` is row ``p * len(rows) + i``.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cust_rows, cust_new = np.unique(self.cust[rows], return_inverse=True)
        m, mc = rows.size, cust_rows.size
        out = State(0, 0, _empty=True)
        for name in LOAN_FIELDS:
            setattr(out, name, np.tile(getattr(self, name)[rows], n_paths))
        for name in CUSTOMER_FIELDS:
            setattr(out, name, np.tile(getattr(self, name)[cust_rows], n_paths))
        paths = np.repeat(np.arange(n_paths, dtype=np.int32), m)
        out.rep = paths
        out.crep = np.repeat(np.arange(n_paths, dtype=np.int32), mc)
        out.cust = (np.tile(cust_new, n_paths) + paths.astype(np.int64) * mc).astype(np.int32)
        out.day = self.day
        return out

    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in (*LOAN_FIELDS, *CUSTOMER_FIELDS))
