"""The prioritiser's inputs beside the portfolio: the account flags and the risk scores.

Both are checked as the data contract checks a portfolio: each broken rule is a
:class:`~overdue_risk.exceptions.Problem` naming the table, the column, the rule
and the first rows (keys with padding or invisible characters shown with
``repr``), and every problem is raised at once in one
:class:`~overdue_risk.DataValidationError`.

Nothing a rule depends on is dropped silently:

* flags: a column the strategy does not read (a misspelt ``cease_contact``) and
  a column one of its rules reads but the table lacks are errors, as are a
  table without ``loan_id``, a loan flagged twice, a loan not in the portfolio
  and a value that is not a boolean; without any flags table, the rules whose
  flags the loans table does not hold either are named in a
  :class:`~overdue_risk.DataQualityWarning`;
* scores: a (``loan_id``, ``as_of``) pair listed twice, a score that is not a
  probability, a date that does not parse, and (in :func:`check_score_age`) a
  score older than the age the caller allows are errors.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .._dates import day_precision, day_text, local_times, to_days, zone_outliers
from .._params import suggest
from ..contract import WAIT, show_value
from ..exceptions import DataQualityWarning, DataValidationError, OverdueRiskError, Problem
from ._strategy import FLAGS, OPT_OUT, Strategy

__all__ = [
    "check_flags",
    "check_score_age",
    "check_scores",
    "flag_rules",
    "latest_scores",
    "loans_flags",
    "warn_unenforced_flags",
]

N_EXAMPLES = 5


def _rows(keys: Mapping[str, pd.Series], mask: np.ndarray, values=None) -> tuple[str, ...]:
    """The first rows in ``mask``, named by their keys and position (and value)."""
    out = []
    for i in np.flatnonzero(mask)[:N_EXAMPLES]:
        named = ", ".join(f"{k}={show_value(v.iloc[i])}" for k, v in keys.items())
        text = f"{named} (row {i})" if named else f"row {i}"
        if values is not None:
            value = values.iloc[i]
            text += f": {(value.item() if isinstance(value, np.generic) else value)!r}"
        out.append(text)
    return tuple(out)


def _column_names(columns: pd.Index, table: str, subject: str) -> list[str]:
    """The column names as text: one level of them, each once, or a DataValidationError."""
    if isinstance(columns, pd.MultiIndex):
        problem = Problem(
            table,
            "",
            "wrong_type",
            1,
            tuple(map(str, columns[:N_EXAMPLES])),
            f"Columns must be one level of names, not a MultiIndex of {columns.nlevels} "
            "levels; flatten them (e.g. df.columns = [...]).",
        )
        raise DataValidationError([problem], subject=subject)
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        dup = tuple(sorted({show_value(n) for n in names if names.count(n) > 1}))
        problem = Problem(
            table, "", "duplicate_column", len(dup), dup, "Column names must be unique."
        )
        raise DataValidationError([problem], subject=subject)
    return names


def _nested(values: pd.Series) -> np.ndarray:
    """Which values are lists, arrays, dicts or sets (a Parquet list or struct column)."""
    if not pd.api.types.is_object_dtype(values.dtype) and not isinstance(
        values.dtype, pd.ArrowDtype
    ):
        return np.zeros(len(values), bool)
    return np.fromiter(
        (isinstance(v, list | dict | set | np.ndarray) for v in values), bool, len(values)
    )


def _orphans(table: str, ids: pd.Series, loan_ids: Iterable, skip: np.ndarray) -> Problem | None:
    """The rows whose ``loan_id`` is not one of ``loan_ids`` (the portfolio's), if any."""
    known = pd.Index(loan_ids)
    orphan = ~ids.isin(known).to_numpy() & ~skip
    if not orphan.any():
        return None
    hint = (
        " No id matches: ids are kept as given, so check that they have the "
        "same type (text '00123' is not the number 123) and carry no padding or "
        "invisible characters."
        if orphan.sum() == (~skip).sum()
        else ""
    )
    return Problem(
        table,
        "loan_id",
        "orphan",
        int(orphan.sum()),
        _rows({"loan_id": ids}, orphan),
        f"loan_id is not a loan of the portfolio.{hint}",
    )


# -- flags -------------------------------------------------------------------------------

_TRUE = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_BOOLEANS = "true/false, yes/no or 1/0 (a blank reads false)"


def _booleans(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Booleans from bool, 0/1 or true/false/yes/no values (missing reads False),
    and the rows holding anything else."""
    n = len(values)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool, na_value=False), np.zeros(n, bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return x == 1, ~np.isnan(x) & (x != 0) & (x != 1)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # lists or structs (unhashable): not flags
        nested = values.map(lambda v: not pd.api.types.is_scalar(v), na_action="ignore")
        return np.zeros(n, bool), nested.fillna(False).to_numpy(dtype=bool)
    text = [str(u).strip().lower() for u in uniques]  # one per distinct value
    truth = np.array([_TRUE.get(t, False) for t in text] + [False], dtype=bool)
    known = np.array([t in _TRUE for t in text] + [True], dtype=bool)
    return truth[codes], ~known[codes]  # code -1 (missing) reads the appended entries


def flag_rules(strategy: Strategy) -> dict[str, str]:
    """The flags the strategy's rules read, each with the rule it feeds, in :data:`FLAGS` order.

    A flag counts when it can block one of the strategy's enabled actions: an
    opt-out when an action uses its channel, cease-contact when an action has
    a channel, hardship and vulnerability when an action is not among those
    they leave open, restructure-ineligible when restructuring is offered or
    an action requires it to have been considered.

    Examples
    --------
    >>> from overdue_risk import Strategy
    >>> flag_rules(Strategy())["cease_contact"]
    'cease_contact (blocks sms, call, visit, restructure)'
    >>> flag_rules(Strategy())["opt_out_letter"]  # restructuring offers go by letter
    'opt_out letter (blocks restructure)'
    >>> legal_only = {a: {"enabled": False} for a in ("sms", "call", "visit", "restructure")}
    >>> sorted(flag_rules(Strategy().replace(actions=legal_only)))  # legal has no channel
    ['hardship', 'restructure_ineligible', 'vulnerable']
    """
    specs = {a: getattr(strategy.actions, a) for a in strategy.action_names if a != WAIT}
    r = strategy.rules
    blocks = {
        flag: [a for a, s in specs.items() if s.channel == channel]
        for channel, flag in OPT_OUT.items()
    }
    blocks["cease_contact"] = [a for a, s in specs.items() if s.channel != "none"]
    blocks["hardship"] = [a for a in specs if a not in r.hardship_actions]
    blocks["vulnerable"] = [a for a in specs if a not in r.vulnerable_actions]
    need = [a for a, s in specs.items() if s.requires_restructure_considered]
    blocks["restructure_ineligible"] = [a for a in specs if a == "restructure" or a in need]
    rules = {}
    for flag in FLAGS:
        if blocks[flag]:
            channel = next((c for c, f in OPT_OUT.items() if f == flag), None)
            name = f"opt_out {channel}" if channel else flag
            rules[flag] = f"{name} (blocks {', '.join(blocks[flag])})"
    return rules


def _flag_columns(strategy: Strategy) -> dict[str, str]:
    return {flag: getattr(strategy.flags, flag) for flag in FLAGS}


def check_flags(
    flags: pd.DataFrame,
    strategy: Strategy,
    *,
    loan_ids: Iterable | None = None,
    subject: str = "the flags table",
) -> pd.DataFrame:
    """The flags table, checked against the strategy: one boolean column per flag column.

    Parameters
    ----------
    flags : DataFrame
        A ``loan_id`` column (or an index named ``loan_id``) and the columns
        the strategy reads its flags from (``strategy.flags``).
    strategy : Strategy
    loan_ids : array-like, optional
        The portfolio's loans: a flagged loan must be one of them.
    subject : str
        What the error calls the table (``"the flags file 'flags.csv'"``).

    Returns
    -------
    DataFrame
        Indexed by ``loan_id``: each flag column the table holds, as booleans.

    Raises
    ------
    DataValidationError
        Without ``loan_id``; with a column the strategy does not read (the
        nearest one suggested) or without one its rules read
        (:func:`flag_rules`); with a loan missing, repeated or not in
        ``loan_ids``; with a value that is not true/false, yes/no or 1/0.
    """
    if not isinstance(flags, pd.DataFrame):
        raise OverdueRiskError(f"flags must be a DataFrame; got {type(flags).__name__}.")
    columns = _flag_columns(strategy)
    known = sorted(set(columns.values()))
    problems: list[Problem] = []

    def add(column: str, rule: str, count: int, examples: tuple, message: str) -> None:
        problems.append(Problem("flags", column, rule, int(count), examples, message))

    frame = flags.set_axis(_column_names(flags.columns, "flags", subject), axis=1)
    if "loan_id" in frame.columns:
        ids = frame.pop("loan_id")
    elif frame.index.name == "loan_id" and not isinstance(frame.index, pd.MultiIndex):
        ids = frame.index.to_series()
    else:
        ids = None
        add(
            "loan_id",
            "missing_column",
            1,
            (),
            "The flags need a loan_id column (or an index named loan_id): the loan each row flags.",
        )
    for name in frame.columns:
        if name not in known:
            if name in columns:  # a flag's name, where the strategy maps it to another column
                hint = f"; the strategy reads flag {name} from the column {columns[name]!r}"
            else:
                hint = suggest(name, [*known, "loan_id"])
            add(
                show_value(name),  # a padded or invisible name is shown as such
                "unknown_column",
                1,
                (),
                f"Not a column the strategy reads its flags from (strategy.flags){hint or '.'}",
            )
    for flag, rule in flag_rules(strategy).items():
        if columns[flag] not in frame.columns:
            add(
                columns[flag],
                "missing_column",
                1,
                (),
                f"The rule {rule} reads it "
                f"(strategy.flags.{flag}): without it the rule would be off. Give false for "
                "accounts without the flag.",
            )
    if ids is not None:
        ids = ids.reset_index(drop=True)
        keys = {"loan_id": ids}
        missing = ids.isna().to_numpy()
        if missing.any():
            add("loan_id", "not_null", missing.sum(), _rows({}, missing), "Values are required.")
        repeated = ids.duplicated(keep=False).to_numpy() & ~missing
        if repeated.any():
            add(
                "loan_id",
                "unique",
                repeated.sum(),
                _rows(keys, repeated),
                "Each loan must be flagged in one row.",
            )
        if loan_ids is not None:
            orphan = _orphans("flags", ids, loan_ids, missing)
            if orphan is not None:
                problems.append(orphan)
    out = {}
    for name in frame.columns:
        if name in known:
            values, bad = _booleans(frame[name])
            if bad.any():
                rows = _rows({} if ids is None else keys, bad, frame[name].reset_index(drop=True))
                add(name, "wrong_type", bad.sum(), rows, f"Flags must be {_BOOLEANS}.")
            out[name] = values
    if problems:
        raise DataValidationError(problems, subject=subject)
    return pd.DataFrame(out, index=pd.Index(ids, name="loan_id"))


def loans_flags(strategy: Strategy, loans: pd.DataFrame) -> dict[str, np.ndarray]:
    """The flag columns the loans table holds (when no flags table is given), as booleans."""
    out, problems = {}, []
    for column in dict.fromkeys(_flag_columns(strategy).values()):
        if column in loans.columns:
            values, bad = _booleans(loans[column])
            if bad.any():
                rows = _rows({"loan_id": loans["loan_id"]}, bad, loans[column])
                problems.append(
                    Problem(
                        "loans",
                        column,
                        "wrong_type",
                        int(bad.sum()),
                        rows,
                        f"Flags must be {_BOOLEANS}.",
                    )
                )
            out[column] = values
    if problems:
        raise DataValidationError(problems)
    return out


def warn_unenforced_flags(strategy: Strategy, loans_columns: Iterable[str]) -> None:
    """Without a flags table: a :class:`DataQualityWarning` naming the rules left
    unenforced because the loans table has no column for their flags either."""
    present = list(loans_columns)
    columns = _flag_columns(strategy)
    off = {f: rule for f, rule in flag_rules(strategy).items() if columns[f] not in present}
    if not off:
        return
    # A near miss (a misspelt cease_contact) is named; loose matches would mislead.
    near = {f: difflib.get_close_matches(columns[f], present, n=1, cutoff=0.8) for f in off}
    lacking = [
        f"{columns[f]} (the loans table has {near[f][0]!r})" if near[f] else columns[f] for f in off
    ]
    warnings.warn(
        f"No flags were given and the loans table has no column {', '.join(lacking)}: "
        f"the rules {'; '.join(off.values())} are not enforced (every account reads as "
        "unflagged). Pass the flags (flags=, --flags) with these columns.",
        DataQualityWarning,
        stacklevel=3,
    )


# -- scores ------------------------------------------------------------------------------


def check_scores(
    scores: pd.DataFrame,
    *,
    loan_ids: Iterable | None = None,
    subject: str = "the scores table",
) -> pd.DataFrame:
    """The scores, checked: ``loan_id`` as text, ``score`` as float, ``as_of`` as dates.

    Parameters
    ----------
    scores : DataFrame
        ``loan_id`` and ``as_of`` as columns or index levels (as written by
        ``overdue-risk score``), ``score``; other columns are kept.
    loan_ids : array-like, optional
        The portfolio's loans: a scored loan must be one of them.
    subject : str
        What the error calls the table (``"the scores file 's.csv'"``).

    Returns
    -------
    DataFrame
        A flat frame with the same rows; ``as_of`` only when given.

    Raises
    ------
    DataValidationError
        For columns that are not one level of unique names, a missing
        ``loan_id`` or ``score`` column (named), a missing id, an id not in
        ``loan_ids`` (a scores file of another portfolio, or with mangled
        ids), a list or struct value, a score that is not a probability in
        [0, 1], an ``as_of`` that is not a date, and a (``loan_id``,
        ``as_of``) pair, or a ``loan_id`` of undated scores, listed twice
        (which copy applies would be a guess).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"loan_id": ["L1", "L2 "], "score": [0.1, 0.2]})
    >>> try:
    ...     check_scores(scores, loan_ids=["L1", "L2"])
    ... except DataValidationError as err:
    ...     print(err.problems[0].rule, err.problems[0].examples)
    orphan ("loan_id='L2 ' (row 1)",)
    """
    if not isinstance(scores, pd.DataFrame):
        raise OverdueRiskError(f"scores must be a DataFrame; got {type(scores).__name__}.")
    _column_names(scores.columns, "scores", subject)
    levels = [n for n in scores.index.names if n in ("loan_id", "as_of") and n not in scores]
    frame = scores.reset_index(level=levels) if levels else scores
    frame = frame.reset_index(drop=True)
    frame = frame.set_axis(_column_names(frame.columns, "scores", subject), axis=1)
    problems: list[Problem] = []

    def add(column: str, rule: str, mask: np.ndarray, examples: tuple, message: str) -> None:
        problems.append(Problem("scores", column, rule, int(mask.sum()), examples, message))

    missing = [c for c in ("loan_id", "score") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "scores",
                    c,
                    "missing_column",
                    1,
                    (),
                    "Required column is missing: scores "
                    "need loan_id (a column or an index level) and score, as "
                    "`overdue-risk score` writes them.",
                )
                for c in missing
            ],
            subject=subject,
        )
    nested = {c: _nested(frame[c]) for c in ("loan_id", "score", "as_of") if c in frame}
    named = {} if nested["loan_id"].any() else {"loan_id": frame["loan_id"]}
    for column, mask in nested.items():
        if mask.any():
            add(
                column,
                "wrong_type",
                mask,
                _rows(named, mask, frame[column]),
                "Values must be single values, not lists or structs.",
            )
    raw_ids = frame["loan_id"]
    no_id = raw_ids.isna().to_numpy() | nested["loan_id"]
    if (no_id & ~nested["loan_id"]).any():
        gone = no_id & ~nested["loan_id"]
        add("loan_id", "not_null", gone, _rows({}, gone), "Values are required.")
    ids = raw_ids.astype(str)
    keys = {"loan_id": ids}
    if loan_ids is not None:
        orphan = _orphans("scores", ids, pd.Index(loan_ids).astype(str), no_id)
        if orphan is not None:
            problems.append(orphan)
    raw = frame["score"]
    if pd.api.types.is_bool_dtype(raw.dtype):
        score = pd.Series(np.nan, index=frame.index)
    else:
        plain = raw.where(~nested["score"]) if nested["score"].any() else raw
        score = pd.to_numeric(plain, errors="coerce").astype(np.float64)
    bad = ~((score >= 0) & (score <= 1)).to_numpy() & ~nested["score"]  # NaN fails too
    if bad.any():
        add(
            "score",
            "probability",
            bad,
            _rows(keys, bad, raw),
            "Scores must be probabilities in [0, 1].",
        )
    out = {"loan_id": ids, "score": score}
    key = ["loan_id"]
    if "as_of" in frame.columns:
        given = frame["as_of"]
        times, zones = local_times(
            given.where(~nested["as_of"]) if nested["as_of"].any() else given
        )
        dates = day_precision(times)
        undated = dates.isna().to_numpy() & ~nested["as_of"]
        if undated.any():
            add(
                "as_of",
                "unparseable_date",
                undated,
                _rows(keys, undated, frame["as_of"]),
                "Dates must be ISO 8601 (YYYY-MM-DD) between 1900 and 2200.",
            )
        if zones is not None:
            mixed, labels = zone_outliers(zones)  # counted as the data contract counts
            add(
                "as_of",
                "mixed_timezones",
                mixed,
                _rows(keys, mixed, frame["as_of"]),
                f"One column holds one timezone (or none); found {', '.join(labels)}.",
            )
        out["as_of"] = dates
        key.append("as_of")
    twice = pd.DataFrame(out)[key].duplicated(keep=False).to_numpy() & ~no_id
    if twice.any():
        named = {"loan_id": ids}
        if "as_of" in out:
            named["as_of"] = out["as_of"].dt.strftime("%Y-%m-%d")
        add(
            "loan_id" if len(key) == 1 else "loan_id, as_of",
            "unique",
            twice,
            _rows(named, twice, raw),
            f"Each {' and '.join(key)} must be scored once: with "
            "two scores, which one applies would be a guess.",
        )
    if problems:
        raise DataValidationError(problems, subject=subject)
    return frame.assign(**out)


def latest_scores(scores: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per loan, indexed by ``loan_id``: its latest score dated on or before
    ``as_of`` (any score, when undated), from scores :func:`check_scores` passed.

    Scores dated after ``as_of`` are never used.
    """
    frame = scores
    if "as_of" in frame.columns:
        frame = frame[(frame["as_of"] <= as_of).to_numpy()]
        frame = frame.sort_values(["loan_id", "as_of"], kind="stable")
    return frame.drop_duplicates("loan_id", keep="last").set_index("loan_id")


