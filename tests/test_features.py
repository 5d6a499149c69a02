"""Hand-computed feature values, family by family, and the pitfalls of public code.

Loan A: four monthly instalments of 100 due 2024-02-01, 03-01, 04-01, 05-01
(2024 is a leap year). Instalment 1 is paid two days early; instalment 2 gets
60 on its due date and 40 ten days late; instalment 3 is never paid.
Loan B, same customer: one instalment of 50 due 2024-03-06, never paid.
The as-of date is 2024-04-20 unless a case says otherwise.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from overdue_risk import OverdueRiskError, Portfolio
from overdue_risk.features import CustomFeature, build_features, list_features
from overdue_risk.features._registry import REGISTRY, FeatureRegistry, FeatureSpec

AS_OF = "2024-04-20"


def days(a: str, b: str) -> int:
    return (date.fromisoformat(b) - date.fromisoformat(a)).days


def portfolio(extra_payments=(), closed=None) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": ["A", "B"],
            "customer_id": ["c1", "c1"],
            "product_type": "instalment",
            "start_date": ["2024-01-01", "2024-01-01"],
            "principal": [380.0, 45.0],
            "closed_date": [closed, None],
            "region": ["north", "south"],
            "score": [610, 540],
            "gender": ["f", "m"],
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": ["A"] * 4 + ["B"],
            "installment_no": [1, 2, 3, 4, 1],
            "due_date": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-03-06"],
            "amount_due": [100.0, 100.0, 100.0, 100.0, 50.0],
        }
    )
    pay = pd.DataFrame(
        [
            ("A", "2024-01-30", 100.0),
            ("A", "2024-03-01", 60.0),
            ("A", "2024-03-11", 40.0),
            *extra_payments,
        ],
        columns=["loan_id", "payment_date", "amount"],
    )
    customers = pd.DataFrame({"customer_id": ["c1"], "segment": ["retail"], "age": [41]})
    return Portfolio(loans=loans, installments=inst, payments=pay, customers=customers)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(portfolio(), AS_OF)


def row(features: pd.DataFrame, loan: str) -> pd.Series:
    return features.xs(loan, level="loan_id").iloc[0]


def test_index_and_dtypes(features):
    assert features.index.names == ["loan_id", "as_of"]
    assert list(features.index.get_level_values("as_of").unique()) == [pd.Timestamp(AS_OF)]
    numbers = features.select_dtypes("number")
    assert (numbers.dtypes == np.float32).all()
    assert set(features.columns) - set(numbers.columns) == {
        "region",
        "gender",
        "product_type",
        "customer_segment",
        "last_outcome",
        "last_action",
    } - ({"last_outcome", "last_action"} - set(features.columns))


def test_ledger_state(features):
    a = row(features, "A")
    assert a["dpd"] == days("2024-04-01", AS_OF) == 19
    assert a["bucket"] == 1  # 1-29
    assert a["overdue_amount"] == 100
    assert a["overdue_to_installment"] == 1.0  # 100 over a mean instalment of 100
    assert a["n_installments_overdue"] == 1
    assert a["installments_remaining"] == 1
    assert a["term_elapsed"] == 0.75
    assert a["loan_age_days"] == days("2024-01-01", AS_OF)
    assert a["days_to_next_due"] == days(AS_OF, "2024-05-01")
    assert a["is_closed"] == 0


def test_repayment_windows(features):
    a = row(features, "A")
    # 30 days: only instalment 3 (due 04-01), unpaid and 19 days late.
    assert a["n_due_30d"] == 1
    assert a["max_dpd_30d"] == a["mean_dpd_30d"] == 19
    assert a["n_late_30d"] == a["n_late7_30d"] == 1 and a["n_late30_30d"] == 0
    assert np.isnan(a["mean_days_early_30d"])  # nothing settled in the window
    assert a["paid_ratio_30d"] == 0 and a["shortfall_30d"] == 100
    # 90 days: instalments 1-3 with delays -2 (early), 10 and 19.
    assert a["n_due_90d"] == 3
    assert a["max_dpd_90d"] == 19
    assert a["mean_dpd_90d"] == pytest.approx((0 + 10 + 19) / 3)
    assert a["n_late_90d"] == 2 and a["share_late_90d"] == pytest.approx(2 / 3)
    assert a["n_late7_90d"] == 2 and a["n_late30_90d"] == 0
    assert a["mean_days_early_90d"] == 1.0  # (2 + 0) / 2 settled instalments
    assert a["paid_ratio_90d"] == pytest.approx(160 / 300)  # 100 + 60 + 0 by the due dates
    assert a["shortfall_90d"] == 140
    assert a["n_partial_90d"] == 1  # instalment 2: 60 of 100 by its due date
    assert a["weighted_dpd_90d"] == pytest.approx((0 + 10 + 19) / 3)  # equal amounts
    # Instalment windows: the last one is instalment 3; the first three are 1-3.
    assert a["max_dpd_last1"] == 19 and a["paid_ratio_last1"] == 0
    assert a["max_dpd_last3"] == 19 and a["n_late_first3"] == 2
    assert a["mean_dpd_first6"] == pytest.approx(29 / 3)  # only three are due
    assert a["mean_dpd_90d_to_365d"] == 1.0  # both windows hold the same instalments


def test_recency(features):
    a = row(features, "A")
    assert a["days_since_payment"] == days("2024-03-11", AS_OF)
    assert a["days_since_on_time"] == days("2024-01-30", AS_OF)
    assert a["days_since_delinquent"] == 0  # past due now
    assert a["missed_streak"] == 1 and a["on_time_streak"] == 0
    # Into 1-29 twice (instalment 2, then 3); cured once (on 03-11).
    assert a["n_roll_forward"] == 2 and a["n_cures"] == 1


def test_recency_after_a_cure():
    # Instalment 3 paid on 04-25, 24 days late: the loan is current again.
    f = build_features(portfolio([("A", "2024-04-25", 100.0)]), "2024-04-28")
    a = row(f, "A")
    assert a["dpd"] == 0
    assert a["days_since_delinquent"] == 3
    assert a["n_cures"] == 2 and a["n_roll_forward"] == 2
    assert a["on_time_streak"] == 0 and a["missed_streak"] == 0


def test_trend(features):
    a = row(features, "A")
    assert a["dpd_slope_last3"] == pytest.approx(9.5)  # delays 0, 10, 19
    assert a["paid_ratio_slope_last6"] == pytest.approx(-0.5)  # ratios 1, 0.6, 0
    weights = [2 ** (-days(d, AS_OF) / 90) for d in ("2024-02-01", "2024-03-01", "2024-04-01")]
    expected = (weights[1] * 10 + weights[2] * 19) / sum(weights)
    assert a["decayed_dpd_last12"] == pytest.approx(expected, rel=1e-5)
    assert np.isnan(row(features, "B")["dpd_slope_last3"])  # one instalment: no slope


def test_customer_level(features):
    a, b = row(features, "A"), row(features, "B")
    assert b["dpd"] == days("2024-03-06", AS_OF) == 45
    assert a["customer_n_loans"] == a["customer_n_active_loans"] == 2
    assert a["customer_other_max_dpd"] == 45 and b["customer_other_max_dpd"] == 19
    assert a["customer_other_overdue"] == 50 and b["customer_other_overdue"] == 100
    assert a["customer_n_other_delinquent"] == 1


def test_static_attributes_and_exclude(features):
    a = row(features, "A")
    assert a["region"] == "north" and a["score"] == 610 and a["principal"] == 380
    assert a["customer_segment"] == "retail" and a["customer_age"] == 41
    assert list(features["region"].cat.categories) == ["north", "south"]
    assert "closed_date" not in features and "start_date" not in features
    fair = build_features(portfolio(), AS_OF, exclude=["gender", "customer_age"])
    assert "gender" not in fair and "customer_age" not in fair and "region" in fair


def test_restructured_from_is_a_link_not_a_category():
    base = portfolio()
    loans = base.loans.assign(restructured_from=pd.Series([None, "A"], dtype="object"))
    f = build_features(Portfolio(**{**base.tables(), "loans": loans}), AS_OF)
    assert "restructured_from" not in f
    assert row(f, "A")["restructured"] == 0 and row(f, "B")["restructured"] == 1


def test_families_select_and_unknown():
    f = build_features(portfolio(), AS_OF, families=["ledger"])
    assert list(f.columns) == [s.name for s in REGISTRY.families["ledger"].specs]
    with pytest.raises(OverdueRiskError, match=r"families must be .*; 'nope' is unknown"):
        build_features(portfolio(), AS_OF, families=["nope"])


def test_many_dates_rows_per_started_loan():
    f = build_features(portfolio(), ["2023-12-31", "2024-02-15", AS_OF], families=["ledger"])
    # Nothing had started on 2023-12-31: no rows for that date.
    assert f.index.get_level_values("as_of").unique().tolist() == [
        pd.Timestamp("2024-02-15"),
        pd.Timestamp(AS_OF),
    ]
    assert len(f) == 4


def test_closing_is_not_known_before_it_happens():
    # Loan A is closed on 2024-04-25; on 04-20 nobody knew, so its features are unchanged.
    before = build_features(portfolio(), AS_OF)
    closed = build_features(portfolio(closed="2024-04-25"), AS_OF)
    pd.testing.assert_frame_equal(before, closed)
    after = row(build_features(portfolio(closed="2024-04-25"), "2024-05-20"), "A")
    assert after["is_closed"] == 1 and after["installments_remaining"] == 0
    assert np.isnan(after["days_to_next_due"])
    assert after["dpd"] == days("2024-04-01", "2024-04-25")  # frozen at the closing


# -- pitfalls seen in public code ----------------------------------------------------


def test_late_flag_has_the_right_sign():
    # Paid 5 days early: not late, 5 days early. Paid 5 days late: late, 0 days early.
    early = build_features(portfolio([("B", "2024-03-01", 50.0)]), AS_OF)
    late = build_features(portfolio([("B", "2024-03-11", 50.0)]), AS_OF)
    e, lt = row(early, "B"), row(late, "B")
    assert e["n_late_last1"] == 0 and e["mean_days_early_last1"] == 5 and e["max_dpd_last1"] == 0
    assert lt["n_late_last1"] == 1 and lt["mean_days_early_last1"] == 0
    assert lt["max_dpd_last1"] == 5


def test_missed_instalments_keep_accruing():
    # B's instalment has no payment row at all: its delay grows with the as-of date
    # and it stays in every aggregate.
    f = build_features(portfolio(), ["2024-04-10", AS_OF])
    b = f.xs("B", level="loan_id")
    assert b["max_dpd_last1"].tolist() == [35, 45]
    assert b["mean_dpd_365d"].tolist() == [35, 45]
    assert b["n_late30_365d"].tolist() == [1, 1]


@pytest.mark.filterwarnings("ignore:installments. 1 instalments have amount_due 0")
def test_no_infinity_from_zero_denominators():
    p = portfolio()
    inst = p.installments.copy()
    inst.loc[inst["loan_id"] == "B", "amount_due"] = 0.0  # nothing due: ratios undefined
    p = Portfolio(loans=p.loans, installments=inst, payments=p.payments, customers=p.customers)
    f = build_features(p, AS_OF)
    numbers = f.select_dtypes("number").to_numpy()
    assert not np.isinf(numbers).any()
    b = row(f, "B")
    assert np.isnan(b["paid_ratio_last1"]) and np.isnan(b["overdue_to_installment"])
    assert b["dpd"] == 0


def test_not_observed_is_missing_not_zero(features):
    b = row(features, "B")  # never paid anything
    assert np.isnan(b["days_since_payment"]) and np.isnan(b["days_since_on_time"])
    assert np.isnan(b["mean_days_early_last1"])
    # Nothing due in the last 30 days: every 30-day feature is missing.
    assert np.isnan(b["n_due_30d"]) and np.isnan(b["max_dpd_30d"])


# -- custom features and the registry ------------------------------------------------


def _n_payments(p: Portfolio, as_of: pd.Timestamp) -> pd.Series:
    assert (p.payments["payment_date"] <= as_of).all()  # cut at the as-of date
    return p.payments.groupby("loan_id").size()


def test_custom_feature_sees_only_the_past():
    feature = CustomFeature("n_payments", _n_payments, "Payments received so far.")
    f = build_features(portfolio(), ["2024-03-05", AS_OF], custom=[feature])
    a = f.xs("A", level="loan_id")["n_payments"].tolist()
    assert a == [2, 3]
    assert np.isnan(row(f, "B")["n_payments"])  # no payments: missing
    assert "n_payments" in set(list_features(custom=[feature])["name"])


def test_custom_feature_errors_are_named():
    bad = CustomFeature("broken", lambda p, t: 1 / 0, "Fails.")
    with pytest.raises(OverdueRiskError, match="Custom feature 'broken' failed at as_of 2024"):
        build_features(portfolio(), AS_OF, custom=[bad])
    wrong = CustomFeature("wrong", lambda p, t: [1, 2], "Not a Series.")
    with pytest.raises(OverdueRiskError, match="must return a Series indexed by loan_id"):
        build_features(portfolio(), AS_OF, custom=[wrong])
    clash = CustomFeature("dpd", _n_payments, "Clashes.")
    with pytest.raises(OverdueRiskError, match="'dpd' clashes with a built-in feature"):
        build_features(portfolio(), AS_OF, custom=[clash])


def test_registry_rejects_duplicates():
    reg = FeatureRegistry()
    spec = FeatureSpec("x", "one", "X.")
    reg.family("one", "One.", [spec])(lambda ctx: {})
    with pytest.raises(OverdueRiskError, match="already registered by family 'one'"):
        reg.family("two", "Two.", [FeatureSpec("x", "two", "X again.")])(lambda ctx: {})
    with pytest.raises(OverdueRiskError, match="declares family 'one', not 'three'"):
        reg.family("three", "Three.", [spec])(lambda ctx: {})


def test_catalogue_covers_every_feature_built():
    catalogue = list_features()
    assert catalogue["name"].is_unique
    assert (catalogue["description"].str.len() > 10).all()
    f = build_features(portfolio(), AS_OF)
    declared = set(catalogue["name"])
    static = {c for c in f.columns if c not in declared}
    # Only the static attributes are named after the data.
    assert static == {
        "principal",
        "region",
        "score",
        "gender",
        "product_type",
        "customer_segment",
        "customer_age",
    }
