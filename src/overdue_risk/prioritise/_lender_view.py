"""Arrears as the lender's collection system sees them, between a card's statements.

The ledger reads a statement (card) loan from its monthly statements: the last
statement's DPD, aged every day until the next one. A customer who pays what
the statement left overdue is current in the lender's own systems the day the
money arrives, yet the ledger keeps showing the statement's DPD for weeks.
Collections acts on the lender's view: no call goes to a card that has paid. A
decision day (:func:`logged_decisions`) or a worklist account
(:func:`account_state`) on which the payments since the last statement cover
its shortfall is therefore no day in arrears. Counting such days as the cell's
"no action" rows would set loans that had already paid, and so pay more later,
against the accounts the cell could act on, and make every action look worse
than waiting the longer the reward's window.
"""

from __future__ import annotations

import numpy as np

from ..ledger import Ledger

__all__ = ["statement_cleared"]


def statement_cleared(
    ledger: Ledger, code: np.ndarray, day: np.ndarray, shortfall: np.ndarray
) -> np.ndarray:
    """Whether each (loan, day)'s statement shortfall was paid after its statement.

    Parameters
    ----------
    ledger : Ledger
    code, day : ndarray of int
        Loan codes and days (int days since 1970): the state at the end of
        ``day``, payments dated on or before it included.
    shortfall : ndarray of float
        The overdue amount the ledger reads from the loan's last statement
        (its ``overdue_amount`` for a statement loan); NaN when the statements
        carry no minimum due, and then the payments cannot tell.

    Returns
    -------
    ndarray of bool
        True where the loan reads its state from a statement dated on or
        before ``day``, the shortfall is above the ledger's tolerance, and the
        payments dated after that statement up to ``day`` cover it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from overdue_risk import Ledger, Portfolio
    >>> loans = pd.DataFrame({"loan_id": ["c1"], "customer_id": [1],
    ...     "product_type": ["revolving"], "start_date": ["2024-01-01"],
    ...     "principal": [1000.0]})
    >>> statements = pd.DataFrame({"loan_id": ["c1"], "statement_date": ["2024-02-01"],
    ...     "balance": [500.0], "min_due": [50.0], "amount_paid": [0.0], "dpd": [5]})
    >>> payments = pd.DataFrame({"loan_id": ["c1", "c1"],
    ...     "payment_date": ["2024-02-05", "2024-02-09"], "amount": [20.0, 30.0]})
    >>> ledger = Ledger(Portfolio(loans=loans, statements=statements, payments=payments))
    >>> day = pd.to_datetime(["2024-02-06", "2024-02-09"]).to_numpy().astype("datetime64[D]")
    >>> statement_cleared(ledger, np.array([0, 0]), day.astype(np.int64),
    ...     np.array([50.0, 50.0])).tolist()
    [False, True]
    """
    code = np.asarray(code, np.int64)
    day = np.asarray(day, np.int64)
    out = np.zeros(code.size, bool)
    stmt = ledger.statements
    owed = np.nan_to_num(np.asarray(shortfall, np.float64), nan=0.0)
    ask = np.flatnonzero(owed * ledger.scale > ledger.tolerance_units)
    if stmt is None or not ask.size:
        return out
    every = slice(0, ledger.n_loans)
    c, d = code[ask], day[ask]
    i = stmt.upto(c, d, every)
    has = i > stmt.start[c]
    ask, c, d, i = ask[has], c[has], d[has], i[has]
    if not ask.size:
        return out
    since = stmt.day_at(i - 1)
    pay, cum = ledger.payments, ledger.paid_cum
    paid = cum[pay.upto(c, d, every)] - cum[pay.upto(c, since, every)]
    need = np.rint(owed[ask] * ledger.scale) - ledger.tolerance_units
    out[ask] = paid >= need
    return out
