"""``overdue-risk features`` and ``overdue-risk labels``: outputs, exit codes, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import SAMPLE, run_cli
from overdue_risk import DpdTarget, build_features, load_portfolio, make_labels
from overdue_risk.cli import _commands as cli_main

AS_OF = "2024-06-30,2024-12-31"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_features_writes_the_feature_matrix(suffix, tmp_path, capsys):
    path = tmp_path / f"features{suffix}"
    code, out, err = run_cli(["features", SAMPLE, "--as-of", AS_OF, "--out", str(path)], capsys)
    assert code == 0, err
    assert err == ""
    expected = build_features(load_portfolio(SAMPLE), AS_OF.split(","))
    assert out == f"Wrote {len(expected):,} rows x {expected.shape[1]:,} features to {path}\n"
    written = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, low_memory=False)
    assert list(written.columns) == ["loan_id", "as_of", *expected.columns]
    assert len(written) == len(expected)
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(written, expected.reset_index(), check_categorical=False)
    assert list(tmp_path.iterdir()) == [path]


def test_features_families_and_exclude(tmp_path, capsys):
    path = tmp_path / "f.parquet"
    code, _, err = run_cli(
        [
            "features",
            SAMPLE,
            "--as-of",
            "2024-06-30",
            "--out",
            str(path),
            "--families",
            "ledger, static",
            "--exclude",
            "region,dpd",
        ],
        capsys,
    )
    assert code == 0, err
    expected = build_features(
        load_portfolio(SAMPLE),
        "2024-06-30",
        families=["ledger", "static"],
        exclude=["region", "dpd"],
    )
    written = pd.read_parquet(path)
    assert list(written.columns[2:]) == list(expected.columns)
    assert "dpd" not in written and "region" not in written and "overdue_amount" in written


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--as-of", "2024-06-31"], "error: as_of must be dates in ISO 8601"),
        (["--as-of", ","], "error: as_of must name at least one date"),
        (["--as-of", "2024-06-30", "--families", "ledger,nope"], "'nope' is unknown"),
        (["--as-of", "2024-06-30", "--tolerance", "-1"], "tolerance"),
    ],
    ids=["bad_date", "no_date", "unknown_family", "bad_tolerance"],
)
def test_features_bad_input_exits_2_and_writes_nothing(extra, message, tmp_path, capsys):
    path = tmp_path / "features.parquet"
    code, out, err = run_cli(["features", SAMPLE, "--out", str(path), *extra], capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_features_checks_its_input_before_reading_the_portfolio(tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("the portfolio was read")

    monkeypatch.setattr(cli_main, "load_portfolio", boom)
    for extra in (["--families", "nope"], ["--as-of", "bad"], ["--out", str(tmp_path / "f.xlsx")]):
        argv = ["features", SAMPLE, "--as-of", "2024-06-30", "--out", str(tmp_path / "f.csv")]
        code, _, err = run_cli(argv + extra, capsys)
        assert code == 2, err
        assert "was read" not in err
    assert list(tmp_path.iterdir()) == []


def test_features_missing_portfolio_exits_2(tmp_path, capsys):
    code, _, err = run_cli(
        [
            "features",
            str(tmp_path / "nowhere"),
            "--as-of",
            "2024-06-30",
            "--out",
            str(tmp_path / "f.csv"),
        ],
        capsys,
    )
    assert code == 2
    assert "missing_folder" in err
    assert list(tmp_path.iterdir()) == []


def test_labels_writes_the_labels_and_a_summary(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    dates = "2024-03-31,2024-06-30,2024-12-31"
    code, out, err = run_cli(
        ["labels", SAMPLE, "--as-of", dates, "--target", "dpd30_90d", "--out", str(path)], capsys
    )
    assert code == 0
    expected = make_labels(load_portfolio(SAMPLE), dates.split(","), DpdTarget())
    lines = out.splitlines()
    assert lines[0] == f"Wrote {len(expected):,} dpd30_90d labels to {path}"
    assert lines[1].split() == ["as_of", "rows", "positives", "rate"]
    assert lines[-1].split() == ["2024-12-31", "0", "0"]  # horizon not observed: no rows
    assert "No rows for dates" in err
    written = pd.read_csv(path, parse_dates=["as_of"])
    assert list(written.columns) == ["loan_id", "as_of", "label"]
    assert written["label"].tolist() == expected.tolist()


def test_labels_bad_target_exits_2(tmp_path, capsys):
    code, out, err = run_cli(
        [
            "labels",
            SAMPLE,
            "--as-of",
            "2024-03-31",
            "--target",
            "dpd0_90d",
            "--out",
            str(tmp_path / "l.csv"),
        ],
        capsys,
    )
    assert code == 2
    assert out == ""
    assert err.startswith("error: threshold must be an integer in [1, 3650]; got 0.")
    assert list(tmp_path.iterdir()) == []
