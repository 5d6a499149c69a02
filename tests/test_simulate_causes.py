"""The cause-driven world: hidden causes of delinquency, their responses, and the truth.

The default scenario is pinned byte for byte; the ``cause_driven`` preset is
checked for what it hides, what it records, how it is drawn, how its settings
are validated, and whether the truth's action values point where each cause
says they should.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import overdue_risk as odr
from helpers import ROOT
from overdue_risk import Scenario, ScenarioError
from overdue_risk.simulate._population import build_population
from overdue_risk.simulate._sections import CauseResponse

CAUSES = ("forgetful", "confused", "hardship", "strategic")
PRESET = Scenario.preset("cause_driven")
# Prepayments and card closures pay off whole balances at random: in a small book
# their lump sums are most of the Monte Carlo noise of a 30-day value, and no
# collection action causes them.
QUIET = {
    "pos": {"prepay_monthly": 0.0},
    "cash": {"prepay_monthly": 0.0},
    "card": {"closure_monthly": 0.0},
}


def only(cause: str, **sections) -> Scenario:
    """The preset with every customer of one cause, and no prepayments."""
    causes = {f"share_{c}": float(c == cause) for c in CAUSES} | sections.pop("causes", {})
    return PRESET.replace(causes=causes, products=QUIET, **sections)


def digest(tables: dict[str, pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_csv(index=False, lineterminator="\n").encode())
    return h.hexdigest()


# -- the default world is untouched -------------------------------------------------------


def test_the_default_scenario_simulates_exactly_as_before():
    """A regression pin: the digest was computed before the cause model existed."""
    portfolio, truth = odr.simulate_portfolio(400, "2023-01-01", "2023-09-30", seed=5)
    tables = {f"portfolio/{k}": v for k, v in portfolio.tables().items()}
    tables.update({f"truth/{k}": v for k, v in truth.tables().items()})
    tables["truth/action_response"] = truth.action_response("2023-07-31", n_paths=4).reset_index()
    tables["truth/pd"] = truth.pd_dpd30_90d("2023-06-30", n_paths=4).reset_index()
    assert "cause" not in truth.customers().columns
    assert digest(tables) == "01b943cd03edac0e30f85375fce8c5b5304b44cf9c5432ed5ff509deeac19311"


# -- the preset and its settings ----------------------------------------------------------


def test_the_preset_switches_causes_on_and_changes_only_what_it_says():
    assert "cause_driven" in Scenario.presets()
    assert PRESET.causes.enabled and not Scenario().causes.enabled
    changed = set(PRESET.summary().query("source == 'user'")["key"])
    assert changed == {
        "behaviour.on_time_share",
        "behaviour.partial_share",
        "collections.sms_every",
        "collections.call_from",
        "collections.call_every",
        "collections.visit_every",
        "economy.hardship_mean_days",
        "causes.enabled",
    }


def test_the_preset_round_trips_through_toml(tmp_path):
    path = tmp_path / "cause_driven.toml"
    path.write_text(PRESET.to_toml())
    assert Scenario.from_toml(path) == PRESET


def test_a_preset_is_named_wherever_a_scenario_is_taken(tmp_path, capsys):
    assert Scenario.load("cause_driven") == PRESET
    assert Scenario.load(None) == Scenario() and Scenario.load(PRESET) is PRESET
    path = tmp_path / "cause_driven"  # a file, not the preset: a path is always a file
    path.write_text(Scenario().to_toml())
    assert Scenario.load(path) == Scenario()
    with pytest.raises(ScenarioError, match="a preset's name or a TOML file; got int"):
        Scenario.load(3)
    # The simulator and the command line take the name.
    _, truth = odr.simulate_portfolio(
        300, "2023-01-01", "2023-06-30", seed=3, scenario="cause_driven"
    )
    assert truth.scenario == PRESET and "cause" in truth.customers().columns
    from overdue_risk.cli import main

    out = tmp_path / "book"
    argv = ["simulate", "--loans", "200", "--seed", "3", "--start", "2023-01-01"]
    argv += ["--end", "2023-06-30", "--out", str(out), "--scenario", "cause_driven"]
    assert main(argv) == 0, capsys.readouterr().err
    assert (out / "truth").is_dir()


def test_an_unknown_preset_names_the_nearest():
    with pytest.raises(ScenarioError, match=r"preset 'cause_drivn'; did you mean cause_driven\?"):
        Scenario.preset("cause_drivn")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"share_forgetful": 0.5}, "scenario.causes shares must sum to 1; got 1.1."),
        (
            {"hardship": {"cure_call": 1.5}},
            r"scenario.causes.hardship.cure_call must be a number in \[0, 1\]; got 1.5.",
        ),
        (
            {"card_factor": 1000},
            r"scenario.causes.card_factor must be a number in \[0, 100\]; got 1000.",
        ),
        ({"enabled": 1}, "scenario.causes.enabled must be true or false; got 1."),
        ({"cure_days": 0}, r"scenario.causes.cure_days must be an integer in \[1, 60\]; got 0."),
        ({"hardship": {"cure_cal": 0.1}}, "hardship.cure_cal; did you mean cure_call?"),
    ],
)
def test_cause_settings_are_validated(data, message):
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict({"causes": data})


@given(
    cause=st.sampled_from(CAUSES),
    key=st.sampled_from([f.name for f in dataclasses.fields(CauseResponse)]),
    value=st.floats(0.0, 1.0),
)
def test_any_valid_cause_response_round_trips(tmp_path_factory, cause, key, value):
    s = PRESET.replace(causes={cause: {key: value}})
    path = tmp_path_factory.mktemp("s") / "s.toml"
    path.write_text(s.to_toml())
    back = Scenario.from_toml(path)
    assert back == s
    assert getattr(getattr(back.causes, cause), key) == value


# -- causes: drawn from the seed, recorded in the truth, hidden from the tables ------------


DATES = ["2023-12-31", "2024-03-31", "2024-06-30"]


@pytest.fixture(scope="module")
def world():
    return odr.simulate_portfolio(
        2500, "2023-01-01", DATES[-1], seed=3, scenario=PRESET, snapshots=DATES
    )


def test_causes_are_in_the_truth_and_nowhere_in_the_tables(world):
    portfolio, truth = world
    for name, df in portfolio.tables().items():
        assert not [c for c in df.columns if "cause" in c.lower()], name
        for c, values in df.select_dtypes(exclude=["number", "datetime", "bool"]).items():
            assert not set(values.dropna().astype(str)) & set(CAUSES), (name, c)
    cause = truth.customers()["cause"]
    assert list(cause.cat.categories) == list(CAUSES)
    assert set(cause) == set(CAUSES)
    assert set(cause.index) == set(portfolio.customers["customer_id"])
    # Every loan carries its customer's cause.
    hidden = truth.hidden_state(DATES[0])
    owner = portfolio.loans.set_index("loan_id")["customer_id"]
    expected = cause.reindex(owner.reindex(hidden.index)).to_numpy()
    assert (hidden["cause"].astype(str).to_numpy() == expected.astype(str)).all()


def test_the_same_seed_draws_the_same_world():
    def run(seed):
        return odr.simulate_portfolio(400, "2023-01-01", "2023-08-31", seed=seed, scenario=PRESET)

    (portfolio, truth), (again, truth2), (_, other) = run(3), run(3), run(4)
    pd.testing.assert_series_equal(truth.customers()["cause"], truth2.customers()["cause"])
    for name, df in portfolio.tables().items():
        pd.testing.assert_frame_equal(df, getattr(again, name), check_exact=True)
    assert not truth.customers()["cause"].equals(other.customers()["cause"])


def test_the_cause_draw_leaves_every_other_draw_alone():
    """Causes come from their own generator: the rest of the population is the same
    with and without them, but for the hardship customers' shock rate."""
    start, end = 19358, 19722  # 2023-01-01, 2023-12-31
    off = build_population(3000, start, end, 9, Scenario())
    on = build_population(3000, start, end, 9, PRESET.replace(behaviour=Scenario().behaviour))
    assert off.cause is None
    for f in dataclasses.fields(off):
        if f.name in ("cause", "shock_mult", "economy"):
            continue
        a, b = getattr(off, f.name), getattr(on, f.name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name
    factor = np.where(on.cause == CAUSES.index("hardship"), PRESET.causes.hardship_shocks, 1.0)
    np.testing.assert_allclose(on.shock_mult, off.shock_mult * factor, rtol=1e-6)


def test_causes_follow_the_mixture_weights_and_tilts():
    shares = {"share_forgetful": 0.1, "share_confused": 0.2, "share_hardship": 0.3}
    flat = PRESET.replace(
        causes={**shares, "share_strategic": 0.4, "balance_tilt": 0.0, "trait_tilt": 0.0}
    )
    pop = build_population(30_000, 19358, 19722, 1, flat)
    got = np.bincount(pop.cause, minlength=4) / pop.n_customers
    want = np.array([0.1, 0.2, 0.3, 0.4])
    se = np.sqrt(want * (1 - want) / pop.n_customers)
    assert (np.abs(got - want) < 4 * se).all(), got
    # The tilts: strategic customers hold the larger loans; hardship ones have less capacity.
    pop = build_population(30_000, 19358, 19722, 1, PRESET)
    largest = np.zeros(pop.n_customers)
    np.maximum.at(largest, pop.cust, pop.principal)
    strategic = pop.cause == CAUSES.index("strategic")
    hardship = pop.cause == CAUSES.index("hardship")
    assert np.median(largest[strategic]) > 1.3 * np.median(largest[~strategic])
    assert pop.capacity[hardship].mean() < pop.capacity[~hardship].mean() - 0.1


# -- what each cause shows in the tables ----------------------------------------------------


def test_each_cause_leaves_its_mark_on_behaviour(world):
    """Forgetful arrears are short; confused ones young and partly paid; strategic
    ones on large loans, silent, and full of promises (which they break)."""
    portfolio, truth = world
    loans = portfolio.loans.set_index("loan_id")
    pay = portfolio.payments
    promises = portfolio.collections.query("outcome == 'promise'").groupby("loan_id").size()
    rows = []
    for as_of in DATES:
        day = pd.Timestamp(as_of)
        hidden = truth.hidden_state(as_of).query("dpd > 0")
        last = pay[pay["payment_date"] <= day].groupby("loan_id")["payment_date"].max()
        rows.append(
            pd.DataFrame(
                {
                    "cause": hidden["cause"].astype(str),
                    "dpd": hidden["dpd"],
                    "overdue": hidden["overdue_amount"],
                    "principal": loans.loc[hidden.index, "principal"],
                    "age_days": (day - loans.loc[hidden.index, "start_date"]).dt.days,
                    "paid_30d": (day - last.reindex(hidden.index)).dt.days <= 30,
                    "promises": promises.reindex(hidden.index, fill_value=0),
                }
            )
        )
    by = (
        pd.concat(rows)
        .groupby("cause")
        .agg(
            n=("dpd", "size"),
            dpd=("dpd", "median"),
            overdue=("overdue", "mean"),
            principal=("principal", "median"),
            age=("age_days", "median"),
            paid_30d=("paid_30d", "mean"),
            promises=("promises", "mean"),
        )
    )
    assert (by["n"] >= 10).all(), by
    assert by.loc["forgetful", "dpd"] <= 10 < by.loc["strategic", "dpd"]
    assert by.loc["confused", "age"] < by.loc[["hardship", "strategic"], "age"].min()
    assert by.loc["confused", "paid_30d"] > 1.5 * by.loc["forgetful", "paid_30d"]
    small = ["forgetful", "confused"]
    assert by.loc["strategic", "principal"] > 1.4 * by.loc[small, "principal"].max()
    assert by.loc["strategic", "overdue"] > by.loc[small, "overdue"].max()
    assert by.loc["strategic", "paid_30d"] < 0.15
    assert by.loc["strategic", "promises"] > 2 * by.loc["forgetful", "promises"]


# -- the truth follows each cause's responses ---------------------------------------------


def _net(truth, dates, n_paths=40) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(accounts x actions) net value over 30 days and eligibility; each account's
    overdue amount and DPD."""
    frames = []
    for as_of in dates:
        r = truth.action_response(as_of, n_paths=n_paths).reset_index()
        overdue = truth.hidden_state(as_of)["overdue_amount"]
        r["overdue"] = overdue.reindex(r["loan_id"]).to_numpy()
        r["account"] = as_of + "/" + r["loan_id"]
        frames.append(r)
    r = pd.concat(frames, ignore_index=True)
    r["net"] = r["expected_amount"] - r["cost"]
    net = r.pivot_table(index="account", columns="action", values="net", observed=True)
    eligible = r.pivot_table(index="account", columns="action", values="eligible", observed=True)
    return net, eligible.astype(bool), r.groupby("account")[["overdue", "dpd"]].first()


def _clearly_positive(x: pd.Series) -> bool:
    """The mean over accounts is positive by more than two standard errors."""
    return len(x) >= 10 and x.mean() > 2 * x.std(ddof=1) / np.sqrt(len(x))


def test_forgetful_customers_need_a_reminder_and_no_more():
    """SMS beats no action by more than a call adds over the SMS: a reminder is
    enough, and a call costs 30 times as much while reaching fewer customers."""
    dates = ["2023-07-31", "2023-08-31", "2023-09-30", "2023-10-31", "2023-11-30", "2023-12-31"]
    _, truth = odr.simulate_portfolio(
        1500, "2023-01-01", dates[-1], seed=0, scenario=only("forgetful"), snapshots=dates
    )
    net, _, _ = _net(truth, dates)
    sms_gain, call_extra = net["sms"] - net["none"], net["call"] - net["sms"]
    assert sms_gain.mean() > 0
    assert sms_gain.mean() > call_extra.mean()
    assert (sms_gain - call_extra).median() > 0  # for the typical account too
    assert (net["visit"] < net["sms"]).mean() > 0.9


def test_confused_customers_need_a_call_that_explains():
    dates = ["2023-06-30", "2023-09-30", "2023-12-31"]
    _, truth = odr.simulate_portfolio(
        1500, "2023-01-01", dates[-1], seed=0, scenario=only("confused"), snapshots=dates
    )
    net, _, _ = _net(truth, dates)
    call_gain, sms_gain = net["call"] - net["none"], net["sms"] - net["none"]
    assert _clearly_positive(net["call"] - net["sms"])
    assert call_gain.mean() > 3 * max(sms_gain.mean(), 0.5)


def test_hardship_customers_pay_under_a_plan_not_under_pressure():
    """Restructuring beats a call and a visit (which act as no action where the
    customer opted out of them) on arrears past any habitual late payment (at most
    ``late_days_max`` + ``habit_jitter_days`` = 7 days); legal action is worst of all."""
    dates = ["2023-09-30", "2023-12-31"]
    _, truth = odr.simulate_portfolio(
        600, "2023-01-01", dates[-1], seed=0, scenario=only("hardship"), snapshots=dates
    )
    net, eligible, account = _net(truth, dates)
    offer = eligible["restructure"] & (account["dpd"] >= 10)
    assert _clearly_positive((net["restructure"] - net["call"])[offer])
    assert _clearly_positive((net["restructure"] - net["visit"])[offer])
    assert (net["legal"] - net["none"])[eligible["legal"]].mean() < -50


def test_strategic_customers_with_large_arrears_move_only_under_legal_action():
    """A legal action cures 60% of them and costs 150: with 300 or more overdue it
    beats every contact, which cures at most 2%."""
    dates = ["2023-09-30", "2023-12-31"]
    _, truth = odr.simulate_portfolio(
        1200, "2023-01-01", dates[-1], seed=0, scenario=only("strategic"), snapshots=dates
    )
    net, eligible, account = _net(truth, dates)
    large = eligible["legal"] & (account["overdue"] >= 300)
    for contact in ("sms", "letter", "call", "visit"):
        assert _clearly_positive((net["legal"] - net[contact])[large]), contact
    # Contacts barely move them: no contact gains more than 5 on average.
    contacts = net[["sms", "letter", "call", "visit"]].sub(net["none"], axis=0)
    assert (contacts.mean() < 5).all()


# -- the truth reads each setting: certain responses give certain outcomes ---------------


# A logged policy that never acts within the year: arrears pile up for the truth to act on.
IDLE = {
    "sms_from": 365,
    "call_from": 365,
    "letter_days": [365],
    "visit_from": 365,
    "restructure_at": 365,
    "legal_from": 365,
    "challenger_share": 0.0,
}


def _certain(**cause) -> Scenario:
    """The preset where the logged policy is idle, every contact reaches and every cause
    responds as ``cause`` says."""
    return PRESET.replace(
        collections=IDLE,
        actions={
            "sms": {"contact_rate": 1.0},
            "call": {"contact_rate": 1.0},
            "restructure": {"contact_rate": 1.0},
            "fatigue": 1.0,
            "complaint_rate": 0.0,  # no complaints from over-contact: only the cause's
        },
        causes={c: cause for c in CAUSES},
    )


def test_certain_cures_and_plans_pay_within_the_window():
    scenario = _certain(
        cure_sms=1.0, cure_call=1.0, cure_legal=1.0, accept=1.0, down_payment=1.0, complaint=0.0
    )
    portfolio, truth = odr.simulate_portfolio(
        500, "2023-01-01", "2023-10-31", seed=2, scenario=scenario
    )
    r = truth.action_response("2023-10-31", n_paths=3)
    overdue = truth.hidden_state("2023-10-31")["overdue_amount"]
    # Instalment loans: a card's arrears can outgrow its balance, and a card paid down to
    # a zero balance can pay nothing more.
    kind = portfolio.loans.set_index("loan_id")["product_type"]
    overdue = overdue[(overdue > 0) & kind.reindex(overdue.index).eq("instalment").to_numpy()]
    assert len(overdue) >= 20
    for action in ("sms", "call", "legal", "restructure"):
        x = r.xs(action, level="action").reindex(overdue.index)
        x = x[x["eligible"]]
        assert len(x) >= 10 and (x["p_pay"] == 1.0).all(), action
    # A call that cures is a payment of everything overdue on the spot.
    call = r.xs("call", level="action").reindex(overdue.index).query("eligible")
    assert (call["expected_amount"] >= call.index.map(overdue) - 0.005).all()


@pytest.mark.parametrize("complaint", [0.0, 1.0])
def test_a_call_costs_its_price_and_any_complaint_it_brings(complaint):
    """With the logged policy idle, a call is the only cost of the month: its own, plus
    the price of a complaint when the customer's cause always complains."""
    scenario = _certain(complaint=complaint)
    _, truth = odr.simulate_portfolio(500, "2023-01-01", "2023-10-31", seed=2, scenario=scenario)
    call = truth.action_response("2023-10-31", actions=["call"], n_paths=3).xs(
        "call", level="action"
    )
    call = call[call["eligible"]]
    price = PRESET.actions.call.cost + complaint * PRESET.actions.complaint_cost
    assert len(call) >= 20
    np.testing.assert_allclose(call["cost"], price, rtol=0, atol=1e-9)


# -- the documentation ----------------------------------------------------------------------


def test_the_documented_cause_table_is_the_scenario():
    text = (ROOT / "docs" / "simulator.md").read_text()
    rows = re.findall(
        r"^\| `(cure_\w+|complaint|accept|down_payment|miss\w*|hazard\w*|"
        r"partial|catch_up|promise|keep)` \|(.+)\|$",
        text,
        re.M,
    )
    documented = {key: [float(v) for v in values.split("|")] for key, values in rows}
    fields = [f.name for f in dataclasses.fields(CauseResponse)]
    assert sorted(documented) == sorted(fields)
    for key, values in documented.items():
        assert values == [getattr(getattr(PRESET.causes, c), key) for c in CAUSES], key
