"""evaluate(): metrics checked against brute force and hand computations, not against itself."""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

with warnings.catch_warnings():
    # matplotlib 3.8 (the floor) calls pyparsing APIs that pyparsing 3.3 deprecates,
    # at import time only; import everything the plots need here, once.
    warnings.simplefilter("ignore", DeprecationWarning)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.backends.backend_agg
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from helpers import ROOT, SETTINGS
from overdue_risk.evaluation import (
    EvaluationError,
    EvaluationReport,
    _plots,
    evaluate,
    expected_calibration_error,
    ks_statistic,
    psi,
)
from overdue_risk.exceptions import OverdueRiskError
from overdue_risk.model import RiskModel

EPS = 1e-4  # the documented share of an empty PSI bin


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240531)


def _sample(rng: np.random.Generator, n: int = 600, decimals: int | None = None):
    score = rng.beta(2, 6, size=n)
    if decimals is not None:
        score = np.round(score, decimals)  # many ties
    y = (rng.uniform(size=n) < score).astype(int)
    return y, score


@pytest.fixture
def full_report(rng) -> EvaluationReport:
    y, score = _sample(rng, 800)
    as_of = pd.Timestamp("2024-01-31") + pd.to_timedelta(rng.integers(0, 180, len(y)), unit="D")
    x = pd.DataFrame(
        {
            "num": rng.normal(size=len(y)),
            "cat": pd.Series(rng.choice(["a", "b", None], len(y)), dtype="category"),
        }
    )
    ref_x = x.assign(num=x["num"] + 1.0)
    model = RiskModel(n_estimators=10, min_child_samples=20, n_jobs=1).fit(x, y)
    groups = pd.DataFrame({"region": rng.choice(["north", "south"], len(y))})
    return evaluate(
        y,
        score,
        as_of=as_of,
        reference_score=rng.beta(2, 5, size=500),
        X=x,
        reference_X=ref_x,
        importance=pd.Series({"num": 5.0, "cat": 2.0, "other": 3.0}),
        groups=groups,
        model=model,
        name="oot <2024>",
    )


# --- ranking metrics ----------------------------------------------------------------------


def _brute_ks(y, score):
    bad, good = score[y == 1], score[y == 0]
    return max(
        abs(np.mean(bad <= t) - np.mean(good <= t)) for t in np.r_[-np.inf, np.unique(score)]
    )


