"""Labels and training sets: realised outcomes after an as-of date, from the ledger."""

from ._make import make_labels, observation_end
from ._targets import CureTarget, DpdTarget, as_target, parse_target, target_from_dict
from ._training import assert_no_leakage, build_training_set

__all__ = [
    "CureTarget",
    "DpdTarget",
    "as_target",
    "assert_no_leakage",
    "build_training_set",
    "make_labels",
    "observation_end",
    "parse_target",
    "target_from_dict",
]
