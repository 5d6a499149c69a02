"""Hand-computed cases for the ``revolving`` feature family (statements).

Card ``R`` (limit 1000, later 2000) has eight monthly statements; the eighth,
2024-08-31, comes after every as-of date used and must change nothing::

    #  statement_date  balance  credit_limit  min_due  amount_paid  dpd   utilisation
    1  2024-01-31          100          1000       10           10    0   0.10
    2  2024-02-29          200          1000       20            0    0   0.20
    3  2024-03-31          240          1000       30           15   29   0.24
    4  2024-04-30          400             0        0            5    0   NaN (limit 0)
    5  2024-05-31          500             -        -            -    -   NaN (limit missing)
    6  2024-06-30          600          1000       60           30    0   0.60
    7  2024-07-31          800          2000       80            -   15   0.40
    8  2024-08-31         5000          1000      500            0   60   (future)

Card ``N`` has a single statement dated after every as-of date; ``I`` is an
instalment loan without statements; card ``Z`` has a balance that starts at 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import only_loans
from overdue_risk import Portfolio
from overdue_risk.features import build_features, list_features
from strategies import STATEMENT_COLUMNS

NAN = np.nan
NAMES = list(list_features(["revolving"])["name"])

STATEMENTS = [
    # loan, date, balance, limit, min_due, paid, dpd
    ("R", "2024-01-31", 100.0, 1000.0, 10.0, 10.0, 0.0),
    ("R", "2024-02-29", 200.0, 1000.0, 20.0, 0.0, 0.0),
    ("R", "2024-03-31", 240.0, 1000.0, 30.0, 15.0, 29.0),
    ("R", "2024-04-30", 400.0, 0.0, 0.0, 5.0, 0.0),
    ("R", "2024-05-31", 500.0, NAN, NAN, NAN, NAN),
    ("R", "2024-06-30", 600.0, 1000.0, 60.0, 30.0, 0.0),
    ("R", "2024-07-31", 800.0, 2000.0, 80.0, NAN, 15.0),
    ("R", "2024-08-31", 5000.0, 1000.0, 500.0, 0.0, 60.0),
    ("N", "2024-12-31", 50.0, 500.0, 5.0, 5.0, 0.0),
    ("Z", "2024-01-31", 0.0, 100.0, 0.0, 0.0, 0.0),
    ("Z", "2024-02-29", 50.0, 100.0, 5.0, 5.0, 0.0),
    ("Z", "2024-03-31", 60.0, 100.0, 5.0, 5.0, 0.0),
    ("Z", "2024-04-30", 70.0, 100.0, 5.0, 5.0, 0.0),
]


def portfolio(statements=STATEMENTS, columns=None) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": ["R", "N", "I", "Z"],
            "customer_id": ["c1", "c2", "c3", "c4"],
            "product_type": ["revolving", "revolving", "instalment", "revolving"],
            "start_date": "2024-01-01",
            "principal": [1000.0, 500.0, 300.0, 100.0],
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": "I",
            "installment_no": [1, 2, 3],
            "due_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
            "amount_due": 100.0,
        }
    )
    pay = pd.DataFrame({"loan_id": ["I"], "payment_date": ["2024-02-01"], "amount": [100.0]})
    st = pd.DataFrame(list(statements), columns=STATEMENT_COLUMNS)
    if columns is not None:
        st = st[columns]
    return Portfolio(loans=loans, installments=inst, payments=pay, statements=st)


def features(p: Portfolio, as_of) -> pd.DataFrame:
    return build_features(p, as_of, families=["revolving"])


def assert_features(row: pd.Series, expected: dict[str, float]) -> None:
    assert list(expected) == NAMES  # every feature is asserted, in declared order
    got = row[NAMES].to_numpy(np.float64)
    np.testing.assert_allclose(got, list(expected.values()), rtol=1e-6, equal_nan=True)


def test_catalogue_and_dtypes():
    X = features(portfolio(), ["2024-03-31", "2024-07-31"])
    assert list(X.columns) == NAMES
    assert (X.dtypes == np.float32).all()
    specs = list_features(["revolving"])
    assert set(specs["inputs"]) == {"statements"}
    assert specs["description"].str.endswith(".").all()


def test_statement_on_as_of_counts():
    # As of 2024-07-31 statement 7 is the latest; statement 8 is in the future.
    row = features(portfolio(), "2024-07-31").loc[("R", "2024-07-31")]
    assert_features(
        row,
        {
            "utilisation": 800 / 2000,
            # statements 5-7: NaN, 0.6, 0.4 -> (0.6 + 0.4) / 2
            "utilisation_mean_3s": 0.5,
            # statements 2-7: 0.2, 0.24, NaN, NaN, 0.6, 0.4
            "utilisation_max_6s": 0.6,
            # amount_paid missing counts as 0: 0 / 80
            "paid_to_min_due": 0.0,
            # statement 5 has no min_due: (30 + 0) / (60 + 80)
            "paid_to_min_due_3s": 30 / 140,
            # statements 2-7 without 5: (0 + 15 + 5 + 30 + 0) / (20 + 30 + 0 + 60 + 80)
            "paid_to_min_due_6s": 50 / 190,
            # 2 (0 < 20), 3 (15 < 30), 6 (30 < 60), 7 (0 < 80); 4 (5 >= 0) is not missed
            "n_min_missed_6s": 4,
            # 800 / balance of statement 4 (400) - 1
            "balance_change_3s": 1.0,
            # balances 200, 240, 400, 500, 600, 800 at x = 0..5, x mean 2.5:
            # sum((x - 2.5) * y) = -500 - 360 - 200 + 250 + 900 + 2000 = 2090; Sxx = 17.5
            "balance_slope_6s": 2090 / 17.5,
            "reported_dpd": 15,
            "reported_dpd_max_6s": 29,
            "reported_dpd_max_12s": 29,
            "n_reported_delinquent_12s": 2,  # statements 3 and 7
            "months_since_delinquent_reported": 0,  # the latest reports dpd 15
            "n_statements": 7,
        },
    )


def test_day_before_statement():
    # As of 2024-07-30 statement 6 is the latest.
    row = features(portfolio(), "2024-07-30").loc[("R", "2024-07-30")]
    assert_features(
        row,
        {
            "utilisation": 0.6,
            "utilisation_mean_3s": 0.6,  # statements 4-6: NaN, NaN, 0.6
            "utilisation_max_6s": 0.6,  # 0.1, 0.2, 0.24, NaN, NaN, 0.6
            "paid_to_min_due": 30 / 60,
            "paid_to_min_due_3s": 35 / 60,  # (5 + 30) / (0 + 60), statement 5 left out
            "paid_to_min_due_6s": 60 / 120,  # (10 + 0 + 15 + 5 + 30) / (10 + 20 + 30 + 0 + 60)
            "n_min_missed_6s": 3,  # statements 2, 3 and 6; 1 paid exactly the minimum
            "balance_change_3s": 600 / 240 - 1,
            # 100, 200, 240, 400, 500, 600: -250 - 300 - 120 + 200 + 750 + 1500 = 1780
            "balance_slope_6s": 1780 / 17.5,
            "reported_dpd": 0,
            "reported_dpd_max_6s": 29,
            "reported_dpd_max_12s": 29,
            "n_reported_delinquent_12s": 1,
            "months_since_delinquent_reported": 3,  # statement 3, then 4, 5, 6
            "n_statements": 6,
        },
    )


def test_limit_and_min_due_zero_give_nan_not_inf():
    # As of 2024-04-30 the latest statement has credit_limit 0 and min_due 0.
    row = features(portfolio(), "2024-04-30").loc[("R", "2024-04-30")]
    assert_features(
        row,
        {
            "utilisation": NAN,
            "utilisation_mean_3s": (0.2 + 0.24) / 2,
            "utilisation_max_6s": 0.24,
            "paid_to_min_due": NAN,
            "paid_to_min_due_3s": 20 / 50,  # (0 + 15 + 5) / (20 + 30 + 0)
            "paid_to_min_due_6s": 30 / 60,  # (10 + 0 + 15 + 5) / (10 + 20 + 30 + 0)
            "n_min_missed_6s": 2,
            "balance_change_3s": 400 / 100 - 1,
            # 100, 200, 240, 400 at x = 0..3, x mean 1.5: -150 - 100 + 120 + 600 = 470; Sxx = 5
            "balance_slope_6s": 470 / 5,
            "reported_dpd": 0,
            "reported_dpd_max_6s": 29,
            "reported_dpd_max_12s": 29,
            "n_reported_delinquent_12s": 1,
            "months_since_delinquent_reported": 1,
            "n_statements": 4,
        },
    )


def test_few_statements():
    X = features(portfolio(), ["2024-02-15", "2024-03-31"])
    assert_features(
        X.loc[("R", "2024-02-15")],
        {
            "utilisation": 0.1,
            "utilisation_mean_3s": 0.1,
            "utilisation_max_6s": 0.1,
            "paid_to_min_due": 1.0,
            "paid_to_min_due_3s": 1.0,
            "paid_to_min_due_6s": 1.0,
            "n_min_missed_6s": 0,  # paid exactly the minimum: observed, not missed
            "balance_change_3s": NAN,  # no statement 3 before the latest
            "balance_slope_6s": NAN,  # fewer than 3 statements
            "reported_dpd": 0,
            "reported_dpd_max_6s": 0,
            "reported_dpd_max_12s": 0,
            "n_reported_delinquent_12s": 0,
            "months_since_delinquent_reported": NAN,  # never reported past due
            "n_statements": 1,
        },
    )
    assert_features(
        X.loc[("R", "2024-03-31")],
        {
            "utilisation": 0.24,
            "utilisation_mean_3s": (0.1 + 0.2 + 0.24) / 3,
            "utilisation_max_6s": 0.24,
            "paid_to_min_due": 0.5,
            "paid_to_min_due_3s": 25 / 60,
            "paid_to_min_due_6s": 25 / 60,
            "n_min_missed_6s": 2,
            "balance_change_3s": NAN,
            "balance_slope_6s": 70.0,  # 100, 200, 240: (-100 + 240) / 2
            "reported_dpd": 29,
            "reported_dpd_max_6s": 29,
            "reported_dpd_max_12s": 29,
            "n_reported_delinquent_12s": 1,
            "months_since_delinquent_reported": 0,
            "n_statements": 3,
        },
    )


def test_no_statements_yet_or_ever():
    X = features(portfolio(), ["2024-01-15", "2024-07-31"])
    before = dict.fromkeys(NAMES, NAN)
    # A card before its first statement has 0 statements; nothing else is observed.
    assert_features(X.loc[("R", "2024-01-15")], {**before, "n_statements": 0})
    assert_features(X.loc[("N", "2024-07-31")], {**before, "n_statements": 0})
    # An instalment loan without statements is not observed through them at all.
    for day in ("2024-01-15", "2024-07-31"):
        assert_features(X.loc[("I", day)], before)


def test_earlier_balance_zero_gives_nan():
    row = features(portfolio(), "2024-04-30").loc[("Z", "2024-04-30")]
    assert np.isnan(row["balance_change_3s"])  # 70 / 0 - 1 is not a number
    # 0, 50, 60, 70 at x = 0..3, x mean 1.5: -1.5 * 0 - 0.5 * 50 + 0.5 * 60 + 1.5 * 70 = 110
    assert row["balance_slope_6s"] == pytest.approx(110 / 5)
    assert row["utilisation"] == pytest.approx(0.7)


def test_future_statements_and_row_order_change_nothing():
    days = ["2024-02-15", "2024-04-30", "2024-07-30", "2024-07-31"]
    X = features(portfolio(), days)
    # Card N keeps its later statement: without any it would have no repayment data.
    past = [s for s in STATEMENTS if s[1] <= "2024-07-31" or s[0] == "N"]
    pd.testing.assert_frame_equal(X, features(portfolio(past), days))
    shuffled = [STATEMENTS[i] for i in np.random.default_rng(1).permutation(len(STATEMENTS))]
    pd.testing.assert_frame_equal(X, features(portfolio(shuffled), days))


def test_missing_optional_columns():
    p = portfolio(columns=["loan_id", "statement_date", "balance"])
    row = features(p, "2024-07-31").loc[("R", "2024-07-31")]
    balance_only = {
        "balance_change_3s": 1.0,
        "balance_slope_6s": 2090 / 17.5,
        "n_statements": 7,
    }
    assert_features(row, {name: balance_only.get(name, NAN) for name in NAMES})
    # Without amount_paid a minimum due cannot be judged paid or missed.
    p = portfolio(columns=["loan_id", "statement_date", "balance", "min_due", "dpd"])
    row = features(p, "2024-07-31").loc[("R", "2024-07-31")]
    assert row[["paid_to_min_due", "paid_to_min_due_3s", "n_min_missed_6s"]].isna().all()
    assert row["reported_dpd"] == 15


def test_portfolio_without_statements():
    p = portfolio()
    p = Portfolio(loans=p.loans.iloc[2:3], installments=p.installments, payments=p.payments)
    X = features(p, "2024-07-31")
    assert X.shape == (1, len(NAMES)) and X.isna().all().all()


def test_sample_sanity(sample):
    X = features(sample, ["2023-06-30", "2024-06-30", "2024-12-31"])
    values = X.to_numpy(np.float64)
    assert not np.isinf(values).any()
    assert X["n_statements"].notna().any() and X["utilisation"].notna().any()
    for name, top in [("n_min_missed_6s", 6), ("n_reported_delinquent_12s", 12)]:
        assert X[name].dropna().between(0, top).all()
    assert (X["n_statements"].dropna() >= 0).all()
    assert (X["paid_to_min_due"].dropna() >= 0).all()
    assert (X["months_since_delinquent_reported"].dropna() >= 0).all()
    both = X[["reported_dpd", "reported_dpd_max_6s", "reported_dpd_max_12s"]].dropna()
    assert (both["reported_dpd"] <= both["reported_dpd_max_6s"]).all()
    assert (both["reported_dpd_max_6s"] <= both["reported_dpd_max_12s"]).all()
    # Loans that never had a statement have NaN everywhere.
    has = X.index.get_level_values("loan_id").isin(sample.statements["loan_id"])
    assert X[~has].isna().all().all()


def test_sample_does_not_depend_on_other_loans(sample):
    days = ["2024-06-30", "2024-12-31"]
    ids = sample.statements["loan_id"].drop_duplicates().iloc[:40]
    X = features(sample, days)
    Y = features(only_loans(sample, ids), days)
    pd.testing.assert_frame_equal(Y, X.loc[Y.index])
