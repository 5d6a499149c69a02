"""RiskModel: training, calibration, reason codes, points, and the pickle-free artifact."""

from __future__ import annotations

import json
import math

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression

from helpers import reseal
from overdue_risk import ArtifactError, DataQualityWarning, DpdTarget, ModelError, RiskModel
from overdue_risk.model._calibration import _Margin

FAST = {"n_estimators": 60, "learning_rate": 0.1, "min_child_samples": 20}


def make_data(
    seed: int, n: int = 3000, month: str = "2024-01-31"
) -> tuple[pd.DataFrame, pd.Series]:
    """Risk rises with dpd and usage_share, is higher in the east, and ignores noise."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], n)
    dpd = rng.integers(0, 90, n).astype(np.float32)
    dpd[rng.random(n) < 0.05] = np.nan
    util = rng.random(n).astype(np.float32)
    logit = -3 + 0.04 * np.nan_to_num(dpd, nan=30) + 1.5 * util + (region == "east") * 1.0
    y = (rng.random(n) < expit(logit)).astype(np.int8)
    index = pd.MultiIndex.from_arrays(
        [[f"L{seed}-{i}" for i in range(n)], pd.DatetimeIndex([month] * n)],
        names=["loan_id", "as_of"],
    )
    X = pd.DataFrame(
        {
            "dpd": dpd,
            "usage_share": util,
            "noise": rng.normal(size=n).astype(np.float32),
            "region": pd.Categorical(region, categories=["east", "north", "south"]),
            "channel": pd.Series(rng.choice(["web", "store"], n), dtype="object").to_numpy(),
        },
        index=index,
    )
    return X, pd.Series(y, index=index, name="label")


@pytest.fixture(scope="module")
def slices():
    return make_data(1), make_data(2, month="2024-02-29"), make_data(3, month="2024-03-31")


@pytest.fixture(scope="module")
def model(slices):
    (X, y), (Xv, yv), _ = slices
    return RiskModel(**FAST, calibration="isotonic", target=DpdTarget()).fit(X, y, Xv, yv)


def test_learns_the_signal_and_records_the_windows(model, slices):
    X_test, y_test = slices[2]
    p = model.predict_proba(X_test)
    assert p.shape == (len(X_test), 2) and np.allclose(p.sum(axis=1), 1)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y_test, p[:, 1]) > 0.75
    gain = model.feature_importance()
    assert gain.index[0] == "dpd" and gain["noise"] < gain["dpd"] / 2
    assert model.windows_["train"]["as_of"] == ["2024-01-31", "2024-01-31"]
    assert model.windows_["validation"]["as_of"] == ["2024-02-29", "2024-02-29"]
    assert model.windows_["train"]["rows"] == 3000
    assert set(model.metrics_) == {"validation", "calibration"}


def test_early_stopping_uses_the_later_slice(slices):
    (X, y), (Xv, yv), _ = slices
    long = {**FAST, "n_estimators": 2000, "learning_rate": 0.3, "early_stopping_rounds": 10}
    stopped = RiskModel(**long).fit(X, y, Xv, yv)
    assert stopped.best_iteration_ < 2000
    assert stopped.booster_.current_iteration() == stopped.best_iteration_
    full = RiskModel(**FAST).fit(X, y)  # no validation slice: every round is trained
    assert full.best_iteration_ == FAST["n_estimators"]


def test_training_is_deterministic(slices):
    (X, y), (Xv, yv), _ = slices
    a = RiskModel(**FAST).fit(X, y, Xv, yv).booster_.model_to_string()
    b = RiskModel(**FAST).fit(X, y, Xv, yv).booster_.model_to_string()
    assert a == b


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_matches_scikit_learn_on_the_held_out_slice(slices, method):
    (X, y), (Xv, yv), (Xt, _) = slices
    model = RiskModel(**FAST, calibration=method).fit(X, y, Xv, yv)
    # scikit-learn's own calibrated classifier, fitted on the same raw log-odds.
    reference = CalibratedClassifierCV(FrozenEstimator(_Margin()), method=method)
    reference.fit(model.decision_function(Xv).reshape(-1, 1), yv)
    expected = reference.predict_proba(model.decision_function(Xt).reshape(-1, 1))[:, 1]
    floor = 0.5 / len(yv)  # isotonic: never exactly 0 or 1, half a bad in the slice
    if method == "isotonic":
        expected = np.clip(expected, floor, 1 - floor)
    np.testing.assert_allclose(model.predict_proba(Xt)[:, 1], expected, rtol=1e-12)
    if method == "isotonic":  # isotonic reproduces the slice's bad rate, up to the clip
        assert model.predict_proba(Xv)[:, 1].mean() == pytest.approx(yv.mean(), abs=floor)


def test_calibration_slice_can_differ_from_the_stopping_slice(slices):
    (X, y), (Xv, yv), (Xc, yc) = slices
    model = RiskModel(**FAST, calibration="isotonic").fit(X, y, Xv, yv, X_cal=Xc, y_cal=yc)
    iso = IsotonicRegression(out_of_bounds="clip").fit(model.decision_function(Xc), yc)
    floor = 0.5 / len(yc)
    np.testing.assert_allclose(
        model.predict_proba(X)[:, 1],
        np.clip(iso.predict(model.decision_function(X)), floor, 1 - floor),
    )
    assert model.windows_["calibration"]["as_of"] == ["2024-03-31", "2024-03-31"]


def test_calibration_without_a_held_out_slice_is_refused(slices):
    (X, y), _, _ = slices
    with pytest.raises(ModelError, match="needs a later held-out slice"):
        RiskModel(**FAST, calibration="sigmoid").fit(X, y)


# -- categories -----------------------------------------------------------------------------


def test_text_and_string_columns_become_categories(slices):
    (X, y), _, (Xt, _) = slices
    as_str = X.assign(channel=X["channel"].astype("string"))
    a = RiskModel(**FAST).fit(X, y)
    b = RiskModel(**FAST).fit(as_str, y)
    assert a.schema_.categories["channel"] == ["store", "web"]
    assert a.booster_.model_to_string() == b.booster_.model_to_string()
    np.testing.assert_array_equal(
        a.predict_proba(Xt), b.predict_proba(Xt.assign(channel=Xt["channel"].astype("string")))
    )


def test_unseen_categories_score_as_missing_with_a_warning(model, slices):
    Xt = slices[2][0].head(50)
    unseen = Xt.assign(region=pd.Categorical(["west"] * 45 + [None] * 5))
    missing = Xt.assign(region=pd.Categorical([None] * 50, categories=["east"]))
    with pytest.warns(
        DataQualityWarning, match=r"never saw at fit .*: region 45 of 50 rows \('west'\)"
    ):
        scored = model.predict_proba(unseen)
    np.testing.assert_array_equal(scored, model.predict_proba(missing))  # missing: no warning
    assert model.unseen_categories(unseen) == {"region": 45, "channel": 0}
    assert model.unseen_categories(Xt) == {"region": 0, "channel": 0}
    with pytest.warns(DataQualityWarning, match="region 45 of 50"):
        model.explain(unseen, top_k=2)


def test_seen_categories_score_exactly_as_before(model, slices):
    """The count of unseen categories changes no score: the matrix is the schema's own."""
    Xt = slices[2][0]
    margin = model.booster_.predict(model.schema_.encode(Xt), raw_score=True)
    np.testing.assert_array_equal(model.decision_function(Xt), margin)
    np.testing.assert_array_equal(model.predict_proba(Xt)[:, 1], model.calibrator_.apply(margin))


