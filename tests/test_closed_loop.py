"""Closed-loop policy evaluation: every policy decides every morning inside the simulator.

The expected values here come from the simulator's own records (its contact masks, its
no-action run, its action counts) or from what the rules and the allocation guarantee,
never from the closed loop's output itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import overdue_risk as odr
from overdue_risk import OverdueRiskError, Strategy
from overdue_risk.contract import cut_portfolio
from overdue_risk.policy_eval import BASELINES, closed_loop_comparison
from overdue_risk.policy_eval._daily import RunLog, daily_state
from overdue_risk.policy_eval._loop import LoopPolicy, value_chooser
from overdue_risk.prioritise import RiskBasedValue, account_state
from overdue_risk.simulate import LoggedPolicy, NoAction, PolicyContext, simulate_policy

START = "2024-05-01"
CAPACITY = {"sms": 5, "call": 3, "visit": 1}
STRATEGY = Strategy().replace(actions={a: {"capacity": c} for a, c in CAPACITY.items()})
RULE_FOLLOWING = ["oracle", "arrears_rule", "highest_dpd", "highest_balance", "no_action"]
CHEAP_ORACLE = {"oracle_paths": 3, "oracle_horizon_days": 10}


@pytest.fixture(scope="module")
def truth():
    return odr.simulate_portfolio(600, "2024-01-01", "2024-06-30", seed=4)[1]


@pytest.fixture(scope="module")
def loop(truth):
    """Every baseline but expected_loss, 4 days, 2 paths."""
    return closed_loop_comparison(
        truth, START, strategy=STRATEGY, days=4, n_paths=2, seed=9, **CHEAP_ORACLE
    )


def test_capacities_hold_every_day_and_path(loop):
    made = loop.decisions()
    assert set(made.index.get_level_values("path")) == {0, 1}
    assert made.index.get_level_values("date").nunique() == 4
    for policy in RULE_FOLLOWING:
        rows = made.loc[policy]
        for action, cap in CAPACITY.items():
            assert (rows[f"n_{action}"] <= cap).all(), (policy, action)
    # The logged policy knows no capacity: its excess is what the counts show.
    logged = made.loc["logged"]
    excess = sum(np.maximum(logged[f"n_{a}"] - c, 0) for a, c in CAPACITY.items())
    assert (logged["over_capacity"] == excess).all()
    assert excess.sum() > 0


def test_the_simulator_takes_the_actions_chosen(loop):
    """The engine's own action counts equal the closed loop's decisions, per path."""
    table, made = loop.table(), loop.decisions()
    for policy in table.index:
        chosen = made.loc[policy].sum() / loop.n_paths
        for action in ("sms", "call", "visit", "letter", "restructure", "legal"):
            assert table.loc[policy, f"n_{action}"] == pytest.approx(chosen[f"n_{action}"])


def test_rule_following_policies_break_no_rule(loop):
    table = loop.table()
    followers = table.loc[RULE_FOLLOWING]
    assert (followers[["rule_violations", "over_capacity", "blocked_actions"]] == 0).all().all()
    assert followers.drop(index="no_action")["contacts"].gt(0).all()
    # Letters are disabled in the strategy: each of the logged policy's letters breaks it.
    assert table.loc["logged", "n_letter"] > 0
    assert table.loc["logged", "rule_violations"] >= table.loc["logged", "n_letter"]


class _AlwaysCall:
    """A value model that wants to call everyone."""

    def predict(self, state):
        return pd.DataFrame({"none": 0.0, "call": 1e6, "sms": 0.0}, index=state.index)


@pytest.mark.parametrize(
    ("rules", "quiet_bits"),
    [
        ({"max_attempts_7d": 1}, 0b1111110),  # no call or visit on the 6 days before
        ({"cooldown_days": 3}, 0b110),  # no call or visit on the 2 days before
    ],
)
def test_rules_hold_in_the_simulators_own_record(truth, rules, quiet_bits):
    """Checked against the simulator's contact masks, not against the policy's own log."""
    strategy = Strategy().replace(
        rules={"counted_actions": ["call"], **rules}, actions={"visit": {"enabled": False}}
    )
    first = pd.Timestamp(START)
    policy = LoopPolicy(
        value_chooser(_AlwaysCall()),
        strategy=strategy,
        scenario=truth.scenario,
        capacity=strategy.capacities(10_000),
        n_paths=2,
        first=(first - pd.Timestamp("1970-01-01")).days,
    )
    calls = []

    def spy(ctx):
        codes = policy(ctx)
        called = codes == 2  # the simulator's code of a call
        assert not (ctx.voice_days[called] & quiet_bits).any()
        assert not (ctx.promise_date[called] >= ctx.day).any()  # a pending promise pauses
        assert not ctx.opted_out[called].any()
        calls.append(int(called.sum()))
        return codes

    result = simulate_policy(truth, first, 12, spy, n_paths=2, seed=3)
    assert sum(calls) > 20
    assert result.summary()["blocked_actions"] == 0


def test_no_action_is_the_simulators_no_action_run(truth, loop):
    row = loop.table().loc["no_action"]
    idle = simulate_policy(truth, START, 4, NoAction(), seed=9, n_paths=2).summary()
    assert row["contacts"] == row["cost"] == 0
    for column in ("recovered", "net", "cures", "delinquent_accounts"):
        assert row[column] == idle[column]
    assert (loop.by_day().xs("no_action", level="policy")["net_vs_none"] == 0).all()


def test_the_same_seed_gives_the_same_comparison(truth, loop):
    again = closed_loop_comparison(
        truth, START, strategy=STRATEGY, days=4, n_paths=2, seed=9, **CHEAP_ORACLE
    )
    pd.testing.assert_frame_equal(loop.table(), again.table())
    pd.testing.assert_frame_equal(loop.by_day(), again.by_day())
    pd.testing.assert_frame_equal(loop.one_step(), again.one_step())


class _ValuesNothing:
    """A value model that gives no action any value, or gives each exactly none's."""

    def __init__(self, same: bool):
        self.same = same

    def predict(self, state):
        out = pd.DataFrame({"none": np.arange(len(state), dtype=float)}, index=state.index)
        if self.same:  # every action worth what waiting is: never worth its cost
            for a in ("sms", "call", "visit", "restructure", "legal"):
                out[a] = out["none"]
        return out


