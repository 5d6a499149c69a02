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

Each statement's amount paid is judged against the balance of the statement
before it (statement 1 has none): 2 pays 0 of 100, 3 pays 15 of 200, 4 pays 5
of 240, 5 (paid missing, read as 0) 0 of 400, 6 pays 30 of 500, 7 (missing) 0
of 600.

Card ``T`` pays its balance in full most months and has its limit raised::

    #  statement_date  balance  credit_limit  min_due  amount_paid   against the previous
    1  2024-01-15          300           500       30            0   (no previous statement)
    2  2024-02-15          200           500       20          300   300 of 300: in full
    3  2024-03-15          450          1000       45          150   150 of 200
    4  2024-04-15            0          1000        0          500   500 of 450: in full
    5  2024-05-15          100          1500       10            0   nothing owed: not judged
    6  2024-06-15          -20          1500        0          120   120 of 100: in full
    7  2024-07-15           50          1500        5            0   a credit balance: not judged

Card ``N`` has a single statement dated after every as-of date; ``I`` is an
instalment loan without statements; card ``Z`` has a balance that starts at 0.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import SETTINGS, only_loans
from overdue_risk import LedgerConfig, Portfolio
from overdue_risk.features import build_features, list_features
from strategies import STATEMENT_COLUMNS, day

NAN = np.nan
NAMES = list(list_features(["revolving"])["name"])
# Against the minimum due, utilisation and reported DPD; then against the previous
# balance, the latest statements one by one, the utilisation trend and the limit.
BASE = NAMES[: NAMES.index("n_statements") + 1]
LATER = NAMES[len(BASE) :]
MIN_DUE = ["paid_to_min_due", "paid_to_min_due_3s", "paid_to_min_due_6s", "n_min_missed_6s"]

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
    ("T", "2024-01-15", 300.0, 500.0, 30.0, 0.0, 0.0),
    ("T", "2024-02-15", 200.0, 500.0, 20.0, 300.0, 0.0),
    ("T", "2024-03-15", 450.0, 1000.0, 45.0, 150.0, 0.0),
    ("T", "2024-04-15", 0.0, 1000.0, 0.0, 500.0, 0.0),
    ("T", "2024-05-15", 100.0, 1500.0, 10.0, 0.0, 0.0),
    ("T", "2024-06-15", -20.0, 1500.0, 0.0, 120.0, 0.0),
    ("T", "2024-07-15", 50.0, 1500.0, 5.0, 0.0, 0.0),
]


