"""Today's worklist from files or objects: what ``overdue-risk prioritise`` calls."""

from __future__ import annotations

import os

import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_path, read_table, write_table
from ..contract import Portfolio
from ..exceptions import OverdueRiskError
from ..prioritise import Strategy, Worklist, prioritise
from ._inputs import as_portfolio, load_strategy
from ._value import check_value_source, choose_value_model

__all__ = ["prioritise_portfolio"]


def prioritise_portfolio(
    scores: pd.DataFrame | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    strategy: Strategy | str | os.PathLike,
    *,
    value_model="auto",
    horizon_days: int = 30,
    flags: pd.DataFrame | str | os.PathLike | None = None,
    method: str = "auto",
    out: str | os.PathLike | None = None,
) -> Worklist:
    """Learn the value model and decide today's worklist, from files or objects.

    Everything is checked before the portfolio is read: the output path, the
    date, the strategy, the scores and the flags.

    Parameters
    ----------
    scores : DataFrame or path
        Risk scores (see :func:`~overdue_risk.prioritise`), or the ``.parquet`` or
        ``.csv`` file written by :func:`score_portfolio`.
    portfolio : Portfolio or path
        A portfolio, or its folder (read and validated).
    as_of : date-like
        The day the worklist is for.
    strategy : Strategy, profile name or TOML path
        See :func:`load_strategy`.
    value_model : {"auto", "uplift", "fallback"} or value model, default "auto"
        A source for :func:`choose_value_model`, or a fitted value model to use as it is.
    horizon_days : int, default 30
        The value horizon of a learned value model.
    flags : DataFrame or path, optional
        Opt-out and hardship flags: a frame indexed by ``loan_id``, or a file
        with a ``loan_id`` column.
    method : {"auto", "lp", "lagrangian", "greedy"}, default "auto"
        The allocation method.
    out : path, optional
        Write the worklist table there (``.parquet`` or ``.csv``).

    Returns
    -------
    Worklist
    """
    if out is not None:
        check_output_path(out)
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    if isinstance(value_model, str):
        check_value_source(value_model, "value_model", "prioritise_portfolio")
    strategy = load_strategy(strategy)
    if not isinstance(scores, pd.DataFrame):
        scores = read_table(scores, "Scores file")
    if flags is not None and not isinstance(flags, pd.DataFrame):
        flags = read_table(flags, "Flags file").set_index("loan_id")
    portfolio = as_portfolio(portfolio)
    if isinstance(value_model, str):
        value_model = choose_value_model(portfolio, as_of, value_model, horizon_days=horizon_days)
    worklist = prioritise(
        scores, portfolio, as_of, strategy, value_model=value_model, flags=flags, method=method
    )
    if out is not None:
        write_table(worklist.table(), out)
    return worklist