@pytest.mark.parametrize("same", [False, True])
def test_a_model_that_values_nothing_recovers_as_no_action(truth, same):
    result = closed_loop_comparison(
        truth,
        START,
        strategy=STRATEGY,
        days=3,
        policies={"nothing": _ValuesNothing(same)},
        baselines=["no_action"],
    )
    table = result.table()
    assert table.loc["nothing", "contacts"] == 0
    columns = ["recovered", "cost", "net", "cures", "cured_by_end", "delinquent_accounts"]
    pd.testing.assert_series_equal(
        table.loc["nothing", columns], table.loc["no_action", columns], check_names=False
    )


class _RandomValues:
    """Random net values: one more feasible way to fill the capacities."""

    def __init__(self, seed: int):
        self.seed = seed

    def predict(self, state):
        rng = np.random.default_rng(self.seed)
        names = ("none", "sms", "call", "visit", "restructure", "legal")
        return pd.DataFrame(
            rng.normal(0, 50, (len(state), len(names))), index=state.index, columns=names
        )


def test_the_oracle_is_best_on_the_morning_it_optimises(truth):
    """On its first morning the oracle's choice maximises its own estimates within the
    capacities and rules: no policy within them can score more on those estimates. (Later
    days, the realised outcomes and noisy estimates carry no such guarantee.)"""
    result = closed_loop_comparison(
        truth,
        START,
        strategy=STRATEGY,
        days=1,
        n_paths=2,
        policies={f"random{k}": _RandomValues(k) for k in range(4)},
        baselines=["oracle", "arrears_rule", "highest_dpd", "highest_balance", "no_action"],
        **CHEAP_ORACLE,
    )
    step = result.one_step()
    assert (step["unvalued"] == 0).all()
    best = step.loc["oracle", "estimated_gain"]
    assert best > 0
    assert step.loc["no_action", "estimated_gain"] == 0
    assert (step["estimated_gain"] <= best + 1e-6 * abs(best)).all()
    assert step["treated"].gt(0).drop("no_action").all()


