"""Money in the ledger: integer minor units, and the totals 64-bit integers can hold.

The ledger counts money in integer minor units (``10 ** -decimals`` of the
currency) so that "paid exactly in full" is exact, and it sums them over the
whole portfolio: one cumulative sum per table serves every loan's binary
searches. The contract caps each row (:data:`~overdue_risk.contract.MAX_AMOUNT`);
:func:`check_totals` caps each money column's sum over the portfolio, before
any sum is taken, so that no cumulative sum, and no sum of two of them plus the
tolerance, can wrap around. Every package that scales amounts by
:attr:`Ledger.scale` (features, logged decisions, rewards) works on a portfolio
a ledger accepted, so the same bound holds for it.
"""

from __future__ import annotations

import numpy as np

from ..contract import TABLES, Portfolio
from ..exceptions import DataValidationError, Problem

__all__ = ["MAX_MINOR_TOTAL", "check_totals", "minor_units"]

# Each money column's total in minor units: three such sums and the tolerance
# still fit an int64 (2**63 - 1).
MAX_MINOR_TOTAL = 2**61


def minor_units(values: np.ndarray, scale: int) -> np.ndarray:
    """Amounts in whole minor units, as float64 (exact below 2**53)."""
    cents = np.multiply(values, scale, dtype=np.float64)
    return np.rint(cents, out=cents)


def check_totals(portfolio: Portfolio, scale: int) -> None:
    """Refuse a portfolio whose money, summed in minor units, could overflow an int64.

    Raises
    ------
    DataValidationError
        One ``max_total`` problem per money column whose absolute values sum
        past :data:`MAX_MINOR_TOTAL` minor units.
    """
    problems = []
    for name, df in portfolio.tables().items():
        for col in TABLES[name].columns:
            if col.kind != "amount" or col.name not in df:
                continue
            values = df[col.name].to_numpy(dtype=np.float64, na_value=np.nan)
            total = float(np.nansum(np.abs(values))) * scale
            if total > MAX_MINOR_TOTAL:
                problems.append(
                    Problem(
                        name,
                        col.name,
                        "max_total",
                        int(np.count_nonzero(values)),
                        (),
                        f"The column sums to {total / scale:.3g} over the portfolio; the "
                        f"ledger counts money in 64-bit integers of 1/{scale} and holds at "
                        f"most {MAX_MINOR_TOTAL / scale:.3g} per column. Split the "
                        "portfolio, or count in fewer decimals (LedgerConfig.decimals).",
                    )
                )
    if problems:
        raise DataValidationError(problems)