@pytest.mark.parametrize("top_k", [0, -1, 2.0, True, "3", 10_000])
def test_explain_takes_at_most_one_reason_per_feature(model, slices, top_k):
    n = model.n_features_in_
    with pytest.raises(ModelError, match=rf"top_k must be an integer in \[1, {n}\]; got"):
        model.explain(slices[2][0].head(3), top_k=top_k)


def test_row_order_and_chunks_change_no_score(model, slices):
    Xt = slices[2][0]
    whole = pd.Series(model.predict_proba(Xt)[:, 1], index=Xt.index)
    shuffled = Xt.sample(frac=1.0, random_state=5)
    again = pd.Series(model.predict_proba(shuffled)[:, 1], index=shuffled.index)
    pd.testing.assert_series_equal(whole, again.reindex(whole.index))
    # A chunk whose category column holds only some categories still codes them alike.
    chunk = Xt[Xt["region"] == "south"].copy()
    chunk["region"] = chunk["region"].astype("object")
    np.testing.assert_array_equal(model.predict_proba(chunk)[:, 1], whole[chunk.index].to_numpy())


# -- monotone constraints and parameters ---------------------------------------------------


def test_monotone_constraint_holds(slices):
    (X, y), (Xv, yv), (Xt, _) = slices
    model = RiskModel(**FAST, monotone_constraints={"usage_share": 1}).fit(X, y, Xv, yv)
    rows = Xt.head(20)
    grid = np.linspace(0, 1, 11, dtype=np.float32)
    scores = np.column_stack([model.decision_function(rows.assign(usage_share=u)) for u in grid])
    assert (np.diff(scores, axis=1) >= -1e-12).all()