def test_scorer_feeds_expected_loss(truth):
    def scorer(state):
        return np.clip(state["dpd"].to_numpy() / 120, 0, 1)

    result = closed_loop_comparison(
        truth,
        START,
        strategy=STRATEGY,
        days=2,
        scorer=scorer,
        baselines=["expected_loss", "highest_dpd"],
    )
    table = result.table()
    assert table.loc["expected_loss", "contacts"] > 0
    assert table.loc["expected_loss", "rule_violations"] == 0

    def bad(state):
        return np.full(len(state), 2.0)

    with pytest.raises(OverdueRiskError, match=r"scorer must return one probability in \[0, 1\]"):
        closed_loop_comparison(
            truth, START, strategy=STRATEGY, days=1, scorer=bad, baselines=["expected_loss"]
        )


def test_by_day_ends_where_the_table_does(loop):
    last = loop.by_day().groupby(level="policy").tail(1).droplevel("date")
    table = loop.table()
    for column in ("recovered", "cost", "net", "contacts", "complaints"):
        assert last[column].to_numpy() == pytest.approx(table.loc[last.index, column].to_numpy())
    per_day = loop.by_day()["treated"].groupby(level="policy").sum()
    assert per_day.to_numpy() == pytest.approx(
        table.loc[
            per_day.index,
            [f"n_{a}" for a in ("sms", "call", "visit", "letter", "restructure", "legal")],
        ].sum(axis=1)
    )


def test_share_of_oracle_and_summary(loop):
    table = loop.table()
    none = table.loc["no_action", "net"]
    gain = table["net"] - none
    assert table["net_vs_none"].to_numpy() == pytest.approx(gain.to_numpy())
    assert table.loc["oracle", "share_of_oracle"] == 1
    assert table.loc["highest_dpd", "share_of_oracle"] == pytest.approx(
        gain["highest_dpd"] / gain["oracle"]
    )
    summary = loop.summary()
    assert list(summary["net"]) == sorted(summary["net"], reverse=True)
    assert summary.attrs["capacities"]["call"] == 3 and summary.attrs["days"] == 4
    assert loop.to_dict()["table"]["oracle"]["net"] == table.loc["oracle", "net"]


@pytest.fixture(scope="module")
def run_off(truth):
    """The loop's policies decide 4 days, then 6 days of run-off under the logged policy."""
    return closed_loop_comparison(
        truth,
        START,
        strategy=STRATEGY,
        days=4,
        n_paths=2,
        seed=9,
        baselines=["arrears_rule", "highest_dpd", "logged", "no_action"],
        run_off_days=6,
        **CHEAP_ORACLE,
    )


def test_a_run_off_leaves_the_decision_days_as_they_were(loop, run_off):
    # The same policies on the same draws decide the same first 4 days: the decisions,
    # the window's money and contacts are the run without run-off's.
    for policy in ("arrears_rule", "highest_dpd", "logged", "no_action"):
        pd.testing.assert_frame_equal(run_off.decisions().loc[policy], loop.decisions().loc[policy])
        mine, whole = run_off.table().loc[policy], loop.table().loc[policy]
        assert mine["net_in_window"] == pytest.approx(whole["net"], abs=1e-6)
        for column in ("contacts", "complaints", "harsh_actions", "n_sms", "n_call", "n_visit"):
            assert mine[column] == whole[column], (policy, column)
        assert mine["recovered"] >= whole["recovered"]
    assert "net_in_window" not in loop.table().columns


