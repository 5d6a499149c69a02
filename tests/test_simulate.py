"""The portfolio simulator: determinism, the data contract, the truth and forward runs."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import overdue_risk as odr
from overdue_risk import DataQualityWarning, Ledger, Portfolio, Scenario, ScenarioError
from overdue_risk.cli import main
from overdue_risk.simulate import ActionEffects, LoggedPolicy, NoAction, simulate_policy
from overdue_risk.simulate._labels import dpd30_labels

START, END = "2023-01-01", "2023-12-31"
SEED = 11
HIDDEN = ("capacity", "willingness", "habit", "response", "hardship", "shock", "reason", "cause")
COLUMNS = {
    "loans": [
        "loan_id",
        "customer_id",
        "product_type",
        "start_date",
        "principal",
        "term_months",
        "annual_rate",
        "product",
        "region",
        "channel",
        "closed_date",
        "application_score",
        "restructured_from",
    ],
    "installments": ["loan_id", "installment_no", "due_date", "amount_due", "principal_due"],
    "payments": ["loan_id", "payment_date", "amount"],
    "statements": [
        "loan_id",
        "statement_date",
        "balance",
        "credit_limit",
        "min_due",
        "amount_paid",
        "dpd",
    ],
    "collections": [
        "loan_id",
        "action_date",
        "action",
        "outcome",
        "promise_date",
        "promise_amount",
        "cost",
        "propensity",
        "holdout",
    ],
    "customers": ["customer_id", "birth_year", "income_band", "employment", "tenure_months"],
}


@pytest.fixture(scope="module")
def sim():
    return odr.simulate_portfolio(1500, START, END, seed=SEED)


def _bytes(portfolio: Portfolio) -> dict[str, bytes]:
    out = {}
    for name, df in portfolio.tables().items():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        out[name] = buf.getvalue()
    return out


# -- determinism and the data contract ---------------------------------------------------


def test_same_seed_gives_the_same_bytes():
    a, _ = odr.simulate_portfolio(300, START, "2023-08-31", seed=5)
    b, _ = odr.simulate_portfolio(300, START, "2023-08-31", seed=5)
    for name, df in a.tables().items():
        pd.testing.assert_frame_equal(df, getattr(b, name), check_exact=True)
    assert _bytes(a) == _bytes(b)


def test_another_seed_gives_another_portfolio():
    a, _ = odr.simulate_portfolio(300, START, "2023-08-31", seed=5)
    b, _ = odr.simulate_portfolio(300, START, "2023-08-31", seed=6)
    assert not a.loans["principal"].equals(b.loans["principal"])
    assert not a.payments.equals(b.payments)


def test_tables_validate_without_warnings(sim):
    portfolio, _ = sim
    assert portfolio.validated
    raw = {name: df.copy() for name, df in portfolio.tables().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        again = odr.validate(Portfolio(**raw))
    assert set(again.tables()) == {
        "loans",
        "installments",
        "payments",
        "statements",
        "collections",
        "customers",
    }


def test_tables_have_the_expected_shape(sim):
    portfolio, _ = sim
    loans = portfolio.loans
    assert loans["loan_id"].str.match(r"^L\d{7}(-R\d+)?$").all()
    assert set(loans["product"].dropna()) == {"pos", "cash", "card"}
    original = loans["restructured_from"].isna()
    card = loans["product"] == "card"
    assert (card == (loans["product_type"] == "revolving"))[original].all()
    assert (loans.loc[~original, "product_type"] == "instalment").all()
    # Several loans for some customers.
    assert loans["customer_id"].value_counts().max() >= 2
    # Restructured loans point to the loan they replace, which closed that day.
    new = loans[loans["restructured_from"].notna()]
    assert len(new) > 0
    old = loans.set_index("loan_id").loc[new["restructured_from"]]
    assert (old["closed_date"].to_numpy() == new["start_date"].to_numpy()).all()
    pay = portfolio.payments
    assert (pay["amount"] > 0).all()
    assert not pay.duplicated(["loan_id", "payment_date"]).any()  # same-day payments merged
    col = portfolio.collections
    assert col["propensity"].between(0, 1, inclusive="right").all()
    assert col["holdout"].any() and (~col["holdout"]).any()
    assert (col.loc[~col["holdout"].astype(bool), "propensity"] == 1).all()
    assert {"sms", "call", "visit", "letter", "restructure", "legal"} <= set(col["action"])
    assert {"promise", "no_contact", "contacted"} <= set(col["outcome"])
    promised = col["outcome"] == "promise"
    assert col.loc[promised, "promise_date"].notna().all()
    assert (col.loc[promised, "promise_date"] > col.loc[promised, "action_date"]).all()


def test_hidden_state_is_not_in_the_tables(sim):
    portfolio, truth = sim
    assert {name: list(df.columns) for name, df in portfolio.tables().items()} == COLUMNS
    for name, df in portfolio.tables().items():
        for column in df.columns:
            assert not any(h in column.lower() for h in HIDDEN), (name, column)
    hidden = truth.customers()
    assert {"capacity", "willingness", "habit", "response_type"} <= set(hidden.columns)
    assert set(hidden.index) == set(portfolio.customers["customer_id"])


def test_engine_dpd_agrees_with_the_ledger(sim):
    portfolio, truth = sim
    for as_of in ("2023-06-30", "2023-10-15", END):
        hidden = truth.hidden_state(as_of)
        ledger = Ledger(portfolio).at(as_of).table().droplevel("as_of")
        ledger = ledger.loc[hidden.index]
        assert (hidden["ledger_dpd"].to_numpy() == ledger["dpd"].to_numpy()).all()
        inst = ledger["source"] == "schedule"
        assert (hidden.loc[inst, "dpd"] == hidden.loc[inst, "ledger_dpd"]).all()


# -- scenario ----------------------------------------------------------------------------


def test_scenario_toml_round_trip(tmp_path):
    s = Scenario().replace(
        economy={"downturn_start": "2024-03-01", "downturn_end": "2024-12-31"},
        actions={"call": {"cost": 2.5}, "fatigue": 0.5},
        collections={"letter_days": [20, 50]},
    )
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml())
    assert Scenario.from_toml(path) == s
    summary = s.summary().set_index("key")
    assert summary.loc["actions.call.cost", "source"] == "user"
    assert summary.loc["actions.call.contact_rate", "source"] == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[economy]\ndownturn_strt = 2024-03-01\n",
            "Unknown key scenario.economy.downturn_strt; did you mean downturn_start?",
        ),
        ("[econmy]\nshock_rate = 0.1\n", "scenario.econmy; did you mean economy?"),
        ("[actions.cal]\ncost = 1\n", "scenario.actions.cal; did you mean call?"),
        (
            '[economy]\ndownturn_start = "x"\ndownturn_end = 2024-12-31\n',
            "scenario.economy.downturn_start must be None or a date (YYYY-MM-DD); got 'x'.",
        ),
        (
            "[behaviour]\nmiss_capacity = -1\n",
            "scenario.behaviour.miss_capacity must be a number >= 0; got -1.",
        ),
        ("[products]\npos_share = 0.9\n", "scenario.products shares must sum to 1"),
        ("[economy]\ndownturn_start = 2024-03-01\n", "must be given together"),
        ("[collections]\ncall_from = 2.5\n", "scenario.collections.call_from must be an integer"),
        (
            "[economy]\nregion_shares = [0.5, 1.5]\n",
            "scenario.economy.region_shares must be a non-empty list of numbers in [0, 1]; "
            "got [0.5, 1.5].",
        ),
        ('[economy]\nregions = ["a", "a"]\n', "must be a non-empty list of distinct names"),
        ("[actions]\nsms = 5\n", "scenario.actions.sms must be a table of keys; got 5."),
        ("not toml = = 1", "is not valid TOML"),
    ],
)
def test_scenario_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        Scenario.from_toml(path)


def test_scenario_file_errors(tmp_path):
    with pytest.raises(ScenarioError, match=r"Cannot read scenario file .*missing\.toml"):
        Scenario.from_toml(tmp_path / "missing.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[economy]\nregions = ["caf\xe9"]\n')
    with pytest.raises(ScenarioError, match=r"Scenario file .* is not UTF-8 text: byte 0xe9"):
        Scenario.from_toml(path)


def test_old_section_name_warns():
    with pytest.warns(DeprecationWarning, match="use ActionEffects"):
        assert odr.simulate.Actions is ActionEffects
    assert isinstance(Scenario().actions, ActionEffects)


def test_scenario_error_is_an_overdue_risk_error():
    with pytest.raises(odr.OverdueRiskError, match=r"scenario\.economy\.shock_rate must be"):
        Scenario().replace(economy={"shock_rate": "high"})
    with pytest.raises(ScenarioError, match=r"Unknown key scenario\.economics"):
        Scenario().replace(economics={})


# -- truth -------------------------------------------------------------------------------


def test_true_probabilities_come_with_their_error(sim):
    _, truth = sim
    p = truth.pd_dpd30_90d(["2023-05-31", "2023-08-31"], n_paths=64)
    assert p.index.names == ["loan_id", "as_of"]
    assert p["p_dpd30_90d"].between(0, 1).all()
    expected = np.sqrt(p["p_dpd30_90d"] * (1 - p["p_dpd30_90d"]) / 64)
    np.testing.assert_allclose(p["se"], expected)
    assert (p["se"] <= 0.5 / np.sqrt(64) + 1e-12).all()
    # Accounts already 30+ DPD almost surely stay there; current ones mostly do not.
    assert p.loc[p["dpd"] >= 60, "p_dpd30_90d"].mean() > 0.9
    assert p.loc[p["dpd"] == 0, "p_dpd30_90d"].mean() < 0.2


def test_truth_agrees_with_realised_labels(sim):
    portfolio, truth = sim
    dates = ["2023-05-31", "2023-06-30", "2023-07-31", "2023-08-31"]
    labels = dpd30_labels(portfolio, dates)
    p = truth.pd_dpd30_90d(dates, n_paths=64)
    joined = p.join(labels.rename("label"), how="inner")
    assert len(joined) == len(p)  # every open loan has a realised label
    # Calibrated: the mean true probability matches the realised rate.
    assert abs(joined["p_dpd30_90d"].mean() - joined["label"].mean()) < 0.03
    auc = truth.oracle_auc(labels, n_paths=64)
    assert 0.85 < auc < 1.0


def test_truth_for_some_loans_equals_the_same_loans_in_the_whole(sim):
    # Draws are keyed by loan, not by position in the run: a subset sees the same paths.
    _, truth = sim
    whole = truth.pd_dpd30_90d("2023-07-31", n_paths=32)
    some = whole.index.get_level_values("loan_id")[::7]
    fresh = odr.simulate_portfolio(1500, START, END, seed=SEED).truth  # no cached results
    part = fresh.pd_dpd30_90d("2023-07-31", n_paths=32, loans=some)
    pd.testing.assert_frame_equal(part, whole.loc[part.index])


def test_action_response(sim):
    _, truth = sim
    r = truth.action_response("2023-08-31", actions=["sms", "call", "visit"], n_paths=40)
    assert r.index.names == ["loan_id", "action"]
    assert list(r.index.get_level_values("action").unique()) == ["none", "sms", "call", "visit"]
    assert r["p_pay"].between(0, 1).all()
    assert (r.xs("none", level="action")["uplift"] == 0).all()
    assert (r.xs("none", level="action")["dpd"] >= 1).all()
    lift = r.groupby(level="action", observed=True)["uplift"].mean()
    assert lift["visit"] > lift["sms"]


# -- forward simulation ------------------------------------------------------------------


def test_identical_policies_give_identical_results(sim):
    _, truth = sim
    a = simulate_policy(truth, "2023-09-01", 45, LoggedPolicy(truth.scenario))
    b = simulate_policy(truth, "2023-09-01", 45, LoggedPolicy(truth.scenario))
    pd.testing.assert_frame_equal(a.table(), b.table())
    pd.testing.assert_series_equal(a.summary(), b.summary())


def test_uncontacted_accounts_fare_the_same_under_any_policy(sim):
    _, truth = sim
    logged = simulate_policy(truth, "2023-09-01", 45, LoggedPolicy(truth.scenario))
    idle = simulate_policy(truth, "2023-09-01", 45, NoAction())
    a, b = logged.table(), idle.table()
    untouched = a["contacts"].eq(0) & a["cost"].eq(0)
    cols = ["recovered", "paid_total", "cured", "dpd_at_end", "delinquent"]
    pd.testing.assert_frame_equal(a.loc[untouched, cols], b.loc[untouched, cols])
    # Self-cures among them are shared; and the policy did contact someone.
    assert a.loc[untouched, "cured"].sum() > 0
    assert (~untouched).sum() > 0
    assert idle.summary()["cost"] == 0


def test_policy_results(sim):
    _, truth = sim
    res = simulate_policy(truth, "2023-09-01", 30, LoggedPolicy(truth.scenario), n_paths=3)
    s = res.summary()
    for key in ("recovered", "cost", "net", "cures", "contacts_per_account", "harsh_per_cure"):
        assert key in s.index
    assert s["net"] == pytest.approx(s["recovered"] - s["cost"])
    t = res.table()
    assert t["cured"].between(0, 1).all()
    assert t.index.is_unique


def test_worklists_and_bad_policies(sim):
    _, truth = sim
    state = truth.state_at("2023-08-31")
    overdue = state.table().query("dpd >= 1").index[:5]
    worklist = {"2023-09-01": pd.DataFrame({"loan_id": overdue, "action": "call"})}
    res = simulate_policy(state, "2023-09-01", 1, worklist)
    assert res.summary()["n_call"] + res.summary()["blocked_actions"] == len(overdue)
    with pytest.raises(odr.OverdueRiskError, match="Unknown action"):
        simulate_policy(state, "2023-09-01", 5, lambda ctx: np.full(len(ctx), "shout"))
    with pytest.raises(odr.OverdueRiskError, match="day after the state's as_of"):
        simulate_policy(state, "2023-09-05", 5, None)


# -- behaviour -------------------------------------------------------------------------------


def _share_30plus(portfolio: Portfolio, dates) -> float:
    led = Ledger(portfolio).at(dates).table()
    led = led[~led["is_closed"]]
    return float((led["dpd"] >= 30).mean())


def test_a_downturn_raises_arrears():
    down = Scenario().replace(
        economy={
            "downturn_start": "2023-03-01",
            "downturn_end": "2024-03-31",
            "downturn_severity": 0.08,
        }
    )
    dates = [str(d.date()) for d in pd.date_range("2023-07-31", END, freq="ME")]
    base, _ = odr.simulate_portfolio(3000, START, END, seed=SEED)
    worse, _ = odr.simulate_portfolio(3000, START, END, seed=SEED, scenario=down)
    assert _share_30plus(worse, dates) > 1.3 * _share_30plus(base, dates)


def test_calibration_dpd30_within_90_days_among_current(sim):
    portfolio, _ = sim
    dates = ["2023-06-30", "2023-07-31", "2023-08-31", "2023-09-30"]
    labels = dpd30_labels(portfolio, dates)
    led = Ledger(portfolio).at(dates).table()
    current = led.index[(led["dpd"] == 0) & ~led["is_closed"]]
    rate = labels.reindex(current).dropna().mean()
    assert 0.02 < rate < 0.12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_loans": 0}, "n_loans must be an integer"),
        ({"end": "2023-01-15"}, "end must be more than a month after start"),
        ({"start": "yesterday"}, "start must be a date"),
        ({"seed": -1}, "seed must be an integer"),
        ({"scenario": {"economy": {}}}, "scenario must be a Scenario"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"n_loans": 10, "start": START, "end": END, "seed": 0} | kwargs
    with pytest.raises(odr.OverdueRiskError, match=message):
        odr.simulate_portfolio(**args)


# -- command line --------------------------------------------------------------------------


def test_cli_simulate(tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", "--loans", "200", "--start", START, "--end", "2023-06-30"]
    args += ["--out", str(out)]
    assert main([*args, "--seed", "3"]) == 0
    assert "Wrote a simulated portfolio" in capsys.readouterr().out
    portfolio = odr.load_portfolio(out)
    direct, _ = odr.simulate_portfolio(200, START, "2023-06-30", seed=3)
    pd.testing.assert_frame_equal(
        portfolio.loans, direct.loans, check_dtype=False, check_categorical=False
    )
    assert {p.name for p in (out / "truth").iterdir()} == {
        "customers.parquet",
        "economy.parquet",
        "hidden_state.parquet",
    }
    assert main([*args, "--seed", "4"]) == 2
    assert "not empty; use --overwrite" in capsys.readouterr().err
    assert main([*args, "--seed", "4", "--overwrite"]) == 0


def test_cli_simulate_bad_scenario(tmp_path, capsys):
    bad = tmp_path / "s.toml"
    bad.write_text("[economy]\nshock_rat = 0.2\n")
    code = main(
        [
            "simulate",
            "--loans",
            "50",
            "--start",
            START,
            "--end",
            END,
            "--out",
            str(tmp_path / "o"),
            "--scenario",
            str(bad),
        ]
    )
    assert code == 2
    assert "did you mean shock_rate" in capsys.readouterr().err


def test_shipped_scenarios_load():
    folder = Path(__file__).resolve().parents[1] / "data" / "scenarios"
    files = sorted(folder.glob("*.toml"))
    assert files
    for path in files:
        summary = odr.Scenario.from_toml(path).summary()
        assert (summary["source"] == "user").any(), path.name
