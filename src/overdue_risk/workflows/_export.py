"""Tables written from a portfolio folder: the ledger, features and labels at as-of dates.

What ``overdue-risk ledger``, ``features`` and ``labels`` call. Each function
checks the output path and the dates before it reads the portfolio, and writes
the table atomically (``.parquet`` or ``.csv``, chosen by the extension).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .._dates import AsOf, parse_as_of, to_datetime
from .._io import check_output_path, check_outputs_apart, write_table
from ..contract import Portfolio
from ..features import build_features
from ..labels import CureTarget, DpdTarget, as_target, make_labels
from ..ledger import Ledger, LedgerConfig, LedgerSnapshot
from ._inputs import check_families, dated_portfolio, portfolio_files

__all__ = ["LabelTable", "export_features", "export_labels", "export_ledger"]


@dataclass(frozen=True, eq=False)
class LabelTable:
    """Labels at the as-of dates asked for, with a summary per date.

    Attributes
    ----------
    labels : Series
        The label per ``(loan_id, as_of)``, as :func:`~overdue_risk.make_labels` gives it.
    target : DpdTarget or CureTarget
    as_of : DatetimeIndex
        The dates asked for, sorted; those whose horizon ends after the data
        have no rows.
    """

    labels: pd.Series
    target: DpdTarget | CureTarget
    as_of: pd.DatetimeIndex

    def __len__(self) -> int:
        return len(self.labels)

    def table(self) -> pd.DataFrame:
        """The labels as a one-column frame, as written to the output file."""
        return self.labels.to_frame()

    def summary(self) -> pd.DataFrame:
        """Per as-of date asked for: ``rows``, ``positives`` and the positive ``rate``.

        A date without rows (its horizon ends after the data) shows 0 rows and rate 0.
        """
        dates = self.labels.index.get_level_values("as_of")
        summary = self.labels.groupby(dates).agg(rows="size", positives="sum", rate="mean")
        summary = summary.reindex(self.as_of, fill_value=0)
        summary.index.name = "as_of"
        return summary


def export_ledger(
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    out: str | os.PathLike,
    tolerance: float = 0.0,
    allow_future: bool = False,
) -> LedgerSnapshot:
    """Write the ledger of every loan at the as-of dates to ``out``; returns the snapshot.

    The as-of dates must lie within the data, up to the morning after the last
    record; ``allow_future`` takes later ones with a warning.
    """
    check_output_path(out)
    check_outputs_apart([out], portfolio_files(portfolio))
    parse_as_of(as_of)
    config = LedgerConfig(tolerance=tolerance)  # options before the data
    portfolio = dated_portfolio(portfolio, as_of, allow_future=allow_future)
    snapshot = Ledger(portfolio, config).at(as_of)
    write_table(snapshot.table(), out)
    return snapshot


def export_features(
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    *,
    out: str | os.PathLike,
    families: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    tolerance: float = 0.0,
    allow_future: bool = False,
) -> pd.DataFrame:
    """Write the feature matrix at the as-of dates to ``out``; returns it.

    ``families`` and ``exclude`` are those of :func:`~overdue_risk.build_features`;
    ``allow_future`` that of :func:`export_ledger`.
    """
    check_output_path(out)
    check_outputs_apart([out], portfolio_files(portfolio))
    parse_as_of(as_of)
    check_families(families)
    config = LedgerConfig(tolerance=tolerance)  # options before the data
    features = build_features(
        dated_portfolio(portfolio, as_of, allow_future=allow_future),
        as_of,
        families=families,
        exclude=exclude,
        ledger_config=config,
    )
    write_table(features, out)
    return features


def export_labels(
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    target="dpd30_90d",
    *,
    out: str | os.PathLike,
    observed_until: AsOf | None = None,
    tolerance: float = 0.0,
    allow_future: bool = False,
) -> LabelTable:
    """Write the labels of every eligible loan at the as-of dates to ``out``.

    Parameters are those of :func:`~overdue_risk.make_labels`; ``tolerance``
    is the ledger's DPD tolerance, ``allow_future`` that of :func:`export_ledger`.

    Returns
    -------
    LabelTable
        The labels, and their summary per as-of date asked for.
    """
    check_output_path(out)
    check_outputs_apart([out], portfolio_files(portfolio))
    days = parse_as_of(as_of)
    if observed_until is not None:
        parse_as_of(observed_until, "observed_until")
    target = as_target(target)
    config = LedgerConfig(tolerance=tolerance)  # options before the data
    labels = make_labels(
        dated_portfolio(portfolio, as_of, allow_future=allow_future),
        as_of,
        target,
        config,
        observed_until=observed_until,
    )
    write_table(labels.to_frame(), out)
    return LabelTable(labels, target, pd.DatetimeIndex(to_datetime(days)))
