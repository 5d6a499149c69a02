"""The value model's data and estimators: logged decisions, the T-learner, the fallback.

``logged_decisions`` is checked on hand-made portfolios (one row per overdue
day, the day's action or none, the reward window's boundaries, horizons the
data do not cover, restructured loans, scores, propensities of no action), by
hypothesis (records after a row's horizon and the order of the tables' rows
never change it), and on the bundled sample against plain references (the
ledger's many-dates path, the action log, and ``account_state`` on the
portfolio cut the evening before). ``ResponseModel`` must recover the sign of
a known uplift per segment; ``RiskBasedValue`` is checked against its formula.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import overdue_risk as odr
from helpers import SETTINGS
from overdue_risk import DataQualityWarning, Ledger, ModelError, OverdueRiskError, Portfolio
from overdue_risk.contract._schema import TABLES
from overdue_risk.prioritise._decisions import (
    DECISION_ACTIONS,
    DECISION_COLUMNS,
    logged_decisions,
)
from overdue_risk.prioritise._fallback import DEFAULT_LIFTS, RiskBasedValue
from overdue_risk.prioritise._response import DEFAULT_FEATURES, ResponseModel
from overdue_risk.prioritise._rules import account_state
from overdue_risk.prioritise._strategy import Strategy
from strategies import day, portfolios, shuffled, to_portfolio

LOG_COLUMNS = [c.name for c in TABLES["collections"].columns]  # the contract's order
T0 = pd.Timestamp("2024-01-01")
FEB = pd.Timestamp("2024-02-01")  # every hand-made loan's only instalment falls due


def feb(n: int) -> pd.Timestamp:
    return FEB + pd.Timedelta(days=n - 1)


def hand_portfolio(
    loans: dict[str, float], payments=(), log=(), extra_loans=None, closed=None
) -> Portfolio:
    """Loans started on 1 Jan with one instalment due 1 Feb of the given amount."""
    ids = list(loans)
    frame = pd.DataFrame(
        {
            "loan_id": ids,
            "customer_id": "C1",
            "product_type": "instalment",
            "start_date": T0,
            "principal": [loans[i] for i in ids],
            "product": "cash",
            "closed_date": [(closed or {}).get(i, pd.NaT) for i in ids],
        }
    )
    schedule = pd.DataFrame(
        {
            "loan_id": ids,
            "installment_no": 1,
            "due_date": FEB,
            "amount_due": [loans[i] for i in ids],
        }
    )
    if extra_loans is not None:
        more_loans, more_schedule = extra_loans
        frame = pd.concat([frame, more_loans], ignore_index=True)
        schedule = pd.concat([schedule, more_schedule], ignore_index=True)
    pay = pd.DataFrame(list(payments), columns=["loan_id", "payment_date", "amount"])
    columns = LOG_COLUMNS
    rows = [
        {
            "outcome": "contacted",
            "promise_date": pd.NaT,
            "promise_amount": np.nan,
            "cost": 1.0,
            "propensity": 0.1,
            "holdout": True,
            **row,
        }
        for row in log
    ]
    return Portfolio(
        loans=frame,
        installments=schedule,
        payments=pay,
        collections=pd.DataFrame(rows, columns=columns),
    )


def act(loan_id: str, when: pd.Timestamp, action: str = "call", **kw) -> dict:
    return {"loan_id": loan_id, "action_date": when, "action": action, **kw}


@pytest.fixture(scope="module")
def three_loans() -> Portfolio:
    """A: randomised, paid on 10 Feb, a call on 5 Feb; B: champion; C: never logged."""
    return hand_portfolio(
        {"A": 100.0, "B": 100.0, "C": 100.0},
        payments=[("A", feb(10), 100.0)],
        log=[
            act("A", feb(5), "call", cost=1.5, propensity=0.1),
            act("B", feb(3), "sms", holdout=False, propensity=1.0),
        ],
    )


# -- logged_decisions: hand cases --------------------------------------------------------


def test_one_row_per_overdue_morning_of_the_randomised_cell(three_loans):
    d = logged_decisions(
        three_loans, "2024-01-01", "2024-03-31", horizon_days=5, data_end="2024-12-31"
    )
    assert list(d.columns) == list(DECISION_COLUMNS)
    assert list(d.index.names) == ["loan_id", "as_of"]
    # Overdue from the morning after the due date up to the morning of the payment day.
    assert d.index.get_level_values("loan_id").unique().tolist() == ["A"]
    assert d.index.get_level_values("as_of").tolist() == [feb(k) for k in range(2, 11)]
    assert d["dpd"].tolist() == list(range(1, 10))
    assert d["overdue_amount"].tolist() == [100.0] * 9
    assert d["action"].astype(str).tolist() == ["none"] * 3 + ["call"] + ["none"] * 5
    assert list(d["action"].cat.categories) == list(DECISION_ACTIONS)
    assert d["cost"].tolist() == [0.0] * 3 + [1.5] + [0.0] * 5
    # The call's logged propensity; no action: the share of none among the 9 rows.
    np.testing.assert_allclose(d["propensity"], [8 / 9] * 3 + [0.1] + [8 / 9] * 5)
    assert d.dtypes.astype(str).to_dict() == DECISION_COLUMNS


def test_the_state_uses_only_records_before_the_day(three_loans):
    d = logged_decisions(
        three_loans, "2024-01-01", "2024-03-31", horizon_days=5, data_end="2024-12-31"
    )
    d = d.droplevel("loan_id")
    # The call of 5 Feb counts from the 6th on, for the 7 days ending on the day.
    assert d["attempts_7d"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert d["failed_contacts"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert d.loc[feb(5), "days_since_conversation"] != d.loc[feb(5), "days_since_conversation"]
    assert d.loc[feb(8), "days_since_conversation"] == 3
    assert d.loc[feb(8), "days_since_contact"] == 3
    assert not d["legal_started"].any()


@pytest.mark.parametrize(
    ("decision_day", "reward"),
    [
        (2, 10.0),  # [2, 7): the payment of the 5th
        (4, 10.0),  # [4, 9)
        (5, 10.0),  # [5, 10): a payment on the day itself counts, the 10th does not
        (6, 20.0),  # [6, 11): the 10th is the last day of the horizon
        (10, 20.0),  # a payment the action brings on the spot is in the reward
        (11, 0.0),
    ],
)
def test_the_reward_window_starts_on_the_day_and_lasts_the_horizon(decision_day, reward):
    p = hand_portfolio(
        {"D": 1000.0},
        payments=[("D", feb(5), 10.0), ("D", feb(10), 20.0)],
        log=[act("D", feb(3))],
    )
    d = logged_decisions(p, "2024-02-01", "2024-02-28", horizon_days=5, data_end="2024-06-30")
    row = d.loc[("D", feb(decision_day))]
    assert row["reward_amount"] == reward
    assert row["paid"] == (reward > 0)


def test_rows_whose_horizon_the_data_do_not_cover_are_dropped(three_loans):
    # The data end at the last record (10 Feb): rows up to 6 Feb have 5 days observed.
    d = logged_decisions(three_loans, "2024-01-01", "2024-03-31", horizon_days=5)
    assert d.index.get_level_values("as_of").max() == feb(6)
    d = logged_decisions(three_loans, "2024-01-01", "2024-03-31", horizon_days=5, data_end=feb(8))
    assert d.index.get_level_values("as_of").tolist() == [feb(k) for k in range(2, 5)]


def test_no_action_after_legal_action_has_propensity_one():
    p = hand_portfolio(
        {"L": 300.0},
        log=[act("L", feb(3), "legal", propensity=0.05, cost=150.0)],
    )
    d = logged_decisions(p, "2024-02-01", "2024-02-20", horizon_days=5, data_end="2024-06-30")
    d = d.droplevel("loan_id")
    assert d.loc[feb(3), "propensity"] == 0.05
    assert not d.loc[feb(3), "legal_started"]
    assert d.loc[feb(4) :, "legal_started"].all()
    assert (d.loc[feb(4) :, "propensity"] == 1.0).all()  # nothing is ever done after legal
    assert d.loc[feb(2), "propensity"] == 0.5  # before: one none in two rows


def test_promises_pending_kept_and_broken():
    p = hand_portfolio(
        {"P": 100.0, "Q": 200.0},
        payments=[("P", feb(20), 100.0), ("Q", feb(5), 100.0)],
        log=[
            act("P", feb(3), outcome="promise", promise_date=feb(6), promise_amount=100.0),
            act("Q", feb(3), outcome="promise", promise_date=feb(6), promise_amount=100.0),
        ],
    )
    d = logged_decisions(p, "2024-02-01", "2024-02-15", horizon_days=5, data_end="2024-06-30")
    broken = d.loc["P"]
    assert broken.loc[feb(3), "days_to_promise"] != broken.loc[feb(3), "days_to_promise"]
    assert broken.loc[feb(4), "days_to_promise"] == 2
    assert broken.loc[feb(6), "promise_pending"]
    assert not broken.loc[feb(7), "promise_pending"]
    assert broken.loc[feb(6), "broken_promises"] == 0
    assert broken.loc[feb(7), "broken_promises"] == 1  # known the morning after its date
    assert broken.loc[feb(7), "failed_contacts"] == 0  # a promise resets failed contacts
    kept = d.loc["Q"]
    assert (kept["broken_promises"] == 0).all()
    assert kept.loc[feb(7), "dpd"] == 6  # still 100 overdue


def test_a_restructured_loan_is_followed_to_its_successor():
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
            {
                "loan_id": ["R-R1"],
                "installment_no": 1,
                "due_date": feb(20) + pd.Timedelta(days=30),
                "amount_due": 300.0,
            }
        ),
    )
    p = hand_portfolio(
        {"R": 300.0},
        # The transfer that closes R on the 20th, then a payment on the new loan.
        payments=[("R", feb(20), 300.0), ("R-R1", feb(29), 50.0)],
        log=[act("R", feb(20), "restructure", propensity=0.06, cost=15.0)],
        extra_loans=successor,
        closed={"R": feb(20)},
    )
    d = logged_decisions(p, "2024-02-01", "2024-03-31", horizon_days=30, data_end="2024-06-30")
    r = d.loc["R"]
    assert r.index.max() == feb(20)  # worked on the morning of its closing day
    assert r.loc[feb(20), "action"] == "restructure"
    assert r.loc[feb(20), "reward_amount"] == 50.0  # the successor's payment
    assert r.loc[feb(10), "reward_amount"] == 50.0  # the transfer is not money received


def test_scores_join_the_latest_one_dated_before_the_day(three_loans):
    index = pd.MultiIndex.from_tuples(
        [("A", feb(3)), ("A", feb(5)), ("A", feb(8)), ("B", feb(4))], names=["loan_id", "as_of"]
    )
    scores = pd.DataFrame({"risk_score": [0.2, 0.5, 0.9, 0.7]}, index=index)
    d = logged_decisions(
        three_loans,
        "2024-01-01",
        "2024-03-31",
        horizon_days=5,
        data_end="2024-12-31",
        scores=scores,
    )
    got = d["risk_score"].droplevel("loan_id")
    expected = [np.nan, np.nan, 0.2, 0.2, 0.5, 0.5, 0.5, 0.9, 0.9]  # 2 Feb .. 10 Feb
    np.testing.assert_array_equal(got.to_numpy(), expected)
    as_series = logged_decisions(
        three_loans,
        "2024-01-01",
        "2024-03-31",
        horizon_days=5,
        data_end="2024-12-31",
        scores=scores["risk_score"],
    )
    pd.testing.assert_frame_equal(as_series, d)


def test_an_explicit_cell_list_takes_loans_never_acted_upon(three_loans):
    d = logged_decisions(
        three_loans,
        "2024-01-01",
        "2024-02-29",
        horizon_days=5,
        data_end="2024-12-31",
        cell=["A", "C"],
    )
    assert d.index.get_level_values("loan_id").unique().tolist() == ["A", "C"]
    assert (d.loc["C", "action"] == "none").all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_days": 0}, "horizon_days must be an int >= 1; got 0"),
        ({"horizon_days": 2.5}, "horizon_days must be an int >= 1"),
        ({"cell": "champion"}, "cell must be 'randomised' or an iterable of loan ids"),
        ({"cell": ["A", "Z"]}, "cell names 1 loan ids that are not in loans, first 'Z'"),
        ({"strategy": "us"}, "strategy must be a Strategy"),
        ({"scores": pd.DataFrame({"x": [1.0], "y": [2.0]})}, "one column or a risk_score"),
        ({"scores": pd.Series([0.1], index=pd.Index(["A"]))}, "indexed by \\(loan_id, as_of\\)"),
    ],
)
def test_bad_arguments_are_refused(three_loans, kwargs, match):
    with pytest.raises(OverdueRiskError, match=match):
        logged_decisions(three_loans, "2024-01-01", "2024-03-31", **kwargs)


def test_bad_dates_and_logs_are_refused(three_loans):
    with pytest.raises(OverdueRiskError, match="end must be on or after start"):
        logged_decisions(three_loans, "2024-03-01", "2024-01-01")
    with pytest.raises(OverdueRiskError, match="start must be one date"):
        logged_decisions(three_loans, ["2024-01-01", "2024-01-02"], "2024-03-01")
    twice = hand_portfolio({"A": 100.0}, log=[act("A", feb(5)), act("A", feb(5), "sms")])
    with pytest.raises(
        OverdueRiskError, match=r"one action per loan and day; 1 .* 'A' on 2024-02-05"
    ):
        logged_decisions(twice, "2024-02-01", "2024-02-28", data_end="2024-06-30")
    champion = hand_portfolio({"A": 100.0}, log=[act("A", feb(5), holdout=False)])
    with pytest.raises(OverdueRiskError, match="no randomised cell"):
        logged_decisions(champion, "2024-02-01", "2024-02-28")
    bare = Portfolio(
        loans=three_loans.loans,
        installments=three_loans.installments,
        payments=three_loans.payments,
    )
    with pytest.raises(OverdueRiskError, match="needs a collections table"):
        logged_decisions(bare, "2024-02-01", "2024-02-28")


# -- logged_decisions: properties --------------------------------------------------------


H = 10  # horizon of the property tests


@st.composite
def logs(draw):
    """Random loans, a randomised log (one action a day at most), a cut-off and later records."""
    records = draw(portfolios())
    cut = draw(st.integers(40, 200))
    before, after = [], []
    for r in records:
        # Mostly in the first months after the first due date, when arrears are likeliest.
        due = r["dues"][0] if r["dues"] else r["start"]
        days = draw(st.sets(st.integers(r["start"], due + 120), max_size=10))
        for d in sorted(days):
            outcome = draw(st.sampled_from(["no_contact", "contacted", "promise", "paid"]))
            promise = outcome == "promise"
            row = {
                "loan_id": r["id"],
                "action_date": day(d),
                "action": draw(st.sampled_from(["sms", "call", "visit", "legal"])),
                "outcome": outcome,
                "promise_date": day(d + draw(st.integers(0, 10))) if promise else pd.NaT,
                "promise_amount": 50.0 if promise else np.nan,
                "cost": 1.0,
                "propensity": draw(st.sampled_from([0.05, 0.1, 0.3])),
                "holdout": True,
            }
            (before if d < cut else after).append(row)
        first = max(cut, r["start"])  # a payment is never before its loan starts
        extra = draw(st.lists(st.integers(first, first + 200), max_size=3))
        r["later_pays"] = [(d, draw(st.integers(1, 20_000))) for d in extra]
    return records, before, after, cut


def _with_log(records, rows, *, later: bool) -> Portfolio:
    if later:
        records = [
            {**r, "pays": r["pays"] + [(d, c, None) for d, c in r["later_pays"]]} for r in records
        ]
    p = to_portfolio(records)
    pays = p.payments
    log = pd.DataFrame(
        rows,
        columns=LOG_COLUMNS,
    )
    return Portfolio(loans=p.loans, installments=p.installments, payments=pays, collections=log)


def _decisions_or_none(p: Portfolio) -> pd.DataFrame | None:
    try:
        return logged_decisions(p, day(0), day(400), horizon_days=H, data_end=day(800))
    except OverdueRiskError as exc:
        assert "no randomised cell" in str(exc)
        return None


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")
@settings(SETTINGS, max_examples=40)
@given(case=logs(), seed=st.integers(0, 2**32 - 1))
def test_records_after_the_horizon_and_row_order_never_change_a_row(case, seed):
    records, before, after, cut = case
    base = _decisions_or_none(_with_log(records, before, later=False))
    more = _decisions_or_none(_with_log(records, before + after, later=True))
    if base is None:
        return
    # Rows whose horizon ends before the cut-off: every column but the propensity
    # of no action (a share over the window's rows) is theirs alone.
    early = base.index.get_level_values("as_of") + pd.Timedelta(days=H) < day(cut)
    old = base[early]
    new = more.loc[old.index]
    own = [c for c in old.columns if c != "propensity"]
    pd.testing.assert_frame_equal(new[own], old[own])
    acted = old["action"] != "none"
    pd.testing.assert_series_equal(new["propensity"][acted], old["propensity"][acted])
    # The order of the tables' rows changes nothing at all.
    p = _with_log(records, before + after, later=True)
    pd.testing.assert_frame_equal(_decisions_or_none(shuffled(p, seed)), more)


def test_records_after_the_last_horizon_change_nothing(three_loans):
    later = Portfolio(
        loans=three_loans.loans,
        installments=three_loans.installments,
        payments=pd.concat(
            [
                three_loans.payments,
                pd.DataFrame(
                    {
                        "loan_id": ["A", "B"],
                        "payment_date": [feb(29), feb(29)],
                        "amount": [5.0, 100.0],
                    }
                ),
            ],
            ignore_index=True,
        ),
        collections=pd.concat(
            [
                three_loans.collections,
                pd.DataFrame(
                    {
                        "loan_id": ["A"],
                        "action_date": [feb(29)],
                        "action": ["sms"],
                        "holdout": [True],
                        "propensity": [0.1],
                    }
                ),
            ],
            ignore_index=True,
        ),
    )
    args = ("2024-01-01", "2024-02-20")
    base = logged_decisions(three_loans, *args, horizon_days=5, data_end="2024-12-31")
    pd.testing.assert_frame_equal(
        logged_decisions(later, *args, horizon_days=5, data_end="2024-12-31"), base
    )


# -- logged_decisions on the bundled sample ----------------------------------------------

WINDOW = ("2024-01-01", "2024-06-30")


@pytest.fixture(scope="module")
def sample_decisions(sample) -> pd.DataFrame:
    return logged_decisions(sample, *WINDOW)


def _cell_log(sample: Portfolio) -> pd.DataFrame:
    log = sample.collections
    return log[log["holdout"].fillna(False).astype(bool)]


def _paid_since_statement(p: Portfolio, ledger: pd.DataFrame) -> pd.Series:
    """Card rows whose payments after their last statement, up to the row's evening, cover
    the shortfall the ledger reads from that statement: pandas as-of joins of each loan's
    running total of payments, at the evening and at the statement date."""
    cards = ledger[ledger["source"] == "statements"]
    rows = cards.index.to_frame(index=False)
    rows["loan_id"] = rows["loan_id"].astype(str)
    rows["owed"] = cards["overdue_amount"].to_numpy()
    stmts = p.statements[["loan_id", "statement_date"]].astype({"loan_id": str})
    rows = pd.merge_asof(
        rows.sort_values("as_of"),
        stmts.sort_values("statement_date"),
        left_on="as_of",
        right_on="statement_date",
        by="loan_id",
    )
    pays = p.payments[["loan_id", "payment_date", "amount"]].astype({"loan_id": str})
    pays = pays.sort_values(["loan_id", "payment_date"])
    pays["total"] = pays.groupby("loan_id")["amount"].cumsum()
    pays = pays.groupby(["loan_id", "payment_date"], as_index=False)["total"].max()
    pays = pays.sort_values("payment_date")

    def total_at(column: str) -> np.ndarray:
        at = rows[["loan_id", column]].reset_index().sort_values(column)
        got = pd.merge_asof(
            at, pays, left_on=column, right_on="payment_date", by="loan_id"
        ).set_index("index")["total"]
        return got.reindex(rows.index).fillna(0.0).to_numpy()

    rows["paid"] = total_at("as_of") - total_at("statement_date")
    cleared = (rows["owed"] > 0) & (rows["paid"] >= rows["owed"] - 1e-9)
    hit = pd.MultiIndex.from_frame(rows.loc[cleared, ["loan_id", "as_of"]])
    keys = pd.MultiIndex.from_arrays(
        [
            ledger.index.get_level_values("loan_id").astype(str),
            ledger.index.get_level_values("as_of"),
        ]
    )
    return pd.Series(keys.isin(hit), index=ledger.index)


def test_sample_rows_are_the_cells_overdue_mornings(sample, sample_decisions):
    cell = _cell_log(sample)["loan_id"].unique()
    days = pd.date_range(*WINDOW)
    # Plain reference: the ledger at every evening before, from its many-dates path.
    ledger = Ledger(sample).at(days - pd.Timedelta(days=1)).table()
    ledger = ledger[ledger.index.get_level_values("loan_id").isin(cell)]
    overdue = (ledger["dpd"] >= 1) | (
        (ledger["source"] == "schedule") & (ledger["overdue_amount"] > 0)
    )
    overdue &= ~_paid_since_statement(sample, ledger)
    ref = ledger[overdue & ~ledger["is_closed"]]
    ref_index = pd.MultiIndex.from_arrays(
        [
            ref.index.get_level_values("loan_id"),
            ref.index.get_level_values("as_of") + pd.Timedelta(days=1),
        ],
        names=["loan_id", "as_of"],
    )
    d = sample_decisions
    assert len(d) == len(ref) > 4000
    assert d.index.sort_values().equals(ref_index.sort_values())
    dpd = pd.Series(ref["dpd"].to_numpy() + 1, index=ref_index).loc[d.index]
    np.testing.assert_array_equal(d["dpd"].to_numpy(), dpd.to_numpy())


def test_sample_actions_match_the_log(sample, sample_decisions):
    log = _cell_log(sample)
    log = log[log["action_date"].between(*WINDOW)]
    kind = sample.loans.set_index("loan_id")["product_type"]
    instalment = kind.loc[log["loan_id"]].to_numpy() == "instalment"
    d = sample_decisions
    got = d.loc[d["product_type"] == "instalment", "action"].astype(str).value_counts()
    want = log.loc[instalment, "action"].astype(str).value_counts()
    # Every action on an instalment loan falls on a decision day.
    pd.testing.assert_series_equal(
        got.drop("none").sort_index(), want.sort_index(), check_names=False
    )
    # Card actions only when the statement ledger shows arrears: never more than logged.
    cards = d.loc[d["product_type"] == "revolving", "action"].astype(str).value_counts()
    logged_cards = log.loc[~instalment, "action"].astype(str).value_counts()
    assert (cards.drop("none") <= logged_cards.reindex(cards.drop("none").index)).all()
    # Challenger propensities are rate / eligible, rate 0.3; no action is drawn with 1 - 0.3.
    acted = d[d["action"] != "none"]
    np.testing.assert_allclose(0.3 / acted["propensity"], np.round(0.3 / acted["propensity"]))
    free = d[(d["product_type"] == "instalment") & ~d["legal_started"] & (d["action"] == "none")]
    assert abs(free["propensity"].iloc[0] - 0.7) < 0.03
    assert d.loc[d["legal_started"] & (d["action"] == "none"), "propensity"].eq(1.0).all()


def _cut_before(p: Portfolio, when: pd.Timestamp) -> Portfolio:
    """The portfolio as known on the morning of ``when``: records dated before it."""
    dated = {
        "payments": "payment_date",
        "collections": "action_date",
        "statements": "statement_date",
    }
    tables = {
        name: df[df[dated[name]] < when] if name in dated else df for name, df in p.tables().items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return odr.validate(Portfolio(**tables))


@pytest.mark.parametrize("when", ["2024-03-15", "2024-06-11"])
def test_sample_state_is_account_state_of_the_morning(sample, sample_decisions, when):
    when = pd.Timestamp(when)
    state = account_state(Strategy(), _cut_before(sample, when), when)
    rows = sample_decisions.xs(when, level="as_of")
    assert len(rows) > 20 and rows.index.isin(state.index).all()
    shared = [c for c in DEFAULT_FEATURES if c != "overdue_amount"]
    pd.testing.assert_frame_equal(rows[shared], state.loc[rows.index, shared], check_dtype=False)


def test_sample_response_model_end_to_end(sample):
    d = logged_decisions(sample, "2023-01-01", "2024-12-31")
    n = d["action"].astype(str).value_counts()
    assert max(n["restructure"], n["visit"], n["legal"]) < 200
    with pytest.raises(ModelError) as caught:
        ResponseModel().fit(d)
    for action in ("restructure", "visit", "legal"):  # named with its count, in any order
        assert f"'{action}' has {n[action]}" in str(caught.value)
    model = ResponseModel(actions=["none", "sms", "call", "letter"], learner="t").fit(d)
    mu = model.predict(d)
    assert list(mu.columns) == ["none", "sms", "call", "letter"]
    assert np.isfinite(mu.to_numpy()).all() and (mu.to_numpy() >= 0).all()
    # The arms learn from the rows where an action could be drawn; the rows after legal
    # action (no action possible) have their own model of the level of recovery.
    stuck = ((d["action"] == "none") & (d["propensity"] >= 1)).to_numpy()
    assert stuck.sum() > 100 and d.loc[stuck, "legal_started"].all()
    per_arm = d.loc[~stuck, "action"].astype(str).value_counts()
    assert model.n_rows_.to_dict() == {a: per_arm[a] for a in ("none", "sms", "call", "letter")}
    assert model.no_action_model_.n_rows_.to_dict() == {"none": int(stuck.sum())}
    # The T-learner: the mean prediction per arm is near its mean recovery (no weights),
    # and so is that of no action after legal action.
    fitted = model.predict(d)
    for a in model.actions_:
        arm = (d["action"] == a).to_numpy() & ~stuck
        want = d.loc[arm, "reward_amount"].mean()
        assert abs(fitted.loc[arm, a].mean() - want) < 0.25 * want
    want = d.loc[stuck, "reward_amount"].mean()
    assert abs(fitted.loc[stuck, "none"].mean() - want) < 0.25 * want
    # The model scores account_state's frame as it is.
    state = account_state(Strategy(), sample, "2024-06-30")
    assert model.uplift(state).shape == (len(state), 3)


# -- ResponseModel on a known response ---------------------------------------------------


def synthetic_decisions(seed: int, n: int = 9000) -> pd.DataFrame:
    """Randomised actions; calls help below 30 DPD and hurt from 60; SMS do nothing."""
    rng = np.random.default_rng(seed)
    dpd = rng.integers(1, 90, n)
    action = rng.choice(["none", "sms", "call"], n)
    amount = rng.uniform(100, 500, n).round(2)
    call = action == "call"
    p = 0.35 + 0.3 * (call & (dpd < 30)) - 0.2 * (call & (dpd >= 60))
    paid = rng.random(n) < p
    return pd.DataFrame(
        {
            "dpd": dpd,
            "overdue_amount": amount,
            "product_type": pd.Categorical(rng.choice(["instalment", "revolving"], n)),
            "action": pd.Categorical(action, categories=list(DECISION_ACTIONS)),
            "propensity": 1 / 3,
            "cost": 0.0,
            "reward_amount": np.where(paid, amount, 0.0),
        }
    )


FEATURES = ["dpd", "overdue_amount", "product_type"]


@pytest.fixture(scope="module")
def known_response() -> tuple[ResponseModel, pd.DataFrame]:
    d = synthetic_decisions(seed=11)
    return ResponseModel(features=FEATURES).fit(d), d


@pytest.mark.parametrize("learner", ["t", "s"])
def test_the_learners_recover_the_sign_of_the_uplift_per_segment(known_response, learner):
    model, d = known_response
    if learner == "s":
        model = ResponseModel(features=FEATURES, learner="s").fit(d)
        assert list(model.classifiers_) == ["*"]
    test = synthetic_decisions(seed=12, n=3000)
    lift = model.uplift(test)
    segment = pd.cut(test["dpd"], [0, 29, 59, 90], labels=["early", "mid", "late"])
    call = lift["call"].groupby(segment, observed=True).mean()
    # True uplift: +0.3 * amount (about +90), 0, -0.2 * amount (about -60).
    assert call["early"] > 50
    assert abs(call["mid"]) < 25
    assert call["late"] < -30
    # SMS do nothing: per segment the estimate is near 0 (per account it is noisy).
    assert lift["sms"].groupby(segment, observed=True).mean().abs().max() < 20
    assert list(lift.columns) == ["sms", "call"] and lift.attrs["causal"] is True


def test_the_t_learner_parts(known_response):
    model, d = known_response
    assert model.actions_ == ("none", "sms", "call")
    assert list(model.feature_names_in_) == FEATURES
    p = model.paid_probability(d.head(500))
    assert 0.3 < p["none"].mean() < 0.4
    amount = model.amount_if_paid(d.head(500))
    ratio = amount["none"] / d["overdue_amount"].head(500)
    assert 0.8 < ratio.median() < 1.25  # a payment clears the arrears
    np.testing.assert_allclose(model.predict(d.head(5)), (p * amount).head(5))
    assert model.causal is True


def test_states_where_the_log_never_acts_get_their_level_and_the_transported_uplift(
    known_response,
):
    # After legal action nothing more is drawn (no action with propensity 1) and
    # customers seldom pay. Those rows teach the level of recovery there; the effect
    # of an action, never tried there, is the one learned where it was.
    _, d = known_response
    rng = np.random.default_rng(3)
    stuck = d.sample(3000, random_state=4).assign(
        action="none",
        propensity=1.0,
        reward_amount=lambda x: np.where(rng.random(len(x)) < 0.05, x["overdue_amount"], 0.0),
    )
    both = pd.concat([d.assign(legal_started=False), stuck.assign(legal_started=True)])
    features = [*FEATURES, "legal_started"]
    model = ResponseModel(features=features).fit(both)
    alone = ResponseModel(features=features).fit(d.assign(legal_started=False))
    assert model.n_rows_.to_dict() == alone.n_rows_.to_dict()
    assert model.no_action_model_.n_rows_["none"] == len(stuck)
    after = stuck.assign(legal_started=True)
    mu = model.predict(after)
    want = stuck["reward_amount"].mean()
    assert abs(mu["none"].mean() - want) < 0.3 * want
    before = after.assign(legal_started=False)
    lifted, learned = model.uplift(after), alone.uplift(before)
    # The same uplift, except where it would make a recovery negative (clipped at 0).
    clipped = model.predict(after).drop(columns="none").to_numpy() == 0
    assert clipped.mean() < 0.5
    np.testing.assert_allclose(lifted.to_numpy()[~clipped], learned.to_numpy()[~clipped])
    assert (lifted.to_numpy()[clipped] >= learned.to_numpy()[clipped]).all()
    # Without legal_started among the features those rows are left out.
    plain = ResponseModel(features=FEATURES).fit(both)
    assert plain.no_action_model_ is None and plain.n_rows_.equals(alone.n_rows_)


def test_params_are_stored_untouched_and_clone():
    model = ResponseModel(actions=["none", "call"], min_rows=5, n_jobs=2)
    assert clone(model).get_params() == model.get_params()
    assert model.get_params()["actions"] == ["none", "call"]
    with pytest.raises(NotFittedError):
        model.predict(pd.DataFrame({"dpd": [1]}))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"min_rows": 0},
            "The 'min_rows' parameter of ResponseModel must be an integer >= 1; got 0\\.",
        ),
        ({"learning_rate": 2.0}, "'learning_rate' parameter of ResponseModel must be a number in"),
        ({"learner": "x"}, "'learner' parameter of ResponseModel must be one of t, s; got 'x'\\."),
        ({"actions": "call"}, "'actions' parameter of ResponseModel must be None or a non-empty"),
        ({"actions": ["call", "sms"]}, "must include 'none'"),
        ({"actions": ["none", "phone"]}, "Unknown action\\(s\\) \\['phone'\\]"),
        ({"min_rows": 4000}, "Too few randomised rows to model: 'none' has"),
        ({"features": ["dpd", "score"]}, "lacks the feature columns \\['score'\\]"),
        ({"features": ["dpd", "action"]}, "'action' is the treatment"),
    ],
)
def test_bad_parameters_are_refused_at_fit(params, match):
    with pytest.raises(ModelError, match=match):
        ResponseModel(**{"features": FEATURES, **params}).fit(synthetic_decisions(0, 3000))


def test_bad_decisions_and_states_are_refused(known_response):
    model, d = known_response
    one_class = d.assign(reward_amount=np.where(d["action"] == "sms", 0.0, d["reward_amount"]))
    with pytest.raises(ModelError, match="rows of action 'sms' has paid=False"):
        ResponseModel(features=FEATURES).fit(one_class)
    with pytest.raises(ModelError, match="reward_amount must be amounts >= 0"):
        ResponseModel(features=FEATURES).fit(d.assign(reward_amount=-1.0))
    with pytest.raises(ModelError, match="lacks the column 'action'"):
        ResponseModel(features=FEATURES).fit(d.drop(columns="action"))
    with pytest.raises(ModelError, match="state lacks 1 of the model's features: \\['dpd'\\]"):
        model.predict(d.drop(columns="dpd"))


# -- RiskBasedValue ----------------------------------------------------------------------


def test_risk_based_value_is_the_formula():
    value = RiskBasedValue({"call": 0.1, "visit": 0.2, "restructure": -0.05})
    state = pd.DataFrame(
        {
            "risk_score": [0.0, 0.25, 0.5, 0.9, np.nan],
            "overdue_amount": [100.0, 200.0, 50.0, 10.0, 5.0],
        },
        index=pd.Index(list("abcde"), name="loan_id"),
    )
    p = 1 - state["risk_score"]
    bell = 4 * p * (1 - p)  # 0, 0.75, 1, 0.36, nan
    pay = value.pay_uplift(state)
    np.testing.assert_allclose(pay["call"], 0.1 * bell)
    np.testing.assert_allclose(pay["call"], [0.0, 0.075, 0.1, 0.036, np.nan])
    up = value.uplift(state)
    np.testing.assert_allclose(
        up["visit"], [0.0, 0.2 * 0.75 * 200, 0.2 * 50, 0.2 * 0.36 * 10, np.nan]
    )
    np.testing.assert_allclose(up["restructure"], -0.05 * bell * state["overdue_amount"])
    assert list(up.columns) == ["call", "visit", "restructure"]
    assert up.index.equals(state.index)
    assert value.causal is False and up.attrs["causal"] is False and pay.attrs["causal"] is False


def test_risk_based_value_predicts_levels_for_the_worklist():
    value = RiskBasedValue()  # the default lifts
    state = pd.DataFrame({"risk_score": [0.5, 0.2], "overdue_amount": [100.0, 300.0]})
    mu = value.predict(state)
    assert list(mu.columns) == ["none", *DEFAULT_LIFTS]
    np.testing.assert_allclose(mu["none"], [50.0, 240.0])  # p * overdue_amount
    np.testing.assert_allclose(mu.drop(columns="none").sub(mu["none"], axis=0), value.uplift(state))
    np.testing.assert_allclose(mu["call"] - mu["none"], [0.02 * 100, 0.02 * 0.64 * 300])
    assert (mu["legal"] == mu["none"]).all() and (mu["restructure"] == mu["none"]).all()
    assert mu.attrs["causal"] is False
    assert repr(value) == "RiskBasedValue()"


@pytest.mark.parametrize(
    ("lifts", "state", "match"),
    [
        ({}, None, "'lifts' parameter of RiskBasedValue must be a non-empty dict"),
        ({"call": 1.5}, None, "lifts\\['call'\\] must be a number in \\[-1, 1\\]; got 1.5"),
        ({"wait": 0.0}, None, "must not hold 'wait'"),
        ({"call": 0.1}, pd.DataFrame({"overdue_amount": [1.0]}), "lacks the column 'risk_score'"),
        (
            {"call": 0.1},
            pd.DataFrame({"risk_score": [1.2], "overdue_amount": [1.0]}),
            "in \\[0, 1\\]",
        ),
    ],
)
def test_risk_based_value_refuses_bad_input(lifts, state, match):
    if state is None:
        state = pd.DataFrame({"risk_score": [0.5], "overdue_amount": [1.0]})
    with pytest.raises(ModelError, match=match):
        RiskBasedValue(lifts).uplift(state)
