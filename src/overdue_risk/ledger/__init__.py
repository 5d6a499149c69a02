"""The repayment ledger: overdue amount, DPD and bucket for every loan at any date.

Users call :class:`Ledger` (or :func:`compute_ledger`) and read a
:class:`LedgerSnapshot`. Feature, label and prioritisation code also reads the
ledger's sorted tables through its read-only accessors (``schedule``,
``payments``, ``statements``, ``codes``, ``query``, ``row_index``, ...) and
builds tables of its own with the shared array kernel: :class:`EventTable`,
:func:`cum0`, :func:`ranges` and the block size :data:`CHUNK`.
"""

from ._arrays import CHUNK, EventTable, cum0, ranges
from ._config import LedgerConfig
from ._ledger import Ledger, compute_ledger
from ._snapshot import LedgerSnapshot

__all__ = [
    "CHUNK",
    "EventTable",
    "Ledger",
    "LedgerConfig",
    "LedgerSnapshot",
    "compute_ledger",
    "cum0",
    "ranges",
]