def _brute_auc(y, score):
    bad, good = score[y == 1], score[y == 0]
    diff = bad[:, None] - good[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


@pytest.mark.parametrize("decimals", [None, 2, 1])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_matches_brute_force_over_all_thresholds(seed, decimals):
    y, score = _sample(np.random.default_rng(seed), 300, decimals)
    expected = _brute_ks(y, score)
    assert ks_statistic(y, score) == pytest.approx(expected, abs=1e-12)
    assert evaluate(y, score).metrics["ks"] == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(ks_2samp(score[y == 1], score[y == 0]).statistic)


def test_ks_of_a_perfect_separation_is_one():
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9]) == 1.0
    assert ks_statistic([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0  # one tie group: no step


@pytest.mark.parametrize("decimals", [None, 1])
def test_auc_gini_pr_auc_brier(rng, decimals):
    y, score = _sample(rng, 400, decimals)
    mt = evaluate(y, score).metrics
    assert mt["auc"] == pytest.approx(_brute_auc(y, score), abs=1e-12)
    assert mt["gini"] == pytest.approx(2 * _brute_auc(y, score) - 1, abs=1e-12)
    assert mt["brier"] == pytest.approx(np.mean((y - score) ** 2))
    assert mt["n"] == len(y) and mt["bads"] == y.sum()
    assert mt["bad_rate"] == pytest.approx(y.mean())
    # average precision: mean precision at the rank of each bad (no ties without decimals)
    if decimals is None:
        order = np.argsort(-score)
        hits = y[order]
        precision = np.cumsum(hits) / np.arange(1, len(y) + 1)
        assert mt["pr_auc"] == pytest.approx(precision[hits == 1].mean())


def test_log_loss_clips_certain_scores():
    y = np.array([0, 1, 1, 0])
    score = np.array([0.0, 1.0, 0.5, 1.0])  # a confident miss: log(0) without clipping
    mt = evaluate(y, score).metrics
    hi = 1 - 1e-15  # scores are clipped to [1e-15, 1 - 1e-15]
    expected = -(math.log(1 - 1e-15) + math.log(hi) + math.log(0.5) + math.log(1 - hi)) / 4
    assert mt["log_loss"] == pytest.approx(expected)
    assert math.isfinite(mt["log_loss"])


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_gives_nan_ranking_metrics_and_a_note(label):
    y = np.full(8, label)
    score = np.linspace(0.1, 0.8, 8)
    report = evaluate(y, score)
    for key in ("auc", "gini", "ks", "pr_auc"):
        assert math.isnan(report.metrics[key]), key
    assert report.metrics["brier"] == pytest.approx(np.mean((y - score) ** 2))
    assert math.isfinite(report.metrics["ece"])
    assert any("only" in note for note in report.notes)
    assert "roc" not in report.plot_kinds and "gains" not in report.plot_kinds
    with pytest.raises(EvaluationError, match="'roc' plot needs both classes"):
        report.plot("roc")
    assert math.isnan(ks_statistic(y, score))


# --- calibration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "score", "n_bins", "expected"),
    [
        # bins {.1,.2,.3}: |1/3 - .2|; {.6,.7,.8}: |2/3 - .7|; equal weights
        ([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 0.8], 2, (0.4 / 3 + 0.1 / 3) / 2),
        # the three tied .5 stay together: 3/4 * |2/3 - .5| + 1/4 * |1 - .9|
        ([0, 1, 1, 1], [0.5, 0.5, 0.5, 0.9], 2, 0.75 / 6 + 0.025),
        # calibrated within each bin
        ([1, 0, 0, 0, 1, 1, 1, 0], [0.25] * 4 + [0.75] * 4, 2, 0.0),
        # one row per bin: mean |y - score|
        ([0, 1, 0], [0.2, 0.9, 0.4], 3, (0.2 + 0.1 + 0.4) / 3),
    ],
)
def test_ece_hand_computed(y, score, n_bins, expected):
    assert expected_calibration_error(y, score, n_bins=n_bins) == pytest.approx(expected)
    assert evaluate(y, score, n_bins=n_bins).metrics["ece"] == pytest.approx(expected)


def test_calibration_bins_are_equal_frequency(rng):
    y, score = _sample(rng, 1000)
    t = evaluate(y, score).table("calibration")
    assert t["count"].tolist() == [100] * 10
    assert (t["score_min"].to_numpy()[1:] > t["score_max"].to_numpy()[:-1]).all()
    assert t["bad_rate"].tolist() == pytest.approx(
        [
            y[(score >= lo) & (score <= hi)].mean()
            for lo, hi in zip(t["score_min"], t["score_max"], strict=True)
        ]
    )


# --- gains --------------------------------------------------------------------------------


def _spread_bads(y, score, n_bins):
    """The documented rule, row by row: bins of n / n_bins rows, highest scores first; the
    first j rows of a tie of g rows and b bads hold round(j * b / g) bads (half up)."""
    n = len(y)
    bads = np.zeros(n_bins)
    position = 0
    for value in sorted(set(score), reverse=True):
        g, b = int((score == value).sum()), int(y[score == value].sum())
        held = [math.floor(j * b / g + 0.5) for j in range(g + 1)]
        for j in range(g):
            bads[(position + j) * n_bins // n] += held[j + 1] - held[j]
        position += g
    return bads


@pytest.mark.parametrize("decimals", [None, 2, 1])
def test_gains_table_adds_up(rng, decimals):
    y, score = _sample(rng, 503, decimals)
    g = evaluate(y, score).table("gains")
    assert g["capture_rate"].iloc[-1] == 1.0
    assert g["bads"].sum() == y.sum() and g["count"].sum() == len(y)
    assert g["cum_population_share"].iloc[-1] == pytest.approx(1.0)
    assert g["cum_lift"].iloc[-1] == pytest.approx(1.0)
    assert g["lift"].to_numpy() == pytest.approx(g["bad_rate"].to_numpy() / y.mean())
    # ten deciles of 50 or 51 rows, whatever the ties; highest scores first
    assert g["bin"].tolist() == list(range(1, 11))
    assert set(g["count"]) == {50, 51} and g["count"].sum() == 503
    assert (g["score_min"].to_numpy()[:-1] >= g["score_max"].to_numpy()[1:]).all()
    assert g["bads"].tolist() == _spread_bads(y, score, 10).tolist()
    for row in g.itertuples():  # a bin holds its scores' rows, a tie split at its ends only
        inside = (score > row.score_min) & (score < row.score_max)
        assert (
            inside.sum() <= row.count <= ((score >= row.score_min) & (score <= row.score_max)).sum()
        )


@pytest.mark.parametrize(
    ("y", "score", "n_bins", "counts", "bads"),
    [
        # one tie of 100 rows and 10 bads: ten deciles of 10 rows, one bad each
        ([1] * 10 + [0] * 90, [0.5] * 100, 10, [10] * 10, [1] * 10),
        # a tie of 10 rows holding 5 bads fills two bins of 5: rounding j * 5 / 10 half up
        # puts bads at j = 1, 3, 5 (3 in the first bin), then 7, 9
        ([1] * 5 + [0] * 15, [0.9] * 10 + [0.1] * 10, 4, [5] * 4, [3, 2, 0, 0]),
        # the bads of a tie are not all put first (that would give [2, 0, 0])
        ([1, 1, 0, 0, 0, 0], [0.7] * 6, 3, [2, 2, 2], [1, 0, 1]),
        # fewer rows than bins: bins 1, 4 and 7 of ten (the empty ones are omitted)
        ([1, 0, 0], [0.9, 0.5, 0.1], 10, [1, 1, 1], [1, 0, 0]),
    ],
)
def test_gains_deciles_of_tied_scores_by_hand(y, score, n_bins, counts, bads):
    g = evaluate(y, score, n_bins=n_bins).table("gains")
    assert g["count"].tolist() == counts
    assert g["bads"].tolist() == bads


@SETTINGS
@given(data=st.data())
def test_gains_bins_stay_equal_under_heavy_ties(data):
    n = data.draw(st.integers(1, 300))
    n_bins = data.draw(st.integers(2, 12))
    grid = data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=n, max_size=n))
    score = np.array(grid)
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    g = evaluate(y, score, n_bins=n_bins).table("gains")
    assert g["count"].max() - g["count"].min() <= 1
    assert g["count"].sum() == n and g["bads"].sum() == y.sum()
    if n >= n_bins:
        assert len(g) == n_bins
    # within half a bad of a random order's average at every bin's end: each tie's bads
    # count pro rata (independently: bads of the rows above each cut, ties shared)
    ends = np.cumsum(g["count"].to_numpy())
    order = np.sort(score)[::-1]
    for end, got in zip(ends, np.cumsum(g["bads"].to_numpy()), strict=True):
        cut = order[end - 1]
        above = y[score > cut].sum()
        tie = score == cut
        expected = above + (end - (score > cut).sum()) * y[tie].sum() / tie.sum()
        assert abs(got - expected) <= 0.5 + 1e-9


