"""The malformed-input corpus of the prioritiser's and the model's inputs beside the
portfolio: flags, scores, strategies, option values, simulation windows and the
number of reason codes.

One parametrised case per kind of defect. A refused command asserts exit 2, a
message that names the problem and that nothing was written
(``assert_refused``); a refused call asserts the package's own error with
``match``. Inputs that used to be accepted silently with changed results (a
misspelt flag column, scores listed twice, stale scores, unseen categories, a
misspelt exclusion) assert their error or their warning, and the good path
next to each is checked to be unchanged.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import HANDMADE, assert_refused, concat_rows, flags_table, run_cli, save_small_model
from overdue_risk import (
    DataQualityWarning,
    DataValidationError,
    ModelError,
    OverdueRiskError,
    Portfolio,
    RiskModel,
    Scenario,
    Strategy,
    StrategyError,
    build_features,
    build_training_set,
    load_portfolio,
    prioritise,
    simulate_portfolio,
    train_risk_model,
    validate,
)
from overdue_risk.prioritise import check_flags, check_scores
from overdue_risk.workflows import (
    evaluate_model,
    export_features,
    export_labels,
    export_ledger,
    learn_value_model,
    prioritise_portfolio,
    score_portfolio,
)

AS_OF = "2024-06-30"
SCORED = "2024-06-29"  # the scores of the night before
LOANS = pd.read_csv(HANDMADE / "loans.csv", dtype=str)["loan_id"].tolist()


@pytest.fixture(scope="module")
def handmade() -> Portfolio:
    return load_portfolio(HANDMADE)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A small model of the hand-made ledger and static features, saved with its build
    options as ``train_risk_model`` saves them."""
    return save_small_model(tmp_path_factory.mktemp("saved") / "model")


def good_scores() -> pd.DataFrame:
    return pd.DataFrame({"loan_id": LOANS, "as_of": SCORED, "score": 0.2})


def good_flags() -> pd.DataFrame:
    return flags_table(LOANS).reset_index()


@pytest.fixture
def work(tmp_path) -> Path:
    """``PF`` (a copy of the hand-made portfolio), ``in/`` (good scores and flags) and
    an empty ``out/`` below ``tmp_path``; returns tmp_path."""
    shutil.copytree(HANDMADE, tmp_path / "PF")
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    good_scores().to_csv(tmp_path / "in" / "scores.csv", index=False)
    good_flags().to_csv(tmp_path / "in" / "flags.csv", index=False)
    return tmp_path


def prioritise_argv(work: Path, scores="scores.csv", flags="flags.csv", *extra) -> list[str]:
    argv = ["prioritise", str(work / "in" / scores), str(work / "PF"), "--as-of", AS_OF]
    argv += ["--strategy", "default", "--out", str(work / "out" / "w.csv")]
    argv += ["--value", "fallback", *extra]
    return argv if flags is None else [*argv, "--flags", str(work / "in" / flags)]


# -- the good path -----------------------------------------------------------------------


def test_good_inputs_give_a_worklist(work, capsys):
    code, _, err = run_cli(prioritise_argv(work), capsys)
    assert code == 0, err
    assert "warning: No flags" not in err
    assert len(pd.read_csv(work / "out" / "w.csv")) > 0


def test_flags_all_false_give_the_worklist_of_no_flags(handmade):
    """A complete table with no account flagged decides as an unflagged book did."""
    flags = flags_table(LOANS)
    flagged = prioritise(good_scores(), handmade, AS_OF, "default", flags=flags).table()
    with pytest.warns(DataQualityWarning, match="not enforced"):
        unflagged = prioritise(good_scores(), handmade, AS_OF, "default").table()
    pd.testing.assert_frame_equal(flagged, unflagged)


def test_a_cease_contact_flag_stops_every_contact(handmade):
    first = prioritise(good_scores(), handmade, AS_OF, "default", flags=flags_table(LOANS))
    treated = first.table().query("action != 'wait'").index[0]
    flags = flags_table(LOANS, cease_contact=[loan == treated for loan in LOANS])
    again = prioritise(good_scores(), handmade, AS_OF, "default", flags=flags).table()
    assert again.loc[treated, "action"] in ("wait", "legal")
    assert "cease_contact" in again.loc[treated, "blocked"]


# -- 1. flags: nothing a rule depends on may be dropped ------------------------------------

FlagsChange = Callable[[pd.DataFrame], pd.DataFrame]


def _rename(old: str, new: str) -> FlagsChange:
    return lambda f: f.rename(columns={old: new})


