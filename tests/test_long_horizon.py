"""Long-horizon value: windows of 90 days or to resolution, discounting, write-off, and the
costs beyond an action's own.

``logged_decisions`` is checked on hand-made loans whose rewards are worked out by hand
(a 90-day window; resolution at a cure, a closure, a write-off, the cap, and across a
restructuring; discounting at 10% against the formula; the write-off loss), by hypothesis
against a brute-force reference built from the ledger day by day (which rows are kept,
where each window ends, what it collects and loses), and against frozen hand-computed
rows for the defaults. ``action_values`` is checked against hand-computed nets, the
worklist's cost against them, the strategy's ``value`` section by TOML round trip and
bad values, and ``learn_value_model``'s plumbing of the section.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import SAMPLE, SETTINGS, flags_table
from overdue_risk import Ledger, OverdueRiskError, Portfolio, StrategyError, load_portfolio
from overdue_risk.contract._schema import TABLES
from overdue_risk.prioritise import ArrearsRule, Strategy, action_values, prioritise
from overdue_risk.prioritise._decisions import DECISION_COLUMNS, logged_decisions
from overdue_risk.workflows import _value as workflow

LOG_COLUMNS = [c.name for c in TABLES["collections"].columns]
T0 = pd.Timestamp("2024-01-01")
FEB = pd.Timestamp("2024-02-01")  # the first instalment of every hand-made loan
END = "2024-12-31"  # the last decision day asked for
DATA_END = "2025-12-31"  # the data cover a year of windows after it


def feb(n: int) -> pd.Timestamp:
    """Day ``n`` counted from 1 February (``feb(30)`` is 1 March: 2024 is a leap year)."""
    return FEB + pd.Timedelta(days=n - 1)


def portfolio(loans: dict, payments=(), log=(), closed=None, extra=None) -> Portfolio:
    """Loans started on 1 Jan; ``loans[id]`` lists instalments of 100 ... as (due, amount)."""
    ids = list(loans)
    frame = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": "C1",
            "product_type": "instalment",
            "start_date": T0,
            "principal": [sum(a for _, a in loans[i]) for i in ids],
            "product": "cash",
            "closed_date": [(closed or {}).get(i, pd.NaT) for i in ids],
        }
    )
    schedule = pd.DataFrame(
        [
            {"loan_id": i, "installment_no": k + 1, "due_date": due, "amount_due": amount}
            for i in ids
            for k, (due, amount) in enumerate(loans[i])
        ]
    )
    if extra is not None:
        frame = pd.concat([frame, extra[0]], ignore_index=True)
        schedule = pd.concat([schedule, extra[1]], ignore_index=True)
    pay = pd.DataFrame(list(payments), columns=["loan_id", "payment_date", "amount"])
    rows = [
        {
            "loan_id": loan,
            "action_date": when,
            "action": action,
            "outcome": "contacted",
            "promise_date": pd.NaT,
            "promise_amount": np.nan,
            "cost": 1.0,
            "propensity": 0.1,
            "holdout": True,
        }
        for loan, when, action in log
    ]
    return Portfolio(
        loans=frame,
        installments=schedule,
        payments=pay,
        collections=pd.DataFrame(rows, columns=LOG_COLUMNS),
    )


def decisions(p: Portfolio, **kw) -> pd.DataFrame:
    kw.setdefault("data_end", DATA_END)
    return logged_decisions(p, "2024-01-01", END, **kw)


# -- hand cases ----------------------------------------------------------------------------

# D owes 1000 from 1 Feb and pays 10 on 5 Feb, 20 on 1 Mar, 40 on 1 May: overdue throughout.
D = portfolio(
    {"D": [(FEB, 1000.0)]},
    payments=[("D", feb(5), 10.0), ("D", feb(30), 20.0), ("D", feb(91), 40.0)],
    log=[("D", feb(3), "call")],
)


def test_a_90_day_window():
    d = decisions(D, horizon_days=90).loc["D"]
    # 2 Feb + 89 days is 1 May (28 days to 1 Mar, 31 to 1 Apr, 30 to 1 May): all three.
    assert d.loc[feb(2), "reward_amount"] == 70.0
    assert d.loc[feb(3), "reward_amount"] == 70.0  # [3 Feb, 2 May]
    assert d.loc[feb(6), "reward_amount"] == 60.0  # 20 + 40
    assert d.loc[feb(31), "reward_amount"] == 40.0  # from 2 Mar: 1 May only
    assert d.loc[feb(92), "reward_amount"] == 0.0  # from 2 May: nothing more
    assert "horizon_end" not in d.columns and "write_off_amount" not in d.columns


def test_discounting_at_10_percent_is_the_formula():
    d = decisions(D, horizon_days=90, discount_rate=0.1).loc["D"]
    expected = 10 / 1.1 ** (3 / 365) + 20 / 1.1 ** (28 / 365) + 40 / 1.1 ** (89 / 365)
    assert d.loc[feb(2), "reward_amount"] == pytest.approx(expected, rel=1e-12)
    # From 6 Feb: 20 paid 24 days later, 40 paid 85 days later.
    expected = 20 / 1.1 ** (24 / 365) + 40 / 1.1 ** (85 / 365)
    assert d.loc[feb(6), "reward_amount"] == pytest.approx(expected, rel=1e-12)
    # A payment on the day itself is not discounted.
    assert d.loc[feb(30), "reward_amount"] == pytest.approx(20 + 40 / 1.1 ** (61 / 365))


# C owes 100 from 1 Feb, pays 30 on 10 Feb and the rest on 20 Feb (cured), then 5 more.
C = portfolio(
    {"C": [(FEB, 100.0), (pd.Timestamp("2024-06-01"), 100.0)]},
    payments=[("C", feb(10), 30.0), ("C", feb(20), 70.0), ("C", feb(44), 5.0)],
    log=[("C", feb(3), "sms")],
)


def test_resolution_ends_at_the_cure():
    d = decisions(C, horizon_days="resolution").loc["C"]
    first = d.loc[: pd.Timestamp("2024-05-31")]
    assert first.index.tolist() == [feb(k) for k in range(2, 21)]  # overdue mornings
    assert (first["horizon_end"] == feb(20)).all()  # current again at the end of 20 Feb
    assert first["resolved"].all()
    assert first.loc[feb(2), "reward_amount"] == 100.0  # not the 5 paid after the cure
    assert first.loc[feb(11), "reward_amount"] == 70.0
    assert first.loc[feb(20), "reward_amount"] == 70.0  # paid on the day: cured on the spot
    # The 90-day window counts the 5 paid after the cure.
    assert decisions(C, horizon_days=90).loc[("C", feb(2)), "reward_amount"] == 105.0


# K owes 100 from 1 Feb, pays 60 on 10 Mar and is closed that day still 40 in arrears.
K = portfolio(
    {"K": [(FEB, 100.0)]},
    payments=[("K", feb(39), 60.0)],
    log=[("K", feb(3), "visit")],
    closed={"K": feb(39)},
)


def test_resolution_ends_at_the_closure():
    d = decisions(K, horizon_days="resolution").loc["K"]
    assert d.index.max() == feb(39)  # worked on the morning of its closing day
    assert (d["horizon_end"] == feb(39)).all() and d["resolved"].all()
    assert (d["reward_amount"] == 60.0).all()


# W owes 500 (its whole principal) from 1 Feb; 50 on 20 Feb, 100 on 1 Apr.
W = portfolio(
    {"W": [(FEB, 500.0)]},
    payments=[("W", feb(20), 50.0), ("W", feb(61), 100.0)],
    log=[("W", feb(3), "call")],
)


def test_resolution_ends_at_the_write_off_with_its_loss():
    d = decisions(W, horizon_days="resolution", write_off_dpd=30, max_horizon_days=60).loc["W"]
    # DPD 30 at the end of 2 Mar (29 days in February): written off with 450 left.
    row = d.loc[feb(2)]
    assert row["horizon_end"] == feb(31) and row["resolved"]
    assert row["reward_amount"] == 50.0
    assert row["write_off_amount"] == 450.0
    assert row["net_recovery"] == -400.0
    assert d.loc[feb(31), "write_off_amount"] == 450.0  # the morning of the write-off day
    # From 3 Mar the write-off is sunk: no loss, and the window runs to the cap.
    after = d.loc[feb(32)]
    assert after["write_off_amount"] == 0.0 and not after["resolved"]
    assert after["horizon_end"] == feb(32) + pd.Timedelta(days=59)
    assert after["reward_amount"] == 100.0 and after["net_recovery"] == 100.0


def test_a_fixed_window_counts_the_write_off_and_the_recoveries_after_it():
    d = decisions(W, horizon_days=90, write_off_dpd=30).loc["W"]
    row = d.loc[feb(2)]
    assert (row["reward_amount"], row["write_off_amount"], row["net_recovery"]) == (
        150.0,
        450.0,
        -300.0,
    )
    discounted = decisions(W, horizon_days=90, write_off_dpd=30, discount_rate=0.1).loc["W"]
    row = discounted.loc[feb(2)]
    assert row["write_off_amount"] == pytest.approx(450 / 1.1 ** (29 / 365), rel=1e-12)
    paid = 50 / 1.1 ** (18 / 365) + 100 / 1.1 ** (59 / 365)
    assert row["net_recovery"] == pytest.approx(paid - 450 / 1.1 ** (29 / 365), rel=1e-12)


def test_without_write_off_the_window_runs_to_the_cap():
    d = decisions(W, horizon_days="resolution", max_horizon_days=60).loc["W"]
    row = d.loc[feb(2)]
    assert row["horizon_end"] == feb(61) and not row["resolved"]
    assert row["reward_amount"] == 150.0  # 2 Feb + 59 days is 1 Apr
    assert "write_off_amount" not in d.columns


def test_a_restructuring_is_no_cure_and_the_window_follows_the_successor():
    successor = (
        pd.DataFrame(
            {
                "loan_id": ["R-R1"],
                "customer_id": "C1",
                "product_type": "instalment",
                "start_date": feb(20),
                "principal": 300.0,
                "product": "cash",
                "closed_date": pd.NaT,
                "restructured_from": "R",
            }
        ),
        pd.DataFrame(
            {"loan_id": ["R-R1"], "installment_no": 1, "due_date": feb(50), "amount_due": 300.0}
        ),
    )
    p = portfolio(
        {"R": [(FEB, 300.0)]},
        # The transfer that closes R on 20 Feb; the new loan, due on 21 Mar, gets 50 ahead
        # of time (a payment while current: no cure) and the rest on 25 Mar.
        payments=[("R", feb(20), 300.0), ("R-R1", feb(30), 50.0), ("R-R1", feb(54), 250.0)],
        log=[("R", feb(20), "restructure"), ("R-R1", feb(52), "sms")],
        closed={"R": feb(20)},
        extra=successor,
    )
    d = decisions(p, horizon_days="resolution")
    r = d.loc[("R", feb(20))]
    assert r["horizon_end"] == feb(54) and r["resolved"]  # the successor's cure
    assert r["reward_amount"] == 300.0  # the transfer is no money received
    # The new loan's own decision rows, overdue from 22 Mar, end at the same cure.
    assert d.loc["R-R1"].index.tolist() == [feb(k) for k in range(51, 55)]
    assert (d.loc["R-R1", "horizon_end"] == feb(54)).all()


# -- which rows are kept: by the decision day only ------------------------------------------


def test_resolution_keeps_the_rows_the_cap_keeps():
    for p in (C, K, W):
        fixed = decisions(p, horizon_days=60, data_end="2024-04-15")
        to_resolution = decisions(
            p, horizon_days="resolution", max_horizon_days=60, data_end="2024-04-15"
        )
        assert to_resolution.index.equals(fixed.index)
        # 15 Apr is 59 days after 16 Feb: the last day whose 60-day window the data cover.
        assert to_resolution.index.get_level_values("as_of").max() == feb(16)


@st.composite
def one_loan_cases(draw):
    n = draw(st.integers(1, 3))
    due = [FEB + pd.DateOffset(months=k) for k in range(n)]
    pays = draw(
        st.lists(
            st.tuples(st.integers(0, 150), st.sampled_from([10.0, 50.0, 100.0, 150.0])),
            max_size=6,
            unique_by=lambda x: x[0],
        )
    )
    cap = draw(st.integers(5, 60))
    write_off = draw(st.one_of(st.just(math.inf), st.integers(3, 70)))
    rate = draw(st.sampled_from([0.0, 0.25]))
    p = portfolio(
        {"L": [(d, 100.0) for d in due]},
        payments=[("L", feb(1 + k), a) for k, a in pays],
        log=[("L", feb(2), "sms")],
    )
    return p, cap, write_off, rate


@given(one_loan_cases())
@settings(SETTINGS, max_examples=30)
def test_windows_match_a_day_by_day_reference(case):
    p, cap, write_off, rate = case
    data_end = feb(200)
    d = logged_decisions(
        p,
        "2024-01-01",
        END,
        horizon_days="resolution",
        max_horizon_days=cap,
        write_off_dpd=write_off,
        discount_rate=rate,
        data_end=data_end,
    )
    # The reference: the ledger at the end of every day, days counted from 1 Jan.
    ledger = Ledger(p).at(pd.date_range(T0, data_end)).table().loc["L"]
    over = ((ledger["dpd"] >= 1) | (ledger["overdue_amount"] > 0)).to_numpy()
    n = over.size
    day = np.arange(n)
    cap_end = day + cap - 1
    # Rows: every overdue morning whose longest window the data cover, nothing else.
    kept = day[1:][over[:-1] & (cap_end[1:] <= n - 1)]
    got = (d.index.get_level_values("as_of") - T0).days.to_numpy()
    np.testing.assert_array_equal(got, kept)
    cures = day[1:][over[:-1] & ~over[1:]]
    reached = np.flatnonzero(ledger["dpd"].to_numpy() >= write_off)
    woff = reached[0] if reached.size else n + 10**6
    paid_on = (pd.to_datetime(p.payments["payment_date"]) - T0).dt.days.to_numpy()
    amount = p.payments["amount"].to_numpy(dtype=float)
    balance = ledger["outstanding_principal"].to_numpy()
    for t, row in zip(kept, d.itertuples(), strict=True):
        later = cures[cures >= t]
        event = min(later[0] if later.size else n + 10**6, woff if woff >= t else n + 10**6)
        end = min(t + cap - 1, event)
        assert row.horizon_end == T0 + pd.Timedelta(days=int(end))
        assert row.resolved == (event <= t + cap - 1)
        inside = (paid_on >= t) & (paid_on <= end)
        expected = (amount[inside] / (1 + rate) ** ((paid_on[inside] - t) / 365)).sum()
        assert row.reward_amount == pytest.approx(expected, rel=1e-9, abs=1e-9)
        if math.isinf(write_off):
            assert "write_off_amount" not in d.columns
            continue
        loss = balance[woff] / (1 + rate) ** ((woff - t) / 365) if t <= woff <= end else 0.0
        assert row.write_off_amount == pytest.approx(loss, rel=1e-9, abs=1e-9)


@given(
    st.lists(
        st.tuples(st.integers(41, 150), st.sampled_from([10.0, 100.0])),
        max_size=5,
        unique_by=lambda x: x[0],
    )
)
@SETTINGS
def test_payments_after_a_day_never_drop_its_row(later):
    # The loan is overdue from 2 Feb to 9 Mar at least (paid 100 then, 40 days in);
    # whatever is paid later, those decision rows stay, as long as the data cover them.
    base = [("L", feb(40), 100.0)]
    p = portfolio(
        {"L": [(FEB, 100.0), (feb(60), 100.0)]},
        payments=base + [("L", feb(k), a) for k, a in later],
        log=[("L", feb(2), "sms")],
    )
    d = decisions(p, horizon_days="resolution", max_horizon_days=30, data_end=feb(200))
    days = d.index.get_level_values("as_of")
    assert [feb(k) for k in range(2, 41)] == [t for t in days if t <= feb(40)]


# -- the defaults: the rows as they were ---------------------------------------------------


def test_the_defaults_give_the_rows_computed_by_hand():
    d = decisions(D)
    assert list(d.columns) == list(DECISION_COLUMNS)
    assert d.dtypes.astype(str).to_dict() == DECISION_COLUMNS
    frozen = {
        # day: dpd, overdue, balance, attempts_7d, action, cost, reward (30 days), paid
        feb(2): (1, 1000.0, 1000.0, 0, "none", 0.0, 30.0, True),
        feb(3): (2, 1000.0, 1000.0, 0, "call", 1.0, 30.0, True),
        feb(6): (5, 990.0, 990.0, 1, "none", 0.0, 20.0, True),
        feb(31): (30, 970.0, 970.0, 0, "none", 0.0, 0.0, False),
        feb(62): (61, 970.0, 970.0, 0, "none", 0.0, 40.0, True),
    }
    columns = ["dpd", "overdue_amount", "balance", "attempts_7d", "action", "cost"]
    columns += ["reward_amount", "paid"]
    for day, values in frozen.items():
        row = d.loc[("D", day), columns]
        assert tuple(row.astype(object)) == values, day
    assert d.loc[("D", feb(3)), "propensity"] == 0.1


# -- costs in the objective ----------------------------------------------------------------


class Fixed:
    """A value model with known answers: per account, a recovery per action."""

    causal = True

    def __init__(self, recovery: dict[str, list[float]]):
        self.recovery = recovery

    def predict(self, state: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.recovery, index=state.index)


ACTIONS = ("sms", "call", "visit", "restructure", "legal", "wait")
MODEL = Fixed(
    {
        "none": [10.0, 10.0],
        "sms": [12.0, 12.0],
        "call": [20.0, 20.0],
        "visit": [60.0, 60.0],
        "restructure": [40.0, 40.0],
        "legal": [400.0, 400.0],
    }
)
STATE = pd.DataFrame({"contacts_7d": [0, 3]}, index=pd.Index(["a", "b"], name="loan_id"))


def test_action_values_without_the_new_costs_are_uplift_less_cost():
    uplift, net = action_values(MODEL, STATE, ACTIONS, Strategy())
    np.testing.assert_array_equal(uplift[0], [2.0, 10.0, 50.0, 30.0, 390.0, 0.0])
    np.testing.assert_array_equal(net[0], [2.0 - 0.05, 10.0 - 1.5, 25.0, 20.0, 240.0, 0.0])
    np.testing.assert_array_equal(net[1], net[0])


def test_action_values_charge_complaints_contact_harm_and_the_court_record():
    s = Strategy().replace(
        actions={"call": {"complaint_probability": 0.02}, "legal": {"complaint_probability": 0.1}},
        value={
            "complaint_cost": 100.0,
            "contact_harm": 2.0,
            "free_contacts_7d": 1,
            "credit_record_cost": 40.0,
        },
    )
    _, net = action_values(MODEL, STATE, ACTIONS, s)
    # Account a: no attempt this week, so its first contact is free of harm.
    np.testing.assert_allclose(
        net[0], [1.95, 10.0 - 1.5 - 2.0, 25.0, 20.0, 390.0 - 150.0 - 10.0 - 40.0, 0.0]
    )
    # Account b: 3 attempts this week; one more is the 4th, 3 beyond the free one: 6.
    np.testing.assert_allclose(net[1], [1.95 - 6.0, 8.5 - 2.0 - 6.0, 25.0 - 6.0, 20.0, 190.0, 0.0])


def test_contact_harm_needs_the_attempt_count():
    s = Strategy().replace(value={"contact_harm": 1.0})
    with pytest.raises(OverdueRiskError, match="contacts_7d"):
        action_values(MODEL, STATE.drop(columns="contacts_7d"), ACTIONS, s)
    # Without contact actions nothing reads it.
    action_values(MODEL, STATE.drop(columns="contacts_7d"), ("restructure", "wait"), s)


class Linear:
    """Recovery = overdue amount x a lift per action."""

    causal = True
    LIFT: ClassVar[dict[str, float]] = {
        "none": 0.0,
        "sms": 0.02,
        "call": 0.10,
        "visit": 0.30,
        "restructure": 0.05,
    }

    def predict(self, state):
        overdue = state["overdue_amount"].to_numpy(dtype=np.float64)
        return pd.DataFrame({a: overdue * x for a, x in self.LIFT.items()}, index=state.index)


def test_the_worklist_charges_the_whole_expected_cost():
    p = load_portfolio(SAMPLE)
    ids = p.loans["loan_id"].astype(str)
    scores = pd.DataFrame({"loan_id": ids, "as_of": "2024-06-30", "score": 0.3})
    s = Strategy.profile("default").replace(
        actions={"call": {"complaint_probability": 0.05}},
        value={"contact_harm": 3.0, "complaint_cost": 20.0},
    )
    flags = flags_table(p.loans["loan_id"])
    work = prioritise(scores, p, "2024-06-30", s, value_model=Linear(), flags=flags)
    t = work.table()
    np.testing.assert_allclose(t["expected_value"], t["expected_recovery"] - t["cost"])
    # A call costs 1.5 + 0.05 x 20 + 3 x (contacts of any channel this week + 1).
    from overdue_risk.prioritise import account_state

    state = account_state(s, p, "2024-06-30", flags=flags)
    calls = t.index[t["action"] == "call"]
    assert len(calls)
    expected = 1.5 + 1.0 + 3.0 * (state.loc[calls, "contacts_7d"].to_numpy() + 1)
    np.testing.assert_allclose(t.loc[calls, "cost"], expected)
    summary = work.summary()
    assert summary.loc["call", "cost"] == pytest.approx(expected.sum())
    # With the costs at 0 the same worklist charges each action's cost alone.
    plain = prioritise(
        scores, p, "2024-06-30", "default", value_model=Linear(), flags=flags
    ).table()
    assert set(plain.loc[plain["action"] == "call", "cost"]) == {1.5}


# -- the strategy's value section ----------------------------------------------------------


def test_the_value_section_round_trips_through_toml(tmp_path):
    s = Strategy.profile("uk_eu").replace(
        actions={"call": {"complaint_probability": 0.01}},
        value={
            "horizon_days": "resolution",
            "max_horizon_days": 540,
            "discount_rate": 0.08,
            "write_off_dpd": 180,
            "complaint_cost": 250.0,
            "contact_harm": 1.5,
            "free_contacts_7d": 3,
            "credit_record_cost": 75.0,
        },
    )
    f = tmp_path / "s.toml"
    f.write_text(s.to_toml())
    back = Strategy.from_toml(f)
    assert back == s
    assert back.value.horizon_days == "resolution" and back.value.write_off_dpd == 180
    user = set(back.summary().query("source == 'user'")["key"])
    assert {"value.horizon_days", "value.contact_harm", "actions.call.complaint_probability"} <= (
        user
    )
    # Whole floats in a file are whole numbers, as for the other day counts.
    v = Strategy.from_dict({"value": {"horizon_days": 90.0, "write_off_dpd": 120.0}}).value
    assert (v.horizon_days, v.write_off_dpd) == (90, 120)
    assert isinstance(v.horizon_days, int) and isinstance(v.write_off_dpd, int)


def test_every_profile_leaves_the_objective_as_it_was():
    for name in Strategy.profiles():
        s = Strategy.profile(name)
        assert s.value == Strategy().value, name
        assert all(getattr(s.actions, a).complaint_probability == 0 for a in ACTIONS[:-1])


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"value": {"complaint_cost": -1.0}}, r"strategy\.value\.complaint_cost must be"),
        ({"value": {"contact_harm": "high"}}, r"strategy\.value\.contact_harm must be"),
        ({"value": {"credit_record_cost": -5}}, r"strategy\.value\.credit_record_cost must be"),
        ({"value": {"free_contacts_7d": 2.5}}, r"strategy\.value\.free_contacts_7d must be"),
        ({"value": {"horizon_days": 0}}, r"strategy\.value\.horizon_days must be"),
        ({"value": {"horizon_days": 731}}, r"strategy\.value\.horizon_days .* up to 730"),
        ({"value": {"horizon_days": "ninety"}}, r"strategy\.value\.horizon_days must be"),
        ({"value": {"horizon_days": "resolutoin"}}, r"did you mean resolution\?"),
        ({"value": {"horizon_days": True}}, r"strategy\.value\.horizon_days must be"),
        ({"value": {"max_horizon_days": 0}}, r"strategy\.value\.max_horizon_days must be"),
        ({"value": {"discount_rate": -0.1}}, r"strategy\.value\.discount_rate must be"),
        ({"value": {"discount_rate": 1.5}}, r"strategy\.value\.discount_rate must be"),
        ({"value": {"write_off_dpd": 0}}, r"strategy\.value\.write_off_dpd must be"),
        ({"value": {"write_off_dpd": "180"}}, r"strategy\.value\.write_off_dpd must be"),
        ({"value": {"write_off_dp": 180}}, r"strategy\.value\.write_off_dp; did you mean"),
        (
            {"actions": {"sms": {"complaint_probability": 1.2}}},
            r"strategy\.actions\.sms\.complaint_probability must be a number in \[0, 1\]",
        ),
    ],
)
def test_bad_values_name_their_key(values, match):
    with pytest.raises(StrategyError, match=match):
        Strategy.from_dict(values)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_days": 731}, "horizon_days must be an int >= 1; got 731: a number of days"),
        ({"horizon_days": "resolutin"}, "did you mean resolution"),
        ({"horizon_days": "resolved"}, "a number of days up to 730, or .resolution."),
        ({"max_horizon_days": 1000}, r"max_horizon_days must be an integer in \[1, 730\]"),
        ({"discount_rate": -0.01}, r"discount_rate must be a number in \[0, 1\]"),
        ({"write_off_dpd": 0}, "write_off_dpd must be an integer >= 1, or inf"),
    ],
)
def test_bad_window_arguments_are_refused(kwargs, match):
    with pytest.raises(OverdueRiskError, match=match):
        decisions(D, **kwargs)


# -- learn_value_model takes the window from the strategy -----------------------------------


@pytest.fixture
def captured(monkeypatch):
    """The arguments learn_value_model gives logged_decisions (which returns no rows)."""
    calls = []

    def fake(p, first, last, **kwargs):
        calls.append({"last": pd.Timestamp(last), **kwargs})
        return pd.DataFrame({"action": pd.Series([], dtype=object)})

    monkeypatch.setattr(workflow, "logged_decisions", fake)
    return calls


@pytest.mark.parametrize(
    ("kwargs", "window", "last"),
    [
        ({}, {"horizon_days": 30, "discount_rate": 0.0, "write_off_dpd": math.inf}, 29),
        (
            {"strategy": Strategy().replace(value={"horizon_days": 90, "discount_rate": 0.1})},
            {"horizon_days": 90, "discount_rate": 0.1, "write_off_dpd": math.inf},
            89,
        ),
        (
            {
                "strategy": Strategy().replace(
                    value={"horizon_days": "resolution", "max_horizon_days": 120}
                )
            },
            {"horizon_days": "resolution", "max_horizon_days": 120},
            119,
        ),
        (  # an explicit horizon wins; the strategy's write-off still applies
            {
                "horizon_days": 60,
                "strategy": Strategy().replace(
                    value={"horizon_days": "resolution", "write_off_dpd": 180}
                ),
            },
            {"horizon_days": 60, "write_off_dpd": 180},
            59,
        ),
    ],
)
def test_learn_value_model_passes_the_strategys_window(captured, kwargs, window, last):
    model = workflow.learn_value_model(D, "2024-12-01", **kwargs)
    assert isinstance(model, ArrearsRule)  # no rows: the stated rule
    (call,) = captured
    assert {k: call[k] for k in window} == window
    # The last decision day's longest window ends on the evening before as_of.
    assert call["last"] == pd.Timestamp("2024-11-30") - pd.Timedelta(days=last)


def test_learn_value_model_refuses_a_bad_horizon():
    with pytest.raises(OverdueRiskError, match="'horizon_days' parameter of learn_value_model"):
        workflow.learn_value_model(D, "2024-12-01", horizon_days="long")
