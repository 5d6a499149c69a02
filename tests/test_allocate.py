"""The allocation solver: exact against brute force, feasible always, bounds that hold."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overdue_risk import AllocationError
from overdue_risk.exceptions import OverdueRiskError
from overdue_risk.prioritise import _allocate
from overdue_risk.prioritise._allocate import Allocation, allocate

METHODS = ["lp", "lagrangian", "greedy"]
REL = 1e-9  # float tolerance of sums, relative to the size of the objective


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


# -- references -------------------------------------------------------------------


def brute_force(value, eligible, capacity) -> float:
    """The best total over every assignment of eligible pairs (any sign) within capacity."""
    n, m = value.shape
    if n == 0:
        return 0.0
    plans = np.array(list(itertools.product(range(-1, m), repeat=n)))  # (m+1)^n rows
    col = np.maximum(plans, 0)
    rows = np.arange(n)
    chosen = plans >= 0
    allowed = ~chosen | eligible[rows, col]
    counts = np.stack([(plans == a).sum(axis=1) for a in range(m)], axis=1)
    feasible = allowed.all(axis=1) & (counts <= capacity).all(axis=1)
    totals = np.where(chosen, np.where(eligible, value, 0.0)[rows, col], 0.0).sum(axis=1)
    return float(totals[feasible].max())


def sequential_greedy(value, eligible, capacity) -> np.ndarray:
    """Pairs by decreasing value, then account, then action; taken while there is room."""
    n, m = value.shape
    pairs = [(i, a) for i in range(n) for a in range(m) if eligible[i, a] and value[i, a] > 0]
    pairs.sort(key=lambda p: (-value[p], p[0], p[1]))
    action = np.full(n, -1)
    left = np.array(capacity, dtype=float)
    for i, a in pairs:
        if action[i] < 0 and left[a] >= 1:
            action[i] = a
            left[a] -= 1
    return action


def dual_value(value, eligible, capacity, prices) -> float:
    """The Lagrangian dual function at ``prices``, computed from scratch."""
    price = np.where(np.isinf(capacity), 0.0, prices)
    reduced = np.where(eligible & (value > 0), value - price, -np.inf)
    best = np.maximum(reduced.max(axis=1, initial=-np.inf), 0.0)
    finite = np.isfinite(capacity)
    return float(best.sum() + price[finite] @ capacity[finite])


def assert_feasible(result: Allocation, value, eligible, capacity) -> None:
    n, m = value.shape
    assert result.action.shape == (n,)
    assert result.action.dtype == np.int64
    assert ((result.action >= -1) & (result.action < m)).all()
    chosen = result.action >= 0
    rows, cols = np.flatnonzero(chosen), result.action[chosen]
    assert eligible[rows, cols].all(), "an ineligible pair was chosen"
    assert (value[rows, cols] > 0).all(), "a pair of value <= 0 was chosen"
    assert (np.bincount(cols, minlength=m) <= capacity).all(), "a capacity is exceeded"
    expected = np.zeros(n)
    expected[rows] = value[rows, cols]
    np.testing.assert_array_equal(result.value, expected)
    assert result.objective == pytest.approx(expected.sum(), rel=REL, abs=REL)


def assert_bounds(result: Allocation, optimum: float) -> None:
    tol = REL * max(1.0, abs(optimum))
    assert result.objective <= optimum + tol
    assert optimum <= result.upper_bound + tol
    assert result.gap >= 0
    expected_gap = (result.upper_bound - result.objective) / max(abs(result.upper_bound), 1e-300)
    assert result.gap == pytest.approx(max(0.0, expected_gap), abs=1e-12)


def make_instance(rng, n, m, kind="normal", eligible_share=0.7):
    if kind == "normal":
        value = rng.normal(1.0, 1.0, (n, m))
    elif kind == "int":  # many ties
        value = rng.integers(-3, 10, (n, m)).astype(float)
    else:  # balances times response, minus a cost per action, as in the benchmark
        value = rng.lognormal(0, 1, (n, 1)) * rng.uniform(0.5, 1.5, (n, m)) - rng.uniform(0, 1, m)
    eligible = rng.random((n, m)) < eligible_share
    capacity = rng.integers(0, max(1, n // m), m).astype(float)
    capacity[rng.random(m) < 0.2] = np.inf
    return value, eligible, capacity


# -- tiny instances, against brute force -----------------------------------------------


@st.composite
def tiny_instances(draw):
    n = draw(st.integers(0, 6))
    m = draw(st.integers(1, 3))
    # quarter steps around 0: ties, zeros and negative values are all common
    cells = st.integers(-8, 24).map(lambda q: q / 4)
    value = np.array(draw(st.lists(cells, min_size=n * m, max_size=n * m)), dtype=float)
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)), dtype=bool)
    caps = st.one_of(st.integers(0, n + 1).map(float), st.just(np.inf))
    capacity = np.array(draw(st.lists(caps, min_size=m, max_size=m)), dtype=float)
    return value.reshape(n, m), eligible.reshape(n, m), capacity


@settings(max_examples=150, deadline=None)
@given(tiny_instances())
def test_every_method_is_feasible_and_bounded_by_the_brute_force_optimum(instance):
    value, eligible, capacity = instance
    optimum = brute_force(value, eligible, capacity)
    lp = allocate(value, eligible, capacity, method="lp")
    assert lp.objective == pytest.approx(optimum, rel=REL, abs=REL)
    assert lp.upper_bound == lp.objective and lp.gap == 0.0
    for method in METHODS:
        result = allocate(value, eligible, capacity, method=method)
        assert result.method == method
        assert_feasible(result, value, eligible, capacity)
        assert_bounds(result, optimum)


@settings(max_examples=150, deadline=None)
@given(tiny_instances())
def test_greedy_is_the_sequential_greedy_with_ties_by_account_then_action(instance):
    value, eligible, capacity = instance
    result = allocate(value, eligible, capacity, method="greedy")
    np.testing.assert_array_equal(result.action, sequential_greedy(value, eligible, capacity))


@settings(max_examples=100, deadline=None)
@given(tiny_instances())
def test_the_upper_bound_is_the_dual_function_at_the_reported_prices(instance):
    value, eligible, capacity = instance
    for method in METHODS:
        result = allocate(value, eligible, capacity, method=method)
        assert (result.prices >= 0).all()
        assert (result.prices[np.isinf(capacity)] == 0).all()
        bound = dual_value(value, eligible, capacity, result.prices)
        # the LP's duals are optimal too: their dual value is the optimum
        assert result.upper_bound == pytest.approx(bound, rel=1e-7, abs=1e-7)


# -- medium instances -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["normal", "int", "book"])
@pytest.mark.parametrize("m", [3, 6])
@pytest.mark.parametrize("seed", range(3))
def test_lagrangian_is_within_a_tiny_gap_of_the_lp_optimum(kind, m, seed):
    rng = np.random.default_rng(seed)
    value, eligible, capacity = make_instance(rng, 2000, m, kind)
    lp = allocate(value, eligible, capacity, method="lp")
    for method in ["lagrangian", "greedy"]:
        result = allocate(value, eligible, capacity, method=method)
        assert_feasible(result, value, eligible, capacity)
        assert_bounds(result, lp.objective)
    lagrangian = allocate(value, eligible, capacity, method="lagrangian")
    # measured: at most 1.5e-5 over 180 such instances, most of them exactly 0
    assert (lp.objective - lagrangian.objective) / lp.objective < 1e-3
    assert lagrangian.gap < 1e-3


def test_lagrangian_is_exact_when_ties_make_coordinate_descent_stall(rng):
    # all prices must rise together: one at a time, none lowers the dual
    value = rng.integers(-3, 10, (5000, 6)).astype(float)
    eligible = rng.random(value.shape) < 0.7
    capacity = np.full(6, 500.0)
    lp = allocate(value, eligible, capacity, method="lp")
    result = allocate(value, eligible, capacity, method="lagrangian")
    assert result.objective == lp.objective
    assert result.gap == 0.0


@pytest.mark.parametrize("kind", ["normal", "int", "book"])
def test_the_greedy_repair_at_the_prices_is_feasible_and_close(kind, monkeypatch):
    # most instances are solved from the prices directly (complementary
    # slackness); this is the path taken when the prices are optimal only to tol
    monkeypatch.setattr(_allocate, "_complementary", lambda p, lam: None)
    for seed in range(4):
        value, eligible, capacity = make_instance(np.random.default_rng(seed), 2000, 5, kind)
        lp = allocate(value, eligible, capacity, method="lp")
        result = allocate(value, eligible, capacity, method="lagrangian")
        assert_feasible(result, value, eligible, capacity)
        assert_bounds(result, lp.objective)
        # measured over 20 seeds: 2e-5 (normal), 2e-4 (book); ties are what
        # the complementary-slackness step is for, greedy tie-breaking loses 0.8%
        limit = 2e-2 if kind == "int" else 1e-3
        assert (lp.objective - result.objective) / lp.objective < limit


@pytest.mark.parametrize("method", ["lp", "lagrangian"])
def test_a_limited_action_is_not_spent_where_an_unlimited_one_is_as_good(method):
    value = np.array([[3.0, 3.0], [2.0, 1.0]])
    result = allocate(value, None, [1, np.inf], method=method)
    assert result.action.tolist() == [1, 0]
    assert result.objective == 5.0


def test_greedy_can_lose_what_the_lp_keeps():
    value = np.array([[9.0, 5.0], [8.0, 1.0], [7.0, 6.0]])
    capacity = np.array([1.0, np.inf])
    greedy = allocate(value, None, capacity, method="greedy")
    assert greedy.action.tolist() == [0, 1, 1] and greedy.objective == 16.0
    assert greedy.upper_bound == pytest.approx(19.0) and greedy.gap == pytest.approx(3 / 19)
    for method in ["lp", "lagrangian"]:
        result = allocate(value, None, capacity, method=method)
        assert result.action.tolist() == [1, 0, 1] and result.objective == 19.0
        # any price from the second to the first margin over action 1 is optimal
        assert 4.0 <= result.prices[0] <= 7.0 and result.prices[1] == 0.0


# -- invariants -----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_unlimited_capacity_gives_every_account_its_best_positive_eligible_action(rng, method):
    value, eligible, _ = make_instance(rng, 500, 4, "int")
    result = allocate(value, eligible, np.full(4, np.inf), method=method)
    candidate = np.where(eligible & (value > 0), value, -np.inf)
    best = np.argmax(candidate, axis=1)  # ties: the lowest action
    expected = np.where(candidate.max(axis=1) > -np.inf, best, -1)
    np.testing.assert_array_equal(result.action, expected)
    assert result.gap == 0.0
    assert (result.prices == 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_permuting_accounts_changes_no_objective(rng, method):
    value, eligible, capacity = make_instance(rng, 1500, 5, "normal")
    perm = rng.permutation(1500)
    a = allocate(value, eligible, capacity, method=method)
    b = allocate(value[perm], eligible[perm], capacity, method=method)
    assert b.objective == pytest.approx(a.objective, rel=1e-9)
    if method == "greedy":  # distinct values: the greedy choice of each account is unique
        np.testing.assert_array_equal(b.action, a.action[perm])


@pytest.mark.parametrize("method", METHODS)
def test_same_input_same_output(rng, method):
    value, eligible, capacity = make_instance(rng, 1000, 4, "int")
    a = allocate(value, eligible, capacity, method=method)
    b = allocate(value.copy(), eligible.copy(), capacity.copy(), method=method)
    assert a.action.tobytes() == b.action.tobytes()
    assert a.prices.tobytes() == b.prices.tobytes()
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("method", METHODS)
def test_ineligible_pairs_are_never_read(rng, method):
    value, eligible, capacity = make_instance(rng, 300, 3, "normal")
    noisy = np.where(eligible, value, np.nan)
    noisy[~eligible & (rng.random(value.shape) < 0.5)] = 1e6
    a = allocate(value, eligible, capacity, method=method)
    b = allocate(noisy, eligible, capacity, method=method)
    np.testing.assert_array_equal(a.action, b.action)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("value", "eligible", "capacity"),
    [
        (np.zeros((0, 3)), None, [1, 2, 3]),  # no account
        (np.ones((4, 0)), None, []),  # no action
        (-np.ones((4, 2)), None, [np.inf, 2]),  # nothing worth doing
        (np.ones((4, 2)), np.zeros((4, 2), dtype=bool), [1, 1]),  # nothing allowed
        (np.ones((4, 2)), None, [0, 0]),  # no capacity
    ],
)
def test_nothing_to_do_means_everyone_waits(method, value, eligible, capacity):
    result = allocate(value, eligible, capacity, method=method)
    assert (result.action == -1).all() and result.action.size == len(value)
    assert result.objective == 0.0 and result.upper_bound == 0.0 and result.gap == 0.0


def test_zero_value_pairs_are_not_chosen():
    result = allocate(np.array([[0.0, 2.0], [0.0, 0.0]]), None, [5, 1])
    assert result.action.tolist() == [1, -1]


# -- methods, threshold and solver fallbacks ----------------------------------------------


def test_auto_solves_the_lp_up_to_the_threshold(rng):
    value, eligible, capacity = make_instance(rng, 400, 3, "normal")
    capacity = np.array([10.0, 20.0, 30.0])
    assert allocate(value, eligible, capacity).method == "lp"
    small = allocate(value, eligible, capacity, lp_max_pairs=10)
    assert small.method == "lagrangian"
    unlimited = allocate(value, eligible, np.full(3, np.inf), lp_max_pairs=0)
    assert unlimited.method == "lp"  # nothing competes: an LP of no variable


def test_a_fractional_lp_point_falls_back_to_the_milp(rng, monkeypatch, caplog):
    value, eligible, capacity = make_instance(rng, 200, 3, "int")
    capacity = np.array([15.0, 15.0, 15.0])
    exact = allocate(value, eligible, capacity, method="lp")
    solve = _allocate._linprog

    def fractional(gain, a_ub, b_ub):
        res = solve(gain, a_ub, b_ub)
        res.x = np.full_like(res.x, 0.5)
        return res

    monkeypatch.setattr(_allocate, "_linprog", fractional)
    with caplog.at_level("INFO", logger="overdue_risk.prioritise._allocate"):
        result = allocate(value, eligible, capacity, method="lp")
    assert "fractional" in caplog.text
    assert_feasible(result, value, eligible, capacity)
    assert result.objective == pytest.approx(exact.objective, rel=REL)


def test_a_failing_lp_solver_raises(rng, monkeypatch):
    value, eligible, capacity = make_instance(rng, 200, 3, "int")
    capacity = np.array([15.0, 15.0, 15.0])
    solve = _allocate._linprog

    def failing(gain, a_ub, b_ub):
        res = solve(gain, a_ub, b_ub)
        res.status, res.message = 4, "numerical difficulties"
        return res

    monkeypatch.setattr(_allocate, "_linprog", failing)
    monkeypatch.setattr(_allocate, "_milp", lambda *args: None)
    with pytest.raises(AllocationError, match=r"try method='lagrangian'.*numerical difficulties"):
        allocate(value, eligible, capacity, method="lp")


# -- the result object --------------------------------------------------------------------


def test_result_summary_table_and_immutability():
    value = np.array([[9.0, 5.0, 1.0], [8.0, 1.0, 0.5], [7.0, 6.0, -1.0]])
    result = allocate(value, None, [1, np.inf, 0])
    summary = result.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "method": "lp",
        "accounts": 3,
        "assigned": 3,
        "objective": 19.0,
        "upper_bound": 19.0,
        "gap": 0.0,
        "iterations": summary["iterations"],
        "counts": [1, 2, 0],
        "capacity": [1, None, 0],
        "prices": summary["prices"],
    }
    table = result.table()
    assert table.index.name == "action"
    assert table["accounts"].tolist() == [1, 2, 0]
    assert table["value"].tolist() == [8.0, 11.0, 0.0]
    assert table["capacity"].tolist() == [1.0, np.inf, 0.0]
    with pytest.raises(ValueError, match="read-only"):
        result.action[0] = 2
    with pytest.raises(AttributeError):
        result.objective = 0.0  # type: ignore[misc]


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "eligible", "capacity", "match"),
    [
        (np.ones(3), None, [1], r"value must be 2-D \(accounts x actions\); got 1-D"),
        ([["a", "b"]], None, [1, 1], "value must be an array of real numbers"),
        (np.ones((2, 2), dtype=bool), None, [1, 1], "value must be an array of real numbers"),
        (np.ones((2, 2)), np.ones((2, 3), dtype=bool), [1, 1], r"shape of value \(2, 2\)"),
        (np.ones((2, 2)), np.ones((2, 2)), [1, 1], "eligible must be a boolean array"),
        ([[1.0, np.nan]], None, [1, 1], "finite where eligible; got nan at account 0, action 1"),
        ([[1.0, np.inf]], None, [1, 1], "finite where eligible; got inf"),
        (np.ones((2, 2)), None, [1], r"one entry per action, shape \(2,\); got shape \(1,\)"),
        (np.ones((2, 2)), None, [1, -1], "capacity must be >= 0; got -1.0 at action 1"),
        (np.ones((2, 2)), None, [1, -np.inf], "capacity must be >= 0"),
        (np.ones((2, 2)), None, [np.nan, 1], "capacity must not be NaN; got NaN at action 0"),
        (np.ones((2, 2)), None, [1, 2.5], "whole number of accounts or inf; got 2.5 at action 1"),
        (np.ones((2, 2)), None, ["1", "2"], "capacity must be numbers"),
    ],
)
def test_invalid_input_raises(value, eligible, capacity, match):
    with pytest.raises(AllocationError, match=match):
        allocate(value, eligible, capacity)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"method": "simplex"}, "must be one of auto, lp, lagrangian, greedy; got 'simplex'"),
        ({"method": "greed"}, "got 'greed'; did you mean greedy\\?"),
        ({"lp_max_pairs": -1}, "lp_max_pairs must be an integer >= 0; got -1"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1; got 0"),
        ({"max_iter": 2.0}, "max_iter must be an integer >= 1; got 2.0"),
        ({"tol": 1.5}, r"tol must be a number in \[0, 1\); got 1.5"),
        ({"tol": True}, "tol must be a number"),
    ],
)
def test_invalid_options_raise(options, match):
    with pytest.raises(AllocationError, match=match):
        allocate(np.ones((2, 2)), None, [1, 1], **options)


def test_allocation_error_is_an_overdue_risk_error():
    assert issubclass(AllocationError, OverdueRiskError)