def _set(column: str, row: int, value) -> FlagsChange:
    def change(f: pd.DataFrame) -> pd.DataFrame:
        f = f.astype({column: object})
        f.loc[row, column] = value
        return f

    return change


def _add_row(loan_id: str) -> FlagsChange:
    return lambda f: pd.concat([f, f.iloc[[0]].assign(loan_id=loan_id)], ignore_index=True)


FLAG_CASES = {
    # (change of the flags table, message in the CLI's table, in the Python error)
    "misspelt_cease_contact": (
        _rename("cease_contact", "cease_contcat"),
        r"cease_contcat\s+unknown_column.*did you mean cease_contact\?",
        r"flags.cease_contcat: unknown_column .*did you mean cease_contact\?",
    ),
    "flag_name_for_column": (
        _rename("opt_out_call", "opt_out_voice"),
        r"opt_out_voice\s+unknown_column.*from the column 'opt_out_call'",
        r"flags.opt_out_voice: unknown_column .*reads flag opt_out_voice from the column",
    ),
    "other_column": (
        lambda f: f.assign(note="x"),
        r"note\s+unknown_column",
        r"flags.note: unknown_column",
    ),
    "missing_flag_column": (
        lambda f: f.drop(columns="hardship"),
        r"hardship\s+missing_column.*The rule hardship \(blocks",
        r"flags.hardship: missing_column \(1\): The rule hardship",
    ),
    "no_loan_id": (
        lambda f: f.rename(columns={"loan_id": "id"}),
        r"loan_id\s+missing_column",
        r"flags.loan_id: missing_column",
    ),
    "duplicated_loan": (
        _add_row(LOANS[0]),
        rf"loan_id\s+unique\s+2 .*loan_id={LOANS[0]} \(row 0\)",
        rf"flags.loan_id: unique \(2\): .*loan_id={LOANS[0]} \(row 0\)",
    ),
    "unknown_loan": (
        _add_row("L999"),
        r"loan_id\s+orphan\s+1 .*loan_id=L999",
        r"flags.loan_id: orphan \(1\): loan_id is not a loan .*loan_id=L999",
    ),
    "padded_loan_id": (
        _add_row(f"{LOANS[1]} "),
        rf"orphan\s+1 .*loan_id='{LOANS[1]} '",
        rf"flags.loan_id: orphan \(1\).*loan_id='{LOANS[1]} '",
    ),
    "not_a_boolean": (
        _set("hardship", 2, "maybe"),
        r"hardship\s+wrong_type\s+1 .*'maybe'",
        r"flags.hardship: wrong_type \(1\): Flags must be true/false.*'maybe'",
    ),
    "flag_column_twice": (
        lambda f: pd.concat([f, f[["hardship"]].assign(hardship=True)], axis=1),
        r"flags\s+duplicate_column\s+1\s+hardship",
        r"flags: duplicate_column \(1\)",
    ),
    "number_not_0_or_1": (
        _set("vulnerable", 0, 2),
        r"vulnerable\s+wrong_type\s+1 .*: '?2'?",
        r"flags.vulnerable: wrong_type \(1\)",
    ),
}


def test_the_strategy_decides_which_flag_columns_are_needed():
    """A column is needed only when a rule of the strategy reads it."""
    no_calls = Strategy().replace(actions={"call": {"enabled": False}})
    flags = flags_table(LOANS, no_calls)  # without opt_out_call
    assert "opt_out_call" not in flags
    assert check_flags(flags, no_calls).shape == flags.shape
    with pytest.raises(DataValidationError, match=r"flags.opt_out_call: missing_column"):
        check_flags(flags, Strategy())


def test_without_flags_the_unenforced_rules_are_named(work, capsys):
    code, _, err = run_cli(prioritise_argv(work, flags=None), capsys)
    assert code == 0, err
    assert "warning: No flags were given" in err
    assert "cease_contact (blocks sms, call, visit, restructure)" in err
    assert "vulnerable (blocks sms, call, visit, legal)" in err


def test_a_misspelt_flag_column_of_the_loans_table_is_named(handmade):
    loans = handmade.loans.assign(cease_contcat=False)
    portfolio = Portfolio(**{**handmade.tables(), "loans": loans})
    with pytest.warns(
        DataQualityWarning, match=r"cease_contact \(the loans table has 'cease_contcat'"
    ):
        prioritise(good_scores(), portfolio, AS_OF, "default")


# -- 2. scores -----------------------------------------------------------------------------