def test_the_run_off_is_the_continuation_policys_run(truth, run_off):
    # No action, then the logged policy; and the logged policy throughout: both are the
    # simulator's own runs of 10 days.
    logged = simulate_policy(truth, START, 10, LoggedPolicy(truth.scenario), seed=9, n_paths=2)
    row = run_off.table().loc["logged"]
    for column in ("recovered", "cost", "net", "cures"):
        assert row[column] == pytest.approx(logged.summary()[column], rel=1e-12), column
    idle = closed_loop_comparison(
        truth,
        START,
        strategy=STRATEGY,
        days=4,
        n_paths=2,
        seed=9,
        baselines=["no_action"],
        run_off_days=6,
        run_off_then="none",
    )
    quiet = simulate_policy(truth, START, 10, NoAction(), seed=9, n_paths=2).summary()
    row = idle.table().loc["no_action"]
    for column in ("recovered", "net", "cures", "delinquent_accounts"):
        assert row[column] == quiet[column], column
    # The by-day totals run to the run-off's end; the decisions stop with the policy's days.
    days = run_off.by_day().xs("logged", level="policy").index
    assert len(days) == 10 and days[-1] == pd.Timestamp(START) + pd.Timedelta(days=9)
    assert run_off.decisions().index.get_level_values("date").nunique() == 4


def test_plot_draws_one_line_per_policy(loop):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert loop.plot(ax=ax) is ax
    assert len(ax.get_lines()) == len(loop.table())


ONLY_WAIT = Strategy().replace(
    actions={a: {"enabled": False} for a in ("sms", "call", "visit", "restructure", "legal")}
)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days": 0}, "days must be an integer in"),
        ({"days": 2.5}, "days must be an integer in"),
        ({"n_paths": 0}, "n_paths must be an integer in"),
        ({"oracle_paths": 0}, "oracle_paths must be an integer in"),
        ({"policies": {"mine": 3}}, r"policies\['mine'\] must be a value model"),
        ({"policies": ["mine"]}, "policies must be a mapping"),
        ({"strategy": ONLY_WAIT}, "enables no action but wait"),
        ({"baselines": ["oracel"]}, "did you mean oracle"),
        ({"baselines": ["expected_loss"]}, "expected_loss baseline needs a risk score"),
        ({"policies": {"logged": NoAction()}}, r"policies and baselines both name \['logged'\]"),
        ({"baselines": []}, "Nothing to compare"),
        ({"scorer": "dpd"}, "scorer must be a callable"),
        ({"oracle_then": "champion"}, "oracle_then must be one of logged, none"),
        ({"run_off_days": -1}, "run_off_days must be an integer in"),
        ({"run_off_then": "champion"}, "run_off_then must be one of logged, none"),
    ],
)
def test_bad_arguments(truth, kwargs, match):
    given = {"strategy": STRATEGY, "days": 1, **kwargs}
    with pytest.raises(OverdueRiskError, match=match):
        closed_loop_comparison(truth, START, **given)


def test_truth_must_be_a_simulation_truth():
    with pytest.raises(OverdueRiskError, match="truth must be a SimulationTruth"):
        closed_loop_comparison(None, START, strategy=STRATEGY)


def test_a_model_reading_risk_score_needs_a_scorer(truth):
    with pytest.raises(OverdueRiskError, match=r"policies\['fallback'\] reads risk_score"):
        closed_loop_comparison(
            truth, START, strategy=STRATEGY, days=1, policies={"fallback": RiskBasedValue()}
        )


def test_baselines_are_named():
    assert BASELINES[0] == "oracle" and "no_action" in BASELINES