@pytest.mark.parametrize(
    ("constraints", "match"),
    [
        ({"region": 1}, r"cannot apply to categorical features: \['region'\]"),
        ({"nope": 1}, r"features that X does not have: \['nope'\]"),
        ({"dpd": 2}, r"must be -1, 0 or 1"),
        ([1, 0, 0, 0, 0], r"must be None or a mapping"),
    ],
)
def test_bad_monotone_constraints_are_refused_before_lightgbm(slices, constraints, match):
    (X, y), _, _ = slices
    with pytest.raises(ModelError, match=match):
        RiskModel(**FAST, monotone_constraints=constraints).fit(X, y)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        (
            "learning_rate",
            0.0,
            r"'learning_rate' parameter of RiskModel must be a number in \(0, 1\]; got 0\.0\.$",
        ),
        ("n_estimators", 2.5, r"'n_estimators' parameter of RiskModel must be an integer in"),
        ("calibration", "platt", r"must be one of None, isotonic, sigmoid; got 'platt'"),
        ("subsample", 1.5, r"'subsample' parameter"),
        ("n_jobs", 0, r"'n_jobs' parameter of RiskModel must be None or a non-zero integer"),
        ("verbose", -1, r"'verbose' parameter of RiskModel must be an integer >= 0; got -1"),
        ("verbose", True, r"'verbose' parameter of RiskModel must be an integer >= 0; got True"),
        ("callbacks", print, r"'callbacks' parameter of RiskModel must be None or a list of"),
        ("callbacks", [len], r"must be None or a list of LightGBM callbacks \(functions or"),
    ],
)
def test_bad_parameters_are_named(slices, param, value, match):
    (X, y), _, _ = slices
    with pytest.raises(ModelError, match=match):
        RiskModel(**{**FAST, param: value}).fit(X, y)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.zeros(3000), r"one class only \(0\)"),
        (np.full(3000, "bad"), r"one class only \(bad\)"),
        (np.arange(3000) % 3, "Only binary classification is supported"),
        (np.linspace(0, 1, 3000), "Unknown label type: continuous"),
        (np.r_[np.inf, np.zeros(2999)], "1 infinite labels"),
        (np.r_[np.nan, np.zeros(2999)], "1 missing labels"),
        (np.ones(10), "10 labels for 3000 rows"),
        (None, "requires y to be passed"),
    ],
)
def test_bad_labels_are_refused(slices, y, match):
    with pytest.raises(ModelError, match=match):
        RiskModel(**FAST).fit(slices[0][0], y)


@pytest.mark.parametrize(
    ("good", "bad"), [("good", "overdue"), (-1, 1), (1, 2), (False, True), ("0", "1")]
)
def test_any_two_labels_are_taken_the_larger_as_the_outcome(slices, good, bad):
    (X, y), (Xv, yv), (Xt, _) = slices
    reference = RiskModel(**FAST).fit(X, y, Xv, yv)

    def relabel(labels):
        return np.where(labels == 1, bad, good)

    model = RiskModel(**FAST).fit(X, relabel(y), Xv, relabel(yv))
    np.testing.assert_array_equal(model.predict_proba(Xt), reference.predict_proba(Xt))
    assert model.booster_.model_to_string() == reference.booster_.model_to_string()
    if isinstance(good, bool) or good == "0":  # 0 and 1 in another form: classes stay 0, 1
        assert model.classes_.tolist() == [0, 1] and model.classes_.dtype == np.int64
        np.testing.assert_array_equal(model.predict(Xt), reference.predict(Xt))
    else:
        assert model.classes_.tolist() == sorted([good, bad])
        np.testing.assert_array_equal(model.predict(Xt), relabel(reference.predict(Xt)))


