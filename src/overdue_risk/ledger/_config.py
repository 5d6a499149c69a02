"""Configuration of the repayment ledger."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..exceptions import OverdueRiskError

__all__ = ["LedgerConfig"]


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
        Money is counted exactly in integer minor units of ``10**-decimals``.

    Examples
    --------
    >>> LedgerConfig(tolerance=5.0).bucket_labels
    ('current', '1-29', '30-59', '60-89', '90+')
    """

    tolerance: float = 0.0
    bucket_edges: tuple[int, ...] = (1, 30, 60, 90)
    decimals: int = 2

    def __post_init__(self) -> None:
        tol = self.tolerance
        if (
            isinstance(tol, bool)
            or not isinstance(tol, int | float)
            or not tol >= 0
            or tol == float("inf")
        ):
            raise OverdueRiskError(f"tolerance must be a finite number >= 0; got {tol!r}.")
        edges = tuple(self.bucket_edges)
        if (
            not edges
            or any(not isinstance(e, int) or isinstance(e, bool) for e in edges)
            or edges[0] < 1
            or any(b <= a for a, b in itertools.pairwise(edges))
        ):
            raise OverdueRiskError(
                f"bucket_edges must be strictly increasing integers >= 1; got {edges!r}."
            )
        object.__setattr__(self, "bucket_edges", edges)
        if (
            isinstance(self.decimals, bool)
            or not isinstance(self.decimals, int)
            or not 0 <= self.decimals <= 4
        ):
            raise OverdueRiskError(f"decimals must be an integer in [0, 4]; got {self.decimals!r}.")

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        """``current`` then one label per bucket, e.g. ``1-29`` and ``90+``."""
        e = self.bucket_edges
        spans = [f"{a}-{b - 1}" if b - 1 > a else f"{a}" for a, b in itertools.pairwise(e)]
        return ("current", *spans, f"{e[-1]}+")