def _dup(s: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([s, s.assign(score=0.9)], ignore_index=True)


SCORE_CASES = {
    # (change of the scores table, message in the CLI's output, in the Python error)
    "listed_twice": (
        _dup,
        r"loan_id, as_of\s+unique\s+40 .*as_of=2024-06-29",
        r"scores.loan_id, as_of: unique \(40\)",
    ),
    "undated_listed_twice": (
        lambda s: _dup(s).drop(columns="as_of"),
        r"loan_id\s+unique\s+40",
        r"scores.loan_id: unique \(40\)",
    ),
    "stale": (
        lambda s: s.assign(as_of="2024-01-31"),
        r"as_of\s+stale\s+\d+ .*scored 2024-01-31.*max_score_age_days=7",
        r"scores.as_of: stale \(\d+\): .*more than max_score_age_days=7 days old",
    ),
    "only_after_as_of": (
        lambda s: s.assign(as_of="2024-07-31"),
        r"have no risk score on or before 2024-06-30",
        r"have no risk score on or before 2024-06-30",
    ),
    "no_score_column": (
        lambda s: s.rename(columns={"score": "risk"}),
        r"score\s+missing_column",
        r"scores.score: missing_column",
    ),
    "no_loan_id": (
        lambda s: s.drop(columns="loan_id"),
        r"loan_id\s+missing_column",
        r"scores.loan_id: missing_column",
    ),
    "not_a_probability": (
        lambda s: s.assign(score=np.where(s.index == 3, 1.5, 0.2)),
        rf"score\s+probability\s+1 .*loan_id={LOANS[3]} \(row 3\): 1.5",
        r"scores.score: probability \(1\)",
    ),
    "not_a_number": (
        lambda s: s.assign(score=["high"] * len(s)),
        r"score\s+probability\s+20 .*'high'",
        r"scores.score: probability \(20\)",
    ),
    "not_a_date": (
        lambda s: s.assign(as_of="29/06/2024"),
        r"as_of\s+unparseable_date\s+20",
        r"scores.as_of: unparseable_date \(20\)",
    ),
    # A scores file of another portfolio, or with mangled ids, changes the worklist: the
    # scores' own ids are named (a lookalike with repr), not the portfolio's.
    "not_in_the_portfolio": (
        lambda s: concat_rows(
            s, pd.DataFrame({"loan_id": ["LXXX1"], "as_of": SCORED, "score": [0.1]})
        ),
        r"loan_id\s+orphan\s+1 .*loan_id=LXXX1 \(row 20\)",
        r"scores.loan_id: orphan \(1\): loan_id is not a loan of the portfolio.*LXXX1",
    ),
    "padded_ids": (
        lambda s: s.assign(loan_id=s["loan_id"] + " "),
        rf"orphan\s+20 .*loan_id='{LOANS[0]} '.*No id matches",
        rf"scores.loan_id: orphan \(20\).*loan_id='{LOANS[0]} '",
    ),
    "zero_width_ids": (
        lambda s: s.assign(loan_id=s["loan_id"] + "\u200b"),
        rf"orphan\s+20 .*loan_id='{LOANS[0]}\\u200b'",
        rf"scores.loan_id: orphan \(20\).*loan_id='{LOANS[0]}\\u200b'",
    ),
    # The CSV reader would rename the second "score.1" and take the first.
    "score_column_twice": (
        lambda s: pd.concat([s, s[["score"]].assign(score=0.9)], axis=1),
        r"scores\s+duplicate_column\s+1\s+score",
        r"scores: duplicate_column \(1\)",
    ),
}


# -- the flags and scores cases, through the command and through the Python API -----------

GOOD = {"flags": good_flags, "scores": good_scores}
CASES = [
    pytest.param(table, change, cli, api, id=f"{table}-{name}")
    for table, cases in (("flags", FLAG_CASES), ("scores", SCORE_CASES))
    for name, (change, cli, api) in cases.items()
]


@pytest.mark.parametrize(("table", "change", "message", "_"), CASES)
def test_bad_input_file_is_refused(table, change, message, _, work, capsys):
    change(GOOD[table]()).to_csv(work / "in" / f"{table}.csv", index=False)
    assert_refused(prioritise_argv(work), capsys, message, watch=[work])


@pytest.mark.parametrize(("table", "change", "_", "message"), CASES)
def test_bad_input_frame_is_refused(table, change, _, message, handmade):
    inputs = {"scores": good_scores(), "flags": flags_table(LOANS), table: change(GOOD[table]())}
    with pytest.raises(OverdueRiskError, match=message):
        prioritise(inputs["scores"], handmade, AS_OF, "default", flags=inputs["flags"])


def test_stale_scores_are_used_when_allowed(work, capsys):
    good_scores().assign(as_of="2024-01-31").to_csv(work / "in" / "scores.csv", index=False)
    argv = prioritise_argv(work, "scores.csv", "flags.csv", "--max-score-age-days", "inf")
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert (pd.read_csv(work / "out" / "w.csv")["risk_score"] == 0.2).all()


def test_scores_dated_after_as_of_are_not_used(handmade):
    later = good_scores().assign(as_of="2024-07-01", score=0.9)
    t = prioritise(
        pd.concat([good_scores(), later]), handmade, AS_OF, "default", flags=flags_table(LOANS)
    ).table()
    assert (t["risk_score"] == 0.2).all()


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1 not really parquet")


UNREADABLE = {
    # (file name, how to make it, message)
    "corrupt_parquet": ("x.parquet", _garbage, r"file '.*x.parquet' cannot be read as Parquet"),
    "unterminated_csv": (
        "x.csv",
        lambda p: p.write_text('loan_id,score\n"L001,0.2\n'),
        r"file '.*x.csv' cannot be read as CSV",
    ),
    "not_utf8_csv": (
        "x.csv",
        lambda p: p.write_bytes(b"loan_id,score\nL\xe9,0.2\n"),
        r"file '.*x.csv' cannot be read as CSV: 'utf-8' codec",
    ),
    "empty_csv": ("x.csv", lambda p: p.write_bytes(b""), r"file '.*x.csv' cannot be read as CSV"),
    "folder": ("x.csv", lambda p: p.mkdir(), r"file '.*x.csv' is a folder, not a file"),
    "fifo": ("x.csv", os.mkfifo, r"file '.*x.csv' is not a regular file \(a pipe"),
    "link_loop": ("x.csv", lambda p: p.symlink_to(p), r"file '.*x.csv' cannot be read: Too many"),
    "missing": ("x.csv", lambda p: None, r"file '.*x.csv' does not exist"),
    "wrong_extension": (
        "x.xlsx",
        lambda p: p.write_text("x"),
        r"file 'x.xlsx' must be a .parquet or .csv",
    ),
}


@pytest.mark.parametrize("which", ["scores", "flags"])
@pytest.mark.parametrize(
    ("name", "make", "message"), list(UNREADABLE.values()), ids=list(UNREADABLE)
)
def test_unreadable_scores_or_flags_file_is_refused(which, name, make, message, work, capsys):
    make(work / "in" / name)
    files = {"scores": "scores.csv", "flags": "flags.csv", which: name}
    argv = prioritise_argv(work, files["scores"], files["flags"])
    assert_refused(argv, capsys, f"{which.capitalize()} {message}", watch=[work])


@pytest.mark.parametrize(
    ("which", "column", "message"),
    [
        ("flags", "hardship", r"hardship\s+wrong_type\s+\d+ "),
        ("scores", "score", r"score\s+wrong_type\s+\d+ .*lists or structs"),
        ("scores", "as_of", r"as_of\s+wrong_type\s+\d+ .*lists or structs"),
    ],
)
@pytest.mark.parametrize("nested", ["list", "struct"])
def test_nested_parquet_columns_in_scores_or_flags_are_refused(
    which, column, message, nested, work, capsys
):
    frame = GOOD[which]()
    values = [[1.0] if nested == "list" else {"x": 1.0} for _ in range(len(frame))]
    frame[column] = pd.Series(values, dtype=object)
    frame.to_parquet(work / "in" / f"{which}.parquet", index=False)
    files = {"scores": "scores.csv", "flags": "flags.csv", which: f"{which}.parquet"}
    assert_refused(prioritise_argv(work, files["scores"], files["flags"]), capsys, message)


@pytest.mark.parametrize("value", ["-1", "1.5", "nan", "soon"])
def test_bad_max_score_age_is_refused(value, work, capsys):
    argv = prioritise_argv(work, "scores.csv", "flags.csv", "--max-score-age-days", value)
    assert_refused(argv, capsys, r"max.score.age.days", watch=[work])


def test_checked_scores_keep_their_values():
    checked = check_scores(good_scores().set_index(["loan_id", "as_of"]))
    assert checked["loan_id"].tolist() == LOANS
    assert (checked["as_of"] == pd.Timestamp(SCORED)).all() and (checked["score"] == 0.2).all()


# -- 3. unseen categories ------------------------------------------------------------------


def test_unseen_categories_warn_and_are_recorded(saved, work, capsys):
    loans = pd.read_csv(work / "PF" / "loans.csv", dtype=str)
    loans["region"] = loans["region"].str.upper()  # every loan's region is new to the model
    loans.to_csv(work / "PF" / "loans.csv", index=False)
    out = work / "out" / "scores.parquet"
    argv = ["score", str(saved), str(work / "PF"), "--as-of", AS_OF, "--out", str(out)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    n = len(pd.read_parquet(out))
    assert (
        f"warning: Categories the model never saw at fit score as missing: region {n} of {n}" in err
    )
    assert err.count("never saw") == 1
    assert pd.read_parquet(out).attrs == {"unseen_categories": {"region": n}}
    with pytest.warns(DataQualityWarning, match=rf"region {n} of {n} rows \('NORTH'"):
        scores = score_portfolio(saved, work / "PF", AS_OF, explain=2)
    assert scores.attrs == {"unseen_categories": {"region": n}}


def test_seen_categories_leave_the_scores_and_file_as_they_were(saved, work):
    out = work / "out" / "scores.parquet"
    scores = score_portfolio(saved, work / "PF", AS_OF, out=out)  # no warning: all seen
    assert scores.attrs == {} and pd.read_parquet(out).attrs == {}
    model = RiskModel.load(saved)
    X = build_features(load_portfolio(work / "PF"), AS_OF, families=["ledger", "static"])
    X = X[X["is_closed"] != 1]
    np.testing.assert_array_equal(scores["score"].to_numpy(), model.predict_proba(X)[:, 1])


# -- 4. option values: unknown names -------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        ("features", "--exclude", "regin", r"'regin' \(did you mean region\?\)"),
        ("features", "--exclude", "region,dpdd", r"unknown: 'dpdd' \(did you mean dpd\?\)"),
        ("features", "--exclude", "customer_income", r"'customer_income' \(did you mean"),
        ("features", "--exclude", "start_date", r"unknown: 'start_date'"),  # a date: no feature
        ("features", "--families", "ledgr", r"'ledgr' is unknown; did you mean ledger\?"),
        ("train", "--exclude", "regoin", r"'regoin' \(did you mean region\?\)"),
        ("train", "--families", "ledger,statc", r"'statc' is unknown; did you mean static\?"),
    ],
)
def test_unknown_names_in_options_are_refused(command, option, value, message, work, capsys):
    out = ["--out", str(work / "out" / ("f.csv" if command == "features" else "model"))]
    dates = (
        ["--as-of", AS_OF]
        if command == "features"
        else ["--as-of-dates", "2024-03-31,2024-05-31,2024-07-31"]
    )
    argv = [command, str(work / "PF"), *dates, *out, option, value]
    assert_refused(argv, capsys, message, watch=[work])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: build_features(p, AS_OF, exclude=["regin"]), r"did you mean region"),
        (lambda p: build_features(p, AS_OF, exclude="ltv_bnd"), r"did you mean ltv_band"),
        (lambda p: build_features(p, AS_OF, families=["ledger", "nope"]), r"'nope' is unknown"),
        (
            lambda p: build_training_set(p, [AS_OF], "dpd30_90d", exclude=["dpd_"]),
            r"did you mean dpd",
        ),
        (lambda p: train_risk_model(p, ["2024-03-31", "2024-05-31"], exclude=["x"]), r"'x'"),
        (lambda p: build_features(p, AS_OF, exclude=[None]), r"exclude must be a list of"),
    ],
    ids=["feature", "text", "family", "training_set", "train", "not_a_name"],
)
def test_unknown_names_in_arguments_are_refused(call, message, handmade):
    with pytest.raises(OverdueRiskError, match=message):
        call(handmade)


