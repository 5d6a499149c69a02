"""LadderRule: the treatment ladder as a value model, whose greedy allocation is the ladder."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import SAMPLE, SETTINGS, flags_table, run_cli
from overdue_risk import LadderRule, ModelError, OverdueRiskError, Strategy
from overdue_risk.policy_eval import heuristic_actions, ladder_level
from overdue_risk.prioritise import (
    LADDER,
    LADDER_MIN_BALANCE,
    LADDER_THRESHOLDS,
    account_state,
    action_values,
    allocate,
    eligibility,
    prioritise,
)
from overdue_risk.simulate import Scenario
from overdue_risk.workflows import VALUE_SOURCES, choose_value_model

ACTIONS = ("sms", "call", "visit", "letter", "restructure", "legal")


def ladder_choice(rule, state, actions, eligible, capacity, cost, method="greedy"):
    """The allocation of the rule's net values (score less cost), as prioritise makes it."""
    recovery = rule.predict(state)
    net = np.column_stack(
        [
            recovery[a].to_numpy() - recovery["none"].to_numpy() - c
            if a in recovery
            else np.full(len(state), np.nan)
            for a, c in zip(actions, cost, strict=True)
        ]
    )
    usable = eligible & ~np.isnan(net)
    return allocate(np.where(usable, net, 0.0), usable, capacity, method=method).action


def reference_levels(state: pd.DataFrame) -> np.ndarray:
    """The default ladder, written out by hand: legal 90, restructure 60, visit 30 with a
    balance of 1,500, call 5, SMS otherwise."""
    dpd = state["dpd"].to_numpy()
    balance = state["balance"].fillna(0.0).to_numpy()
    return np.select(
        [dpd >= 90, dpd >= 60, (dpd >= 30) & (balance >= 1500), dpd >= 5],
        [0, 1, 2, 3],
        default=4,
    )


def reference_priority(state: pd.DataFrame, priority: str) -> np.ndarray:
    balance = state["balance"].fillna(0.0).to_numpy()
    return {
        "dpd": state["dpd"].to_numpy(dtype=float),
        "balance": balance,
        "overdue_amount": state["overdue_amount"].to_numpy(dtype=float),
        "expected_loss": state["risk_score"].to_numpy(dtype=float) * balance,
    }[priority]


@st.composite
def instances(draw):
    """A few accounts on random rungs, with ties, missing values, random eligibility,
    capacities and costs, and the actions in a random order (letters off the ladder)."""
    n = draw(st.integers(0, 12))
    col = st.lists
    dpd = draw(col(st.sampled_from([0, 3, 5, 12, 30, 45, 60, 75, 90, 140]), min_size=n, max_size=n))
    money = st.sampled_from([0.0, 200.0, 1499.99, 1500.0, 4000.0, math.nan])
    balance = draw(col(money, min_size=n, max_size=n))
    overdue = draw(col(money, min_size=n, max_size=n))
    risk = draw(col(st.sampled_from([0.1, 0.5, 0.9, math.nan]), min_size=n, max_size=n))
    state = pd.DataFrame(
        {"dpd": dpd, "balance": balance, "overdue_amount": overdue, "risk_score": risk},
        index=[f"L{i}" for i in range(n)],
    )
    actions = tuple(draw(st.permutations(ACTIONS))[: draw(st.integers(1, len(ACTIONS)))])
    flat = draw(col(st.booleans(), min_size=n * len(actions), max_size=n * len(actions)))
    eligible = np.array(flat, dtype=bool).reshape(n, len(actions))
    caps = st.sampled_from([0.0, 1.0, 2.0, 3.0, math.inf])
    capacity = np.array(draw(col(caps, min_size=len(actions), max_size=len(actions))))
    costs = st.sampled_from([0.0, 0.05, 1.5, 25.0, 150.0, 9_999.0])
    cost = draw(col(costs, min_size=len(actions), max_size=len(actions)))
    return state, actions, eligible, capacity, cost


@SETTINGS
@given(instances(), st.sampled_from(["dpd", "balance", "overdue_amount", "expected_loss"]))
def test_the_greedy_allocation_of_the_rules_values_is_the_ladder(instance, priority):
    state, actions, eligible, capacity, cost = instance
    rule = LadderRule(priority)
    level = reference_levels(state)
    assert rule.levels(state).tolist() == level.tolist()
    want = heuristic_actions(
        reference_priority(state, priority), level, eligible, actions, capacity
    )
    got = ladder_choice(rule, state, actions, eligible, capacity, cost)
    assert got.tolist() == want.tolist()