def test_gains_of_a_perfect_model():
    y = np.r_[np.ones(10), np.zeros(90)]
    score = np.r_[np.linspace(0.9, 1.0, 10), np.linspace(0.0, 0.5, 90)]
    g = evaluate(y, score).table("gains")
    assert g["capture_rate"].iloc[0] == 1.0
    assert g["lift"].iloc[0] == pytest.approx(10.0)


# --- PSI ----------------------------------------------------------------------------------


def test_psi_of_a_sample_with_itself_is_zero(rng):
    x = rng.normal(size=1000)
    assert psi(x, x) == 0.0
    cats = pd.Series(rng.choice(["a", "b", None], 300))
    assert psi(cats, cats.sample(frac=1.0, random_state=1)) == 0.0


def test_psi_grows_with_the_shift(rng):
    x = rng.normal(size=5000)
    small, large = psi(x, rng.normal(0.2, 1, 5000)), psi(x, rng.normal(1.0, 1, 5000))
    assert 0 < small < large
    assert large > 0.25


def test_psi_hand_computed_numeric():
    # inner edge: the median 5 of 1..10; current: 3 of 8 in (-inf, 5], 5 of 8 above
    value = psi(np.arange(1, 11), [1, 2, 3, 8, 9, 10, 11, 12], n_bins=2)
    expected = (3 / 8 - 1 / 2) * math.log(3 / 4) + (5 / 8 - 1 / 2) * math.log(5 / 4)
    assert value == pytest.approx(expected)