def test_every_kind_of_name_may_be_excluded(handmade):
    full = build_features(handmade, AS_OF)
    for name, gone in [
        ("dpd", ["dpd"]),  # a feature
        ("region", ["region"]),  # a loans column
        ("income_band", ["customer_income_band"]),  # a customers column ...
        ("customer_income_band", ["customer_income_band"]),  # ... or its feature
        ("customer", ["customer_n_loans", "customer_other_max_dpd"]),  # a family
    ]:
        left = build_features(handmade, AS_OF, exclude=[name])
        assert set(full.columns) - set(left.columns) >= set(gone), name
        assert set(left.columns) <= set(full.columns)


# -- 5. strategy and simulation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b'name = "caf\xe9"\n'), r"is not UTF-8 text: byte 0xe9"),
        (lambda p: os.mkfifo(p), r"not a regular file \(a pipe"),  # reading would block
        (lambda p: p.mkdir(), r"Cannot read strategy file .*: Is a directory"),
    ],
    ids=["not_utf8", "fifo", "folder"],
)
def test_a_strategy_file_that_cannot_be_read_is_refused(make, message, work, capsys):
    make(work / "in" / "s.toml")
    argv = prioritise_argv(work)
    argv[argv.index("default")] = str(work / "in" / "s.toml")
    assert_refused(argv, capsys, message, watch=[work])


