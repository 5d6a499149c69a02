"""Tuning without leakage: AsOfSplit's folds, a planted label leak, and tune_risk_model."""

from __future__ import annotations

import json
import os

import joblib
import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit, cross_val_score
from threadpoolctl import threadpool_limits

from overdue_risk import AsOfSplit, DpdTarget, ModelError, OverdueRiskError, RiskModel
from overdue_risk.model import TuningResult, tune_risk_model

matplotlib.use("Agg")

SMALL = {"n_estimators": 20, "learning_rate": 0.1, "min_child_samples": 10, "n_jobs": 1}


def snapshots(n_loans: int, dates, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Stacked (loan, as_of) rows: risk rises with dpd; rows in no particular order."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [np.arange(n_loans), pd.DatetimeIndex(dates)], names=["loan_id", "as_of"]
    )
    n = len(index)
    dpd = rng.integers(0, 30, n).astype(float)
    X = pd.DataFrame({"dpd": dpd, "noise": rng.normal(size=n)}, index=index)
    y = pd.Series((rng.random(n) < 0.05 + dpd / 60).astype(int), index=index, name="label")
    order = rng.permutation(n)
    return X.iloc[order], y.iloc[order]


MONTHS = pd.date_range("2023-01-31", periods=12, freq="ME")


# -- AsOfSplit ------------------------------------------------------------------------------


def _as_of(X: pd.DataFrame, rows: np.ndarray) -> list[str]:
    return sorted({f"{d:%Y-%m-%d}" for d in X.index.get_level_values("as_of")[rows]})


def test_folds_train_only_on_dates_whose_label_window_ends_by_the_test():
    X, _ = snapshots(3, MONTHS)
    folds = list(AsOfSplit(n_splits=3, horizon=90, test_dates=2).split(X))
    # Test folds: the last 3 x 2 month ends. Training: month ends a with a + 90 days
    # <= the fold's first test date (2023-07-31 - 90 days = 2023-05-02, and so on).
    assert [(_as_of(X, tr)[-1], _as_of(X, te)) for tr, te in folds] == [
        ("2023-04-30", ["2023-07-31", "2023-08-31"]),
        ("2023-06-30", ["2023-09-30", "2023-10-31"]),
        ("2023-08-31", ["2023-11-30", "2023-12-31"]),
    ]
    assert all(_as_of(X, tr)[0] == "2023-01-31" for tr, _ in folds)  # an expanding window
    for tr, te in folds:  # every row of a chosen date, and positions of X's rows
        assert len(tr) == 3 * len(_as_of(X, tr)) and len(te) == 3 * 2
        assert not set(tr) & set(te)


def test_the_gap_admits_a_label_window_ending_on_the_test_date_itself():
    dates = ["2024-01-01", "2024-01-02", "2024-03-31"]  # 2024-01-01 + 90 days = 2024-03-31
    X, _ = snapshots(2, dates)
    [(tr, te)] = list(AsOfSplit(n_splits=1, horizon=90, test_dates=1).split(X))
    assert _as_of(X, tr) == ["2024-01-01"] and _as_of(X, te) == ["2024-03-31"]
    # With no gap, training still stops before the first test date.
    [(tr, te)] = list(AsOfSplit(n_splits=1, horizon=0, test_dates=2).split(X))
    assert _as_of(X, tr) == ["2024-01-01"] and _as_of(X, te) == ["2024-01-02", "2024-03-31"]


def test_rolling_window_and_default_test_size():
    X, _ = snapshots(2, MONTHS)
    cv = AsOfSplit(n_splits=2, horizon=30, max_train_dates=2)
    folds = list(cv.split(X))
    # 12 dates // (2 + 1) = 4 test dates a fold; the two latest dates 30 days before.
    assert [_as_of(X, te)[0] for _, te in folds] == ["2023-05-31", "2023-09-30"]
    assert [_as_of(X, tr) for tr, _ in folds] == [
        ["2023-03-31", "2023-04-30"],
        ["2023-07-31", "2023-08-31"],
    ]
    assert cv.get_n_splits() == 2 == len(folds)


@pytest.mark.parametrize(
    ("horizon", "days"), [(90, 90), (DpdTarget(horizon_days=60), 60), ("cure_30d", 30)]
)
def test_horizon_in_days_from_a_target_or_its_name(horizon, days):
    assert AsOfSplit(horizon=horizon).horizon_days == days