def portfolio(statements=STATEMENTS, columns=None) -> Portfolio:
    loans = pd.DataFrame(
        {
            "loan_id": ["R", "N", "I", "Z", "T"],
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "product_type": ["revolving", "revolving", "instalment", "revolving", "revolving"],
            "start_date": "2024-01-01",
            "principal": [1000.0, 500.0, 300.0, 100.0, 500.0],
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


def assert_features(row: pd.Series, expected: dict[str, float], names=BASE) -> None:
    assert list(expected) == names  # every feature of the group, in declared order
    got = row[names].to_numpy(np.float64)
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
    assert_features(X.loc[("R", "2024-01-15")], {**before, "n_statements": 0}, NAMES)
    assert_features(X.loc[("N", "2024-07-31")], {**before, "n_statements": 0}, NAMES)
    # An instalment loan without statements is not observed through them at all.
    for d in ("2024-01-15", "2024-07-31"):
        assert_features(X.loc[("I", d)], before, NAMES)


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
        # statements 7 back to 2
        **lags("balance", [800, 600, 500, 400, 240, 200]),
    }
    assert_features(row, {name: balance_only.get(name, NAN) for name in NAMES}, NAMES)
    # Without amount_paid neither a minimum due nor a previous balance can be judged paid.
    p = portfolio(columns=["loan_id", "statement_date", "balance", "min_due", "dpd"])
    row = features(p, "2024-07-31").loc[("R", "2024-07-31")]
    assert row[["paid_to_min_due", "paid_to_min_due_3s", "n_min_missed_6s"]].isna().all()
    assert row[["paid_to_prev_balance", "n_full_payments_6s", "amount_paid_lag1"]].isna().all()
    assert row["reported_dpd"] == 15


def lags(name: str, values: list[float], first: int = 1) -> dict[str, float]:
    return {f"{name}_lag{k}": v for k, v in enumerate(values, start=first)}


def test_later_features_on_as_of():
    # As of 2024-07-31: statements 2-7 are the last 6, statement 7 the latest.
    row = features(portfolio(), "2024-07-31").loc[("R", "2024-07-31")]
    expected = {
        "paid_to_prev_balance": 0.0,  # statement 7: paid missing (0) of 600
        "paid_to_prev_balance_3s": 30 / 1500,  # statements 5-7: (0 + 30 + 0) / (400 + 500 + 600)
        # statements 2-7: (0 + 15 + 5 + 0 + 30 + 0) / (100 + 200 + 240 + 400 + 500 + 600)
        "paid_to_prev_balance_6s": 50 / 2040,
        "n_full_payments_6s": 0,
        "n_no_payment_6s": 3,  # statements 2, 5 and 7
        **lags("balance", [800, 600, 500, 400, 240, 200]),
        **lags("amount_paid", [0, 30, 0, 5, 15, 0]),  # a missing amount reads as 0
        **lags("utilisation", [0.6, NAN, NAN, 0.24, 0.2], first=2),
        **lags("reported_dpd", [0, NAN, 0, 29, 0], first=2),
        # utilisation 0.2, 0.24, 0.6, 0.4 at x = 0, 1, 4, 5: x mean 2.5, y mean 0.36;
        # Sxy = 2.5 * 0.16 + 1.5 * 0.12 + 1.5 * 0.24 + 2.5 * 0.04 = 1.04, Sxx = 17
        "utilisation_slope_6s": 1.04 / 17,
        "utilisation_vs_mean_6s": 0.4 - 0.36,
        # limits 1000, 1000, 0, -, 1000, 2000: 2000 over the earliest (1000)
        "limit_change_6s": 2.0,
        "n_limit_changes_6s": 3,  # 1000 -> 0, 0 -> 1000 (across the missing one), 1000 -> 2000
    }
    assert_features(row, expected, LATER)


def test_later_features_day_before_statement():
    # As of 2024-07-30: statements 1-6.
    row = features(portfolio(), "2024-07-30").loc[("R", "2024-07-30")]
    expected = {
        "paid_to_prev_balance": 30 / 500,
        "paid_to_prev_balance_3s": 35 / 1140,  # statements 4-6: (5 + 0 + 30) / (240 + 400 + 500)
        "paid_to_prev_balance_6s": 50 / 1440,  # statement 1 has no previous balance
        "n_full_payments_6s": 0,
        "n_no_payment_6s": 2,  # statements 2 and 5
        **lags("balance", [600, 500, 400, 240, 200, 100]),
        **lags("amount_paid", [30, 0, 5, 15, 0, 10]),
        **lags("utilisation", [NAN, NAN, 0.24, 0.2, 0.1], first=2),
        **lags("reported_dpd", [NAN, 0, 29, 0, 0], first=2),
        # 0.1, 0.2, 0.24, 0.6 at x = 0, 1, 2, 5: x mean 2, y mean 0.285;
        # Sxy = 2 * 0.185 + 1 * 0.085 + 0 + 3 * 0.315 = 1.4, Sxx = 4 + 1 + 0 + 9 = 14
        "utilisation_slope_6s": 0.1,
        "utilisation_vs_mean_6s": 0.6 - 0.285,
        "limit_change_6s": 1.0,  # 1000 over 1000
        "n_limit_changes_6s": 2,  # 1000 -> 0 -> 1000
    }
    assert_features(row, expected, LATER)


def test_later_features_with_one_statement():
    row = features(portfolio(), "2024-02-15").loc[("R", "2024-02-15")]
    expected = dict.fromkeys(LATER, NAN)  # no previous balance, no second limit
    expected |= {
        "balance_lag1": 100,
        "amount_paid_lag1": 10,
        "utilisation_vs_mean_6s": 0.0,
        "limit_change_6s": 1.0,
    }
    assert_features(row, expected, LATER)


def test_transactor_and_limit_raises():
    X = features(portfolio(), ["2024-06-30", "2024-07-31"])
    june, july = X.loc[("T", "2024-06-30")], X.loc[("T", "2024-07-31")]
    # June: statements 1-6; 2, 3, 4 and 6 are judged (5 follows a zero balance).
    assert june["paid_to_prev_balance"] == pytest.approx(120 / 100)
    assert june["paid_to_prev_balance_3s"] == pytest.approx((500 + 120) / (450 + 100))
    assert june["paid_to_prev_balance_6s"] == pytest.approx(1070 / 1050)
    assert june["n_full_payments_6s"] == 3  # 2 (exactly the balance), 4 and 6
    assert june["n_no_payment_6s"] == 0  # 5 paid nothing, but nothing was owed
    assert june["limit_change_6s"] == 3.0  # 1500 over 500
    assert june["n_limit_changes_6s"] == 2
    # July: the latest follows a credit balance and is not judged; 2-7 are the last 6.
    assert np.isnan(july["paid_to_prev_balance"])
    assert july["paid_to_prev_balance_3s"] == pytest.approx(120 / 100)  # only 6 of 5-7
    assert july["n_full_payments_6s"] == 3
    assert july["limit_change_6s"] == 3.0 and july["n_limit_changes_6s"] == 2
    assert july["balance_lag2"] == -20 and july["amount_paid_lag3"] == 0


def test_full_payment_within_tolerance():
    # Statement 3 pays 150 of 200: in full once the tolerance reaches 50.
    p = portfolio()
    for tolerance, full in [(49.99, 3), (50.0, 4)]:
        X = build_features(
            p, "2024-06-30", families=["revolving"], ledger_config=LedgerConfig(tolerance=tolerance)
        )
        assert X.loc[("T", "2024-06-30"), "n_full_payments_6s"] == full


def test_extract_without_min_due(sample):
    """Cards without a minimum due: the features against it are NaN, the rest unchanged."""
    days = ["2024-06-30", "2024-12-31"]
    whole = features(sample, days)
    p = Portfolio(**{**sample.tables(), "statements": sample.statements.drop(columns="min_due")})
    without = features(p, days)
    assert without[MIN_DUE].isna().all().all()
    others = [n for n in NAMES if n not in MIN_DUE]
    pd.testing.assert_frame_equal(without[others], whole[others])
    assert without["paid_to_prev_balance_6s"].notna().any()
    # Every family builds on it.
    X = build_features(p, days)
    assert len(X) == len(whole) and X["dpd"].notna().any()


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
    counts = [("n_min_missed_6s", 6), ("n_reported_delinquent_12s", 12), ("n_no_payment_6s", 6)]
    for name, top in [*counts, ("n_full_payments_6s", 6), ("n_limit_changes_6s", 5)]:
        assert X[name].dropna().between(0, top).all()
    # A month paid in full is not a month with nothing paid (the balance owed is above 0).
    both = X[["n_full_payments_6s", "n_no_payment_6s"]].dropna()
    assert (both.sum(axis=1) <= 6).all() and both.notna().any().all()
    assert (X["n_full_payments_6s"] > 0).any()  # the sample has transactors
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


# -- a plain reference for the features against the previous balance, lags and limits --

CARD_DAYS = st.integers(0, 40)


@st.composite
def card_histories(draw):
    """Up to three cards, each with up to nine monthly statements (some values missing)."""
    loans, rows = [], []
    for card in range(draw(st.integers(1, 3))):
        start = draw(CARD_DAYS)
        loans.append((card, start))
        prev = None
        for k in range(draw(st.integers(0, 9))):
            balance = draw(st.sampled_from([0, -2_000, None])) or draw(st.integers(-5_000, 90_000))
            paid = draw(st.sampled_from(["missing", "zero", "previous", "some"]))
            if paid == "previous" and prev is not None:
                cents = max(prev, 0) + draw(st.sampled_from([-3, 0, 1]))  # about the balance
            else:
                cents = {"missing": None, "zero": 0}.get(paid, draw(st.integers(0, 90_000)))
            rows.append(
                (
                    card,
                    day(start + 30 * (k + 1)),
                    balance / 100,
                    draw(st.sampled_from([NAN, 0.0, 500.0, 1000.0, 1500.0])),
                    draw(st.sampled_from([NAN, 10.0])),
                    NAN if cents is None else max(cents, 0) / 100,
                    draw(st.sampled_from([NAN, 0.0, 0.0, 5.0, 40.0])),
                )
            )
            prev = balance
    return loans, rows


def card_portfolio(loans, rows) -> Portfolio:
    return Portfolio(
        loans=pd.DataFrame(
            {
                "loan_id": [c for c, _ in loans],
                "customer_id": [c for c, _ in loans],
                "product_type": "revolving",
                "start_date": [day(s) for _, s in loans],
                "principal": 1000.0,
            }
        ),
        statements=pd.DataFrame(rows, columns=STATEMENT_COLUMNS),
    )


def later_reference(rows, t, tol: float) -> dict[str, float]:
    """The features of LATER for one card's statements dated on or before ``t``, by definition."""
    s = sorted((r for r in rows if r[1] <= t), key=lambda r: r[1])
    out = dict.fromkeys(LATER, NAN)
    if not s:
        return out
    balance = [r[2] for r in s]
    limit = [r[3] for r in s]
    paid = [0.0 if np.isnan(r[5]) else r[5] for r in s]
    util = [b / c if c > 0 else NAN for b, c in zip(balance, limit, strict=True)]
    n = len(s)
    last6 = range(max(n - 6, 0), n)
    owed = [j for j in range(1, n) if balance[j - 1] > 0]  # judged against the balance before

    def pays(k):
        judged = [j for j in owed if j >= n - k]
        owing = sum(balance[j - 1] for j in judged)
        return sum(paid[j] for j in judged) / owing if judged else NAN

    judged6 = [j for j in owed if j in last6]
    out["paid_to_prev_balance"] = paid[-1] / balance[-2] if n - 1 in owed else NAN
    out["paid_to_prev_balance_3s"] = pays(3)
    out["paid_to_prev_balance_6s"] = pays(6)
    if judged6:
        cents = [round(x * 100) for x in (*paid, *balance, tol)]  # amounts compared exactly
        full = [cents[j] >= cents[n + j - 1] - cents[-1] for j in judged6]
        out["n_full_payments_6s"] = sum(full)
        out["n_no_payment_6s"] = sum(paid[j] == 0 for j in judged6)
    for k in range(1, min(n, 6) + 1):
        out[f"balance_lag{k}"] = balance[-k]
        out[f"amount_paid_lag{k}"] = paid[-k]
        if k > 1:
            out[f"utilisation_lag{k}"] = util[-k]
            out[f"reported_dpd_lag{k}"] = s[-k][6]
    known = [(x, util[j]) for x, j in enumerate(last6) if not np.isnan(util[j])]
    if len(known) >= 3:
        out["utilisation_slope_6s"] = np.polyfit(*zip(*known, strict=True), 1)[0]
    if known:
        out["utilisation_vs_mean_6s"] = util[-1] - np.mean([u for _, u in known])
    limits = [limit[j] for j in last6 if not np.isnan(limit[j])]
    if limits and limits[0] > 0:
        out["limit_change_6s"] = limit[-1] / limits[0]
    if len(limits) >= 2:
        out["n_limit_changes_6s"] = sum(a != b for a, b in itertools.pairwise(limits))
    return out


# A card without any statement draws the contract's warning: that is the case under test.
@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")
@settings(SETTINGS, max_examples=40)
@given(
    data=card_histories(),
    t=st.integers(0, 330),
    tol=st.sampled_from([0.0, 0.03]),
    later=st.lists(st.integers(-5_000, 90_000), max_size=3),
)
def test_later_features_match_reference_and_ignore_the_future(data, t, tol, later):
    loans, rows = data
    p = card_portfolio(loans, rows)
    as_of = day(t)
    config = LedgerConfig(tolerance=tol)
    X = build_features(p, as_of, families=["revolving"], ledger_config=config)
    for card, start in loans:
        if start > t:
            continue
        want = later_reference([r for r in rows if r[0] == card], as_of, tol)
        got = X.loc[(card, as_of), LATER].to_numpy(np.float64)
        np.testing.assert_allclose(got, list(want.values()), rtol=1e-5, atol=1e-6, equal_nan=True)
    # Statements dated after the as-of date (every card gets some) change nothing.
    last = {c: max([s] + [(r[1] - day(0)).days for r in rows if r[0] == c]) for c, s in loans}
    future = [
        (c, day(max(t, last[c]) + 1 + 31 * i), b / 100, 100.0, 5.0, 0.0, 90.0)
        for c, _ in loans
        for i, b in enumerate(later)
    ]
    grown = build_features(
        card_portfolio(loans, rows + future), as_of, families=["revolving"], ledger_config=config
    )
    pd.testing.assert_frame_equal(grown, X)
