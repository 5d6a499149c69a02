"""The ``overdue-risk`` command line: exit codes, outputs and error handling."""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest

from helpers import run_cli
from overdue_risk import Ledger, load_portfolio
from overdue_risk.cli import _commands as cli_main
from overdue_risk.cli._main import build_parser

AS_OF = "2024-06-30,2024-12-30"


def subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


def test_subcommands_are_discovered():
    assert {"validate", "ledger"} <= set(subcommands())


def test_top_level_help(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: overdue-risk")
    for name in subcommands():
        assert name in out


@pytest.mark.parametrize("command", subcommands())
def test_subcommand_help(command, capsys):
    code, out, err = run_cli([command, "--help"], capsys)
    assert code == 0
    assert out.startswith(f"usage: overdue-risk {command}")
    assert err == ""


def test_version(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"overdue-risk {version('overdue-risk')}"


def test_validate_sample_prints_the_table_summary(sample_dir, capsys):
    code, out, err = run_cli(["validate", str(sample_dir)], capsys)
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"{sample_dir}: the portfolio meets the data contract."
    assert lines[1].split() == ["table", "rows", "columns", "first_date", "last_date"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    expected = {p.stem: pd.read_csv(p) for p in sample_dir.glob("*.csv")}
    assert set(rows) == set(expected)
    for name, df in expected.items():
        assert rows[name][:2] == [str(len(df)), str(df.shape[1])], name
    # Date range of loans, by start_date.
    start = pd.to_datetime(expected["loans"]["start_date"])
    assert rows["loans"][2:] == [f"{start.min():%Y-%m-%d}", f"{start.max():%Y-%m-%d}"]
    assert len(rows["customers"]) == 2  # customers have no date column


def test_validate_prints_data_quality_warnings_and_succeeds(portfolio_dir, capsys):
    folder = portfolio_dir()
    with open(folder / "payments.csv", "a") as fh:
        fh.write("L001,2024-08-01,100.0,\n")  # L001 closed on 2024-07-05
    code, out, err = run_cli(["validate", str(folder)], capsys)
    assert code == 0
    assert "meets the data contract" in out
    assert err == "warning: payments: 1 payments are dated after the loan closed.\n"


def test_validate_bad_portfolio_exits_2_with_the_problem_table(portfolio_dir, capsys):
    folder = portfolio_dir()
    loans = pd.read_csv(folder / "loans.csv", dtype=str, keep_default_na=False)
    loans.loc[0, "principal"] = "-1"
    loans.to_csv(folder / "loans.csv", index=False)
    code, out, err = run_cli(["validate", str(folder)], capsys)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == "error: 1 problem(s) with the portfolio:"
    assert "principal" in err and "positive" in err and "loan_id=L001" in err


def test_ledger_parquet_and_csv_have_the_same_content(sample_dir, tmp_path, capsys):
    pq_path, csv_path = tmp_path / "ledger.parquet", tmp_path / "ledger.csv"
    for path in (pq_path, csv_path):
        code, out, err = run_cli(
            ["ledger", str(sample_dir), "--as-of", AS_OF, "--out", str(path)], capsys
        )
        assert code == 0, err
        assert err == ""
        # One row per loan and as-of date, for loans started by that date.
        start = pd.to_datetime(pd.read_csv(sample_dir / "loans.csv")["start_date"])
        n_rows = sum(int((start <= day).sum()) for day in pd.to_datetime(AS_OF.split(",")))
        assert n_rows < 2 * len(start)  # the sample has a loan starting in between
        assert out.splitlines()[0] == f"Wrote {n_rows:,} rows to {path}"
    # The extension chose the format.
    assert pq_path.read_bytes()[:4] == b"PAR1"
    assert csv_path.read_text().startswith("loan_id,as_of,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.csv", "ledger.parquet"]

    from_pq = pd.read_parquet(pq_path)
    expected = Ledger(load_portfolio(sample_dir)).at(AS_OF.split(",")).table().reset_index()
    pd.testing.assert_frame_equal(from_pq, expected, check_categorical=False)
    assert set(from_pq["as_of"].dt.strftime("%Y-%m-%d")) == set(AS_OF.split(","))

    from_csv = pd.read_csv(csv_path, dtype={"loan_id": str})
    pq_as_csv = pd.read_csv(io.StringIO(from_pq.to_csv(index=False)), dtype={"loan_id": str})
    pd.testing.assert_frame_equal(from_csv, pq_as_csv)


def test_ledger_summary_is_printed(sample_dir, tmp_path, capsys):
    code, out, _ = run_cli(
        ["ledger", str(sample_dir), "--as-of", "2024-12-30", "--out", str(tmp_path / "l.csv")],
        capsys,
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "l.csv")
    header = out.splitlines()[1].split()
    assert header[:3] == ["as_of", "bucket", "loans"]
    counts = {
        line.split()[1]: int(line.split()[2]) for line in out.splitlines()[2:] if line.strip()
    }
    # The summary lists every bucket, empty ones with 0.
    assert {k: v for k, v in counts.items() if v} == {
        k: v for k, v in table["bucket"].value_counts().items() if v
    }


@pytest.mark.parametrize(
    "out_name, message",
    [
        ("ledger.xlsx", "must end in .parquet or .csv"),
        ("missing/ledger.csv", "does not exist"),
    ],
    ids=["unsupported_extension", "missing_output_folder"],
)
def test_ledger_bad_output_path_exits_2_and_writes_nothing(
    out_name, message, sample_dir, tmp_path, capsys
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run_cli(
        ["ledger", str(sample_dir), "--as-of", "2024-12-30", "--out", str(out_dir / out_name)],
        capsys,
    )
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("as_of", ["2024-13-01", "yesterday", ",", "2024-12-30,31/12/2024"])
def test_ledger_bad_as_of_exits_2(as_of, sample_dir, tmp_path, capsys):
    out = tmp_path / "ledger.parquet"
    code, stdout, err = run_cli(
        ["ledger", str(sample_dir), "--as-of", as_of, "--out", str(out)], capsys
    )
    assert code == 2
    assert stdout == ""
    assert err.startswith("error: as_of must")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["validate", "x", "--no-such-option"], "unrecognized arguments: --no-such-option"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
        (["ledger", "x", "--out", "y.csv"], "the following arguments are required: --as-of"),
        (["ledger", "x", "--as-of", "2024-12-30", "--out", "y.csv", "--tolerance", "a"], "a"),
    ],
    ids=["unknown_option", "unknown_command", "missing_required", "bad_tolerance"],
)
def test_usage_errors_exit_2(argv, message, capsys):
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("overdue-risk")
    assert message in err


def test_negative_tolerance_exits_2(sample_dir, tmp_path, capsys):
    code, _, err = run_cli(
        [
            "ledger",
            str(sample_dir),
            "--as-of",
            "2024-12-30",
            "--out",
            str(tmp_path / "l.csv"),
            "--tolerance",
            "-1",
        ],
        capsys,
    )
    assert code == 2
    assert "tolerance" in err
    assert list(tmp_path.iterdir()) == []


def test_no_subcommand_exits_2_with_help(capsys):
    code, out, err = run_cli([], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("usage: overdue-risk")


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_internal_error_exits_1_with_one_line(sample_dir, monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "load_portfolio", _boom)
    code, out, err = run_cli(["validate", str(sample_dir)], capsys)
    assert code == 1
    assert out == ""
    assert err == ("internal error: RuntimeError: boom (run with --verbose for the traceback)\n")


def test_internal_error_with_verbose_prints_the_traceback(sample_dir, monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "load_portfolio", _boom)
    code, _, err = run_cli(["--verbose", "validate", str(sample_dir)], capsys)
    assert code == 1
    assert err.startswith("Traceback (most recent call last):")
    assert "in _boom" in err
    assert err.rstrip().endswith("internal error: RuntimeError: boom")


def test_verbose_is_accepted_after_the_subcommand(sample_dir, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli_main, "load_portfolio", boom)
    code, _, err = run_cli(["validate", str(sample_dir), "--verbose"], capsys)
    assert code == 1
    assert "Traceback (most recent call last)" in err


def test_failed_ledger_leaves_an_existing_output_untouched(sample_dir, tmp_path, capsys):
    out = tmp_path / "ledger.csv"
    out.write_text("previous run\n")
    code, _, _ = run_cli(["ledger", str(sample_dir), "--as-of", "bad", "--out", str(out)], capsys)
    assert code == 2
    assert out.read_text() == "previous run\n"
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_failing_midway_is_atomic(suffix, sample_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / f"ledger{suffix}"
    out.write_text("previous run\n")
    writer = "to_csv" if suffix == ".csv" else "to_parquet"
    original = getattr(pd.DataFrame, writer)

    def half_written(self, path, *args, **kwargs):
        Path(path).write_text("half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, writer, half_written)
    code, _, err = run_cli(
        ["ledger", str(sample_dir), "--as-of", "2024-12-30", "--out", str(out)], capsys
    )
    assert code == 1
    assert "OSError: disk full" in err
    assert out.read_bytes() == b"previous run\n"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind

    monkeypatch.setattr(pd.DataFrame, writer, original)
    code, _, _ = run_cli(
        ["ledger", str(sample_dir), "--as-of", "2024-12-30", "--out", str(out)], capsys
    )
    assert code == 0
    assert out.read_bytes() != b"previous run\n"
    assert list(tmp_path.iterdir()) == [out]


def _console_script() -> str:
    found = shutil.which("overdue-risk", path=str(Path(sys.executable).parent))
    assert found, f"overdue-risk is not installed next to {sys.executable}"
    return found


def test_console_script_runs():
    result = subprocess.run(
        [_console_script(), "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"overdue-risk {version('overdue-risk')}"


@pytest.mark.slow
def test_console_script_exit_codes(sample_dir, tmp_path):
    ok = subprocess.run(
        [_console_script(), "validate", str(sample_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "meets the data contract" in ok.stdout
    bad = subprocess.run(
        [_console_script(), "validate", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "missing_folder" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_python_dash_m(sample_dir):
    result = subprocess.run(
        [sys.executable, "-m", "overdue_risk", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"overdue-risk {version('overdue-risk')}"
