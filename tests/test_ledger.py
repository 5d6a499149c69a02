"""Hand-computed ledger cases.

One loan of three monthly instalments of 100, due 2024-02-01, 03-01 and 04-01
(2024 is a leap year: February has 29 days), unless a case says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import one_loan
from overdue_risk import (
    DataQualityWarning,
    Ledger,
    LedgerConfig,
    OverdueRiskError,
    Portfolio,
    compute_ledger,
)


def row(portfolio, as_of, **config):
    table = Ledger(portfolio, LedgerConfig(**config)).at(as_of).table()
    assert len(table) == 1
    return table.iloc[0]


def test_on_time():
    r = row(one_loan([("2024-02-01", 100), ("2024-03-01", 100)]), "2024-03-15")
    assert r.amount_due_to_date == 200 and r.amount_paid_to_date == 200
    assert r.overdue_amount == 0 and r.dpd == 0 and r.bucket == "current"
    assert r.next_due_date == pd.Timestamp("2024-04-01")
    assert r.last_payment_date == pd.Timestamp("2024-03-01")
    assert r.days_since_last_payment == 14
    assert (r.n_installments, r.n_installments_due, r.n_installments_paid) == (3, 2, 2)
    assert r.outstanding_principal == pytest.approx(90.0)


def test_due_today_counts_as_due_and_not_yet_late():
    r = row(one_loan([]), "2024-02-01")
    assert r.overdue_amount == 100 and r.dpd == 0 and r.n_installments_due == 1


def test_late_payment_clears_dpd_on_the_day_it_arrives():
    p = one_loan([("2024-02-11", 100)])
    before, on = row(p, "2024-02-10"), row(p, "2024-02-11")
    assert (before.overdue_amount, before.dpd, before.bucket) == (100, 9, "1-29")
    assert (on.overdue_amount, on.dpd, on.bucket) == (0, 0, "current")


def test_partial_payment_leaves_the_oldest_instalment_open():
    r = row(one_loan([("2024-02-01", 60)]), "2024-03-10")
    assert r.overdue_amount == 140
    assert r.dpd == 38  # counted from 2024-02-01, the partly paid instalment
    assert r.n_installments_paid == 0


def test_missed_instalments_keep_accruing():
    p = one_loan([])
    dpd = [row(p, d).dpd for d in ["2024-02-02", "2024-03-02", "2024-06-30", "2025-01-01"]]
    assert dpd == [1, 30, 150, 335]
    assert row(p, "2024-06-30").bucket == "90+"
    assert row(p, "2024-06-30").overdue_amount == 300


def test_overpayment_moves_the_oldest_unpaid_forward():
    p = one_loan([("2024-02-01", 150)])
    assert row(p, "2024-02-15").paid_ahead == 50
    r = row(p, "2024-03-10")
    assert (r.overdue_amount, r.paid_ahead, r.dpd) == (50, 0, 9)
    assert r.n_installments_paid == 1


def test_prepayment_in_full():
    r = row(one_loan([("2024-01-20", 300)]), "2024-03-10")
    assert (r.overdue_amount, r.dpd, r.paid_ahead) == (0, 0, 100)
    assert r.outstanding_principal == 0 and r.n_installments_paid == 3
    assert r.days_since_last_payment == 50


def test_payment_after_the_schedule_has_ended():
    p = one_loan(
        [("2024-02-01", 100), ("2024-03-01", 100), ("2024-04-01", 100), ("2024-05-20", 40)]
    )
    r = row(p, "2024-06-01")
    assert (r.overdue_amount, r.paid_ahead, r.dpd) == (0, 40, 0)
    assert pd.isna(r.next_due_date)


@pytest.mark.parametrize(
    ("tolerance", "dpd"),
    [(0.0, 14), (0.05, 14), (0.06, 0), (1.0, 0)],
)
def test_tolerance_ignores_small_shortfalls_only(tolerance, dpd):
    p = one_loan([("2024-02-01", 99.97), ("2024-03-01", 99.97)])
    r = row(p, "2024-03-15", tolerance=tolerance)
    assert r.dpd == dpd
    assert r.overdue_amount == pytest.approx(0.06)  # the exact shortfall either way


def test_tolerance_does_not_hide_real_arrears():
    r = row(one_loan([("2024-02-01", 50)]), "2024-03-15", tolerance=1.0)
    assert r.dpd == 43


def test_lender_allocation_overrides_fifo():
    paid_second = [("2024-03-01", 100)]
    fifo = row(one_loan(paid_second), "2024-03-10")
    tagged = row(one_loan(paid_second, tagged=[2]), "2024-03-10")
    assert fifo.dpd == 9  # FIFO: the payment settles instalment 1
    assert tagged.dpd == 38  # allocated to instalment 2: instalment 1 is still unpaid
    assert fifo.overdue_amount == tagged.overdue_amount == 100


def test_allocation_to_a_future_instalment_leaves_the_due_one_overdue():
    early = [("2024-02-10", 100)]
    fifo = row(one_loan(early), "2024-02-15")
    tagged = row(one_loan(early, tagged=[2]), "2024-02-15")
    assert (fifo.overdue_amount, fifo.paid_ahead, fifo.dpd) == (0, 0, 0)
    assert (tagged.overdue_amount, tagged.paid_ahead, tagged.dpd) == (100, 100, 14)


def test_allocated_excess_goes_to_the_oldest_unpaid():
    r = row(one_loan([("2024-03-01", 150)], tagged=[2]), "2024-03-10")
    assert r.dpd == 38 and r.overdue_amount == 50
    r = row(one_loan([("2024-03-01", 200)], tagged=[2]), "2024-03-10")
    assert r.dpd == 0 and r.overdue_amount == 0


def test_mixed_allocated_and_fifo_payments():
    p = one_loan([("2024-03-01", 100), ("2024-03-05", 100)], tagged=[2, None])
    assert row(p, "2024-03-04").dpd == 32
    assert row(p, "2024-03-05").dpd == 0


def test_closing_cancels_later_instalments():
    p = one_loan([("2024-02-01", 100), ("2024-03-01", 100)], closed="2024-03-15")
    before, after = row(p, "2024-03-14"), row(p, "2024-06-30")
    assert not before.is_closed and after.is_closed
    assert after.amount_due_to_date == 200 and after.dpd == 0 and after.n_installments == 2


def test_a_loan_closed_in_arrears_is_frozen_at_its_closed_date():
    p = one_loan([("2024-02-01", 50), ("2024-05-01", 70)], closed="2024-03-15")
    with pytest.warns(DataQualityWarning, match="after the loan closed"):
        r = row(p, "2024-06-30")
    assert r.is_closed and r.dpd == 43 and r.bucket == "30-59"  # 2024-02-01 to 03-15
    assert (r.amount_due_to_date, r.amount_paid_to_date, r.overdue_amount) == (200, 50, 150)
    assert r.last_payment_date == pd.Timestamp("2024-02-01")
    assert r.days_since_last_payment == 150  # to the as-of date itself


def test_outstanding_principal_pro_rata_and_explicit():
    p = one_loan([("2024-02-01", 150)])
    assert row(p, "2024-02-15").outstanding_principal == pytest.approx(270 - 150 * 0.9)
    p = one_loan([("2024-02-01", 150)], principal_due=[80.0, 90.0, 100.0])
    assert row(p, "2024-02-15").outstanding_principal == pytest.approx(270 - 80 - 45)


def test_loans_not_started_have_no_row_and_records_after_as_of_are_ignored():
    p = one_loan([("2024-02-01", 100)], start="2024-01-15")
    assert len(Ledger(p).at("2024-01-14").table()) == 0
    r = row(p, "2024-01-31")
    assert r.amount_paid_to_date == 0 and pd.isna(r.last_payment_date)
    assert np.isnan(r.days_since_last_payment)


def test_zero_amount_instalment_is_never_overdue():
    with pytest.warns(DataQualityWarning, match="amount_due 0"):
        r = row(one_loan([], amounts=(0.0, 100.0, 100.0)), "2024-03-10")
    assert r.dpd == 9 and r.overdue_amount == 100


def test_same_day_payments_add_up():
    r = row(one_loan([("2024-02-01", 30), ("2024-02-01", 70)]), "2024-02-20")
    assert r.dpd == 0 and r.amount_paid_to_date == 100


def test_custom_bucket_edges():
    p = one_loan([])
    cfg = LedgerConfig(bucket_edges=(1, 31, 61, 91, 181))
    snap = Ledger(p, cfg).at(["2024-02-02", "2024-03-03", "2024-09-01"])
    assert list(snap.table()["bucket"].astype(str)) == ["1-30", "31-60", "181+"]
    assert list(snap.table()["bucket"].cat.categories) == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181+",
    ]


def _statement_portfolio(dpd=None, min_due=None, paid=None):
    loans = pd.DataFrame(
        {
            "loan_id": [9],
            "customer_id": [1],
            "product_type": ["revolving"],
            "start_date": ["2024-01-01"],
            "principal": [1000.0],
        }
    )
    st = pd.DataFrame(
        {
            "loan_id": 9,
            "statement_date": ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"],
            "balance": [100.0, 200.0, 300.0, 250.0],
        }
    )
    for name, values in (("dpd", dpd), ("min_due", min_due), ("amount_paid", paid)):
        if values is not None:
            st[name] = values
    return Portfolio(loans=loans, statements=st)


def test_statement_reported_dpd_ages_while_delinquent():
    p = _statement_portfolio(dpd=[0, 0, 15, 0])
    snap = Ledger(p).at(["2024-03-15", "2024-04-10", "2024-05-05"]).table()
    assert list(snap["dpd"]) == [0, 25, 0]
    assert list(snap["outstanding_principal"]) == [200.0, 300.0, 250.0]
    assert list(snap["source"].astype(str)) == ["statements"] * 3


def test_statement_min_due_against_amount_paid():
    p = _statement_portfolio(min_due=[10.0, 10.0, 10.0, 10.0], paid=[10.0, 0.0, 4.0, 10.0])
    snap = Ledger(p).at(["2024-02-29", "2024-04-10", "2024-05-01"]).table()
    # February and March missed: the run starts at the February statement.
    assert list(snap["dpd"]) == [0, 41, 0]
    assert list(snap["overdue_amount"]) == [10.0, 6.0, 0.0]
    assert snap["last_payment_date"].iloc[1] == pd.Timestamp("2024-03-31")
    # Each statement is judged on its own: a shortfall within tolerance counts as met.
    for tolerance, dpd in ((5.99, 41), (6.0, 0)):
        t = Ledger(p, LedgerConfig(tolerance=tolerance)).at("2024-04-10").table()
        assert t["dpd"].iloc[0] == dpd


def test_many_dates_and_summary():
    p = one_loan([("2024-02-01", 100)])
    snap = compute_ledger(p, ["2024-04-15", "2024-02-15", "2024-02-15"])
    t = snap.table()
    assert list(t.index.get_level_values("as_of")) == [
        pd.Timestamp("2024-02-15"),
        pd.Timestamp("2024-04-15"),
    ]
    s = snap.summary()
    assert s.loc[(pd.Timestamp("2024-04-15"), "30-59"), "loans"] == 1
    assert s.groupby(level=0)["share"].sum().tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tolerance": -1}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"bucket_edges": (30, 1)}, "bucket_edges"),
        ({"bucket_edges": (0, 30)}, "bucket_edges"),
        ({"decimals": 7}, "decimals"),
    ],
)
def test_config_is_validated(kwargs, match):
    with pytest.raises(OverdueRiskError, match=match):
        LedgerConfig(**kwargs)


@pytest.mark.parametrize(
    "as_of", ["31/12/2024", "2024-13-01", [], ["2024-01-01", None], "2300-01-01"]
)
def test_bad_as_of_is_a_clear_error(as_of):
    with pytest.raises(OverdueRiskError, match="as_of"):
        Ledger(one_loan([])).at(as_of)


def test_ledger_rejects_non_portfolio():
    with pytest.raises(OverdueRiskError, match="Portfolio"):
        Ledger(pd.DataFrame())


def test_allocation_to_an_instalment_cancelled_by_closing_falls_back_to_fifo():
    # Instalment 3 (due 04-01) is cancelled by closing on 03-25: its payment goes FIFO.
    p = one_loan([("2024-02-01", 100), ("2024-03-20", 50)], closed="2024-03-25", tagged=[None, 3])
    r = row(p, "2024-04-15")
    assert r.n_installments == 2 and r.overdue_amount == 50 and r.dpd == 24
