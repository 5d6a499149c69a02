"""``overdue-risk train``, ``evaluate`` and ``score``: the model's command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE, run_cli
from overdue_risk import RiskModel, build_features, load_portfolio, make_labels
from overdue_risk.cli import main
from overdue_risk.model import SENSITIVE_ATTRIBUTES

# Every test trains a model end to end (through the CLI, or the module's `trained` fixture).
pytestmark = pytest.mark.slow

DATES = "2023-12-31,2024-03-31,2024-06-30,2024-09-30"
FAMILIES = "ledger,recency,static"


def train_argv(out: Path, *extra: str) -> list[str]:
    return [
        "train",
        SAMPLE,
        "--as-of-dates",
        DATES,
        "--out",
        str(out),
        "--families",
        FAMILIES,
        "--exclude",
        "customer_birth_year",
        *extra,
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    code = main(train_argv(folder / "model", "--report", str(folder / "report.html")))
    assert code == 0
    return folder


def test_train_splits_out_of_time_and_writes_the_folder(trained):
    model_dir = trained / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "calibration.json",
        "manifest.json",
        "manifest.sha256",
        "model.txt",
    ]
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["windows"]["train"]["as_of"] == ["2023-12-31", "2024-03-31"]
    assert manifest["windows"]["validation"]["as_of"] == ["2024-06-30", "2024-06-30"]
    assert manifest["windows"]["test"]["as_of"] == ["2024-09-30", "2024-09-30"]
    assert manifest["target"]["threshold"] == 30 and manifest["target"]["horizon_days"] == 90
    # region, a sensitive attribute, is left out by default and recorded among the exclusions
    assert manifest["build_options"] == {
        "families": ["ledger", "recency", "static"],
        "exclude": ["customer_birth_year", "region"],
        "tolerance": 0.0,
        "sensitive": list(SENSITIVE_ATTRIBUTES),
    }
    names = [f["name"] for f in manifest["features"]]
    assert "customer_birth_year" not in names and "region" not in names and "dpd" in names
    assert manifest["params"]["sensitive_features"] == []
    # every feature has a text, the static ones from the portfolio's columns
    texts = {f["name"]: f["description"] for f in manifest["features"]}
    assert texts["application_score"] == (
        "Loan attribute application_score at origination (a column of the loans table)"
    )
    assert all(texts.values())
    assert manifest["metrics"]["test"]["n"] == manifest["windows"]["test"]["rows"]
    assert 0.5 < manifest["metrics"]["test"]["auc"] <= 1
    html = (trained / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') >= 4


def test_train_is_deterministic(trained, tmp_path, capsys):
    code, _, err = run_cli(train_argv(tmp_path / "again"), capsys)
    assert code == 0, err
    for name in ("model.txt", "calibration.json", "manifest.json"):
        assert (tmp_path / "again" / name).read_bytes() == (trained / "model" / name).read_bytes()


@pytest.mark.parametrize(
    ("flags", "trained_on", "flagged", "excluded", "sensitive"),
    [
        # asked for: trained on, with a warning, and flagged so it is never a reason code
        (["--include-sensitive"], True, ["region"], ["customer_birth_year"], None),
        # an empty list names no sensitive attribute: region is a feature like any other
        (["--sensitive", ""], True, [], ["customer_birth_year"], []),
        # a list of one's own: region is no longer sensitive, the income band is
        (["--sensitive", "income_band"], True, [], ["customer_birth_year",
         "customer_income_band"], ["income_band"]),
    ],
)  # fmt: skip
def test_train_sensitive_flags(tmp_path, capsys, flags, trained_on, flagged, excluded, sensitive):
    code, _, err = run_cli(train_argv(tmp_path / "m", *flags), capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    names = [f["name"] for f in manifest["features"]]
    assert ("region" in names) is trained_on
    assert manifest["params"]["sensitive_features"] == flagged
    assert manifest["build_options"]["exclude"] == excluded
    expected = list(SENSITIVE_ATTRIBUTES) if sensitive is None else sensitive
    assert manifest["build_options"]["sensitive"] == expected
    assert ("warning: Training on the sensitive attributes ['region']" in err) is bool(flagged)


def test_score_matches_the_library(trained, tmp_path, capsys):
    out = tmp_path / "scores.parquet"
    code, stdout, err = run_cli(
        [
            "score",
            str(trained / "model"),
            SAMPLE,
            "--as-of",
            "2024-12-31",
            "--out",
            str(out),
            "--explain",
            "2",
        ],
        capsys,
    )
    assert code == 0, err
    scores = pd.read_parquet(out)
    assert stdout.startswith(f"Wrote {len(scores):,} scores to {out}")
    assert list(scores.columns[:5]) == ["loan_id", "as_of", "score", "points", "dpd"]
    assert "reason_2_text" in scores and "reason_3" not in scores
    model = RiskModel.load(trained / "model")
    features = build_features(
        load_portfolio(SAMPLE),
        "2024-12-31",
        families=FAMILIES.split(","),
        exclude=["customer_birth_year"],
    )
    open_loans = features[features["is_closed"] != 1]
    assert len(scores) == len(open_loans)
    expected = model.predict_proba(open_loans)[:, 1]
    np.testing.assert_allclose(scores["score"].to_numpy(), expected)
    assert scores["loan_id"].tolist() == open_loans.index.get_level_values("loan_id").tolist()


def test_evaluate_writes_the_report(trained, tmp_path, capsys):
    out = tmp_path / "eval.html"
    code, stdout, err = run_cli(
        [
            "evaluate",
            str(trained / "model"),
            SAMPLE,
            "--as-of",
            "2024-08-31,2024-09-30",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    labels = make_labels(load_portfolio(SAMPLE), ["2024-08-31", "2024-09-30"], "dpd30_90d")
    assert stdout.startswith(f"n {len(labels):,}  bad_rate {labels.mean():.4f}  auc ")
    assert "score_psi" in stdout
    assert out.read_text().count('src="data:image/png;base64,') >= 4


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (
            ["train", SAMPLE, "--as-of-dates", "2024-06-30,2024-09-30", "--out", "{tmp}/m"],
            "needs at least 3 as-of dates with an observed dpd30_90d horizon; got 2",
        ),
        (
            ["train", SAMPLE, "--as-of-dates", DATES, "--out", "{tmp}/m", "--target", "dpd30"],
            "target",
        ),
        (
            [
                "train",
                SAMPLE,
                "--as-of-dates",
                DATES,
                "--out",
                "{tmp}/m",
                "--report",
                "{tmp}/r.pdf",
            ],
            "must end in .html",
        ),
        (
            ["score", SAMPLE, SAMPLE, "--as-of", "2024-12-31", "--out", "{tmp}/s.csv"],
            "no manifest.json",
        ),
        (
            ["score", "{model}", SAMPLE, "--as-of", "2024-12-31", "--out", "{tmp}/s.txt"],
            "must end in .parquet or .csv",
        ),
        (
            ["evaluate", "{model}", SAMPLE, "--as-of", "2024-12-31", "--out", "{tmp}/e.html"],
            "No loan can be labelled",
        ),
    ],
)
def test_bad_input_exits_2_with_one_message(trained, tmp_path, capsys, argv, match):
    argv = [a.format(tmp=tmp_path, model=trained / "model") for a in argv]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and match in err
    assert "Traceback" not in err
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_tampered_model_is_refused(trained, tmp_path, capsys):
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(trained / "model", model_dir)
    text = (model_dir / "model.txt").read_text()
    (model_dir / "model.txt").write_text(text.replace("leaf_value=", "leaf_value=1", 1))
    code, _, err = run_cli(
        [
            "score",
            str(model_dir),
            SAMPLE,
            "--as-of",
            "2024-12-31",
            "--out",
            str(tmp_path / "s.csv"),
        ],
        capsys,
    )
    assert code == 2 and "model.txt does not match the sha256" in err
    assert not (tmp_path / "s.csv").exists()


def test_training_dates_end_their_horizon_before_the_stopping_date():
    from overdue_risk.workflows import train_risk_model

    months = pd.date_range("2023-10-31", "2024-09-30", freq="ME")
    result = train_risk_model(
        load_portfolio(SAMPLE),
        months,
        "dpd30_90d",
        model=RiskModel(n_estimators=20),
        families=["ledger"],
    )
    # Stopping on 2024-08-31: only month ends at least 90 days before it train.
    assert result.dates["validation"] == ["2024-08-31"] and result.dates["test"] == ["2024-09-30"]
    assert result.dates["train"] == [d.strftime("%Y-%m-%d") for d in months[:8]]
    assert (
        months[7] + pd.Timedelta(days=90)
        <= pd.Timestamp("2024-08-31")
        < months[8] + pd.Timedelta(days=90)
    )
    assert result.model.windows_["train"]["as_of"] == ["2023-10-31", "2024-05-31"]
