"""Configuration of the repayment ledger."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .._params import Interval, ListOf, check
from ..contract import MAX_AMOUNT
from ..exceptions import OverdueRiskError

__all__ = ["LedgerConfig"]

_RULES = {
    "tolerance": Interval(float, 0, MAX_AMOUNT),
    "bucket_edges": ListOf(Interval(int, 1), increasing=True),
    "decimals": Interval(int, 0, 4),
}


@dataclass(frozen=True)
class LedgerConfig:
    """How the ledger counts days past due.

    Parameters
    ----------
    tolerance : float, default 0.0
        A shortfall of at most this amount is treated as paid when counting
        DPD (like Home Credit's ``SK_DPD_DEF``), so a few cents left unpaid do
        not make an account hundreds of days late. ``overdue_amount`` is
        always the exact shortfall.
    bucket_edges : tuple of int, default (1, 30, 60, 90)
        Lower DPD bounds of the delinquency buckets after ``current``.
    decimals : int, default 2
        Money is counted exactly in integer minor units of ``10**-decimals``,
        and the ledger's amounts are given to that many decimals (a loan
        repaid in full has an outstanding principal of exactly 0).

    Examples
    --------
    >>> LedgerConfig(tolerance=5.0).bucket_labels
    ('current', '1-29', '30-59', '60-89', '90+')
    """

    tolerance: float = 0.0
    bucket_edges: tuple[int, ...] = (1, 30, 60, 90)
    decimals: int = 2

    def __post_init__(self) -> None:
        # Only bucket_edges is normalised (to a tuple): the other values are kept as given.
        for name, rule in _RULES.items():
            clean = check(rule, getattr(self, name), key=name, error=OverdueRiskError)
            if name == "bucket_edges":
                object.__setattr__(self, name, clean)

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        """``current`` then one label per bucket, e.g. ``1-29`` and ``90+``."""
        e = self.bucket_edges
        spans = [f"{a}-{b - 1}" if b - 1 > a else f"{a}" for a, b in itertools.pairwise(e)]
        return ("current", *spans, f"{e[-1]}+")
