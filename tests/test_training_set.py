"""Training sets: features and labels line up, and features never see the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from overdue_risk import (
    CureTarget,
    CustomFeature,
    DpdTarget,
    OverdueRiskError,
    Portfolio,
    build_features,
    build_training_set,
    make_labels,
)
from overdue_risk.labels import assert_no_leakage

# Payments appended after a loan closed are legal, only odd.
pytestmark = pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")

MONTH_ENDS = [str(d.date()) for d in pd.date_range("2024-01-31", "2024-12-31", freq="ME")]
# The sample is observed until 2024-12-31: a 90-day horizon is seen for as-of
# dates up to 2024-10-02, so the month ends January to September.
OBSERVED = MONTH_ENDS[:9]
# The ledger cancels instalments due after a loan's closed_date at every date,
# also before the closing: outstanding_principal then depends on a future
# closed_date (see test_future_closing_date_leaks_into_the_ledger).


@pytest.fixture(scope="module")
def train(sample) -> pd.DataFrame:
    return build_training_set(sample, MONTH_ENDS, DpdTarget())


def test_features_and_labels_line_up(sample, train):
    y = make_labels(sample, MONTH_ENDS, DpdTarget())
    assert train.index.equals(y.index)
    assert train.columns[-1] == "label" and train["label"].dtype == np.int8
    np.testing.assert_array_equal(train["label"].to_numpy(), y.to_numpy())
    X = build_features(sample, OBSERVED)
    pd.testing.assert_frame_equal(train.drop(columns="label"), X.loc[train.index])
    # The label agrees with the dpd feature: every row is below 30 at its as-of date.
    assert (train["dpd"] < 30).all() and (train["is_closed"] == 0).all()


def test_monthly_as_of_dates_are_kept_and_unobserved_ones_dropped(train):
    dates = train.index.get_level_values("as_of")
    assert list(dates.unique()) == [pd.Timestamp(d) for d in OBSERVED]
    # Out-of-time split on the kept as-of date.
    early, late = train[dates < "2024-07-01"], train[dates >= "2024-07-01"]
    assert len(early) and len(late) and len(early) + len(late) == len(train)
    rates = train.groupby(level="as_of")["label"].mean()
    assert rates.between(0.02, 0.25).all()


def test_observed_until_moves_the_last_usable_date(sample):
    t = build_training_set(
        sample, MONTH_ENDS, "dpd30_90d", families=["ledger"], observed_until="2024-07-01"
    )
    # Observed until 07-01: 03-31 + 90 days = 06-29 is seen, 04-30 + 90 = 07-29 is not.
    assert t.index.get_level_values("as_of").max() == pd.Timestamp("2024-03-31")
    with pytest.raises(OverdueRiskError, match="last usable as-of date is 2024-10-02"):
        build_training_set(sample, ["2024-11-30", "2024-12-31"], DpdTarget())


def test_families_exclude_custom_and_cure(sample):
    def n_payments(portfolio, as_of):
        return portfolio.payments.groupby("loan_id").size()

    t = build_training_set(
        sample,
        ["2024-03-31", "2024-06-30"],
        CureTarget(),
        families=["ledger"],
        exclude=["paid_ahead"],
        custom=[CustomFeature("n_payments", n_payments)],
    )
    assert "paid_ahead" not in t and "n_payments" in t and "dpd" in t
    assert (t["dpd"] > 0).all()  # cure rows: overdue at the as-of date
    assert set(t["label"].unique()) == {0, 1}
    clash = CustomFeature("label", n_payments)
    with pytest.raises(OverdueRiskError, match="named 'label'"):
        build_training_set(sample, "2024-03-31", DpdTarget(), families=["ledger"], custom=[clash])


# -- leakage ------------------------------------------------------------------------


def _with_later_payments(p: Portfolio, d: pd.Timestamp) -> Portfolio:
    """``p`` with two more payments per started loan, dated after ``d``."""
    ids = p.loans.loc[p.loans["start_date"] <= d, "loan_id"]
    later = pd.DataFrame(
        {
            "loan_id": pd.concat([ids, ids], ignore_index=True),
            "payment_date": np.repeat(
                [d + pd.Timedelta(days=1), d + pd.Timedelta(days=40)], len(ids)
            ),
            "amount": 250.0,
        }
    ).astype({"loan_id": p.payments["loan_id"].dtype})
    return Portfolio(**{**p.tables(), "payments": pd.concat([p.payments, later])})


def test_features_at_each_as_of_ignore_later_payments(sample):
    dates = ["2024-03-31", "2024-06-30", "2024-09-30"]
    base = build_features(sample, dates)
    at = base.index.get_level_values("as_of")
    for d in map(pd.Timestamp, dates):
        after = build_features(_with_later_payments(sample, d), [d])
        pd.testing.assert_frame_equal(base[at == d], after)


def test_assert_no_leakage_passes_on_the_built_in_features(sample):
    assert_no_leakage(sample, ["2024-03-31", "2024-09-30"])


def test_a_future_closing_date_changes_no_ledger_feature(sample):
    # Closing cancels later instalments only from the closing date on.
    assert_no_leakage(sample, ["2024-03-31"], families=["ledger"])


def test_a_leaky_custom_feature_is_detected(sample):
    def pipeline(portfolio, dates):
        # Reads the whole portfolio through the closure, not the cut one it is given.
        def total_paid(cut, as_of):
            return portfolio.payments.groupby("loan_id")["amount"].sum()

        leaky = CustomFeature("total_paid", total_paid)
        return build_features(portfolio, dates, families=["ledger"], custom=[leaky])

    with pytest.raises(AssertionError, match=r"leakage\): total_paid$"):
        assert_no_leakage(sample, ["2024-06-30"], build=pipeline)


def test_an_honest_custom_feature_passes(sample):
    def total_paid(cut, as_of):
        return cut.payments.groupby("loan_id")["amount"].sum()

    honest = CustomFeature("total_paid", total_paid)
    assert_no_leakage(sample, ["2024-06-30"], families=["ledger"], custom=[honest])