def test_an_exact_optimiser_of_the_same_values_is_not_the_ladder():
    # One visit and one call; A (higher DPD) may take either, B only a visit. The
    # ladder visits A and leaves the call unused; the largest sum visits B and calls A.
    state = pd.DataFrame({"dpd": [50, 40], "balance": [2000.0, 2000.0]}, index=["A", "B"])
    actions = ("visit", "call")
    eligible = np.array([[True, True], [True, False]])
    capacity = np.array([1.0, 1.0])
    rule = LadderRule()
    assert rule.levels(state).tolist() == [LADDER.index("visit")] * 2
    ladder = heuristic_actions(
        state["dpd"].to_numpy(), rule.levels(state), eligible, actions, capacity
    )
    assert ladder.tolist() == [0, -1]
    assert ladder_choice(rule, state, actions, eligible, capacity, [25.0, 1.5]).tolist() == [0, -1]
    lp = ladder_choice(rule, state, actions, eligible, capacity, [25.0, 1.5], method="lp")
    assert lp.tolist() == [1, 0]


def test_ties_go_to_the_earlier_account_and_missing_priorities_last():
    state = pd.DataFrame(
        {"dpd": [10, 10, 10, 10], "balance": [100.0, math.nan, 700.0, 700.0]},
        index=["a", "b", "c", "d"],
    )
    up = LadderRule("balance").uplift(state)
    # A missing balance counts as 0: below a but above nothing; c and d tie, c first.
    assert up["call"].rank(ascending=False).tolist() == [3.0, 4.0, 1.0, 2.0]
    up = LadderRule("overdue_amount").uplift(state.assign(overdue_amount=[5.0, np.nan, 1.0, 9.0]))
    assert up["sms"].rank(ascending=False).tolist() == [2.0, 4.0, 3.0, 1.0]


def test_every_pair_of_a_harsher_rung_outranks_every_pair_of_a_milder_one():
    state = pd.DataFrame({"dpd": [200, 95, 3], "balance": [9e9, 0.0, 1.0]})
    up = LadderRule("balance").uplift(state)
    assert up.columns.tolist() == list(LADDER)
    # Rungs harsher than the account's carry no value.
    assert up.notna().to_numpy().tolist() == [[True] * 5, [True] * 5, [False] * 4 + [True]]
    net = up.to_numpy() - np.array([150.0, 10.0, 25.0, 1.5, 0.05]) * 1e5  # costs up to 1.5e7
    lowest = np.nanmin(net, axis=0)
    highest = np.nanmax(net, axis=0)
    assert (lowest[:-1] > highest[1:]).all()
    assert (lowest > 0).all()


def test_the_default_thresholds_are_the_simulators_champion_rules():
    c = Scenario().collections
    assert LADDER_THRESHOLDS == {
        "legal": c.legal_from,
        "restructure": c.restructure_at,
        "visit": c.visit_from,
        "call": c.call_from,
        "sms": 0,
    }
    assert LADDER_MIN_BALANCE == {"visit": c.visit_min_balance}
    pd.testing.assert_frame_equal(
        LadderRule.from_collections(c).table(), LadderRule().table(), check_dtype=False
    )


def test_thresholds_from_any_object_with_the_collections_attributes():
    rules = types.SimpleNamespace(
        call_from=2, visit_from=20, visit_min_balance=0.0, restructure_at=45, legal_from=120
    )
    rule = LadderRule.from_collections(rules, priority="balance")
    t = rule.table().set_index("rung")
    assert t["min_dpd"].to_dict() == {
        "legal": 120.0,
        "restructure": 45.0,
        "visit": 20.0,
        "call": 2.0,
        "sms": 0.0,
    }
    assert rule.priority == "balance" and (t["min_balance"] == 0).all()
    state = pd.DataFrame({"dpd": [1, 2, 20, 45, 119, 120], "balance": 0.0})
    assert [LADDER[i] for i in rule.levels(state)] == [
        "sms",
        "call",
        "visit",
        "restructure",
        "restructure",
        "legal",
    ]
    # ladder_level reads a scenario's collections the same way.
    scenario = types.SimpleNamespace(collections=rules)
    assert ladder_level(state, scenario).tolist() == rule.levels(state).tolist()
    with pytest.raises(ModelError, match="SimpleNamespace lacks legal_from, visit_min_balance"):
        LadderRule.from_collections(
            types.SimpleNamespace(call_from=5, visit_from=30, restructure_at=60)
        )