def test_psi_empty_bin_uses_epsilon():
    value = psi([1, 1, 2, 2], [3, 3, 3, 3], n_bins=2)
    expected = (EPS - 0.5) * math.log(EPS / 0.5) + 0.5 * math.log(2)
    assert value == pytest.approx(expected)


def test_psi_missing_values_are_their_own_bin():
    reference = [1, 2, 3, 4, np.nan, np.nan]
    current = [1, 2, np.nan, np.nan, np.nan, np.nan]
    # bins (-inf, 2], (2, inf), missing: reference 1/3 each; current 1/3, 0, 2/3
    expected = (EPS - 1 / 3) * math.log(EPS * 3) + (1 / 3) * math.log(2)
    assert psi(reference, current, n_bins=2) == pytest.approx(expected)


def test_psi_categorical_with_missing():
    value = psi(pd.Series(["a", "a", "b", None]), pd.Series(["a", "b", "b", "b"]))
    expected = (
        (0.25 - 0.5) * math.log(0.5)
        + (0.75 - 0.25) * math.log(3)
        + (EPS - 0.25) * math.log(EPS * 4)
    )
    assert value == pytest.approx(expected)


def test_score_psi_uses_reference_quantiles(rng):
    y, score = _sample(rng, 700)
    reference = rng.uniform(size=1000)
    report = evaluate(y, score, reference_score=reference)
    t = report.table("psi")
    assert t["reference_count"].tolist() == [100] * 10
    assert t["count"].sum() == len(score)
    assert report.metrics["score_psi"] == pytest.approx(psi(reference, score))
    assert evaluate(y, score, reference_score=score).metrics["score_psi"] == 0.0


def test_feature_psi(full_report, rng):
    t = full_report.table("feature_psi").set_index("feature")
    assert t.loc["cat", "psi"] == 0.0 and t.loc["cat", "kind"] == "categorical"
    assert t.loc["cat", "n_bins"] == 3  # a, b and missing
    assert t.loc["num", "kind"] == "numeric" and t.loc["num", "psi"] > 0.25
    assert t.loc["num", "status"] == "shift" and t.loc["cat", "status"] == "stable"
    x = pd.DataFrame({"n": pd.array([1, 2, None, 4] * 25, dtype="Int64"), "b": [True, False] * 50})
    y, score = _sample(rng, 100)
    same = evaluate(y, score, X=x, reference_X=x.assign(extra=1)).table("feature_psi")
    assert same["psi"].tolist() == [0.0, 0.0]
    assert set(same["feature"]) == {"n", "b"}  # extra reference columns are ignored


# --- by month -----------------------------------------------------------------------------


def test_auc_by_month_matches_each_months_subset(rng):
    y, score = _sample(rng, 900)
    as_of = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, len(y)), unit="D")
    y[as_of.month == 5] = 0  # a month without bads
    report = evaluate(y, score, as_of=as_of)
    t = report.table("by_month")
    assert [str(m) for m in t["month"]] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    for row in t.itertuples():
        mask = (as_of.year == row.month.year) & (as_of.month == row.month.month)
        assert row.count == mask.sum() and row.bads == y[mask].sum()
        assert row.auc == pytest.approx(roc_auc_score(y[mask], score[mask]), abs=1e-12)

    as_of2 = as_of.append(pd.DatetimeIndex(["2024-05-03", "2024-05-04"]))
    y2, s2 = np.r_[y, 0, 0], np.r_[score, 0.1, 0.2]
    t2 = evaluate(y2, s2, as_of=as_of2).table("by_month")
    assert math.isnan(t2["auc"].iloc[-1]) and t2["count"].iloc[-1] == 2


