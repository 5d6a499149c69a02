"""The Home Credit Default Risk files (Kaggle, 2018) as a portfolio of the data contract.

* :func:`load` reads any subset of the eight competition files from a folder and
  returns a :class:`HomeCreditResult`: the validated ``portfolio``, the ``target``
  (TARGET by customer, an external label) and every row that could not enter,
  with its file and reason (``dropped``, :meth:`HomeCreditResult.summary`).
* :func:`convert` writes that portfolio as a folder, atomically and in bounded memory:
  the loan files spilled to disk in buckets of whole loans, converted one bucket at
  a time (``overdue-risk convert home-credit FOLDER --out DIR``).

``SK_ID_CURR`` is the customer; previous Home Credit credits (``SK_ID_PREV``) are
loans ``prev-<id>``, the bureau's credits (``SK_ID_BUREAU``) loans ``bureau-<id>``.
Relative days count from ``reference_date``. See ``docs/home-credit.md``.
"""

from ._assemble import BUREAU_PREFIX, PREV_PREFIX
from ._bureau import STATUS_DPD
from ._convert import REFERENCE_DATE, TARGET_FOLDER, HomeCreditResult, load
from ._files import FILES
from ._log import REASONS
from ._stream import ROWS_PER_BUCKET, convert

__all__ = [
    "BUREAU_PREFIX",
    "FILES",
    "PREV_PREFIX",
    "REASONS",
    "REFERENCE_DATE",
    "ROWS_PER_BUCKET",
    "STATUS_DPD",
    "TARGET_FOLDER",
    "HomeCreditResult",
    "convert",
    "load",
]