def test_thresholds_given_replace_the_defaults_of_their_rungs_only():
    rule = LadderRule(thresholds={"legal": math.inf, "sms": 2}, min_balance={"visit": 0})
    t = rule.table().set_index("rung")
    assert t["min_dpd"].tolist() == [math.inf, 60.0, 30.0, 5.0, 2.0]
    assert t["min_balance"].tolist() == [0.0] * 5
    state = pd.DataFrame({"dpd": [1, 2, 31, 400]})  # no balance needed without a least one
    assert rule.levels(state).tolist() == [len(LADDER), 4, 2, 1]
    assert rule.uplift(state).iloc[0].isna().all()  # below every rung: no action


def test_table_and_summary_describe_the_rungs():
    t = LadderRule().table()
    assert t["rung"].tolist() == list(LADDER)
    assert t["min_dpd"].tolist() == [90, 60, 30, 5, 0]
    assert t["min_balance"].tolist() == [0.0, 0.0, 1500.0, 0.0, 0.0]
    assert t["weight"].tolist() == [5, 4, 3, 2, 1]
    text = LadderRule("expected_loss", thresholds={"legal": math.inf}).summary()
    assert text.startswith("LadderRule by expected_loss (not causal): legal never; ")
    assert "visit from 30 DPD with a balance of at least 1,500; call from 5 DPD" in text
    assert "highest expected_loss first within a rung" in text


def test_value_source_and_causality():
    rule = LadderRule("balance")
    assert rule.value_source == "ladder rule by balance (not causal)"
    assert rule.causal is False and rule.allocation_method == "greedy"
    state = pd.DataFrame({"dpd": [10], "balance": [1.0]})
    assert rule.predict(state).attrs["causal"] is False
    assert rule.predict(state)["none"].tolist() == [0.0]
    assert (
        repr(LadderRule("dpd", thresholds={"call": 7}))
        == "LadderRule('dpd', thresholds={'call': 7})"
    )


@pytest.mark.parametrize(
    ("rule", "state", "message"),
    [
        (
            LadderRule("arrears"),
            {"dpd": [1]},
            r"The 'priority' parameter of LadderRule must be one of dpd, balance, "
            r"overdue_amount, expected_loss; got 'arrears'",
        ),
        (
            LadderRule(thresholds=[("call", 5)]),
            {"dpd": [1]},
            "The 'thresholds' parameter of LadderRule must be None or a dict",
        ),
        (
            LadderRule(thresholds={"phone": 5}),
            {"dpd": [1]},
            r"thresholds keys must be rungs of the ladder \(legal, restructure, visit, call, "
            r"sms\); got 'phone'",
        ),
        (
            LadderRule(min_balance={"visit": -1}),
            {"dpd": [1]},
            r"min_balance\['visit'\] must be a number >= 0 or inf; got -1",
        ),
        (
            LadderRule(thresholds={"legal": math.nan}),
            {"dpd": [1]},
            r"thresholds\['legal'\] must be a number >= 0 or inf; got nan",
        ),
        (
            LadderRule("expected_loss"),
            {"dpd": [1], "balance": [1.0]},
            "LadderRule reads the state's column 'risk_score' \\(priority='expected_loss' is "
            "risk score x balance\\); it is missing",
        ),
        (LadderRule(), {"balance": [1.0]}, "reads the state's column 'dpd'"),
        (LadderRule(), {"dpd": [1]}, "reads the state's column 'balance' \\(the rungs' least"),
        (LadderRule("overdue_amount", min_balance={"visit": 0}), {"dpd": [1]}, "'overdue_amount'"),
    ],
)
def test_bad_settings_and_states_are_refused(rule, state, message):
    with pytest.raises(ModelError, match=message):
        rule.uplift(pd.DataFrame(state))


def test_a_state_must_be_a_frame():
    with pytest.raises(ModelError, match="state must be a DataFrame; got dict"):
        LadderRule().predict({"dpd": [1]})


