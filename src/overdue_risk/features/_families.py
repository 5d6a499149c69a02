"""Import every built-in family so that it registers itself, in catalogue order."""

from . import _collections, _ledger_state, _repayment, _revolving, _static  # noqa: F401