def test_a_strategy_that_only_waits_gives_a_worklist_of_waits(work, capsys):
    """Every action disabled used to crash (IndexError): the worklist is all "wait"."""
    toml = "".join(
        f"[actions.{a}]\nenabled = false\n"
        for a in ("sms", "call", "visit", "restructure", "legal")
    )
    (work / "in" / "wait.toml").write_text(toml)
    argv = prioritise_argv(work)
    argv[argv.index("default")] = str(work / "in" / "wait.toml")
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    worklist = pd.read_csv(work / "out" / "w.csv")
    assert len(worklist) and (worklist["action"] == "wait").all()
    assert (worklist["untreated_because"] == "no_eligible_action").all()


def test_a_policy_comparison_of_a_strategy_that_only_waits_is_refused(tmp_path, capsys):
    toml = "".join(f"[actions.{a}]\nenabled = false\n" for a in ("sms", "call", "visit", "legal"))
    (tmp_path / "wait.toml").write_text(toml + "[actions.restructure]\nenabled = false\n")
    argv = ["policy-eval", "--loans", "50", "--dates", "2024-09-02", "--strategy"]
    argv += [str(tmp_path / "wait.toml"), "--out", str(tmp_path / "c.csv")]
    assert_refused(
        argv, capsys, r"enables no action but wait: a policy comparison", watch=[tmp_path]
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2199-01-01", "2199-12-31", r"end must be on or before 2195-12-31 .*got '2199-12-31'"),
        ("2024-01-01", "2199-12-31", r"end must be on or before 2195-12-31"),
        ("2195-06-01", "2196-01-01", r"end must be on or before 2195-12-31 .*up to 36 months"),
        ("1965-01-01", "1966-01-01", r"start must be on or after 1970-02-01: .*got '1965-01-01'"),
        ("1970-01-31", "1970-12-31", r"start must be on or after 1970-02-01"),
    ],
)
def test_a_simulation_beyond_the_calendar_is_refused(start, end, message, tmp_path, capsys):
    argv = ["simulate", "--loans", "20", "--start", start, "--end", end]
    assert_refused([*argv, "--out", str(tmp_path / "sim")], capsys, message, watch=[tmp_path])