def test_validation_labels_must_be_those_of_y(slices):
    (X, y), (Xv, yv), _ = slices
    named = np.where(y == 1, "bad", "good")
    with pytest.raises(ModelError, match=r"y_val holds labels that y does not: \['bad!'\]"):
        RiskModel(**FAST).fit(X, named, Xv, np.where(yv == 1, "bad!", "good"))
    with pytest.raises(ModelError, match=r"y_val must hold 0 \(good\) and 1 \(bad\) only"):
        RiskModel(**FAST).fit(X, y, Xv, np.where(yv == 1, "bad", "good"))


def test_a_numeric_array_is_taken_as_features_x0_x1(slices):
    (X, y), _, (Xt, _) = slices
    numbers = ["dpd", "usage_share", "noise"]
    frame = RiskModel(**FAST).fit(X[numbers].set_axis(["x0", "x1", "x2"], axis=1), y)
    array = RiskModel(**FAST).fit(X[numbers].to_numpy(), y.to_numpy())
    assert list(array.feature_names_in_) == ["x0", "x1", "x2"] and array.n_features_in_ == 3
    assert array.booster_.model_to_string() == frame.booster_.model_to_string()
    np.testing.assert_array_equal(
        array.predict_proba(Xt[numbers].to_numpy()),
        frame.predict_proba(Xt[numbers].set_axis(["x0", "x1", "x2"], axis=1)),
    )
    with pytest.raises(ModelError, match="X has 2 features, but RiskModel is expecting 3"):
        array.predict_proba(Xt[numbers[:2]].to_numpy())
    with pytest.raises(ModelError, match="could not convert string to float"):
        RiskModel(**FAST).fit(X[["region", "dpd"]].to_numpy(), y)


def test_tags_declare_a_binary_classifier_that_takes_missing_values():
    from sklearn.utils import get_tags

    tags = get_tags(RiskModel())
    assert tags.estimator_type == "classifier" and not tags.classifier_tags.multi_class
    assert tags.input_tags.allow_nan and tags.input_tags.categorical
    assert not tags.input_tags.string and not tags.input_tags.sparse


def test_verbose_logs_the_losses_every_k_rounds_and_changes_no_tree(slices, capsys):
    (X, y), (Xv, yv), _ = slices
    quiet = RiskModel(**FAST).fit(X, y, Xv, yv)
    assert capsys.readouterr().out == ""
    loud = RiskModel(**FAST, verbose=20).fit(X, y, Xv, yv)
    out = capsys.readouterr().out
    logged = [line.split("\t")[0] for line in out.splitlines() if "binary_logloss" in line]
    # Every 20th round of FAST's 60 (fewer than the 100 early stopping waits), then the best.
    assert logged[:3] == ["[20]", "[40]", "[60]"] and "Did not meet early stopping" in out
    assert "training's binary_logloss" in out and "validation's binary_logloss" in out
    assert loud.booster_.model_to_string() == quiet.booster_.model_to_string()
    RiskModel(**FAST, verbose=25).fit(X, y)  # no validation slice: the training loss
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["[25]", "[50]"]
    assert all("training's binary_logloss" in line for line in lines)


def test_callbacks_run_every_round_after_early_stopping(slices):
    (X, y), (Xv, yv), _ = slices
    rounds, record = [], {}
    model = RiskModel(
        **FAST,
        early_stopping_rounds=5,
        callbacks=[lambda env: rounds.append(env.iteration), lgb.record_evaluation(record)],
    ).fit(X, y, Xv, yv)
    # Early stopping ends training at best + 5 rounds; each callback saw every round.
    assert rounds == list(range(len(rounds)))
    assert len(rounds) == min(model.best_iteration_ + 5, FAST["n_estimators"])
    assert len(record["validation"]["binary_logloss"]) == len(rounds)
    plain = RiskModel(**FAST, early_stopping_rounds=5).fit(X, y, Xv, yv)
    assert model.booster_.model_to_string() == plain.booster_.model_to_string()


def test_callbacks_are_parameters_that_clone_and_are_not_saved(slices, tmp_path):
    (X, y), _, _ = slices

    def noted(env):
        pass

    model = RiskModel(**FAST, verbose=0, callbacks=[noted]).fit(X, y)
    copy = clone(model)
    assert copy.get_params()["callbacks"] == [noted] and copy.get_params()["verbose"] == 0
    loaded = RiskModel.load(model.save(tmp_path / "m"))
    assert loaded.get_params()["callbacks"] is None and model.callbacks == [noted]
    assert loaded.get_params() == {**model.get_params(), "callbacks": None}
    assert loaded.booster_.model_to_string() == model.booster_.model_to_string()


