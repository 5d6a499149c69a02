"""One error hierarchy for the whole library.

Every error a user can cause derives from :class:`OverdueRiskError`, so a batch
job can tell bad input (exit 2) from a bug (exit 1) with a single ``except``.
:class:`OverdueRiskError` is a :class:`ValueError`, as scikit-learn users expect
of an estimator given input it cannot take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "AllocationError",
    "ArtifactError",
    "DataQualityWarning",
    "DataValidationError",
    "EvaluationError",
    "ModelError",
    "OverdueRiskError",
    "Problem",
    "ScenarioError",
    "StrategyError",
]


class OverdueRiskError(ValueError):
    """Base class of every error the user can fix by changing their input."""


class ScenarioError(OverdueRiskError):
    """A simulator scenario with an unknown key or an invalid value.

    The message names the full key, e.g. ``scenario.economy.downturn_start``.
    """


class ModelError(OverdueRiskError):
    """A model parameter, training frame or scoring frame the model cannot take."""


class ArtifactError(ModelError):
    """A saved model folder that is incomplete, altered or of an unknown version."""


class StrategyError(OverdueRiskError):
    """A strategy with an unknown key, an invalid value or an unknown profile.

    The message names the full key, e.g. ``strategy.actions.visit.min_dpd``.
    """


class EvaluationError(OverdueRiskError):
    """Inputs that :func:`~overdue_risk.evaluate` cannot evaluate.

    Also raised when a report is asked for a table or plot that needs an input
    it was not given (e.g. the ``"psi"`` table without ``reference_score=``).
    """


class AllocationError(OverdueRiskError):
    """Invalid input to :func:`~overdue_risk.allocate`, or a solver that could not finish."""


class DataQualityWarning(UserWarning):
    """Data that is legal under the contract but looks suspicious."""


@dataclass(frozen=True)
class Problem:
    """One broken rule of the data contract.

    Attributes
    ----------
    table, column : str
        Where the rule failed (``column`` is ``""`` for table-level rules).
    rule : str
        Stable identifier of the rule, e.g. ``"unique"`` or ``"orphan"``.
    count : int
        How many rows (or items) break the rule.
    examples : tuple of str
        The first offending keys, rendered as text.
    message : str
        A sentence that says what is wrong and what was expected.
    """

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = field(default_factory=tuple)
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where}: {self.rule} ({self.count}): {self.message}"
        if self.examples:
            text += f" First: {', '.join(self.examples)}"
        return text


class DataValidationError(OverdueRiskError):
    """Raised once, with every contract violation found in a portfolio (or another input).

    Attributes
    ----------
    problems : tuple of Problem
        All problems, in table order.
    subject : str
        What broke the rules: ``"the portfolio"`` (the default), or another
        input table such as ``"the flags file 'flags.csv'"``.

    Examples
    --------
    >>> err = DataValidationError([Problem("loans", "principal", "positive", 2)])
    >>> err.table()[["table", "column", "rule", "count"]].to_dict("records")
    [{'table': 'loans', 'column': 'principal', 'rule': 'positive', 'count': 2}]
    """

    def __init__(self, problems: Sequence[Problem], *, subject: str = "the portfolio"):
        self.problems = tuple(problems)
        self.subject = subject
        n = len(self.problems)
        head = subject[:1].upper() + subject[1:]
        lines = [f"{head} breaks {n} rule{'s' if n != 1 else ''} of the data contract:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def table(self) -> pd.DataFrame:
        """The problems as a DataFrame, one row per broken rule."""
        return pd.DataFrame(
            {
                "table": [p.table for p in self.problems],
                "column": [p.column for p in self.problems],
                "rule": [p.rule for p in self.problems],
                "count": [p.count for p in self.problems],
                "examples": [", ".join(p.examples) for p in self.problems],
                "message": [p.message for p in self.problems],
            }
        )