def test_the_calendar_limit_follows_the_scenario(tmp_path):
    from overdue_risk import Scenario

    long = Scenario.from_dict(
        {
            "products": {"cash": {"term_max": 120}},
            "actions": {"restructure": {"extension_months": 120}},
        }
    )
    with pytest.raises(OverdueRiskError, match=r"end must be on or before 2189-12-31 .*120 months"):
        simulate_portfolio(20, "2189-01-01", "2190-01-01", scenario=long)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"products": {"cash": {"principal_max": 1e13}}}, r"principal_max must be .*1000000000\]"),
        ({"products": {"card": {"limit_max": 1e13}}}, r"limit_max must be .*1000000000\]"),
        ({"products": {"pos": {"rate_max": 1e6}}}, r"rate_max must be .*10"),
        ({"actions": {"visit": {"cost": 1e300}}}, r"cost must be .*1000000000\]"),
    ],
)
def test_scenario_amounts_the_contract_cannot_hold_are_refused(section, message):
    from overdue_risk import Scenario

    with pytest.raises(OverdueRiskError, match=message):
        Scenario.from_dict(section)


def test_a_simulation_at_the_calendar_limit_runs():
    portfolio, _ = simulate_portfolio(30, "2195-06-01", "2195-12-31", seed=1)
    assert portfolio.installments["due_date"].max() < pd.Timestamp("2200-01-01")