@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")
def test_daily_state_reads_what_the_ledger_reads():
    """On the first morning the closed loop's state agrees with account_state on the
    simulated portfolio's own log where the simulator records the facts, and errs on the
    side of the rules where it does not (see policy_eval/_daily.py)."""
    portfolio, truth = odr.simulate_portfolio(1500, "2023-07-01", "2024-05-31", seed=5)
    portfolio = odr.validate(portfolio)
    strategy = Strategy.profile("us_reg_f")
    start = pd.Timestamp("2024-05-01")
    seen = {}

    def spy(ctx):
        if not seen:
            log = RunLog(ctx.day)
            seen["state"] = daily_state(
                ctx, strategy, log, truth.scenario.collections.max_restructures
            )
            seen["ids"] = ctx.loan_id
        return None

    simulate_policy(truth, start, 1, spy)
    ours = seen["state"].set_axis(pd.Index(seen["ids"], name="loan_id"))
    theirs = account_state(strategy, cut_portfolio(portfolio, start - pd.Timedelta(days=1)), start)
    common = ours.index.intersection(theirs.index)
    inst = common[(theirs.loc[common, "product_type"] == "instalment").to_numpy()]
    assert len(inst) > 50
    o, t = ours.loc[inst], theirs.loc[inst]

    def num(frame, column):
        return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)

    # Contacts of every channel in the last 7 days: the simulator's contact mask is exact.
    for column in ("dpd", "days_to_promise", "legal_started", "attempts_today", "contacts_7d"):
        np.testing.assert_array_equal(num(o, column), num(t, column), err_msg=column)
    assert list(ours.columns[: len(theirs.columns)]) == list(theirs.columns)
    # Calls in the last 7 days: the masks count visits as calls, never fewer.
    assert (num(o, "attempts_7d") >= num(t, "attempts_7d")).all()
    # Every call taken as a conversation: the cool-down starts no later.
    both = ~np.isnan(num(o, "days_since_conversation")) & ~np.isnan(
        num(t, "days_since_conversation")
    )
    assert both.sum() > 20
    assert (
        num(o, "days_since_conversation")[both] <= num(t, "days_since_conversation")[both]
    ).all()
    # Failed contacts: only those the masks still hold, never more.
    assert (num(o, "failed_contacts") <= num(t, "failed_contacts")).all()
    # Offers: only restructurings that were accepted are known, never a later one.
    known = ~np.isnan(num(o, "days_since_restructure_offer"))
    assert (
        num(o, "days_since_restructure_offer")[known]
        >= num(t, "days_since_restructure_offer")[known]
    ).all()


@given(
    contacts=st.sets(st.integers(0, 40), max_size=12),
    last=st.integers(0, 40),
    later=st.integers(0, 25),
)
def test_contact_masks_are_aligned_to_the_morning(contacts, last, later):
    """The engine keeps bit i for day ``cmask_day - i``; the context must show bit k for
    k days before the morning, for k = 1 .. 15, and nothing older."""
    days = {d for d in contacts if d <= last}  # contacts on or before the mask's day
    bits = sum(1 << (last - d) for d in days if last - d < 16)
    morning = last + 1 + later
    mask = int(PolicyContext._recent_days(np.array([bits]), np.array([last]), morning)[0])
    expected = sum(1 << (morning - d) for d in days if 1 <= morning - d <= 15)
    assert mask == expected


@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.lists(st.integers(0, 30), unique=True, max_size=6)),
        max_size=15,
    )
)
def test_the_run_log_gives_back_what_was_recorded(entries):
    log = RunLog(100)
    expected = {}
    for k, accounts in sorted(entries, key=lambda e: e[0]):
        codes = np.arange(1, len(accounts) + 1, dtype=np.int8)
        log.record(100 + k, np.asarray(accounts, np.int64), codes)
        expected.update({(k, a): int(c) for a, c in zip(accounts, codes, strict=True)})
    accounts = np.arange(35)
    history = log.history(110, accounts)
    assert history.shape == (10, 35)
    for k in range(10):
        for a in accounts:
            assert history[k, a] == expected.get((k, int(a)), 0)
