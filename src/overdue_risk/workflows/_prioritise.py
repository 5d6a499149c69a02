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
from ._inputs import check_argument, dated_portfolio, load_strategy, portfolio_files
from ._value import check_value_source, choose_value_model

__all__ = ["prioritise_portfolio"]


def prioritise_portfolio(
    scores: pd.DataFrame | str | os.PathLike,
    portfolio: Portfolio | str | os.PathLike,
    as_of: AsOf,
    strategy: Strategy | str | os.PathLike,
    *,
    value_model="auto",
    horizon_days: int | str | None = None,
    flags: pd.DataFrame | str | os.PathLike | None = None,
    method: str = "auto",
    max_score_age_days: float = 7,
    out: str | os.PathLike | None = None,
    allow_future: bool = False,
) -> Worklist:
    """Learn the value model and decide today's worklist, from files or objects.

    Everything is checked before the portfolio is read: the types of the
    arguments, the date, the strategy, the output path, the scores and the
    flags (their columns, values and keys). That the scored and the flagged
    loans are the portfolio's is checked once it is read, before the value
    model is learned; that the scores used are recent enough, once the
    overdue accounts are known.

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
    value_model : {"auto", "uplift", "fallback", "arrears"} or value model, default "auto"
        A source for :func:`choose_value_model`, or a fitted value model to use as it is.
    horizon_days : int, "resolution" or None, default None
        The value model's window (:func:`learn_value_model`); by default the
        strategy's ``value.horizon_days`` (30 unless the strategy says).
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
    _check_arguments(scores, portfolio, strategy, flags, out)
    days = parse_as_of(as_of)
    if days.size != 1:
        raise OverdueRiskError(f"as_of must be one date; got {days.size}.")
    if isinstance(value_model, str):
        check_value_source(value_model, "value_model", "prioritise_portfolio")
    # The strategy before the output paths: an empty or misspelt name is the strategy's
    # error, not an output "inside the input folder '.'".
    loaded = load_strategy(strategy)
    check(Limit(), max_score_age_days, key="max_score_age_days", error=OverdueRiskError)
    if out is not None:
        check_output_path(out)
    check_outputs_apart([out], [scores, flags, strategy, *portfolio_files(portfolio)])
    strategy = loaded
    subjects = {"scores": "the scores table", "flags": "the flags table"}
    if not isinstance(scores, pd.DataFrame):
        subjects["scores"] = _file("scores", scores)
        scores = read_table(scores, "Scores file")
    scores = check_scores(scores, subject=subjects["scores"])
    if flags is not None and not isinstance(flags, pd.DataFrame):
        subjects["flags"] = _file("flags", flags)
        flags = read_table(flags, "Flags file")
    if flags is not None:
        flags = check_flags(flags, strategy, subject=subjects["flags"])
    portfolio = dated_portfolio(portfolio, as_of, allow_future=allow_future)
    # The loans scored and flagged must be the portfolio's: before the value model is learned.
    loan_ids = portfolio.loans["loan_id"]
    check_scores(scores, loan_ids=loan_ids, subject=subjects["scores"])
    if flags is not None:
        check_flags(flags, strategy, loan_ids=loan_ids, subject=subjects["flags"])
    if isinstance(value_model, str):
        value_model = choose_value_model(
            portfolio, as_of, value_model, horizon_days=horizon_days, strategy=strategy
        )
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


def _check_arguments(scores, portfolio, strategy, flags, out) -> None:
    """The types of the arguments, before any path is looked at (swapped ones, say)."""
    owner = "prioritise_portfolio"
    table = "a DataFrame or the path of a .parquet or .csv file"
    check_argument(owner, "scores", scores, (pd.DataFrame,), table)
    check_argument(owner, "portfolio", portfolio, (Portfolio,), "a Portfolio or its folder")
    strategy_kinds = (Strategy, str, os.PathLike)  # an empty name: the strategy's own error
    check_argument(
        owner, "strategy", strategy, strategy_kinds, "a Strategy, a profile name or a TOML file"
    )
    check_argument(owner, "flags", flags, (pd.DataFrame,), table, optional=True)
    check_argument(owner, "out", out, (), "the path of a .parquet or .csv file", optional=True)


def _file(what: str, path: str | os.PathLike) -> str:
    """How an error names an input file: ``the flags file 'flags.csv'``."""
    return f"the {what} file {os.fspath(path)!r}"