def check_score_age(latest: pd.DataFrame, ids: pd.Index, day: int, max_age_days: float) -> None:
    """Refuse the scores of accounts ``ids`` older than ``max_age_days`` at ``day``.

    Undated scores cannot be aged: unless any age is allowed (``inf``), a
    :class:`DataQualityWarning` says so.
    """
    if max_age_days == math.inf:
        return
    if "as_of" not in latest.columns:
        warnings.warn(
            f"The scores carry no as_of date, so their age cannot be checked against "
            f"max_score_age_days={max_age_days}; write them with `overdue-risk score` (or add "
            "an as_of column).",
            DataQualityWarning,
            stacklevel=3,
        )
        return
    scored = latest["as_of"].reindex(ids)
    age = day - to_days(scored.to_numpy())
    stale = age > max_age_days
    if stale.any():
        rows = tuple(
            f"loan_id={show_value(ids[i])}: scored {day_text(day - age[i])}"
            for i in np.flatnonzero(stale)[:N_EXAMPLES]
        )
        raise DataValidationError(
            [
                Problem(
                    "scores",
                    "as_of",
                    "stale",
                    int(stale.sum()),
                    rows,
                    f"The latest score on or before {day_text(day)} of these overdue accounts "
                    f"is more than max_score_age_days={max_age_days:g} days old (the oldest "
                    f"{int(age.max())} days). Score the portfolio again, or allow older scores "
                    "with max_score_age_days (--max-score-age-days; inf: any age).",
                )
            ],
            subject="the scores table",
        )
