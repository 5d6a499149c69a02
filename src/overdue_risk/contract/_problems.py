"""The problems a validation collects, each named by the keys of its first rows.

Validation collects every problem before raising, so a user fixes their
extract once rather than once per error: every check adds to one
:class:`Collector`, and :func:`~overdue_risk.contract._validate.validate`
raises one :class:`~overdue_risk.DataValidationError` listing them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import Problem

__all__ = ["N_EXAMPLES", "Collector", "examples_of", "show_value"]

N_EXAMPLES = 5


class Collector:
    """Accumulates problems and warnings, with examples named by key.

    Each problem may come with the rows that break it (``rows``: a boolean
    mask or the positions over the table as given), which
    :func:`~overdue_risk.contract.quarantine` sets aside; a problem without rows
    concerns the whole table (a missing column, a column of the wrong type).
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.rows: list[np.ndarray | None] = []
        self.warnings: list[str] = []

    def add(
        self,
        spec_name: str,
        column: str,
        rule: str,
        count: int,
        examples: tuple[str, ...],
        message: str,
        rows: np.ndarray | None = None,
    ) -> None:
        self.problems.append(Problem(spec_name, column, rule, int(count), examples, message))
        self.rows.append(None if rows is None else np.asarray(rows))

    def positions(self, i: int) -> np.ndarray | None:
        """The positions of the rows that break problem ``i``; None for a whole table."""
        rows = self.rows[i]
        if rows is None:
            return None
        return np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def show_value(value: object) -> str:
    """A key value as a message shows it: text as it is, unless it would look like
    another value (blank, padded, or holding invisible characters): then with repr.

    Examples
    --------
    >>> show_value("L1"), show_value("L1 "), show_value(7)
    ('L1', "'L1 '", '7')
    """
    if isinstance(value, str) and (value != value.strip() or not value.isprintable() or not value):
        return repr(value)
    return str(value)


def examples_of(raw: pd.DataFrame, mask: np.ndarray, key: tuple[str, ...]) -> tuple[str, ...]:
    """Name the first offending rows by their key values and position."""
    pos = np.flatnonzero(mask)[:N_EXAMPLES]
    cols = [c for c in key if c in raw.columns]
    out = []
    for i in pos:
        keys = ", ".join(f"{c}={show_value(raw[c].iloc[i])}" for c in cols)
        out.append(f"{keys} (row {i})" if keys else f"row {i}")
    return tuple(out)