@pytest.mark.parametrize(
    "as_of",
    [
        ["2024-01-31", "2024-02-29", "2024-02-01"],
        pd.to_datetime(["2024-01-31", "2024-02-29", "2024-02-01"]),
        pd.Series(
            pd.to_datetime(["2024-01-31 23:00", "2024-02-29 00:00", "2024-02-01 12:00"])
        ).dt.tz_localize("Europe/Madrid"),
        pd.PeriodIndex(["2024-01", "2024-02", "2024-02"], freq="M"),
        np.array(["2024-01-31", "2024-02-29", "2024-02-01"], dtype="datetime64[D]"),
        # text with offsets: each in its own local month (UTC would move the first to Feb)
        ["2024-01-31T23:30-05:00", "2024-02-29T00:00-05:00", "2024-02-01T08:00-05:00"],
    ],
)
def test_as_of_forms(as_of):
    t = evaluate([0, 1, 0], [0.2, 0.4, 0.3], as_of=as_of).table("by_month")
    assert [str(m) for m in t["month"]] == ["2024-01", "2024-02"]
    assert t["count"].tolist() == [1, 2]


def test_as_of_with_mixed_timezones_is_refused():
    with pytest.raises(EvaluationError, match="mixes timezones"):
        evaluate([0, 1], [0.2, 0.4], as_of=["2024-01-31T10:00+08:00", "2024-02-01"])


# --- invariants ---------------------------------------------------------------------------


def _same(a, b):
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


@SETTINGS
@given(data=st.data())
def test_row_order_does_not_change_anything(data):
    n = data.draw(st.integers(1, 60))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    grid = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.7, 0.9, 1.0]) | st.floats(0, 1)
    score = np.array(data.draw(st.lists(grid, min_size=n, max_size=n)))
    months = np.array(
        data.draw(st.lists(st.sampled_from(["2024-01-15", "2024-02-15"]), min_size=n, max_size=n))
    )
    perm = np.array(data.draw(st.permutations(range(n))))
    n_bins = data.draw(st.integers(2, 12))
    a = evaluate(y, score, as_of=months, reference_score=score[::-1], n_bins=n_bins)
    b = evaluate(y[perm], score[perm], as_of=months[perm], reference_score=score, n_bins=n_bins)
    assert a.metrics.keys() == b.metrics.keys()
    for key in a.metrics:
        assert _same(a.metrics[key], b.metrics[key]), key
    for kind in ("gains", "calibration", "by_month", "psi"):
        pd.testing.assert_frame_equal(a.table(kind), b.table(kind), check_exact=True)
    for key in ("ks", "ece", "brier", "log_loss", "bad_rate"):
        value = a.metrics[key]
        assert math.isnan(value) or 0 <= value, key
    if 0 < y.sum() < n:
        assert a.metrics["auc"] == pytest.approx(_brute_auc(y, score), abs=1e-12)
        assert a.metrics["ks"] == pytest.approx(_brute_ks(y, score), abs=1e-12)
    assert 0 <= a.metrics["ece"] <= 1
    assert a.table("gains")["count"].sum() == n


