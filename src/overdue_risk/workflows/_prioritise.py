"""Today's worklist from files or objects: what ``overdue-risk prioritise`` calls."""

from __future__ import annotations

import os

import pandas as pd

from .._dates import AsOf, parse_as_of
from .._io import check_output_path, check_outputs_apart, read_table, write_table
from .._params import Limit, check
from ..contract import Portfolio
from ..exceptions import OverdueRiskError
from ..prioritise import Strategy, Worklist, check_flags, check_scores, prioritise
from ._inputs import dated_portfolio, load_strategy, portfolio_files
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
    max_score_age_days: float = 7,
    out: str | os.PathLike | None = None,
    allow_future: bool = False,
) -> Worklist:
    """Learn the value model and decide today's worklist, from files or objects.

    Everything is checked before the portfolio is read: the output path, the
    date, the strategy, the scores and the flags (their columns, values and
    keys; that flagged loans are in the portfolio and that the scores used
    are recent enough are checked once it is read).

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
        Opt-out, cease-contact, hardship and vulnerability flags: a frame
        indexed by ``loan_id``, or a file with a ``loan_id`` column (see
        :func:`~overdue_risk.prioritise.check_flags`). Without them a warning
        names the rules left unenforced.
    method : {"auto", "lp", "lagrangian", "greedy"}, default "auto"
        The allocation method.
    max_score_age_days : int or inf, default 7
        The oldest score the worklist may use, in days before ``as_of``
        (``inf``: any age); see :func:`~overdue_risk.prioritise`.
    out : path, optional
        Write the worklist table there (``.parquet`` or ``.csv``).
    allow_future : bool, default False
        Decide for a date after the morning after the data's last record (with
        a warning) instead of refusing it.

    Returns
    -------
    Worklist
    """
    if out is not None:
        check_output_path(out)
    check_outputs_apart([out], [scores, flags, strategy, *portfolio_files(portfolio)])
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    if isinstance(value_model, str):
        check_value_source(value_model, "value_model", "prioritise_portfolio")
    strategy = load_strategy(strategy)
    check(Limit(), max_score_age_days, key="max_score_age_days", error=OverdueRiskError)
    if isinstance(scores, pd.DataFrame):
        scores = check_scores(scores)
    else:
        scores = check_scores(read_table(scores, "Scores file"), subject=_file("scores", scores))
    if isinstance(flags, pd.DataFrame):
        flags = check_flags(flags, strategy)
    elif flags is not None:
        flags = check_flags(
            read_table(flags, "Flags file"), strategy, subject=_file("flags", flags)
        )
    portfolio = dated_portfolio(portfolio, as_of, allow_future=allow_future)
    if isinstance(value_model, str):
        value_model = choose_value_model(portfolio, as_of, value_model, horizon_days=horizon_days)
    worklist = prioritise(
        scores,
        portfolio,
        as_of,
        strategy,
        value_model=value_model,
        flags=flags,
        method=method,
        max_score_age_days=max_score_age_days,
    )
    if out is not None:
        write_table(worklist.table(), out)
    return worklist


def _file(what: str, path: str | os.PathLike) -> str:
    """How an error names an input file: ``the flags file 'flags.csv'``."""
    return f"the {what} file {os.fspath(path)!r}"