def test_params_are_stored_untouched():
    constraints = {"dpd": 1}
    model = RiskModel(monotone_constraints=constraints, calibration="sigmoid")
    assert model.get_params()["monotone_constraints"] is constraints
    assert model.get_params()["calibration"] == "sigmoid"


# -- scoring frames that do not match ------------------------------------------------------


def test_missing_features_are_refused(model, slices):
    Xt = slices[2][0]
    with pytest.raises(ModelError, match=r"lacks 2 of the model's 5 features: \['dpd', 'noise'\]"):
        model.predict_proba(Xt.drop(columns=["dpd", "noise"]))


def test_features_of_another_type_are_refused(model, slices):
    Xt = slices[2][0]
    with pytest.raises(ModelError, match=r"usage_share \(number at training, category now\)"):
        model.predict_proba(Xt.assign(usage_share="high"))


def test_extra_columns_are_ignored(model, slices):
    Xt = slices[2][0]
    np.testing.assert_array_equal(
        model.predict_proba(Xt), model.predict_proba(Xt.assign(extra=1.0)[["extra", *Xt.columns]])
    )


# -- reason codes and points ---------------------------------------------------------------


def test_contributions_sum_to_the_raw_score(model, slices):
    Xt = slices[2][0].head(200)
    contrib = model.contributions(Xt)
    assert list(contrib.columns) == [*model.feature_names_in_, "expected"]
    np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(Xt), rtol=1e-9)


def test_reason_codes_rank_the_features_that_raise_risk(model, slices):
    Xt = slices[2][0].head(200)
    reasons = model.explain(Xt, top_k=2)
    contrib = model.contributions(Xt).drop(columns="expected")
    for i in range(len(Xt)):
        row = contrib.iloc[i].sort_values(ascending=False, kind="stable")
        positive = row[row > 0]
        expected = [*positive.index[:2], "", ""][:2]
        assert [reasons["reason_1"].iloc[i], reasons["reason_2"].iloc[i]] == expected
        if len(positive):
            assert reasons["reason_1_logodds"].iloc[i] == positive.iloc[0]
            assert reasons["reason_1_points"].iloc[i] == pytest.approx(
                -20 / math.log(2) * positive.iloc[0]
            )
    east = reasons[(Xt["region"] == "east").to_numpy() & (reasons["reason_1"] == "region")]
    assert len(east) and (east["reason_1_value"] == "east").all()


def test_reasons_against_the_target_rank_the_features_that_lower_it(model, slices):
    # For a model of a good outcome (curing), the reasons are what lowers its chance.
    Xt = slices[2][0].head(200)
    reasons = model.explain(Xt, top_k=2, against=True)
    contrib = model.contributions(Xt).drop(columns="expected")
    for i in range(len(Xt)):
        row = contrib.iloc[i].sort_values(ascending=True, kind="stable")
        negative = row[row < 0]
        expected = [*negative.index[:2], "", ""][:2]
        assert [reasons["reason_1"].iloc[i], reasons["reason_2"].iloc[i]] == expected
        if len(negative):
            assert reasons["reason_1_logodds"].iloc[i] == negative.iloc[0] < 0
    with pytest.raises(ModelError, match="against must be true or false"):
        model.explain(Xt, against="yes")


def test_reason_texts_come_from_the_feature_catalogue(slices):
    (X, y), _, _ = slices
    model = RiskModel(**FAST).fit(X, y)
    reasons = model.explain(X.head(300), top_k=1)
    dpd_rows = reasons[reasons["reason_1"] == "dpd"]
    assert len(dpd_rows)
    assert dpd_rows["reason_1_text"].str.startswith("Days past due").all()
    util = reasons[reasons["reason_1"] == "usage_share"]
    assert (util["reason_1_text"] == util["reason_1"]).all()  # not in the catalogue: its name


def test_points_follow_the_scorecard_scaling(model):
    # At the base odds (good:bad 50:1) a row scores base_score; doubling the odds adds pdo.
    p_base = 1 / 51
    p_double = 1 / 101
    pts = model.points_from_proba(np.array([p_base, p_double]))
    assert pts[0] == pytest.approx(600) and pts[1] - pts[0] == pytest.approx(20)


def test_points_fall_as_risk_rises(model, slices):
    Xt = slices[2][0].head(500)
    order = np.argsort(model.predict_proba(Xt)[:, 1], kind="stable")
    assert (np.diff(model.points(Xt)[order]) <= 1e-9).all()


# -- artifact ------------------------------------------------------------------------------