def test_dates_from_groups_for_an_array():
    X, _ = snapshots(3, MONTHS)
    dates = X.index.get_level_values("as_of")
    cv = AsOfSplit(n_splits=2, horizon=60, test_dates=3)
    by_index = list(cv.split(X))
    by_groups = list(cv.split(X.to_numpy(), groups=dates.strftime("%Y-%m-%d")))
    assert len(by_index) == len(by_groups) == 2
    for (a, b), (c, d) in zip(by_index, by_groups, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_splits": 0, "horizon": 90}, r"The 'n_splits' parameter of AsOfSplit must be"),
        ({"horizon": -1}, r"The 'horizon' parameter of AsOfSplit must be an integer in \[0"),
        ({"horizon": True}, r"'horizon' parameter of AsOfSplit must be .*; got True"),
        ({"horizon": "dpd30"}, r"'horizon' parameter of AsOfSplit: Unknown target 'dpd30'"),
        ({"horizon": 90, "test_dates": 0}, r"The 'test_dates' parameter of AsOfSplit"),
        ({"horizon": 90, "max_train_dates": 1.5}, r"'max_train_dates' parameter of AsOfSplit"),
    ],
)
def test_bad_parameters_are_refused_at_once(kwargs, match):
    with pytest.raises(ModelError, match=match):
        AsOfSplit(**kwargs)


def test_too_few_dates_for_the_gap_say_which_dates_were_needed():
    X, _ = snapshots(2, MONTHS[:6])  # 2023-01-31 .. 2023-06-30
    with pytest.raises(ModelError, match=r"no as-of date to train its first fold on") as err:
        list(AsOfSplit(n_splits=3, horizon=90, test_dates=1).split(X))
    # The first test date is 2023-04-30; a training date needs a + 90 <= it: 2023-01-30.
    assert "tests from 2023-04-30" in str(err.value) and "on or before 2023-01-30" in str(err.value)
    assert "6 as-of dates (2023-01-31 .. 2023-06-30)" in str(err.value)
    with pytest.raises(ModelError, match=r"needs at least 7 as-of dates .* have 6 as-of dates"):
        list(AsOfSplit(n_splits=6, horizon=30).split(X))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda X: X.reset_index(drop=True), r"index level 'as_of' of X .* index levels \[None\]"),
        (lambda X: X.to_numpy(), r"X has no index and no groups"),
    ],
)
def test_rows_without_as_of_dates_are_refused(make, match):
    X, _ = snapshots(2, MONTHS)
    with pytest.raises(ModelError, match=match):
        list(AsOfSplit(horizon=30).split(make(X)))


def test_missing_or_miscounted_group_dates_are_refused():
    X, _ = snapshots(2, MONTHS)
    groups = np.array(X.index.get_level_values("as_of"))
    with pytest.raises(ModelError, match=r"groups has 23 dates for 24 rows"):
        list(AsOfSplit(horizon=30).split(X.to_numpy(), groups=groups[:-1]))
    groups[3] = np.datetime64("NaT")
    with pytest.raises(ModelError, match=r"groups has 1 missing dates"):
        list(AsOfSplit(horizon=30).split(X.to_numpy(), groups=groups))


@given(
    days=st.lists(st.integers(0, 2000), min_size=1, max_size=30, unique=True),
    n_splits=st.integers(1, 6),
    horizon=st.integers(0, 400),
    test_dates=st.one_of(st.none(), st.integers(1, 5)),
    max_train_dates=st.one_of(st.none(), st.integers(1, 8)),
    seed=st.integers(0, 2**16),
)
def test_every_fold_trains_on_labels_observed_by_its_first_test_date(
    days, n_splits, horizon, test_dates, max_train_dates, seed
):
    """max(train as_of) + horizon <= min(test as_of), for every fold (``<=``: a label
    window (a, a + h] ending on the test date holds only days the test's features may
    see); and the folds are exactly those of the definition, written out plainly."""
    rng = np.random.default_rng(seed)
    dates = pd.to_datetime(np.array(days), unit="D")
    rows = rng.integers(0, len(dates), 3 * len(dates))  # several rows a date, shuffled
    X = pd.DataFrame({"x": np.arange(len(rows))}, index=pd.Index(dates[rows], name="as_of"))
    cv = AsOfSplit(
        n_splits, horizon=horizon, test_dates=test_dates, max_train_dates=max_train_dates
    )
    distinct = sorted(set(X.index))
    n = len(distinct)
    size = test_dates or n // (n_splits + 1)
    expected = []
    for i in range(n_splits if 1 <= size and n_splits * size < n else 0):
        test = distinct[n - (n_splits - i) * size : n - (n_splits - i - 1) * size]
        gap = pd.Timedelta(days=horizon)
        train = [d for d in distinct if d < test[0] and d + gap <= test[0]]
        expected.append((train[-max_train_dates:] if max_train_dates else train, test))
    if not expected or not expected[0][0]:
        with pytest.raises(ModelError, match=r"AsOfSplit\(n_splits="):
            list(cv.split(X))
        return
    folds = list(cv.split(X))
    assert len(folds) == n_splits
    for (tr, te), (train, test) in zip(folds, expected, strict=True):
        at = X.index
        assert at[tr].max() + pd.Timedelta(days=horizon) <= at[te].min()
        assert sorted(set(at[tr])) == train and sorted(set(at[te])) == test
        assert np.array_equal(np.sort(tr), np.flatnonzero(at.isin(train)))
        assert np.array_equal(np.sort(te), np.flatnonzero(at.isin(test)))


