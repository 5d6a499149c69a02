"""``simulate_portfolio``: a synthetic consumer-finance lender and its history."""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._dates import day_of, day_text
from .._io import check_output_folder, check_outputs_apart, write_folder
from ..contract import Portfolio, validate
from ..exceptions import DataQualityWarning, OverdueRiskError
from ._calendar import FIRST_START, LAST_DAY, latest_end
from ._params import Params, Recorder
from ._population import HORIZON_DAYS, build_population
from ._scenario import Scenario
from ._tables import build_tables
from ._truth import SimulationTruth, replay_history

__all__ = ["SimulatedPortfolio", "simulate_portfolio"]

log = logging.getLogger(__name__)

_MAX_LOANS = 50_000_000
_FORMATS = ("parquet", "csv")  # the file formats of a written simulation


class SimulatedPortfolio(NamedTuple):
    """What :func:`simulate_portfolio` returns: unpack as ``portfolio, truth``."""

    portfolio: Portfolio
    truth: SimulationTruth

    # Where :meth:`write` puts the truth's tables, below the contract tables.
    truth_folder = "truth"

    def files(self, format: str = "parquet") -> dict[str, pd.DataFrame]:
        """The folder layout: ``{relative path: table}``.

        Every contract table at the top (``loans.parquet``, ...), the truth's
        tables in :attr:`truth_folder` (``truth/``).
        """
        _check_format(format)
        ext = f".{format}"
        files = {f"{name}{ext}": df for name, df in self.portfolio.tables().items()}
        truth = self.truth.tables().items()
        files.update({f"{self.truth_folder}/{name}{ext}": df for name, df in truth})
        return files

    def write(
        self, folder: str | os.PathLike, *, format: str = "parquet", overwrite: bool = False
    ) -> Path:
        """Write :meth:`files` into ``folder``, which appears whole or not at all.

        A non-empty folder is replaced only with ``overwrite``.
        """
        out = check_output_folder(folder, overwrite)
        return write_folder(self.files(format), out)


def _check_format(format: str) -> None:
    if format not in _FORMATS:
        raise OverdueRiskError(f"format must be one of {_FORMATS}; got {format!r}.")


def _check_window(first: int, last: int, start, end, scenario: Scenario) -> None:
    """Refuse a window whose simulation would need dates the calendar does not hold."""
    if first < FIRST_START:
        raise OverdueRiskError(
            f"start must be on or after {day_text(FIRST_START)}: the simulator's calendar "
            "begins in January 1970 and draws the economy from the month before the start; "
            f"got {start!r}."
        )
    p, extension = scenario.products, scenario.actions.restructure.extension_months
    term = max(p.pos.term_max, p.cash.term_max)
    # A restructured loan runs what was left (a card's balance: 12 months) plus the
    # extension, at most 120 months (simulate/_actions.py).
    restructured = min(max(term, 12) + extension, 120)
    latest = latest_end(max(term, restructured), HORIZON_DAYS)
    if last > latest:
        raise OverdueRiskError(
            f"end must be on or before {day_text(latest)} for this scenario: loans taken "
            f"by the end run schedules of up to {term} months ({restructured} once "
            f"restructured), the economy is kept {HORIZON_DAYS} days past the end, and every "
            f"date must fall by {day_text(LAST_DAY)}, where the data contract's calendar "
            f"ends; got {end!r}."
        )


def _check_int(value, name: str, low: int, high: int | None = None) -> int:
    ok = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if not ok or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high:,}]" if high is not None else f">= {low}"
        raise OverdueRiskError(f"{name} must be an integer {bound}; got {value!r}.")
    return int(value)


