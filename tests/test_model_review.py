"""What a model-risk review asks: sensitive attributes, feature texts, fairness by group,
figures from the exact contributions, a calibration floor.

Expected values come from the documented rules, computed by hand or brute force here.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # matplotlib 3.8 and pyparsing 3.3
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

import overdue_risk.features
from helpers import SAMPLE, SETTINGS, reseal
from overdue_risk import (
    ArtifactError,
    CustomFeature,
    DataQualityWarning,
    EvaluationError,
    ModelError,
    RiskModel,
    build_features,
    evaluate,
    list_features,
    load_portfolio,
)
from overdue_risk.evaluation import ContributionSummaryDisplay, WaterfallDisplay
from overdue_risk.features import attribute_descriptions, static_attributes
from overdue_risk.model import (
    SENSITIVE_ATTRIBUTES,
    describe_features,
    sensitive_columns,
    undescribed,
)
from overdue_risk.workflows import score_portfolio, train_risk_model

FAST = {"n_estimators": 40, "learning_rate": 0.1, "min_child_samples": 20, "n_jobs": 1}
MONTHS = ["2023-12-31", "2024-03-31", "2024-06-30", "2024-09-30"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)


def region_data(seed: int, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk driven mostly by region (a sensitive attribute), a little by dpd."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south"], n)
    dpd = rng.integers(0, 60, n).astype(np.float32)
    logit = -2.5 + 2.5 * (region == "south") + 0.01 * dpd
    y = (rng.random(n) < expit(logit)).astype(np.int8)
    X = pd.DataFrame(
        {
            "dpd": dpd,
            "noise": rng.normal(size=n).astype(np.float32),
            "region": pd.Categorical(region, categories=["north", "south"]),
        }
    )
    return X, y


@pytest.fixture(scope="module")
def slices():
    return region_data(1), region_data(2)


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(SAMPLE)


# -- which features are sensitive ---------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "sensitive", "expected"),
    [
        (
            ["dpd", "region", "customer_birth_year", "loan_age_days", "customer_age"],
            None,
            ["region", "customer_birth_year", "customer_age"],
        ),
        # case does not matter; names match whole, never in part
        (["Region", "CUSTOMER_Sex", "sexy", "customer_n_loans"], None, ["Region", "CUSTOMER_Sex"]),
        (["customer_marital_status", "marital", "sex"], None, ["customer_marital_status", "sex"]),
        # a list of one's own: a column, or the feature's own name
        (["customer_income_band", "income_band_x"], ["income_band"], ["customer_income_band"]),
        (["customer_birth_year", "birth_year"], ["customer_birth_year"], ["customer_birth_year"]),
        (["region", "customer_birth_year"], [], []),
    ],
)  # fmt: skip
def test_sensitive_columns_match_the_feature_or_its_column(names, sensitive, expected):
    assert sensitive_columns(names, sensitive) == expected


def test_the_default_sensitive_attributes():
    assert {"age", "birth_year", "sex", "gender", "marital_status", "region"} <= set(
        SENSITIVE_ATTRIBUTES
    )


# -- RiskModel(sensitive_features=...) ----------------------------------------------------


def _brute_reasons(contrib: pd.DataFrame, names: list[str], skip: set[str], k: int) -> list:
    """Per row, the k features with the largest positive contributions, skipping ``skip``."""
    out = []
    for _, row in contrib[names].iterrows():
        ranked = sorted(
            (-v, i) for i, (name, v) in enumerate(row.items()) if name not in skip and v > 0
        )
        out.append([names[i] for _, i in ranked[:k]] + [""] * (k - len(ranked[:k])))
    return out


@pytest.mark.parametrize("against", [False, True])
def test_a_sensitive_feature_is_never_a_reason_code(slices, against):
    (X, y), (Xv, yv) = slices
    plain = RiskModel(**FAST).fit(X, y, Xv, yv)
    model = RiskModel(**FAST, sensitive_features=("region",)).fit(X, y, Xv, yv)
    # the same trees and scores: the flag changes the reasons only
    assert model.booster_.model_to_string() == plain.booster_.model_to_string()
    np.testing.assert_array_equal(model.predict_proba(Xv), plain.predict_proba(Xv))
    rows = Xv.head(300)
    cols = ["reason_1", "reason_2", "reason_3"]
    before = plain.explain(rows, top_k=3, against=against)[cols]
    assert (before == "region").to_numpy().any()  # region would be a reason
    after = model.explain(rows, top_k=3, against=against)
    assert not (after[cols] == "region").to_numpy().any()
    contrib = model.contributions(rows)
    contrib = -contrib if against else contrib
    expected = _brute_reasons(contrib, ["dpd", "noise", "region"], {"region"}, 3)
    assert after[cols].to_numpy().tolist() == expected
    assert model.sensitive_features_ == ("region",)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (("nope",), r"sensitive_features names features that X does not have: \['nope'\]"),
        ("region", r"The 'sensitive_features' parameter of RiskModel must be a list of distinct"),
        (("region", "region"), r"'sensitive_features' parameter .* distinct names"),
    ],
)
def test_sensitive_features_are_checked_at_fit(slices, value, match):
    (X, y), _ = slices
    with pytest.raises(ModelError, match=match):
        RiskModel(**FAST, sensitive_features=value).fit(X, y)


def _rehash(folder, name: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    reseal(folder)


def _edit_manifest(folder, change) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    reseal(folder)


def test_sensitive_features_survive_the_artifact(slices, tmp_path):
    (X, y), (Xv, yv) = slices
    model = RiskModel(**FAST, sensitive_features=("region",)).fit(X, y, Xv, yv)
    folder = model.save(tmp_path / "m")
    loaded = RiskModel.load(folder)
    assert loaded.sensitive_features_ == ("region",)
    assert loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(loaded.explain(Xv.head(50)), model.explain(Xv.head(50)))
    # a model saved before the parameter existed loads with none
    _edit_manifest(folder, lambda m: m["params"].pop("sensitive_features"))
    assert RiskModel.load(folder).sensitive_features_ == ()
    _edit_manifest(folder, lambda m: m["params"].__setitem__("sensitive_features", ["nope"]))
    with pytest.raises(ArtifactError, match=r"names features that X does not have: \['nope'\]"):
        RiskModel.load(folder)


# -- the calibration floor ----------------------------------------------------------------


@pytest.fixture(scope="module")
def separable():
    """A slice whose lowest scores hold no bad and whose highest hold only bads."""
    rng = np.random.default_rng(5)

    def make(n):
        dpd = rng.integers(0, 90, n).astype(np.float32)
        y = np.where(dpd < 20, 0, np.where(dpd >= 80, 1, rng.random(n) < 0.3)).astype(np.int8)
        return pd.DataFrame({"dpd": dpd}), y

    return make(2000), make(1000)


def test_isotonic_probabilities_stop_at_half_a_bad_in_the_slice(separable, tmp_path):
    (X, y), (Xv, yv) = separable
    model = RiskModel(**FAST, calibration="isotonic").fit(X, y, Xv, yv)
    margin = model.decision_function(Xv)
    raw = IsotonicRegression(out_of_bounds="clip").fit(margin, yv).predict(margin)
    assert raw.min() == 0.0 and raw.max() == 1.0  # what the clip is for
    p = model.predict_proba(Xv)[:, 1]
    floor = 1 / (2 * len(yv))
    assert p.min() == floor and p.max() == 1 - floor
    np.testing.assert_allclose(p, np.clip(raw, floor, 1 - floor), rtol=1e-12)
    assert np.isfinite(model.points(Xv)).all()
    # saved and loaded with the model
    folder = model.save(tmp_path / "m")
    saved = json.loads((folder / "calibration.json").read_text())
    assert (saved["floor"], saved["ceiling"]) == (floor, 1 - floor)
    np.testing.assert_array_equal(RiskModel.load(folder).predict_proba(Xv), model.predict_proba(Xv))


def test_a_calibrator_saved_before_the_floor_scores_as_it_did(separable, tmp_path):
    (X, y), (Xv, yv) = separable
    model = RiskModel(**FAST, calibration="isotonic").fit(X, y, Xv, yv)
    folder = model.save(tmp_path / "m")
    path = folder / "calibration.json"
    old = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("floor", "ceiling")}
    path.write_text(json.dumps(old))
    _rehash(folder, "calibration.json")
    p = RiskModel.load(folder).predict_proba(Xv)[:, 1]
    expected = np.interp(model.decision_function(Xv), old["x"], old["y"])
    np.testing.assert_array_equal(p, expected)
    assert p.min() == 0.0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"floor": 0.7, "ceiling": 0.9}, "floor and ceiling must satisfy 0 < floor <= 0.5"),
        ({"floor": 0.0, "ceiling": 1.0}, "floor and ceiling must satisfy"),
        ({"floor": True, "ceiling": 0.9}, "floor and ceiling must be finite numbers"),
        ({"floor": 0.01, "ceiling": None}, "floor and ceiling must be finite numbers"),
    ],
)
def test_a_malformed_floor_is_refused(separable, tmp_path, change, match):
    (X, y), (Xv, yv) = separable
    folder = RiskModel(**FAST, calibration="isotonic").fit(X, y, Xv, yv).save(tmp_path / "m")
    path = folder / "calibration.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    _rehash(folder, "calibration.json")
    with pytest.raises(ArtifactError, match=f"calibration.json is not a valid calibrator: {match}"):
        RiskModel.load(folder)


# -- a text for every feature -------------------------------------------------------------


def test_static_features_are_described_by_template(portfolio):
    texts = attribute_descriptions(portfolio)
    assert texts["principal"] == (
        "Loan attribute principal at origination: amount lent; the credit limit for revolving"
    )
    assert texts["region"] == (
        "Loan attribute region at origination: region of the customer or branch"
    )
    assert texts["application_score"] == (
        "Loan attribute application_score at origination (a column of the loans table)"
    )
    assert texts["customer_birth_year"] == (
        "Customer attribute birth_year (as given in the customers table)"
    )
    assert texts["restructured"].startswith("The loan replaces one that was restructured")
    built = build_features(portfolio, "2024-06-30", families=["static"])
    assert set(built.columns) <= set(texts)  # every static feature, and nothing else
    assert not set(texts) & {"loan_id", "customer_id", "start_date", "closed_date"}


def test_describe_features_takes_each_source_in_turn(portfolio):
    mine = CustomFeature("n_payments", lambda p, a: None, "Payments received so far.")
    catalogue = dict(zip(list_features()["name"], list_features()["description"], strict=True))
    texts = describe_features(
        ["dpd", "region", "n_payments", "x0", "customer_income_band"],
        portfolio,
        custom=[mine],
        descriptions={"customer_income_band": "Income band the customer declared"},
    )
    assert texts == {
        "dpd": catalogue["dpd"],
        "region": "Loan attribute region at origination: region of the customer or branch",
        "n_payments": "Payments received so far.",
        "customer_income_band": "Income band the customer declared",
    }
    assert undescribed(["dpd", "x0", "region"], texts) == ["x0"]
    with pytest.raises(ModelError, match=r"non-empty text; not: \['dpd'\]"):
        describe_features(["dpd"], descriptions={"dpd": "  "})
    with pytest.raises(ModelError, match="descriptions must be a mapping"):
        describe_features(["dpd"], descriptions=["dpd"])


def test_fit_alone_describes_catalogue_features_and_shows_other_names():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    y = (X[:, 0] + rng.normal(size=500) > 1).astype(int)
    model = RiskModel(**FAST).fit(X, y)
    assert model.descriptions_ == {}
    reasons = model.explain(X[:20], top_k=1)
    got = reasons["reason_1"] != ""
    assert got.any()
    assert (reasons.loc[got, "reason_1_text"] == reasons.loc[got, "reason_1"]).all()


# -- the training workflow ----------------------------------------------------------------


def _train(portfolio, **kwargs):
    return train_risk_model(
        portfolio,
        MONTHS,
        model=kwargs.pop("model", RiskModel(n_estimators=20, n_jobs=1)),
        families=["ledger", "static"],
        **kwargs,
    )


@pytest.fixture(scope="module")
def trained(portfolio):
    return _train(portfolio)


def test_training_leaves_sensitive_features_out_and_reports_their_groups(trained, portfolio):
    model, report = trained.model, trained.report
    names = set(model.feature_names_in_)
    assert not names & {"region", "customer_birth_year"}
    assert {"channel", "customer_income_band", "dpd"} <= names
    assert model.build_options_["exclude"] == ["region", "customer_birth_year"]
    assert model.build_options_["sensitive"] == list(SENSITIVE_ATTRIBUTES)
    assert model.sensitive_features_ == ()
    fairness = report.table("fairness")
    assert fairness["attribute"].unique().tolist() == ["region", "customer_birth_year"]
    regions = fairness[fairness["attribute"] == "region"]
    assert regions["group"].tolist() == sorted(portfolio.loans["region"].astype(str).unique())
    assert regions["count"].sum() == report.metrics["n"]
    # every feature has a text, and no text is just the feature's name
    assert set(model.descriptions_) == names
    assert all(text and text != name for name, text in model.descriptions_.items())
    # scoring rebuilds the features without them
    scores = score_portfolio(model, portfolio, "2024-12-31", explain=2)
    assert scores["score"].between(0, 1).all()


def test_training_on_sensitive_features_warns_and_never_cites_them(portfolio, tmp_path):
    with pytest.warns(DataQualityWarning, match=r"sensitive attributes \['region', 'customer_bir"):
        result = _train(portfolio, include_sensitive=True, out=tmp_path / "m")
    model = result.model
    assert model.sensitive_features_ == ("region", "customer_birth_year")
    assert {"region", "customer_birth_year"} <= set(model.feature_names_in_)
    assert model.build_options_["exclude"] == []
    X = build_features(portfolio, "2024-09-30", families=["ledger", "static"])
    k = model.n_features_in_
    reasons = RiskModel.load(tmp_path / "m").explain(X.head(400), top_k=k)
    cited = reasons[[f"reason_{r}" for r in range(1, k + 1)]].to_numpy()
    assert not np.isin(cited, ["region", "customer_birth_year"]).any()
    assert np.isin(cited, ["dpd", "channel"]).any()


def test_a_list_of_ones_own_and_the_models_own_sensitive_features(portfolio):
    result = _train(
        portfolio,
        sensitive=["income_band"],
        model=RiskModel(n_estimators=20, n_jobs=1, sensitive_features=("channel",)),
    )
    names = set(result.model.feature_names_in_)
    assert "region" in names and not names & {"customer_income_band", "channel"}
    assert result.model.build_options_["exclude"] == ["channel", "customer_income_band"]
    assert result.report.table("fairness")["attribute"].unique().tolist() == [
        "channel",
        "customer_income_band",
    ]


def test_a_sensitive_feature_the_families_do_not_build_is_no_error(portfolio):
    model = RiskModel(n_estimators=10, n_jobs=1, sensitive_features=("channel",))
    result = train_risk_model(portfolio, MONTHS, model=model, families=["ledger"])
    assert result.model.sensitive_features_ == ()
    assert "channel" in result.report.table("fairness")["attribute"].tolist()
    assert result.model.build_options_["sensitive"] == [*SENSITIVE_ATTRIBUTES, "channel"]


def test_given_descriptions_reach_the_reason_codes(portfolio):
    result = _train(portfolio, descriptions={"dpd": "Days late on the oldest unpaid instalment"})
    assert result.model.descriptions_["dpd"] == "Days late on the oldest unpaid instalment"
    with pytest.raises(ModelError, match=r"descriptions names features .*: \['dpdd'\]"):
        _train(portfolio, descriptions={"dpdd": "typo"})


def test_a_feature_without_a_text_stops_training(portfolio, monkeypatch):
    monkeypatch.setattr(overdue_risk.features, "attribute_descriptions", lambda p: {})
    fitted = []
    monkeypatch.setattr(RiskModel, "fit", lambda self, *a, **k: fitted.append(1))
    with pytest.raises(ModelError, match=r"have no description.*'product_type'.*descriptions="):
        _train(portfolio)
    assert fitted == []  # refused before any training
    # described by the caller, the same features train
    texts = {n: f"{n} as sold" for n in attribute_descriptions(portfolio)}
    monkeypatch.undo()
    assert _train(portfolio, descriptions=texts).model.descriptions_["channel"] == "channel as sold"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sensitive": "region"}, "sensitive must be a list of distinct names"),
        ({"include_sensitive": "yes"}, "include_sensitive must be"),
        ({"descriptions": ["dpd"]}, "descriptions must be a mapping"),
    ],
)
def test_review_options_are_checked_before_reading(monkeypatch, tmp_path, kwargs, match):
    def boom(*args, **kw):
        raise AssertionError("the portfolio was read")

    monkeypatch.setattr("overdue_risk.workflows._inputs.load_portfolio", boom)
    with pytest.raises(ModelError, match=match):
        train_risk_model(SAMPLE, MONTHS, **kwargs)


def test_static_attributes_of_loans(portfolio):
    loans = portfolio.loans.iloc[[3, 0]]
    frame = static_attributes(portfolio, [*loans["loan_id"], "nope"])
    assert frame["region"].astype(object).tolist()[:2] == loans["region"].astype(str).tolist()
    birth = portfolio.customers.set_index("customer_id")["birth_year"]
    assert frame["customer_birth_year"].tolist()[:2] == birth[loans["customer_id"]].tolist()
    assert frame.iloc[2].isna().all()


# -- the fairness table -------------------------------------------------------------------


def test_fairness_by_hand():
    y = [1, 0, 0, 1, 0, 0, 1, 0]
    score = [0.9, 0.2, 0.4, 0.8, 0.1, 0.3, 0.7, 0.6]
    groups = pd.DataFrame({"sex": ["f"] * 4 + ["m"] * 4})
    t = evaluate(y, score, groups=groups, n_bins=4).table("fairness").set_index("group")
    assert t["attribute"].tolist() == ["sex", "sex"]
    assert t["count"].tolist() == [4, 4] and t["bads"].tolist() == [2, 1]
    assert t["bad_rate"].tolist() == [0.5, 0.25]
    assert t["mean_score"].tolist() == pytest.approx([0.575, 0.425])
    assert t["calibration_gap"].tolist() == pytest.approx([0.075, 0.175])
    assert t["auc"].tolist() == [1.0, 1.0]
    # four bins of one row each: ECE is the mean |y - score|
    assert t["ece"].tolist() == pytest.approx([0.9 / 4, 1.3 / 4])
    # the riskiest quarter (2 rows: 0.9 and 0.8) is all "f"
    assert t["flag_rate"].tolist() == [0.5, 0.0]
    assert t["flag_ratio"].tolist() == [2.0, 0.0]
    assert t["score_p50"].tolist() == pytest.approx([0.6, 0.45])
    assert t["share"].tolist() == [0.5, 0.5]


def test_a_tie_at_the_flag_cut_shares_its_places():
    # the riskiest quarter of 8 rows is 2 rows, among 4 tied at 0.5: each counts half
    score = [0.5] * 4 + [0.1] * 4
    groups = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "b", "b", "a"]})
    t = evaluate([0, 1] * 4, score, groups=groups, n_bins=4).table("fairness")
    assert t["flag_rate"].tolist() == [1.5 / 4, 0.5 / 4]
    assert (t["flag_rate"] * t["count"]).sum() == 2


@pytest.mark.parametrize(
    ("values", "labels", "counts"),
    [
        # more than 10 numbers: quintiles of the known values (inverted CDF), missing apart
        (
            [*range(1, 21), None],
            ["(-inf, 4]", "(4, 8]", "(8, 12]", "(12, 16]", "(16, inf)", "missing"],
            [4, 4, 4, 4, 4, 1],
        ),
        # at most 10 numbers: one group each
        ([2.5, 1, 1, 2.5, 1], ["1", "2.5"], [3, 2]),
        # categories keep their order; text sorts
        (pd.Categorical(["b", "a", "b"], categories=["b", "a"]), ["b", "a"], [2, 1]),
        (["z", "y", None, "z"], ["y", "z", "missing"], [1, 2, 1]),
    ],
)
def test_groups_and_their_bins(values, labels, counts):
    n = len(values)
    groups = pd.DataFrame({"attr": values})
    score = np.linspace(0.1, 0.9, n)
    t = evaluate(np.arange(n) % 2, score, groups=groups).table("fairness")
    assert t["group"].tolist() == labels
    assert t["count"].tolist() == counts


@SETTINGS
@given(data=st.data())
def test_fairness_rows_add_up_whatever_the_order(data):
    n = data.draw(st.integers(2, 80))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    score = np.array(
        data.draw(st.lists(st.sampled_from([0.1, 0.4, 0.4, 0.8]), min_size=n, max_size=n))
    )
    g = np.array(data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)))
    n_bins = data.draw(st.integers(2, 10))
    perm = np.array(data.draw(st.permutations(range(n))))
    a = evaluate(y, score, groups=pd.DataFrame({"g": g}), n_bins=n_bins).table("fairness")
    b = evaluate(y[perm], score[perm], groups=pd.DataFrame({"g": g[perm]}), n_bins=n_bins)
    pd.testing.assert_frame_equal(a, b.table("fairness"), check_exact=True)
    assert a["count"].sum() == n and a["bads"].sum() == y.sum()
    flagged = (a["flag_rate"] * a["count"]).sum()
    assert flagged == pytest.approx(math.ceil(n / n_bins))
    for row in a.itertuples():
        mask = g == row.group
        both = 0 < y[mask].sum() < mask.sum()
        expected = roc_auc_score(y[mask], score[mask]) if both else np.nan
        assert row.auc == pytest.approx(expected, nan_ok=True)
        assert 0 <= row.flag_rate <= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": [1, 2, 3]}, "groups must be a pandas DataFrame"),
        ({"groups": pd.DataFrame({"g": [1, 2]})}, r"groups must have one row per row of y \(3\)"),
        ({"model": "m"}, "model= needs X="),
    ],
)
def test_fairness_and_explanation_inputs(kwargs, match):
    with pytest.raises(EvaluationError, match=match):
        evaluate([0, 1, 0], [0.1, 0.5, 0.2], **kwargs)


def test_groups_must_align_with_a_series_y():
    y = pd.Series([0, 1, 0], index=[7, 8, 9])
    with pytest.raises(EvaluationError, match="y and groups have different indexes"):
        evaluate(y, [0.1, 0.5, 0.2], groups=pd.DataFrame({"g": ["a", "b", "a"]}))


# -- figures from the contributions -------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(slices):
    (X, y), (Xv, yv) = slices
    return RiskModel(**FAST, calibration="isotonic").fit(X, y, Xv, yv), Xv.head(400)


def test_the_summary_display_ranks_features_by_mean_absolute_contribution(fitted):
    model, X = fitted
    ax = Figure().add_subplot()
    display = ContributionSummaryDisplay.from_model(model, X, ax=ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    strength = model.contributions(X)[["dpd", "noise", "region"]].abs().mean()
    assert display.order_ == strength.sort_values(ascending=False).index.tolist()
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert sorted(ticks, key=ticks.get, reverse=True) == display.order_  # the strongest on top
    # one point per row and feature; dpd is coloured by its rank, from 0 (lowest) to 1
    assert sum(len(c.get_offsets()) for c in ax.collections) == 3 * len(X)
    ranks = [c.get_array() for c in ax.collections if c.get_array() is not None]
    ranks = [a for a in ranks if len(a)]  # dpd and noise; region is a category: grey
    assert [len(a) for a in ranks] == [len(X), len(X)]
    assert all(0 <= a.min() and a.max() <= 1 for a in ranks)
    assert any(a.min() == 0 and a.max() == 1 for a in ranks)  # noise: no ties at the ends
    assert plt.get_fignums() == []  # drawn on the given axes, nothing in pyplot
    assert (
        ContributionSummaryDisplay.from_model(model, X, max_display=2).order_
        == (display.order_[:2])
    )


def test_the_waterfall_adds_up_to_the_accounts_log_odds(fitted):
    model, X = fitted
    display = WaterfallDisplay.from_model(model, X, row=7, ax=Figure().add_subplot())
    assert display.logodds_ == pytest.approx(model.decision_function(X.iloc[[7]])[0], abs=1e-9)
    p = model.predict_proba(X.iloc[[7]])[0, 1]
    assert f"P(bad) {expit(display.logodds_):.4g}" in display.ax_.get_title()
    assert f"{p:.4g}" in display.ax_.get_title()
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    contrib = model.contributions(X.iloc[[7]]).iloc[0][["dpd", "noise", "region"]]
    assert labels[0].startswith(contrib.abs().idxmax() + " = ")
    pooled = WaterfallDisplay.from_model(model, X, row=7, max_display=2)
    assert [t.get_text() for t in pooled.ax_.get_yticklabels()][1] == "2 other features"
    assert pooled.logodds_ == pytest.approx(display.logodds_)
    assert pooled.figure_ in [plt.figure(n) for n in plt.get_fignums()]


@pytest.mark.parametrize("row", [400, -401, True, 1.5])
def test_the_waterfall_row_is_a_position(fitted, row):
    model, X = fitted
    with pytest.raises(EvaluationError, match=r"row must be a position in X \(0 to 399\)"):
        WaterfallDisplay.from_model(model, X, row=row)


def test_a_report_explains_the_riskiest_row_and_a_sample(fitted):
    model, X = fitted
    score = model.predict_proba(X)[:, 1]
    y = (score > np.median(score)).astype(int)
    report = evaluate(y, score, model=model, X=X)
    table = report.table("contributions")
    assert table["share"].sum() == pytest.approx(1.0)
    strength = model.contributions(X)[["dpd", "noise", "region"]].abs().mean()
    np.testing.assert_allclose(
        table.set_index("feature")["mean_abs_contribution"], strength[table["feature"]]
    )
    ax = Figure().add_subplot()
    report.plot("waterfall", ax=ax)
    riskiest = model.decision_function(X[score == score.max()])  # any of a tie
    assert any(f"score {m:+.3f} log-odds" in ax.get_title() for m in riskiest)
    assert "Mean |contribution| (log-odds, 400 rows explained)" in report.summary()
    with pytest.raises(EvaluationError, match=r"X must have one row per row of y \(3\)"):
        evaluate([0, 1, 0], [0.1, 0.5, 0.2], model=model, X=X)


def test_the_home_credit_customers_columns_are_sensitive_by_default():
    # The adapter's names for CODE_GENDER, NAME_FAMILY_STATUS and DAYS_BIRTH (docs/home-credit.md).
    names = ["customer_code_gender", "name_family_status", "customer_age_years", "birth_date"]
    assert sensitive_columns([*names, "amt_income_total", "own_car_age"]) == names