def test_save_and_load_give_identical_scores(model, slices, tmp_path):
    Xt = slices[2][0]
    folder = model.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == [
        "calibration.json",
        "manifest.json",
        "manifest.sha256",
        "model.txt",
    ]
    loaded = RiskModel.load(folder)
    np.testing.assert_array_equal(loaded.predict_proba(Xt), model.predict_proba(Xt))
    np.testing.assert_array_equal(loaded.points(Xt), model.points(Xt))
    pd.testing.assert_frame_equal(loaded.explain(Xt.head(20)), model.explain(Xt.head(20)))
    assert loaded.get_params() == model.get_params()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["target"] == DpdTarget().to_dict()
    assert [f["name"] for f in manifest["features"]] == list(model.feature_names_in_)
    assert manifest["features"][3]["categories"] == ["east", "north", "south"]
    assert set(manifest["versions"]) >= {"lightgbm", "pandas", "scikit-learn", "overdue-risk"}
    assert manifest["windows"]["train"]["as_of"] == ["2024-01-31", "2024-01-31"]


def test_a_model_of_other_labels_saves_them(slices, tmp_path):
    (X, y), _, (Xt, _) = slices
    model = RiskModel(**FAST).fit(X, np.where(y == 1, "overdue", "good"))
    loaded = RiskModel.load(model.save(tmp_path / "m"))
    assert loaded.classes_.tolist() == ["good", "overdue"]
    np.testing.assert_array_equal(loaded.predict(Xt), model.predict(Xt))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["schema_version"] == 2 and manifest["classes"] == ["good", "overdue"]


def test_a_model_of_0_and_1_keeps_schema_version_1(model, tmp_path):
    manifest = json.loads((model.save(tmp_path / "m") / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and "classes" not in manifest
    assert RiskModel.load(tmp_path / "m").classes_.tolist() == [0, 1]


def test_saving_twice_gives_the_same_bytes(model, tmp_path):
    a = model.save(tmp_path / "a")
    b = model.save(tmp_path / "b")
    for name in ("model.txt", "calibration.json", "manifest.json", "manifest.sha256"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_save_refuses_to_overwrite_unless_asked(model, tmp_path):
    folder = model.save(tmp_path / "m")
    with pytest.raises(Exception, match="exists; pass overwrite=True"):
        model.save(folder)
    model.save(folder, overwrite=True)
    assert RiskModel.load(folder).best_iteration_ == model.best_iteration_


@pytest.mark.parametrize("name", ["model.txt", "calibration.json"])
def test_a_tampered_file_is_refused(model, tmp_path, name):
    folder = model.save(tmp_path / "m")
    path = folder / name
    text = path.read_text()
    path.write_text(text.replace("0", "1", 1))
    with pytest.raises(ArtifactError, match=f"{name} does not match the sha256"):
        RiskModel.load(folder)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f: (f / "model.txt").unlink(), "lacks model.txt"),
        (lambda f: (f / "manifest.json").unlink(), "has no manifest.json"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "is not valid JSON"),
        (
            lambda f: (f / "manifest.json").write_text(
                (f / "manifest.json")
                .read_text()
                .replace('"schema_version": 1', '"schema_version": 9')
            ),
            "has schema_version 9",
        ),
        (
            lambda f: (f / "manifest.json").write_text(
                (f / "manifest.json").read_text().replace('"model.txt":', '"../model.txt":')
            ),
            "names files outside the folder",
        ),
    ],
)
def test_a_broken_folder_is_refused(model, tmp_path, change, match):
    folder = model.save(tmp_path / "m")
    change(folder)
    if (folder / "manifest.json").exists():
        reseal(folder)  # an edit the seal would catch: what comes after it is tested here
    with pytest.raises(ArtifactError, match=match):
        RiskModel.load(folder)


def test_a_manifest_listing_other_features_is_refused(model, tmp_path):
    folder = model.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["features"] = manifest["features"][:-1]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    reseal(folder)
    with pytest.raises(ArtifactError, match=r"has 5 features but manifest\.json lists 4"):
        RiskModel.load(folder)


def test_joblib_round_trip(model, slices, tmp_path):
    Xt = slices[2][0]
    joblib.dump(model, tmp_path / "model.joblib")
    again = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(again.predict_proba(Xt), model.predict_proba(Xt))


def test_unfitted_model_refuses_to_score(slices):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RiskModel().predict_proba(slices[0][0])
