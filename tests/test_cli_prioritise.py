"""``overdue-risk prioritise`` and ``overdue-risk policy-eval``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE, run_cli
from overdue_risk import Strategy, load_portfolio
from overdue_risk.prioritise import account_state

AS_OF = "2024-07-01"


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scores") / "scores.csv"
    loans = load_portfolio(SAMPLE).loans
    risk = (loans["principal"].rank(pct=True) * 0.9).to_numpy()
    pd.DataFrame({"loan_id": loans["loan_id"], "as_of": "2024-06-30", "score": risk}).to_csv(
        path, index=False
    )
    return path


def prioritise_argv(scores: Path, out: Path, strategy="default", as_of=AS_OF) -> list[str]:
    return [
        "prioritise",
        str(scores),
        SAMPLE,
        "--as-of",
        as_of,
        "--strategy",
        str(strategy),
        "--out",
        str(out),
    ]


def test_prioritise_writes_a_worklist_within_capacity(scores_file, tmp_path, capsys):
    strategy = tmp_path / "strategy.toml"
    strategy.write_text('extends = "us_reg_f"\n\n[actions.call]\ncapacity = 25\n')
    out = tmp_path / "worklist.csv"
    code, stdout, err = run_cli(prioritise_argv(scores_file, out, strategy), capsys)
    assert code == 0, err
    worklist = pd.read_csv(out)
    expected = account_state(Strategy.from_toml(strategy), load_portfolio(SAMPLE), AS_OF)
    assert sorted(worklist["loan_id"]) == sorted(expected.index)
    assert (worklist["action"] == "call").sum() <= 25
    assert stdout.startswith(f"Wrote Worklist(2024-07-01, {len(expected):,} overdue accounts")
    # The sample has a challenger cell: the value model's candidates are judged on it, under
    # the strategy's 25 calls, and the one kept is named with its cross-fitted value.
    (source,) = set(worklist["value_source"])
    assert "cross-fitted DR" in source and "per decision" in source
    assert source.startswith(("the stated arrears rule, kept", "uplift shrunk toward"))


def test_prioritise_fallback_is_flagged(scores_file, tmp_path, capsys):
    out = tmp_path / "worklist.parquet"
    code, _, err = run_cli([*prioritise_argv(scores_file, out), "--value", "fallback"], capsys)
    assert code == 0
    assert "not causal" in err
    assert set(pd.read_parquet(out)["value_source"]) == {"risk-score fallback (not causal)"}


def test_prioritise_by_the_arrears_rule_ranks_by_arrears_and_never_escalates(
    scores_file, tmp_path, capsys
):
    strategy = tmp_path / "strategy.toml"
    strategy.write_text("[actions.call]\ncapacity = 25\n")
    out = tmp_path / "worklist.csv"
    argv = [*prioritise_argv(scores_file, out, strategy), "--value", "arrears"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "not causal" in err and "arrears rule" in err
    worklist = pd.read_csv(out)
    assert set(worklist["value_source"]) == {"arrears rule, stated lifts (not causal)"}
    assert not worklist["action"].isin(["restructure", "legal"]).any()
    # A call is worth 5% of the arrears: its value orders the called accounts.
    called = worklist[worklist["action"] == "call"]
    assert len(called) == 25
    assert np.allclose(called["expected_recovery"], 0.05 * called["overdue_amount"])


def test_prioritise_prints_each_actions_capacity_and_why_it_went_unused(
    scores_file, tmp_path, capsys
):
    out = tmp_path / "worklist.csv"
    argv = [*prioritise_argv(scores_file, out), "--value", "fallback"]  # the default profile
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    loans = load_portfolio(SAMPLE).loans
    day = pd.Timestamp(AS_OF)
    book = int(((loans["start_date"] <= day) & ~(loans["closed_date"] <= day)).sum())
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "unused_because" in line)
    assert lines[header].split() == [
        "action",
        "enabled",
        "capacity",
        "eligible",
        "valued",
        "positive_value",
        "chosen",
        "unused_because",
    ]
    rows = {line.split()[0]: line.split() for line in lines[header + 1 : header + 7]}
    assert list(rows) == ["sms", "call", "visit", "letter", "restructure", "legal"]
    assert float(rows["call"][2]) == 180 * book // 10_000  # 45 calls for 2,531 loans
    assert float(rows["legal"][2]) == 6 * book // 10_000
    assert rows["letter"][1:3] == ["False", "inf"] and rows["letter"][-1] == "disabled"
    written = pd.read_csv(out)
    assert (written["action"] == "call").sum() == int(rows["call"][6]) <= 180 * book // 10_000
    assert "unlimited capacity" not in err


def test_prioritise_warns_on_stderr_when_no_capacity_is_limited(
    scores_file, tmp_path, capsys, monkeypatch
):
    # The command sends logged warnings to stderr (logging.basicConfig), which does
    # nothing while pytest's capture handlers sit on the root logger: start without them.
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    strategy = tmp_path / "unlimited.toml"
    strategy.write_text('name = "unlimited"\n')  # the library defaults: nothing limited
    out = tmp_path / "worklist.csv"
    argv = [*prioritise_argv(scores_file, out, strategy), "--value", "fallback"]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    assert err.count("has unlimited capacity") == 1  # once, not an error
    assert "unlimited capacity" not in stdout and out.exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--strategy", "nowhere.toml"], "nowhere.toml"),
        (["--strategy", "default", "--as-of", "2024-07-01,2024-07-02"], "--as-of takes one date"),
    ],
)
def test_prioritise_bad_input_exits_2(scores_file, tmp_path, capsys, extra, match):
    argv = prioritise_argv(scores_file, tmp_path / "w.csv")
    for i in range(0, len(extra), 2):
        argv[argv.index(extra[i]) + 1] = extra[i + 1]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and match in err
    assert not (tmp_path / "w.csv").exists()


@pytest.mark.slow
def test_policy_eval_compares_at_equal_capacity(tmp_path, capsys):
    out = tmp_path / "comparison.csv"
    argv = _policy_eval_argv(tmp_path)
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out).set_index("policy")
    assert set(table.index) == {
        "prioritiser",
        "response_model",
        "oracle",
        "highest_dpd",
        "highest_balance",
        "expected_loss",
        "arrears_rule",
        "arrears_rule_estimated",
        "logged",
        "no_action",
    }
    # This small cell has too few decisions for five folds: the prioritiser takes the
    # stated arrears rule, as learn_value_model would, and says so.
    pd.testing.assert_series_equal(
        table.loc["prioritiser"], table.loc["arrears_rule"], check_names=False
    )
    capped = table.drop(index="logged")
    assert (capped["n_call"] <= 10).all() and (capped["n_visit"] <= 2).all()
    assert (capped["rule_violations"] == 0).all()
    assert table.loc["no_action", "net_vs_none"] == 0
    assert table.loc["oracle", "share_of_oracle"] == 1
    assert "Compared 10 policies on 1 dates" in stdout


def _policy_eval_argv(tmp_path, *extra):
    strategy = tmp_path / "eval.toml"
    strategy.write_text("[actions.call]\ncapacity = 10\n\n[actions.visit]\ncapacity = 2\n")
    return [
        "policy-eval",
        "--loans",
        "1500",
        "--seed",
        "3",
        "--dates",
        "2024-03-04",
        "--strategy",
        str(strategy),
        "--out",
        str(tmp_path / "comparison.csv"),
        "--paths",
        "20",
        *extra,
    ]


@pytest.mark.slow
def test_policy_eval_adds_the_ceiling_seeds_and_off_policy_days(tmp_path, capsys):
    argv = _policy_eval_argv(
        tmp_path,
        "--value-seeds",
        "0,5",
        "--ceiling-dates",
        "2024-01-22",
        "--ope-dates",
        "2024-03-04,2024-03-05",
    )
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "comparison.csv").set_index("policy")
    assert {"prioritiser", "prioritiser_seed5", "ceiling"} <= set(table.index)
    assert (table.drop(index="logged")["rule_violations"] == 0).all()
    assert "dr_se" in stdout and "Compared 12 policies on 1 dates" in stdout


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--value-seeds", "0,x"], "--value-seeds must be one or more ints"),
        (["--ceiling-dates", "2024-13-01"], "2024-13-01"),
        (["--ceiling-dates", "2024-03-04"], "before the first decision date"),
    ],
)
def test_policy_eval_rejects_bad_diagnostic_options(tmp_path, capsys, extra, match):
    code, _, err = run_cli(_policy_eval_argv(tmp_path, *extra), capsys)
    assert code == 2 and match in err
    assert not (tmp_path / "comparison.csv").exists()