def ladder_by_hand(strategy, portfolio, as_of, risk, priority, flags=None) -> pd.Series:
    """The morning as prioritise sees it (state, rules, capacities), and the ladder filled
    rung by rung over it: the action per account."""
    state = account_state(strategy, portfolio, as_of, flags=flags)
    state = state.assign(risk_score=risk.reindex(state.index.astype(str)).to_numpy())
    rules = eligibility(strategy, state)
    names = [a for a in rules.actions if a != "wait"]
    cols = [rules.actions.index(a) for a in names]
    capacity = np.array([getattr(strategy.actions, a).capacity for a in names])
    level = reference_levels(state)
    chosen = heuristic_actions(
        reference_priority(state, priority), level, rules.eligible[:, cols], names, capacity
    )
    action = np.where(chosen >= 0, np.array(names)[np.maximum(chosen, 0)], "wait")
    return pd.Series(action, index=state.index.astype(str)).sort_index()


LIMITED = Strategy().replace(
    actions={"call": {"capacity": 6}, "visit": {"capacity": 2}, "restructure": {"capacity": 3}}
)


def test_a_worklist_of_the_ladder_on_the_sample_is_the_ladders_fill(sample):
    portfolio = sample
    as_of = "2024-06-30"
    ids = portfolio.loans["loan_id"].astype(str)
    risk = pd.Series(np.linspace(0.05, 0.95, len(ids)), index=ids.to_numpy())
    scores = pd.DataFrame({"loan_id": ids, "as_of": as_of, "score": risk.to_numpy()})
    flags = flags_table(ids)
    rule = LadderRule("expected_loss")
    # The default method follows the rule's allocation_method: the ladder's greedy fill.
    work = prioritise(scores, portfolio, as_of, LIMITED, value_model=rule, flags=flags)
    table = work.table()
    assert set(table["value_source"]) == {"ladder rule by expected_loss (not causal)"}
    assert not work.causal
    got = table["action"].set_axis(table.index.astype(str)).sort_index()
    want = ladder_by_hand(LIMITED, portfolio, as_of, risk, "expected_loss", flags)
    assert got.tolist() == want.tolist()
    counts = got.value_counts()
    assert counts["call"] == 6 and counts["visit"] == 2  # the capacities bind
    # The worklist's values are the rule's scores less the cost (action_values).
    state = account_state(LIMITED, portfolio, as_of, flags=flags)
    state = state.assign(risk_score=risk.reindex(state.index.astype(str)).to_numpy())
    names = tuple(a for a in LIMITED.action_names if a != "wait")
    _, net = action_values(rule, state, names, LIMITED)
    chosen = table.loc[table["action"] != "wait"]
    j = [names.index(a) for a in chosen["action"]]
    rows = state.index.get_indexer(chosen.index)
    assert np.array_equal(chosen["expected_value"].to_numpy(), net[rows, j])


def test_the_command_line_prioritises_by_the_ladder(sample, tmp_path, capsys):
    portfolio = sample
    loans = portfolio.loans
    risk = pd.Series(
        (loans["principal"].rank(pct=True) * 0.9).to_numpy(), index=loans["loan_id"].astype(str)
    )
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"loan_id": risk.index, "as_of": "2024-06-30", "score": risk}).to_csv(
        scores, index=False
    )
    strategy = tmp_path / "strategy.toml"
    strategy.write_text("[actions.call]\ncapacity = 25\n\n[actions.visit]\ncapacity = 3\n")
    out = tmp_path / "worklist.csv"
    argv = [
        "prioritise",
        str(scores),
        SAMPLE,
        "--as-of",
        "2024-07-01",
        "--strategy",
        str(strategy),
        "--out",
        str(out),
        "--value",
        "ladder",
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "ladder rule by dpd (not causal)" in err
    worklist = pd.read_csv(out, dtype={"loan_id": str})
    assert set(worklist["value_source"]) == {"ladder rule by dpd (not causal)"}
    got = worklist.set_index("loan_id")["action"].sort_index()
    want = ladder_by_hand(Strategy.from_toml(strategy), portfolio, "2024-07-01", risk, "dpd")
    assert got.tolist() == want.tolist()
    assert (got == "call").sum() == 25 and (got == "visit").sum() == 3


def test_the_ladder_is_a_value_source_of_its_own(sample):
    rule = choose_value_model(sample, "2024-07-01", "ladder")
    assert isinstance(rule, LadderRule) and rule.priority == "dpd" and not rule.causal
    assert "ladder" in VALUE_SOURCES
    with pytest.raises(OverdueRiskError, match="one of auto, uplift, fallback, arrears, ladder"):
        choose_value_model(sample, "2024-07-01", "ladders")