# --- input errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": [0, 1, 1], "score": [0.1, 0.2]}, r"score must have one value per row of y \(3\)"),
        ({"y": [0, 1, 2], "score": [0.1, 0.2, 0.3]}, r"y must be binary 0/1.*2"),
        ({"y": [0, 1, np.nan], "score": [0.1, 0.2, 0.3]}, "1 missing"),
        ({"y": ["a", "b"], "score": [0.1, 0.2]}, "y must be"),
        ({"y": [], "score": []}, "y is empty"),
        ({"y": [0, 1], "score": [0.1, 1.2]}, r"probabilities in \[0, 1\].*1\.2"),
        ({"y": [0, 1], "score": [0.1, -3.0]}, r"probabilities in \[0, 1\]"),
        ({"y": [0, 1], "score": [0.1, np.nan]}, "score must not contain NaN"),
        ({"y": [0, 1], "score": [[0.1, 0.2], [0.3, 0.4]]}, "one-dimensional"),
        ({"y": [0, 1], "score": [0.1, 0.2], "n_bins": 1}, "n_bins must be an integer >= 2"),
        ({"y": [0, 1], "score": [0.1, 0.2], "n_bins": 2.5}, "n_bins must be an integer"),
        ({"y": [0, 1], "score": [0.1, 0.2], "reference_score": [2.0]}, "reference_score must"),
        ({"y": [0, 1], "score": [0.1, 0.2], "as_of": ["2024-01-01"]}, "as_of must have one"),
        ({"y": [0, 1], "score": [0.1, 0.2], "as_of": ["2024-01-01", "soon"]}, "as_of must be"),
        ({"y": [0, 1], "score": [0.1, 0.2], "as_of": ["2024-01-01", None]}, "missing dates"),
        ({"y": [0, 1], "score": [0.1, 0.2], "as_of": "2024-01-01"}, "array-like of dates"),
        ({"y": [0, 1], "score": [0.1, 0.2], "X": pd.DataFrame({"a": [1]})}, "given together"),
        (
            {
                "y": [0, 1],
                "score": [0.1, 0.2],
                "X": pd.DataFrame({"a": [1], "b": [2]}),
                "reference_X": pd.DataFrame({"a": [1]}),
            },
            r"reference_X lacks 1 column\(s\) of X: \['b'\]",
        ),
        (
            {
                "y": [0, 1],
                "score": [0.1, 0.2],
                "X": pd.DataFrame({"a": [1]}),
                "reference_X": pd.DataFrame({"a": ["x"]}),
            },
            "both be numeric or both categorical",
        ),
        ({"y": [0, 1], "score": [0.1, 0.2], "importance": [1, 2]}, "importance must be a pandas"),
        (
            {"y": [0, 1], "score": [0.1, 0.2], "importance": pd.Series({"a": np.nan})},
            "importance must be finite",
        ),
        (
            {"y": pd.Series([0, 1], index=[5, 6]), "score": pd.Series([0.1, 0.2])},
            "different indexes",
        ),
    ],
)
def test_input_errors(kwargs, match):
    with pytest.raises(EvaluationError, match=match) as info:
        evaluate(kwargs.pop("y"), kwargs.pop("score"), **kwargs)
    assert isinstance(info.value, OverdueRiskError)


def test_nullable_and_bool_inputs_are_accepted():
    y = pd.Series([False, True, True, False])
    score = pd.Series([0.1, 0.8, 0.6, 0.3], dtype="Float64")
    assert evaluate(y, score).metrics["auc"] == 1.0
    with pytest.raises(EvaluationError, match="1 missing"):
        evaluate(pd.array([0, 1, None], dtype="Int8"), [0.1, 0.2, 0.3])


def test_missing_tables_and_unknown_kinds(rng):
    report = evaluate(*_sample(rng, 50))
    assert report.table_kinds == ("metrics", "gains", "calibration")
    with pytest.raises(EvaluationError, match="'psi' table needs reference_score="):
        report.table("psi")
    with pytest.raises(EvaluationError, match="'by_month' table needs as_of="):
        report.table("by_month")
    with pytest.raises(EvaluationError, match="Unknown table kind 'lift'"):
        report.table("lift")
    with pytest.raises(EvaluationError, match="Unknown plot kind 'pie'"):
        report.plot("pie")
    with pytest.raises(EvaluationError, match="'importance' plot needs importance="):
        report.plot("importance")


# --- the report: tables, dict, summary, plots, HTML ---------------------------------------


def test_tables_are_copies(full_report):
    gains = full_report.table("gains")
    gains["bads"] = -1
    assert (full_report.table("gains")["bads"] >= 0).all()


def test_metrics_table_and_importance(full_report):
    mt = full_report.table("metrics").set_index("metric")["value"]
    assert mt["gini"] == pytest.approx(2 * mt["auc"] - 1)
    imp = full_report.table("importance")
    assert imp["feature"].tolist() == ["num", "other", "cat"]
    assert imp["share"].sum() == pytest.approx(1.0)


