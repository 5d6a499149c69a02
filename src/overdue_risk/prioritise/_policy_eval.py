"""Deprecated: policy evaluation moved to :mod:`overdue_risk.policy_eval`.

Its public names still resolve here for one release, each with a
``DeprecationWarning``; this module will then be removed.
"""

from .._deprecation import moved

__getattr__ = moved(
    __name__,
    dict.fromkeys(
        (
            "CONTACTS",
            "HARSH",
            "LADDER",
            "PolicyComparison",
            "compare_policies",
            "heuristic_actions",
            "ladder_level",
            "simulated_comparison",
        ),
        "overdue_risk.policy_eval",
    ),
)