def simulate_portfolio(
    n_loans: int,
    start,
    end,
    seed: int = 0,
    scenario: Scenario | str | os.PathLike | None = None,
    *,
    snapshots=None,
    out: str | os.PathLike | None = None,
    format: str = "parquet",
    overwrite: bool = False,
) -> SimulatedPortfolio:
    """Simulate a consumer-finance lender: POS loans, cash loans and cards.

    Customers with latent capacity and willingness to repay take loans between
    ``start`` and ``end``; they pay by habit (early, on the day, a few days
    late, partially), miss payments when the product confuses them, when
    their capacity or willingness fails or in hardship episodes driven by
    regional unemployment, cure by themselves or in response to collection
    actions, repay early, and get restructured. The lender's logged policy
    (with a randomised challenger cell) acts on overdue accounts every day.

    Parameters
    ----------
    n_loans : int
        Loans originated in the window (restructurings add more).
    start, end : date-like
        The simulated window; loans start up to a month before ``end``.
    seed : int, default 0
        The same seed (and arguments) gives identical tables, byte for byte.
    scenario : Scenario, preset name or TOML path, optional
        Behaviour drivers; :class:`Scenario` defaults when omitted.
    snapshots : list of date-likes, optional
        Keep the exact state at the end of these days, so the truth object
        need not replay the history to reach them.
    out : path, optional
        Also write the tables into this folder, the truth in ``out/truth``
        (see :meth:`SimulatedPortfolio.write`); checked before any work.
    format : {"parquet", "csv"}, default "parquet"
        The file format of the written tables.
    overwrite : bool, default False
        Replace a non-empty ``out`` folder.

    Returns
    -------
    SimulatedPortfolio
        ``(portfolio, truth)``: a validated :class:`~overdue_risk.Portfolio`
        with every contract table, and the :class:`SimulationTruth` holding
        the hidden state and the true probabilities.

    Examples
    --------
    >>> import overdue_risk as odr
    >>> portfolio, truth = odr.simulate_portfolio(200, "2024-01-01", "2024-06-30", seed=7)
    >>> sorted(portfolio.tables())
    ['collections', 'customers', 'installments', 'loans', 'payments', 'statements']
    >>> int((portfolio.loans["restructured_from"].isna()).sum())
    200
    """
    if out is not None:
        check_output_folder(out, overwrite)
        check_outputs_apart([out], [scenario])
        _check_format(format)
    n_loans = _check_int(n_loans, "n_loans", 1, _MAX_LOANS)
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    first, last = day_of(start, "start"), day_of(end, "end")
    if last <= first + 31:
        raise OverdueRiskError(
            f"end must be more than a month after start; got {start!r} .. {end!r}."
        )
    if scenario is None or isinstance(scenario, str | os.PathLike):
        scenario = Scenario.load(scenario)  # a preset's name or a TOML file
    if not isinstance(scenario, Scenario):
        raise OverdueRiskError(
            f"scenario must be a Scenario (see Scenario.from_toml); got {type(scenario).__name__}."
        )
    _check_window(first, last, start, end, scenario)
    keep = [] if snapshots is None else [day_of(d, "snapshots") for d in snapshots]
    if any(not first <= d <= last for d in keep):
        raise OverdueRiskError("snapshots must be dates within the simulated window.")
    t0 = time.perf_counter()
    params = Params.from_scenario(scenario)
    pop = build_population(n_loans, first, last, seed, scenario)
    log.info("population: %d loans, %d customers", pop.n_loans, pop.n_customers)
    rec = Recorder()
    final, snaps = replay_history(pop, params, seed, last, keep, recorder=rec)
    t1 = time.perf_counter()
    log.info("history: %d days simulated in %.1f s", last - first + 1, t1 - t0)
    tables = build_tables(pop, rec)
    del rec
    t2 = time.perf_counter()
    log.info("tables built in %.1f s", t2 - t1)
    with warnings.catch_warnings():
        # The generator promises clean data: a quality warning here is a bug.
        warnings.simplefilter("error", DataQualityWarning)
        portfolio = validate(Portfolio(**tables))
    log.info("tables validated in %.1f s", time.perf_counter() - t2)
    result = SimulatedPortfolio(portfolio, SimulationTruth(pop, params, seed, final, snaps))
    if out is not None:
        result.write(out, format=format, overwrite=overwrite)
    return result