def test_to_dict_is_json_safe(full_report):
    y = np.zeros(5)
    for report in (full_report, evaluate(y, np.linspace(0, 1, 5), as_of=["2024-03-01"] * 5)):
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert set(data["tables"]) == set(report.table_kinds) - {"metrics"}
        for key, value in report.metrics.items():
            assert data["metrics"][key] == (None if math.isnan(value) else pytest.approx(value))
    months = [row["month"] for row in full_report.to_dict()["tables"]["by_month"]]
    assert months == sorted(months) and months[0] == "2024-01"


def test_summary_mentions_the_essentials(full_report):
    text = full_report.summary()
    assert text.startswith("Evaluation of oot <2024>: 800 rows")
    assert f"AUC {full_report.metrics['auc']:.4f}" in text
    assert "Score PSI" in text and "Feature PSI: 1 of 2 features" in text
    one_class = evaluate(np.zeros(4), [0.1, 0.2, 0.3, 0.4]).summary()
    assert "Note: y holds only goods" in one_class


@pytest.mark.parametrize("kind", list(_plots.PLOTS))
def test_plots_draw_on_given_axes_and_return_them(full_report, kind):
    fig = Figure()
    ax = fig.add_subplot()
    assert full_report.plot(kind, ax=ax) is ax
    assert ax.has_data()
    assert plt.get_fignums() == []  # nothing leaked into pyplot
    new = full_report.plot(kind)
    assert isinstance(new, Axes) and new is not ax


def test_to_html_embeds_every_figure_and_table(full_report, tmp_path):
    out = tmp_path / "report.html"
    text = full_report.to_html(out)
    assert out.read_text(encoding="utf-8") == text
    assert text.count('<img alt="') == text.count('src="data:image/png;base64,') == 9
    assert len(full_report.plot_kinds) == 9
    for kind in full_report.table_kinds:  # the sections' own tables under their heading
        assert f"<h2>Table: {kind}</h2>" in text or f"<h3>Table: {kind}</h3>" in text
    explanations, fairness = text.index("<h2>Explanations</h2>"), text.index("<h2>Fairness</h2>")
    assert explanations < text.index("<h3>Contributions by feature</h3>") < fairness
    assert fairness < text.index("<h3>Calibration by group</h3>") < text.index("Table: fairness")
    assert "oot &lt;2024&gt;" in text and "oot <2024>" not in text
    for external in ("http://", "https://", "<script", "<link"):
        assert external not in text
    assert plt.get_fignums() == []
    assert sorted(os.listdir(tmp_path)) == ["report.html"]


def test_to_html_leaves_no_half_written_file(full_report, tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("previous")

    def broken(report, ax):
        raise RuntimeError("drawing failed")

    monkeypatch.setitem(_plots.PLOTS, "importance", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        full_report.to_html(out)
    assert out.read_text() == "previous"
    assert sorted(os.listdir(tmp_path)) == ["report.html"]
    monkeypatch.undo()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        full_report.to_html(tmp_path / "new.html")
    assert sorted(os.listdir(tmp_path)) == ["report.html"]


def test_to_html_checks_the_path_first(full_report, tmp_path):
    with pytest.raises(EvaluationError, match="does not exist"):
        full_report.to_html(tmp_path / "missing" / "report.html")
    with pytest.raises(EvaluationError, match="is a folder"):
        full_report.to_html(tmp_path)


def test_html_of_a_one_class_report_skips_roc_and_gains():
    text = evaluate(np.zeros(6), np.linspace(0, 1, 6)).to_html()
    assert text.count("data:image/png;base64,") == 2  # calibration, score distribution


def test_docs_describe_every_metric_and_table(full_report):
    doc = (ROOT / "docs" / "evaluation.md").read_text()
    for key in full_report.metrics:
        assert f"`{key}`" in doc, key
    for kind in (*full_report.table_kinds, *full_report.plot_kinds):
        assert f'"{kind}"' in doc, kind
