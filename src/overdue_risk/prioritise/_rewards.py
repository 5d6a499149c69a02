"""Money paid in (loan, day) windows: the decisions' reward and their broken promises.

Payments are summed in minor units over sorted (loan, day) keys (see
:mod:`~overdue_risk.prioritise._loan_days`): a cumulative sum and two
``np.searchsorted`` calls give the money paid between any two days of every
decision row at once. Discounted, each payment is weighted by ``v ** (day -
ref)`` with ``v = (1 + rate) ** (-1 / 365)`` and ``ref`` its loan family's
first payment day, so that every weight is at most 1, and each row's sum is
rescaled by ``v ** (ref - decision day)``: one float cumulative sum serves
every row.
"""

from __future__ import annotations

import numpy as np

from .._dates import to_days
from ..contract import Portfolio
from ..exceptions import OverdueRiskError
from ..ledger import Ledger, cum0
from ._loan_days import Events, Keys, Rows

__all__ = ["broken_promises", "families", "payments", "reward"]

# Payments as (loan code, day, amount in minor units), one entry per table row.
Payments = tuple[np.ndarray, np.ndarray, np.ndarray]


def payments(p: Portfolio, ledger: Ledger) -> Payments:
    """Payments as (loan code, day, amount in minor units), every table row."""
    pay = p.payments
    if pay is None or not len(pay):
        e = np.empty(0, np.int64)
        return e, e, e
    scale = 10**ledger.config.decimals
    cents = np.rint(pay["amount"].to_numpy(dtype=np.float64) * scale).astype(np.int64)
    return ledger.codes(pay["loan_id"]), to_days(pay["payment_date"].to_numpy()), cents


def _cumulative(keys: np.ndarray, cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The keys sorted, and the running sum of their amounts from 0."""
    order = np.argsort(keys, kind="stable")
    return keys[order], cum0(cents[order], np.int64)


def _paid_between(keys: np.ndarray, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Sum of the amounts with key in ``(lo, hi]``, in minor units."""
    return cum[np.searchsorted(keys, hi, side="right")] - cum[np.searchsorted(keys, lo, "right")]


def families(p: Portfolio, ledger: Ledger) -> tuple[np.ndarray, np.ndarray]:
    """Each loan's root (the first loan of its restructuring chain) and its successor flag."""
    n = ledger.n_loans
    root = np.arange(n)
    has_successor = np.zeros(n, bool)
    loans = p.loans
    if "restructured_from" not in loans or not loans["restructured_from"].notna().any():
        return root, has_successor
    parent = np.full(n, -1, np.int64)
    named = loans["restructured_from"].notna().to_numpy()
    parent[named] = ledger.codes(loans["restructured_from"][named])
    has_successor[parent[parent >= 0]] = True
    # Each pass climbs one link of every chain at once; chains are short.
    for _ in range(n):
        up = parent[root]
        if not (up >= 0).any():
            return root, has_successor
        root = np.where(up >= 0, up, root)
    raise OverdueRiskError("loans.restructured_from forms a cycle.")


def reward(
    p: Portfolio,
    pays: Payments,
    ledger: Ledger,
    keys: Keys,
    code: np.ndarray,
    day: np.ndarray,
    end: np.ndarray,
    rate: float = 0.0,
) -> np.ndarray:
    """Money paid on each row's loan family in ``[day, end]``: from the day of the action,
    so a payment the action brings on the spot counts.

    With ``rate`` (annual) above 0 each payment counts ``amount / (1 + rate) **
    ((pay day - day) / 365)``; at 0 the sums are exact, in minor units.
    """
    pc, pd_, cents = pays
    root, has_successor = families(p, ledger)
    # The payment that closes a restructured loan moves its arrears to the new loan:
    # no money is received.
    received = ~(has_successor[pc] & (pd_ == ledger.closed_days[pc]))
    fam_pay, day_pay = root[pc[received]], pd_[received]
    fam = root[code]
    lo, hi = keys.of(fam, day - 1), keys.of(fam, end)
    scale = 10**ledger.config.decimals
    if rate == 0:
        k, cum = _cumulative(keys.of(fam_pay, day_pay), cents[received])
        return _paid_between(k, cum, lo, hi) / scale
    # Days from each family's first payment: weights v ** days are in (0, 1].
    never = np.iinfo(np.int64).max
    ref = np.full(ledger.n_loans, never)
    np.minimum.at(ref, fam_pay, day_pay)
    log_v = -np.log1p(rate) / 365.0
    weighted = cents[received] / scale * np.exp(log_v * (day_pay - ref[fam_pay]))
    order = np.argsort(keys.of(fam_pay, day_pay), kind="stable")
    k, cum = keys.of(fam_pay, day_pay)[order], cum0(weighted[order])
    total = _paid_between(k, cum, lo, hi)
    # A family without payments sums to 0: its reference day is never used.
    shift = np.where(ref[fam] == never, 0, ref[fam] - day)
    return np.where(total != 0, total * np.exp(log_v * shift), 0.0)


def broken_promises(
    pays: Payments,
    ledger: Ledger,
    keys: Keys,
    lg: Rows,
    promise: np.ndarray,
    grid: Rows,
    q: np.ndarray,
) -> np.ndarray:
    """Promises whose date passed before the day with less paid since than promised.

    ``lg`` are the log rows (``promise`` marks the promises among them),
    ``grid`` the decision rows and ``q`` their keys.
    """
    if not promise.any() or not grid.size:
        return np.zeros(grid.size, np.int64)
    pc, pd_, cents = pays
    k, cum = _cumulative(keys.of(pc, pd_), cents)
    code, made, due = lg.code[promise], lg.day[promise], lg.pdate[promise]
    paid = _paid_between(k, cum, keys.of(code, made), keys.of(code, due))
    scale = 10**ledger.config.decimals
    amount = np.rint(lg.pamount[promise] * scale)
    broken = np.where(np.isnan(amount), paid <= 0, paid < amount)
    # Known from the morning after the promise date.
    known = keys.of(code[broken], due[broken] + 1)
    known.sort()
    return Events(known, code[broken], due[broken]).count(keys.of(grid.code, keys.base), q + 1)