# -- 6. reason codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2000", r"explain must be an integer in \[0, \d+\]; got 2000"),
        ("-1", r"explain must be an integer >= 0; got -1"),
    ],
)
def test_explain_beyond_the_features_is_refused(value, message, saved, work, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr("overdue_risk.workflows._inputs.load_portfolio", boom)
    out = str(work / "out" / "s.csv")
    argv = [
        "score",
        str(saved),
        str(work / "PF"),
        "--as-of",
        AS_OF,
        "--out",
        out,
        "--explain",
        value,
    ]
    assert_refused(argv, capsys, message, watch=[work])


def test_explain_takes_as_many_reasons_as_features(saved, handmade):
    model = RiskModel.load(saved)
    n = model.n_features_in_
    scores = score_portfolio(model, handmade, AS_OF, explain=n)
    assert f"reason_{n}" in scores and f"reason_{n + 1}" not in scores
    with pytest.raises(ModelError, match=rf"top_k must be an integer in \[1, {n}\]; got {n + 1}"):
        model.explain(build_features(handmade, AS_OF, families=["ledger", "static"]), top_k=n + 1)


# -- 6. argument types, strategy names and files, sizes -------------------------------------


def test_scores_with_columns_of_two_levels_are_refused(handmade):
    scores = good_scores()
    scores.columns = pd.MultiIndex.from_tuples([(c, "x") for c in scores.columns])
    with pytest.raises(DataValidationError, match=r"scores: wrong_type \(1\): Columns must be one"):
        prioritise_portfolio(scores, handmade, AS_OF, "default", value_model="fallback")
    with pytest.raises(DataValidationError, match=r"scores: wrong_type"):
        check_scores(scores)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda p: prioritise_portfolio(good_scores(), p, AS_OF, "default", flags={"L1": 1}),
            r"The 'flags' argument of prioritise_portfolio must be a DataFrame or the path .*; "
            r"got dict",
        ),
        (
            lambda p: prioritise_portfolio(
                good_scores(), p, AS_OF, "default", flags=pd.Series([True])
            ),
            r"'flags' argument .* got Series",
        ),
        (
            lambda p: prioritise_portfolio(p, good_scores(), AS_OF, "default"),
            r"The 'scores' argument of prioritise_portfolio .*; got Portfolio",
        ),
        (
            lambda p: prioritise_portfolio(good_scores(), good_scores(), AS_OF, "default"),
            r"The 'portfolio' argument of prioritise_portfolio must be a Portfolio or its "
            r"folder; got DataFrame",
        ),
        (
            lambda p: prioritise_portfolio("", p, AS_OF, "default"),
            r"The 'scores' argument .* got an empty path",
        ),
        (
            lambda p: prioritise_portfolio(good_scores(), p, AS_OF, 3),
            r"The 'strategy' argument .* a Strategy, a profile name or a TOML file; got int",
        ),
        (
            lambda p: prioritise(good_scores(), good_scores(), AS_OF, "default"),
            r"The 'portfolio' argument of prioritise must be a Portfolio; got DataFrame",
        ),
        (
            lambda p: score_portfolio(p, "model", AS_OF),
            r"The 'model' argument of score_portfolio must be a RiskModel or its folder; "
            r"got Portfolio",
        ),
        (
            lambda p: score_portfolio("model", good_scores(), AS_OF),
            r"The 'portfolio' argument of score_portfolio .*; got DataFrame",
        ),
    ],
    ids=[
        "flags_dict",
        "flags_series",
        "swapped",
        "frame_as_portfolio",
        "empty_scores_path",
        "strategy_number",
        "prioritise_frame_as_portfolio",
        "score_swapped",
        "score_frame_as_portfolio",
    ],
)
def test_arguments_of_the_wrong_type_are_refused(call, message, handmade):
    with pytest.raises(OverdueRiskError, match=message):
        call(handmade)


WORKFLOW_CALLS = {
    "train_frame": (
        lambda p, tmp: train_risk_model(good_scores(), [AS_OF]),
        r"'portfolio' argument .* a Portfolio or its folder; got DataFrame",
    ),
    "evaluate_swapped": (
        lambda p, tmp: evaluate_model(p, "model", AS_OF),
        r"'model' argument .* a RiskModel or its folder; got Portfolio",
    ),
    "features_number": (
        lambda p, tmp: export_features(123, AS_OF, out=tmp / "f.csv"),
        r"'portfolio' argument .*; got int",
    ),
    "labels_frame": (
        lambda p, tmp: export_labels(good_scores(), AS_OF, out=tmp / "l.csv"),
        r"'portfolio' argument .*; got DataFrame",
    ),
    "ledger_out_frame": (
        lambda p, tmp: export_ledger(p, AS_OF, out=good_scores()),
        r"The output must be the path of a file or folder; got DataFrame",
    ),
    "ledger_out_empty": (
        lambda p, tmp: export_ledger(p, AS_OF, out=""),
        r"The output must be the path .*; got an empty path",
    ),
    "value_model_path": (
        lambda p, tmp: learn_value_model(str(HANDMADE), AS_OF),
        r"portfolio must be a Portfolio \(read a folder with load_portfolio\); got str",
    ),
    "validate_none": (
        lambda p, tmp: validate(None),
        r"portfolio must be a Portfolio; got NoneType",
    ),
}


