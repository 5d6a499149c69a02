"""The workflow layer: train, evaluate, score, value model, worklist and exported tables.

Each workflow takes a portfolio (object or folder), checks its inputs and outputs
before it reads the portfolio, and writes its output when given ``out``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import overdue_risk as odr
from helpers import SAMPLE, flags_table
from overdue_risk import (
    ArrearsRule,
    DpdTarget,
    Ledger,
    LedgerConfig,
    ModelError,
    OverdueRiskError,
    RiskBasedValue,
    RiskModel,
    ShrunkUplift,
    Strategy,
    StrategyError,
    build_features,
    load_portfolio,
    make_labels,
)
from overdue_risk.workflows import (
    LabelTable,
    TrainingResult,
    choose_value_model,
    evaluate_model,
    export_features,
    export_labels,
    export_ledger,
    learn_value_model,
    load_strategy,
    prioritise_portfolio,
    score_portfolio,
    train_risk_model,
)

MONTHS = ["2023-12-31", "2024-03-31", "2024-06-30", "2024-09-30"]


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(SAMPLE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, portfolio) -> tuple[TrainingResult, Path]:
    folder = tmp_path_factory.mktemp("workflow") / "model"
    result = train_risk_model(
        portfolio,
        MONTHS,
        "dpd30_90d",
        model=RiskModel(n_estimators=30, random_state=0),
        families=["ledger", "recency"],
        out=folder,
    )
    return result, folder


@pytest.fixture
def unread(monkeypatch):
    """Reading a portfolio folder fails the test: checks must come first."""

    def boom(*args, **kwargs):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr("overdue_risk.workflows._inputs.load_portfolio", boom)


# -- train, evaluate, score -----------------------------------------------------------------


def test_train_writes_the_folder_it_returns(trained):
    result, folder = trained
    assert isinstance(result, TrainingResult)
    assert result.dates == {
        "train": ["2023-12-31", "2024-03-31"],
        "validation": ["2024-06-30"],
        "test": ["2024-09-30"],
    }
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["build_options"] == {
        "families": ["ledger", "recency"],
        "exclude": [],  # no sensitive attribute among these families' features
        "tolerance": 0.0,
        "sensitive": list(odr.model.SENSITIVE_ATTRIBUTES),
    }
    assert manifest["metrics"]["test"] == pytest.approx(result.model.metrics_["test"])
    assert len(result.model.reference_scores_) == 201


def test_train_from_a_folder_equals_train_from_the_portfolio(trained, tmp_path):
    result, folder = trained
    again = train_risk_model(
        SAMPLE,
        MONTHS,
        DpdTarget(),
        model=RiskModel(n_estimators=30, random_state=0),
        families=["ledger", "recency"],
        out=tmp_path / "again",
        report_path=tmp_path / "report.html",
    )
    assert again.dates == result.dates
    for name in ("model.txt", "manifest.json"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes()
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") >= 4


def test_training_result_save_refuses_a_non_empty_folder(trained, tmp_path):
    result, _ = trained
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(OverdueRiskError, match="is not empty; use --overwrite"):
        result.save(tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    result.save(tmp_path / "full", overwrite=True)
    assert RiskModel.load(tmp_path / "full").best_iteration_ == result.model.best_iteration_


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out": "{tmp}/nowhere/model"}, "Parent folder"),
        ({"report_path": "{tmp}/report.pdf"}, "must end in .html"),
        ({"as_of_dates": ["2024-02-30"]}, "ISO 8601"),
        ({"target": "dpd30"}, "Unknown target"),
        ({"families": ["nope"]}, "nope"),
    ],
)
def test_train_checks_everything_before_reading(unread, tmp_path, kwargs, match):
    args = {"as_of_dates": MONTHS, "target": "dpd30_90d", "out": "{tmp}/model"} | kwargs
    args = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in args.items()}
    with pytest.raises(OverdueRiskError, match=match):
        train_risk_model(SAMPLE, **args)
    assert list(tmp_path.iterdir()) == []


def test_score_from_folders_equals_score_from_objects(trained, portfolio, tmp_path):
    result, folder = trained
    direct = score_portfolio(result.model, portfolio, "2024-12-31", explain=2)
    out = tmp_path / "scores.parquet"
    from_files = score_portfolio(folder, SAMPLE, "2024-12-31", explain=2, out=out)
    pd.testing.assert_frame_equal(from_files, direct)
    pd.testing.assert_frame_equal(pd.read_parquet(out), direct.reset_index())
    assert list(direct.columns[:3]) == ["score", "points", "dpd"]
    assert "reason_2_text" in direct.columns


def test_score_gives_open_loans_their_points(trained, portfolio):
    model = trained[0].model
    scores = score_portfolio(model, portfolio, ["2024-11-30", "2024-12-31"])
    features = build_features(portfolio, ["2024-11-30", "2024-12-31"], families=["ledger"])
    open_loans = features.index[features["is_closed"].to_numpy() != 1]
    assert scores.index.equals(open_loans)
    rebuilt = build_features(
        portfolio, ["2024-11-30", "2024-12-31"], families=["ledger", "recency"]
    ).loc[open_loans]
    np.testing.assert_allclose(scores["points"], model.points(rebuilt))
    np.testing.assert_allclose(scores["score"], model.predict_proba(rebuilt)[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out": "{tmp}/scores.txt"}, "must end in .parquet or .csv"),
        ({"as_of": "2024-13-31"}, "ISO 8601"),
        ({"explain": -1}, r"explain must be an integer >= 0; got -1\."),
        ({"explain": 10_000}, r"explain must be an integer in \[0, \d+\]"),
    ],
)
def test_score_checks_before_reading(unread, trained, tmp_path, kwargs, match):
    args = {"as_of": "2024-12-31", "out": "{tmp}/scores.csv"} | kwargs
    args["out"] = args["out"].format(tmp=tmp_path)
    with pytest.raises(OverdueRiskError, match=match):
        score_portfolio(trained[1], SAMPLE, **args)
    assert list(tmp_path.iterdir()) == []


def test_a_model_not_trained_by_the_workflow_cannot_be_scored(portfolio):
    data = odr.build_training_set(portfolio, MONTHS[:2], DpdTarget(), families=["ledger"])
    model = RiskModel(n_estimators=5).fit(data.drop(columns="label"), data["label"])
    with pytest.raises(ModelError, match="not trained with train_risk_model"):
        score_portfolio(model, portfolio, "2024-12-31")


def test_evaluate_writes_the_report_it_returns(trained, tmp_path):
    out = tmp_path / "eval.html"
    report = evaluate_model(trained[1], SAMPLE, ["2024-08-31", "2024-09-30"], out=out)
    labels = make_labels(load_portfolio(SAMPLE), ["2024-08-31", "2024-09-30"], DpdTarget())
    assert report.metrics["n"] == len(labels)
    assert "score_psi" in report.metrics
    assert out.read_text() == report.to_html()


def test_evaluate_reports_fairness_from_the_portfolio(trained, portfolio):
    dates = ["2024-08-31", "2024-09-30"]
    report = evaluate_model(trained[1], portfolio, dates)
    table = report.table("fairness")
    # the model (ledger and recency features) holds no attribute: the groups come from
    # the portfolio's own columns
    assert table["attribute"].unique().tolist() == ["region", "customer_birth_year"]
    labels = make_labels(portfolio, dates, DpdTarget())
    region = portfolio.loans.set_index("loan_id")["region"].astype(str)
    by_region = region.reindex(labels.index.get_level_values("loan_id")).to_numpy()
    expected = pd.Series(labels.to_numpy()).groupby(by_region).agg(["size", "sum"])
    got = table[table["attribute"] == "region"].set_index("group")
    assert got["count"].to_dict() == expected["size"].to_dict()
    assert got["bads"].to_dict() == expected["sum"].to_dict()
    assert got["count"].sum() == len(labels)
    assert report.table("contributions")["feature"].isin(trained[0].model.feature_names_in_).all()
    assert "fairness" not in evaluate_model(trained[1], portfolio, dates, sensitive=[]).table_kinds
    with pytest.raises(ModelError, match="sensitive must be"):
        evaluate_model(trained[1], portfolio, dates, sensitive="region")


def test_evaluate_checks_the_report_path_before_reading(unread, trained, tmp_path):
    with pytest.raises(OverdueRiskError, match=r"must end in \.html"):
        evaluate_model(trained[1], SAMPLE, "2024-09-30", out=tmp_path / "eval.pdf")


# -- value model and worklist ----------------------------------------------------------------


def test_value_model_sources(portfolio, sample_dir):
    assert isinstance(choose_value_model(portfolio, "2025-01-01", "fallback"), RiskBasedValue)
    learned = learn_value_model(portfolio, "2025-01-01")
    assert isinstance(learned, ShrunkUplift) and learned.causal
    # The candidates were scored on the log: the stated rule, then each weight.
    assert learned.table()["candidate"].iloc[0] == "arrears rule (stated)"
    assert learned.table()["chosen"].sum() == 1
    assert learned.capacity is None
    # With the worklist's strategy, the candidates are judged under its capacities.
    rationed = learn_value_model(portfolio, "2025-01-01", strategy="default")
    assert set(rationed.capacity) == {"call", "visit", "restructure", "legal"}
    assert all(0 < v <= 1 for v in rationed.capacity.values())
    handmade = load_portfolio(sample_dir)  # no randomised cell in its log
    fallback = choose_value_model(handmade, "2024-06-01", "auto")
    assert isinstance(fallback, ArrearsRule) and not fallback.causal
    with pytest.raises(OverdueRiskError, match="too few randomised decisions"):
        choose_value_model(handmade, "2024-06-01", "uplift")
    with pytest.raises(OverdueRiskError, match="'value' parameter of choose_value_model"):
        choose_value_model(handmade, "2024-06-01", "causal")


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory, portfolio) -> Path:
    path = tmp_path_factory.mktemp("scores") / "scores.csv"
    loans = portfolio.loans
    risk = (loans["principal"].rank(pct=True) * 0.9).to_numpy()
    pd.DataFrame({"loan_id": loans["loan_id"], "as_of": "2024-06-30", "score": risk}).to_csv(
        path, index=False
    )
    return path


def test_prioritise_portfolio_from_files_equals_the_steps(portfolio, scores_file, tmp_path):
    flags = tmp_path / "flags.csv"
    first = portfolio.loans["loan_id"].iloc[0]
    uk_eu = Strategy.profile("uk_eu")
    flags_table([first], uk_eu, opt_out_sms=[True]).reset_index().to_csv(flags, index=False)
    out = tmp_path / "worklist.csv"
    worklist = prioritise_portfolio(
        scores_file, SAMPLE, "2024-07-01", "uk_eu", value_model="fallback", flags=flags, out=out
    )
    steps = odr.prioritise(
        pd.read_csv(scores_file, dtype={"loan_id": str}),
        portfolio,
        "2024-07-01",
        Strategy.profile("uk_eu"),
        value_model=RiskBasedValue(),
        flags=pd.read_csv(flags, dtype={"loan_id": str}).set_index("loan_id"),
    )
    pd.testing.assert_frame_equal(worklist.table(), steps.table())
    assert not worklist.causal
    written = pd.read_csv(out, dtype={"loan_id": str}).set_index("loan_id")
    assert list(written.index) == list(steps.table().index)


def test_prioritise_portfolio_uses_a_given_value_model(portfolio, scores_file):
    class Flat(RiskBasedValue):
        causal = True

    with pytest.warns(odr.DataQualityWarning, match="not enforced"):  # no flags given
        worklist = prioritise_portfolio(
            pd.read_csv(scores_file), portfolio, "2024-07-01", "default", value_model=Flat()
        )
    assert worklist.causal


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out": "{tmp}/w.txt"}, "must end in .parquet or .csv"),
        ({"as_of": ["2024-07-01", "2024-07-02"]}, "as_of must be one date; got 2"),
        ({"value_model": "best"}, "'value_model' parameter of prioritise_portfolio"),
        ({"strategy": "{tmp}/nowhere.toml"}, "nowhere.toml"),
        ({"scores": "{tmp}/nope.csv"}, "Scores file .* does not exist"),
        ({"flags": "{tmp}/flags.xlsx"}, "Flags file .* does not exist"),
    ],
)
def test_prioritise_portfolio_checks_before_reading(unread, scores_file, tmp_path, kwargs, match):
    args = {
        "scores": str(scores_file),
        "as_of": "2024-07-01",
        "strategy": "default",
        "out": "{tmp}/w.csv",
    } | kwargs
    args = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in args.items()}
    with pytest.raises((OverdueRiskError, StrategyError), match=match):
        prioritise_portfolio(portfolio=SAMPLE, **args)
    assert list(tmp_path.iterdir()) == []


def test_load_strategy(tmp_path):
    assert load_strategy("uk_eu") == Strategy.profile("uk_eu")
    path = tmp_path / "mine.toml"
    path.write_text('extends = "china"\n')
    assert load_strategy(path) == Strategy.from_toml(path) == load_strategy(str(path))
    mine = Strategy()
    assert load_strategy(mine) is mine
    with pytest.raises(OverdueRiskError, match="got int"):
        load_strategy(3)


# -- exported tables ------------------------------------------------------------------------


def test_export_ledger(sample_dir, tmp_path):
    out = tmp_path / "ledger.parquet"
    snapshot = export_ledger(sample_dir, ["2024-06-30", "2024-12-30"], out=out, tolerance=1.0)
    expected = Ledger(load_portfolio(sample_dir), LedgerConfig(tolerance=1.0)).at(
        ["2024-06-30", "2024-12-30"]
    )
    pd.testing.assert_frame_equal(snapshot.table(), expected.table())
    assert len(pd.read_parquet(out)) == len(expected.table())


def test_export_features_checks_before_reading(unread, tmp_path):
    for kwargs, match in [
        ({"families": ["nope"]}, "nope"),
        ({"out": tmp_path / "f.xlsx"}, "must end in .parquet or .csv"),
    ]:
        args = {"out": tmp_path / "f.csv"} | kwargs
        with pytest.raises(OverdueRiskError, match=match):
            export_features(SAMPLE, "2024-06-30", **args)
    with pytest.raises(OverdueRiskError, match="ISO 8601"):
        export_ledger(SAMPLE, ["bad"], out=tmp_path / "l.csv")
    assert list(tmp_path.iterdir()) == []


def test_export_features(sample_dir, tmp_path):
    out = tmp_path / "features.csv"
    features = export_features(sample_dir, "2024-06-30", out=out, families=["ledger"])
    expected = build_features(load_portfolio(sample_dir), "2024-06-30", families=["ledger"])
    pd.testing.assert_frame_equal(features, expected)
    assert len(pd.read_csv(out)) == len(expected)


def test_label_table_summarises_every_date_asked_for(tmp_path):
    dates = ["2024-12-31", "2024-06-30"]  # the last one's horizon ends after the data
    table = export_labels(SAMPLE, dates, "dpd30_90d", out=tmp_path / "labels.csv")
    assert isinstance(table, LabelTable)
    expected = make_labels(load_portfolio(SAMPLE), dates, DpdTarget())
    pd.testing.assert_series_equal(table.labels, expected)
    assert len(table) == len(expected) and table.target == DpdTarget()
    summary = table.summary()
    assert list(summary.index.strftime("%Y-%m-%d")) == ["2024-06-30", "2024-12-31"]
    assert summary["rows"].tolist() == [len(expected), 0]
    assert summary.loc["2024-06-30", "positives"] == expected.sum()
    assert summary.loc["2024-06-30", "rate"] == pytest.approx(expected.mean())
    written = pd.read_csv(tmp_path / "labels.csv")
    assert len(written) == len(expected) and written.columns[-1] == expected.name


def test_export_labels_observed_until(tmp_path):
    table = export_labels(
        SAMPLE,
        "2024-03-31",
        "cure_30d",
        out=tmp_path / "labels.csv",
        observed_until="2024-04-15",
    )
    assert table.summary()["rows"].tolist() == [0]  # the 30-day horizon is not observed


# -- output checks and reading tables -------------------------------------------------------


def test_output_checks(tmp_path):
    from overdue_risk._io import check_output_folder, check_report_path, read_table

    (tmp_path / "file").write_text("x")
    with pytest.raises(OverdueRiskError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(OverdueRiskError, match="Parent folder"):
        check_output_folder(tmp_path / "a" / "b")
    assert check_output_folder(tmp_path / "new") == tmp_path / "new"
    with pytest.raises(OverdueRiskError, match="not empty"):
        check_output_folder(tmp_path)
    assert check_output_folder(tmp_path, overwrite=True) == tmp_path
    assert check_report_path(tmp_path / "r.HTM") == tmp_path / "r.HTM"
    with pytest.raises(OverdueRiskError, match=r"Output folder .* does not exist"):
        check_report_path(tmp_path / "a" / "r.html")
    with pytest.raises(OverdueRiskError, match=r"Scores file 'file' must be a \.parquet or \.csv"):
        read_table(tmp_path / "file", "Scores file")
    pd.DataFrame({"loan_id": ["007"], "score": [0.5]}).to_csv(tmp_path / "s.csv", index=False)
    assert read_table(tmp_path / "s.csv")["loan_id"].tolist() == ["007"]


def test_a_large_cell_is_sampled_by_whole_loans_in_an_order_of_their_ids():
    from overdue_risk.workflows._value import _priority, _sample_loans

    rng = np.random.default_rng(3)
    names = [f"L{i:04d}" for i in range(500)]
    loans = np.repeat(names, rng.integers(1, 40, 500))
    days = pd.date_range("2024-01-01", periods=len(loans), freq="h")
    d = pd.DataFrame(
        {"x": np.arange(len(loans))},
        index=pd.MultiIndex.from_arrays([loans, days], names=["loan_id", "as_of"]),
    )
    ids = pd.Index(names)
    order = ids[_priority(ids, 0)]
    kept = _sample_loans(d, order, 3000, len(ids))
    assert len(kept) <= 3000 < len(d)
    per_loan = pd.Series(loans).value_counts()
    got = kept.index.get_level_values("loan_id").value_counts()
    # Every decision of each loan kept: the sample is itself a randomised cell.
    assert got.sort_index().to_dict() == per_loan[got.index].sort_index().to_dict()
    # The loans kept are the first of the order, as many as fit.
    k = len(got)
    assert set(got.index) == set(order[:k])
    assert per_loan[order[: k + 1]].sum() > 3000 >= per_loan[order[:k]].sum()
    # Where a loan falls in the order does not depend on the other loans: a chunk of the
    # book orders its loans as the whole book does.
    part = ids[rng.random(len(ids)) < 0.3]
    assert list(part[_priority(part, 0)]) == [i for i in order if i in set(part)]
    assert not order.equals(ids[_priority(ids, 1)])  # another seed, another sample
    with pytest.raises(OverdueRiskError, match="max_decisions"):
        learn_value_model(SAMPLE, "2025-01-01", max_decisions=10)
