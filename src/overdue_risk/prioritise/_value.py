"""Deprecated: the value models live in :mod:`overdue_risk.prioritise`.

:class:`~overdue_risk.prioritise.ResponseModel` (``_response.py``) and
:class:`~overdue_risk.prioritise.RiskBasedValue` (``_fallback.py``) were
defined here; the old private path, which earlier docs used, still resolves
for one release, each name with a ``DeprecationWarning``.
"""

from .._deprecation import moved

__getattr__ = moved(
    __name__,
    dict.fromkeys(
        ("DEFAULT_FEATURES", "DEFAULT_LIFTS", "ResponseModel", "RiskBasedValue"),
        "overdue_risk.prioritise",
    ),
)