@pytest.mark.parametrize(("call", "message"), WORKFLOW_CALLS.values(), ids=list(WORKFLOW_CALLS))
def test_every_workflow_refuses_arguments_of_the_wrong_type(call, message, handmade, tmp_path):
    with pytest.raises(OverdueRiskError, match=message):
        call(handmade, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scores_of_other_loans_are_refused_before_the_value_model(handmade, monkeypatch):
    import overdue_risk.workflows._prioritise as module

    def learn(*args, **kwargs):
        raise AssertionError("the value model was learned before the scores were checked")

    monkeypatch.setattr(module, "choose_value_model", learn)
    scores = good_scores().assign(loan_id=lambda s: s["loan_id"] + "\u200b")
    with pytest.raises(DataValidationError, match=r"scores.loan_id: orphan \(20\)"):
        prioritise_portfolio(scores, handmade, AS_OF, "default")


@pytest.mark.parametrize("value", ["1e300", "99999999999999999999999", "1000000001"])
def test_a_capacity_beyond_the_largest_count_is_refused_when_read(value, work, capsys):
    (work / "in" / "s.toml").write_text(f"[actions.call]\ncapacity = {value}\n")
    argv = prioritise_argv(work)
    argv[argv.index("default")] = str(work / "in" / "s.toml")
    message = (
        r"strategy.actions.call.capacity must be an integer >= 0, or inf for no limit; got "
        r"\S+; the largest finite limit is 1,000,000,000 \(inf: no limit\)"
    )
    assert_refused(argv, capsys, message, watch=[work])
    with pytest.raises(StrategyError, match=r"strategy.rules.max_attempts_7d must be"):
        Strategy().replace(rules={"max_attempts_7d": 1e300})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", r"strategy must be a profile name or a TOML file; got ''"),
        (
            "defualt",
            r"strategy 'defualt' is neither a profile nor an existing file; did you "
            r"mean default\? Available profiles: china, default",
        ),
        ("Default", r"did you mean default\?"),
        ("uk-eu", r"did you mean uk_eu\?"),
        ("china ", r"strategy 'china ' is neither .*did you mean china\?"),
    ],
)
def test_a_strategy_name_that_is_no_profile_is_refused(name, message, work, capsys):
    argv = prioritise_argv(work)
    argv[argv.index("default")] = name
    err = assert_refused(argv, capsys, message, watch=[work])
    assert "--out" not in err and "input folder" not in err


def test_a_strategy_or_scenario_file_with_a_byte_order_mark_is_read(work, capsys):
    bom = b"\xef\xbb\xbf"
    (work / "in" / "s.toml").write_bytes(
        bom + b'extends = "default"\n[actions.call]\ncapacity = 3\n'
    )
    assert Strategy.load(work / "in" / "s.toml").actions.call.capacity == 3
    argv = prioritise_argv(work)
    argv[argv.index("default")] = str(work / "in" / "s.toml")
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    (work / "in" / "sc.toml").write_bytes(bom + b"[products]\n")
    assert Scenario.from_toml(work / "in" / "sc.toml") == Scenario()
    # A bad byte after the mark is named at its position in the file.
    (work / "in" / "bad.toml").write_bytes(bom + b'name = "caf\xe9"\n')
    with pytest.raises(StrategyError, match=r"byte 0xe9 at position 14"):
        Strategy.load(work / "in" / "bad.toml")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["policy-eval", "--paths", "100000000000"], r"n_paths must be an integer in \[1, 2000\]"),
        (["policy-eval", "--paths", "0"], r"n_paths must be an integer in \[1, 2000\]"),
        (["policy-eval", "--loans", "100000000"], r"n_loans must be an integer in \[1, 1000000\]"),
        (
            ["simulate", "--loans", "100000000000"],
            r"n_loans must be an integer in \[1, 50,000,000\]",
        ),
    ],
    ids=["paths", "no_paths", "policy_loans", "simulate_loans"],
)
def test_sizes_beyond_their_maximum_are_refused_before_any_work(argv, message, tmp_path, capsys):
    if argv[0] == "policy-eval":
        argv = [*argv, "--dates", "2024-09-02", "--strategy", "default"]
        argv += ["--out", str(tmp_path / "c.csv")]
        if "--loans" not in argv:
            argv += ["--loans", "50"]
    else:
        argv = [*argv, "--start", "2023-01-01", "--end", "2024-01-01"]
        argv += ["--out", str(tmp_path / "sim")]
    assert_refused(argv, capsys, message, watch=[tmp_path])
