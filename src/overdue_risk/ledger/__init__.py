"""The repayment ledger: overdue amount, DPD and bucket for every loan at any date."""

from ._config import LedgerConfig
from ._engine import Ledger, LedgerSnapshot, compute_ledger

__all__ = ["Ledger", "LedgerConfig", "LedgerSnapshot", "compute_ledger"]