# -- the planted leak -----------------------------------------------------------------------


def planted_leak(n_loans=600, n_months=16, p_day=0.002, horizon=90, seed=0):
    """Labels with nothing to learn, and a leak through overlapping label windows.

    Each loan has bad events on independent random days, the same rate for all:
    the past says nothing of the future, so no honest model beats AUC 0.5. The
    label at ``a`` is an event in ``(a, a + 90]``: rows 30 and 60 days apart share
    two thirds of their window, hence their events. The features name the loan and
    the month, so trees can recall a loan's labels at nearby dates: a split that
    trains on a window overlapping the test's lets them read the test's future.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-31", periods=n_months, freq="ME")
    day = (dates - dates[0]).days.to_numpy()
    events = rng.random((n_loans, day[-1] + horizon + 1)) < p_day
    count = np.concatenate([np.zeros((n_loans, 1), int), np.cumsum(events, axis=1)], axis=1)
    label = count[:, day + horizon + 1] - count[:, day + 1] > 0
    index = pd.MultiIndex.from_product([np.arange(n_loans), dates], names=["loan_id", "as_of"])
    X = pd.DataFrame(
        {
            "loan_key": np.repeat(rng.permutation(n_loans).astype(float), n_months),
            "month": np.tile(np.arange(n_months, dtype=float), n_loans),
            "noise": rng.normal(size=len(index)),
        },
        index=index,
    )
    y = pd.Series(label.ravel().astype(int), index=index)
    order = np.argsort(X.index.get_level_values("as_of"), kind="stable")  # TimeSeriesSplit
    return X.iloc[order], y.iloc[order]


def test_a_planted_label_leak_inflates_naive_splits_and_not_as_of_split():
    X, y = planted_leak()
    memoriser = RiskModel(
        n_estimators=60,
        learning_rate=0.2,
        num_leaves=63,
        min_child_samples=2,
        subsample=1.0,
        colsample_bytree=1.0,
        reg_lambda=0.0,
        n_jobs=1,
    )
    per_month = len(X) // 16

    def auc(cv) -> float:
        return cross_val_score(memoriser, X, y, cv=cv, scoring="roc_auc").mean()

    naive = {
        "shuffled k-fold": auc(KFold(3, shuffle=True, random_state=0)),
        "time series, no gap": auc(TimeSeriesSplit(4, test_size=per_month)),
        "as-of, no gap": auc(AsOfSplit(4, horizon=0, test_dates=1)),
    }
    honest = auc(AsOfSplit(4, horizon=90, test_dates=1))
    # Over five seeds: k-fold 0.60 (sd 0.01), no gap 0.63 (0.02), AsOfSplit 0.507 (0.017).
    assert min(naive.values()) > 0.56, naive  # the leak, read as skill
    assert abs(honest - 0.5) < 0.05, honest  # nothing to learn, and nothing learnt
    assert min(naive.values()) - honest > 0.04, (naive, honest)


# -- scikit-learn's searches ----------------------------------------------------------------


def test_as_of_split_drives_cross_val_score_and_grid_search():
    X, y = snapshots(300, MONTHS)
    cv = AsOfSplit(n_splits=3, horizon=60, test_dates=1)
    scores = cross_val_score(RiskModel(**SMALL), X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (3,) and scores.mean() > 0.6  # dpd carries the risk
    grid = GridSearchCV(RiskModel(**SMALL), {"num_leaves": [3, 7]}, cv=cv, scoring="roc_auc")
    grid.fit(X, y)
    assert grid.n_splits_ == 3
    # The folds' scores are those of cross_val_score on the same folds.
    best = RiskModel(**{**SMALL, **grid.best_params_})
    expected = cross_val_score(best, X, y, cv=cv, scoring="roc_auc")
    assert grid.best_score_ == pytest.approx(expected.mean(), abs=1e-12)


# -- tune_risk_model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuned() -> tuple[TuningResult, pd.DataFrame, pd.Series, AsOfSplit]:
    X, y = snapshots(200, MONTHS, seed=1)
    cv = AsOfSplit(n_splits=3, horizon=60)
    model = RiskModel(n_estimators=18, n_jobs=1)
    return tune_risk_model(X, y, cv=cv, model=model, n_candidates=4, random_state=3), X, y, cv


def test_halving_scores_candidates_on_more_rounds_each_rung(tuned):
    result, X, y, cv = tuned
    t = result.table()
    # 4 candidates, factor 3: two rungs; 18 rounds // 3 = 6 rounds, then 18; ceil(4 / 3) = 2 kept.
    assert t.groupby("iteration")["n_estimators"].unique().map(list).tolist() == [[6], [18]]
    assert t.groupby("iteration").size().tolist() == [4, 2]
    first, last = t[t["iteration"] == 0], t[t["iteration"] == 1]
    assert set(last["candidate"]) == set(first.nsmallest(2, "rank")["candidate"])  # the best 2
    assert list(t.columns) == [
        "iteration",
        "candidate",
        "n_estimators",
        "learning_rate",
        "num_leaves",
        "min_child_samples",
        "colsample_bytree",
        "reg_lambda",
        "mean_score",
        "std_score",
        "rank",
        "fit_s",
    ]
    winner = last[last["rank"] == 1].iloc[0]
    assert result.best_score_ == winner["mean_score"]
    assert result.best_params_["n_estimators"] == 18
    # The score of the best parameters, recomputed without the search.
    again = cross_val_score(
        RiskModel(n_jobs=1, **result.best_params_), X, y, cv=cv, scoring="roc_auc"
    )
    assert result.best_score_ == pytest.approx(again.mean(), abs=1e-12)
    assert winner["std_score"] == pytest.approx(again.std(), abs=1e-12)


def test_the_refit_model_holds_the_best_parameters_and_every_row(tuned):
    result, X, y, _ = tuned
    model = result.best_model
    assert {k: model.get_params()[k] for k in result.best_params_} == result.best_params_
    again = RiskModel(n_jobs=1, **result.best_params_).fit(X, y)
    assert model.booster_.model_to_string() == again.booster_.model_to_string()


def test_tuning_is_deterministic_and_reports_itself(tuned):
    result, X, y, cv = tuned
    again = tune_risk_model(
        X, y, cv=cv, model=RiskModel(n_estimators=18, n_jobs=1), n_candidates=4, random_state=3
    )
    timing = ["fit_s"]
    pd.testing.assert_frame_equal(
        result.table().drop(columns=timing), again.table().drop(columns=timing)
    )
    assert again.best_params_ == result.best_params_
    text = result.summary()
    assert "4 candidates, 2 rungs of 6, 18 rounds keeping 4, 2 candidates; 3 folds" in text
    assert f"mean {result.best_score_:.4f}" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["best_params"] == result.best_params_ and len(data["table"]) == 6
    ax = result.plot()
    assert len(ax.lines) == 4 + 1  # one line per candidate, and the best again
    assert ax.get_xlabel().startswith("boosting rounds")
    matplotlib.pyplot.close(ax.figure)


def test_a_search_of_other_parameters_keeps_the_model_s_own():
    X, y = snapshots(100, MONTHS)
    model = RiskModel(n_estimators=9, max_depth=3, monotone_constraints={"dpd": 1}, n_jobs=1)
    result = tune_risk_model(
        X,
        y,
        cv=AsOfSplit(2, horizon=60, test_dates=2),
        model=model,
        param_distributions={"num_leaves": [3, 5, 7]},
        n_candidates=3,
        factor=3,
        random_state=0,
    )
    assert sorted(result.best_params_) == ["n_estimators", "num_leaves"]
    kept = result.best_model.get_params()
    assert kept["max_depth"] == 3 and kept["monotone_constraints"] == {"dpd": 1}
    assert set(result.table()["num_leaves"]) == {3, 5, 7}  # a grid is drawn without repeats


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cv": 5}, ModelError, r"cv must be a cross-validation splitter, such as AsOfSplit"),
        (
            {"model": RiskModel(calibration="isotonic")},
            ModelError,
            r"calibration='isotonic': the fits of a search have no held-out slice",
        ),
        (
            {"param_distributions": {"num_leafs": [3, 7]}},
            ModelError,
            r"'num_leafs', which is not a RiskModel parameter; did you mean num_leaves\?",
        ),
        (
            {"param_distributions": {"n_estimators": [10, 20]}},
            ModelError,
            r"may not search n_estimators with search='halving'",
        ),
        ({"param_distributions": {"num_leaves": []}}, ModelError, r"non-empty list or a scipy"),
        ({"search": "halfing"}, ModelError, r"search must be one of .*; did you mean halving\?"),
        ({"n_candidates": 0}, ModelError, r"n_candidates must be an integer in \[1, 100000\]"),
        ({"factor": 1}, ModelError, r"factor must be a number in \(1, 100\]"),
        ({"n_jobs": 0}, ModelError, r"n_jobs must be None or a non-zero integer"),
    ],
)
def test_bad_tuning_arguments_are_refused_before_any_fit(kwargs, error, match):
    X, y = snapshots(20, MONTHS)
    args = {"cv": AsOfSplit(3, horizon=30), **kwargs}
    with pytest.raises(error, match=match):
        tune_risk_model(X, y, **args)


def test_optuna_search_when_installed():
    pytest.importorskip("optuna")
    X, y = snapshots(100, MONTHS)
    cv = AsOfSplit(n_splits=2, horizon=60, test_dates=2)
    model = RiskModel(n_estimators=10, n_jobs=1)
    result = tune_risk_model(X, y, cv=cv, model=model, search="optuna", n_candidates=5)
    t = result.table()
    assert t["iteration"].tolist() == list(range(5)) and (t["n_estimators"] == 10).all()
    best = t.loc[t["mean_score"].idxmax()]
    assert result.best_score_ == best["mean_score"] and best["rank"] == 1
    params = {k: v for k, v in result.best_params_.items() if k != "n_estimators"}
    again = cross_val_score(
        RiskModel(n_estimators=10, n_jobs=1, **params), X, y, cv=cv, scoring="roc_auc"
    )
    assert result.best_score_ == pytest.approx(again.mean(), abs=1e-12)
    same = tune_risk_model(X, y, cv=cv, model=model, search="optuna", n_candidates=5)
    assert same.best_params_ == result.best_params_


def test_optuna_search_without_optuna_says_how_to_install_it():
    try:
        import optuna  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("optuna is installed")
    X, y = snapshots(20, MONTHS)
    with pytest.raises(OverdueRiskError, match=r"needs optuna, an optional dependency: pip"):
        tune_risk_model(X, y, cv=AsOfSplit(3, horizon=30), search="optuna")


# -- threads in parallel searches -----------------------------------------------------------


def _threads_of_a_fit(n_jobs):
    """The thread count a fit gave LightGBM, as its model text records it."""
    X, y = snapshots(20, MONTHS[:2])
    model = RiskModel(n_estimators=1, min_child_samples=2, n_jobs=n_jobs).fit(X, y)
    line = next(s for s in model.booster_.model_to_string().splitlines() if "num_threads" in s)
    return int(line.strip("[]").split(":")[1])


@pytest.mark.slow  # starting joblib's worker processes takes seconds
def test_a_fit_in_a_joblib_worker_keeps_to_the_worker_s_thread_limit():
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        got = joblib.Parallel(n_jobs=2)(joblib.delayed(_threads_of_a_fit)(j) for j in (None, 2))
    assert got == [1, 2]  # the limit by default; an explicit n_jobs wins


def test_a_fit_keeps_to_threadpoolctl_s_limit_and_counts_back_from_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # libgomp read it at start: 1 here
    cores = len(os.sched_getaffinity(0))
    with threadpool_limits(limits=cores, user_api="openmp"):
        assert _threads_of_a_fit(None) == cores
        assert _threads_of_a_fit(-1) == cores and _threads_of_a_fit(-2) == max(cores - 1, 1)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert _threads_of_a_fit(None) == 1
        assert _threads_of_a_fit(3) == 3  # an explicit count is taken as given
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # set after OpenMP started: read as well
    with threadpool_limits(limits=cores, user_api="openmp"):
        assert _threads_of_a_fit(None) == 1


@pytest.mark.slow  # joblib's worker processes
def test_tuning_in_parallel_gives_what_it_gives_in_sequence(tuned):
    result, X, y, cv = tuned
    model = RiskModel(n_estimators=18)  # threads of its own choosing: the same trees
    parallel = tune_risk_model(X, y, cv=cv, model=model, n_candidates=4, random_state=3, n_jobs=2)
    timing = ["fit_s"]
    pd.testing.assert_frame_equal(
        parallel.table().drop(columns=timing), result.table().drop(columns=timing)
    )
    assert parallel.best_params_ == result.best_params_
