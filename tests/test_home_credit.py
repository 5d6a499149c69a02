"""The Home Credit adapter on hand-made files in the exact Kaggle format.

``tests/data/home_credit`` holds the eight competition files, every column in
Kaggle's order, with the data's quirks: 365243 for "not applicable", a missed
instalment (blank payment row), a payment in two parts, a rescheduled instalment
(NUM_INSTALMENT_VERSION 2), cards (version 0 rows), bureau statuses 0-5, C and X,
loans missing from one file or another, blanks. Every expected value below is read
off those rows by hand; the reference date is the default, 2018-05-17.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import overdue_risk as odr
from helpers import ROOT, SETTINGS, assert_refused, run_cli
from overdue_risk import DataQualityWarning, DataValidationError
from overdue_risk.adapters import home_credit

DATA = ROOT / "tests" / "data" / "home_credit"
REF = pd.Timestamp("2018-05-17")
NAMES = [f.file_name for f in home_credit.FILES.values()]


def day(n: int) -> pd.Timestamp:
    """The date ``n`` days from the application (DAYS_* = n)."""
    return REF + pd.Timedelta(days=n)


def month(m: int) -> pd.Timestamp:
    """The date of MONTHS_BALANCE ``m``: the reference date moved by ``m`` months."""
    return REF + pd.DateOffset(months=m)


def raw(name: str) -> pd.DataFrame:
    """A file of the hand-made set, every cell as the text written (blank: "")."""
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def folder(tmp_path: Path, keep=None, edit=None, name="hc") -> Path:
    """A copy of the hand-made files: only ``keep`` (file names) when given, each file
    of ``edit`` passed through its function (text frame in, text frame out)."""
    out = tmp_path / name
    out.mkdir()
    for file in keep if keep is not None else NAMES:
        df = raw(file)
        if edit and file in edit:
            df = edit[file](df)
        df.to_csv(out / file, index=False)
    return out


def quietly(path, **kwargs) -> home_credit.HomeCreditResult:
    """``load``, the data-quality warnings of a partial folder silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return home_credit.load(path, **kwargs)


@pytest.fixture(scope="module")
def result() -> home_credit.HomeCreditResult:
    return home_credit.load(DATA)


def rows(df: pd.DataFrame, loan: str) -> pd.DataFrame:
    return df[df["loan_id"] == loan].reset_index(drop=True)


# -- loans ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loan", "customer", "kind", "start", "principal", "closed"),
    [
        # DAYS_FIRST_DRAWING 365243 (blank): the start is DAYS_DECISION.
        ("prev-1000001", 100001, "instalment", day(-400), 10000.0, None),
        ("prev-1000002", 100001, "instalment", day(-200), 5000.0, None),
        # A card: AMT_CREDIT 0, so the principal is its highest limit (1000, 1000, 1500).
        ("prev-1000003", 100002, "revolving", day(-100), 1500.0, None),
        ("prev-1000006", 100003, "instalment", day(-300), 3000.0, day(-30)),
        ("prev-1000007", 100002, "revolving", day(-90), 2500.0, None),
        # In installments_payments only: starts on its first record, lent 500 + 500.
        ("prev-1000008", 100004, "instalment", day(-90), 1000.0, None),
        ("bureau-5000001", 100001, "instalment", day(-700), 20000.0, None),
        ("bureau-5000002", 100001, "revolving", day(-1000), 5000.0, day(-500)),
        # No DAYS_ENDDATE_FACT: closed on its first month with STATUS C (month -1).
        ("bureau-5000004", 100003, "instalment", day(-100), 1000.0, month(-1)),
    ],
)
def test_loans_enter_with_their_attributes(result, loan, customer, kind, start, principal, closed):
    row = result.portfolio.loans.set_index("loan_id").loc[loan]
    assert row["customer_id"] == customer
    assert row["product_type"] == kind
    assert row["start_date"] == start
    assert row["principal"] == principal
    assert (pd.isna(row["closed_date"]) and closed is None) or row["closed_date"] == closed


def test_only_the_loans_that_can_enter_do(result):
    # 1000004 was refused (no records), 1000005 lent 0 (no records), 1000009 has one POS
    # row without a balance (no date at all), 5000003 has no amount > 0, 5000099 is only
    # in bureau_balance.
    assert result.portfolio.loans["loan_id"].tolist() == [
        "prev-1000001",
        "prev-1000002",
        "prev-1000003",
        "prev-1000006",
        "prev-1000007",
        "prev-1000008",
        "bureau-5000001",
        "bureau-5000002",
        "bureau-5000004",
    ]


def test_the_same_number_in_two_sources_gives_two_loans(tmp_path):
    def same_id(df):
        df["SK_ID_BUREAU"] = df["SK_ID_BUREAU"].replace("5000001", "1000001")
        return df

    edit = {"bureau.csv": same_id, "bureau_balance.csv": same_id}
    loans = home_credit.load(folder(tmp_path, edit=edit)).portfolio.loans
    both = loans[loans["loan_id"].isin(["prev-1000001", "bureau-1000001"])]
    assert both["principal"].tolist() == [10000.0, 20000.0]


# -- the schedule and payments -------------------------------------------------


def test_a_later_version_replaces_the_instalment(result):
    schedule = rows(result.portfolio.installments, "prev-1000001")
    # Instalment 4 moved from day -270 (1000) to day -240 (1200.5) in version 2.
    assert schedule["due_date"].tolist() == [
        day(d) for d in (-360, -330, -300, -240, -210, -180, -150)
    ]
    assert schedule["amount_due"].tolist() == [1000.0] * 3 + [1200.5] * 4
    assert schedule["installment_no"].tolist() == list(range(1, 8))
    replaced = result.table().query("reason == 'superseded_version'")
    assert replaced[["rows", "action"]].values.tolist() == [[1, "replaced"]]


def test_instalments_are_numbered_by_due_date(result):
    # Kaggle's instalment 3 (day -185) falls before instalment 2 (day -170).
    schedule = rows(result.portfolio.installments, "prev-1000006")
    assert schedule["due_date"].tolist() == [day(-200), day(-185), day(-170)]
    payments = rows(result.portfolio.payments, "prev-1000006")
    # The payment of Kaggle's instalment 2 (day -160) goes to instalment 3.
    assert payments[["payment_date", "installment_no"]].values.tolist() == [
        [day(-200), 1.0],
        [day(-185), 2.0],
        [day(-160), 3.0],
    ]


def test_payments_of_an_instalment_loan(result):
    got = rows(result.portfolio.payments, "prev-1000001")
    assert got[["payment_date", "installment_no", "amount"]].values.tolist() == [
        [day(-365), 1.0, 1000.0],
        [day(-320), 2.0, 600.0],  # instalment 2 paid in two parts ...
        [day(-300), 2.0, 400.0],  # ... the second on the day instalment 3 is paid
        [day(-300), 3.0, 1000.0],
        [day(-235), 4.0, 1200.5],
        [day(-210), 5.0, 1200.5],  # 700.25 + 500.25, the same day: one payment
    ]
    # Instalment 6's row paid 0 and instalment 7's has no date: no payment.
    assert rows(result.portfolio.payments, "prev-1000008")["amount"].tolist() == [500.0]


def test_a_missed_instalment_is_due_and_unpaid(result):
    ledger = odr.Ledger(result.portfolio).at(REF).table()
    # prev-1000001: instalments 6 and 7 (1200.5 each) unpaid, the oldest due at day -180.
    assert ledger.loc[("prev-1000001", REF), "dpd"] == 180
    assert ledger.loc[("prev-1000001", REF), "overdue_amount"] == 2401.0


def test_cards_pay_from_one_source_only(result):
    payments = result.portfolio.payments
    # prev-1000003 has rows in installments_payments (version 0): those are its payments,
    # with no instalment; its statements' AMT_PAYMENT_TOTAL_CURRENT is no payment.
    assert rows(payments, "prev-1000003")[["payment_date", "amount"]].values.tolist() == [
        [day(-58), 150.0],
        [day(-25), 120.0],
    ]
    assert rows(payments, "prev-1000003")["installment_no"].isna().all()
    # prev-1000007 has none: its monthly AMT_PAYMENT_TOTAL_CURRENT > 0 is.
    assert rows(payments, "prev-1000007")[["payment_date", "amount"]].values.tolist() == [
        [month(-2), 300.0]
    ]
    # A card's AMT_INSTALMENT is no schedule.
    assert rows(result.portfolio.installments, "prev-1000003").empty


# -- statements ----------------------------------------------------------------


def test_card_statements(result):
    got = rows(result.portfolio.statements, "prev-1000003")
    cols = ["statement_date", "balance", "credit_limit", "min_due", "amount_paid", "dpd"]
    assert got[cols].values.tolist() == [
        [month(-3), 500.0, 1000.0, 50.0, 0.0, 0.0],
        [month(-2), 700.0, 1000.0, 70.0, 150.0, 0.0],
        [month(-1), 680.0, 1500.0, 68.0, 120.0, 0.0],
    ]


def test_pos_statements_price_the_instalments_left(result):
    got = rows(result.portfolio.statements, "prev-1000002")
    # AMT_ANNUITY 500 x CNT_INSTALMENT_FUTURE (8, 7, 7); month -4 has no FUTURE: dropped.
    cols = ["statement_date", "balance", "dpd", "dpd_with_tolerance"]
    assert got[cols].values.tolist() == [
        [month(-3), 4000.0, 0.0, 0.0],
        [month(-2), 3500.0, 5.0, 0.0],
        [month(-1), 3500.0, 35.0, 35.0],
    ]


def test_bureau_statuses_become_dpd(result):
    got = rows(result.portfolio.statements, "bureau-5000001").set_index("statement_date")
    # Months -3 (2), -2 (X), -1 (1), 0 (0); bureau.csv's own record on DAYS_CREDIT_UPDATE
    # (day -10): CREDIT_DAY_OVERDUE 0 and the current debt, 8000.
    assert got.index.tolist() == [month(-3), month(-2), month(-1), day(-10), REF]
    assert got["dpd"].tolist()[:1] + got["dpd"].tolist()[2:] == [31.0, 1.0, 0.0, 0.0]
    assert np.isnan(got.loc[month(-2), "dpd"])
    assert (got["balance"] == 8000.0).all()
    closing = rows(result.portfolio.statements, "bureau-5000004")
    # 4 -> 91, 5 -> 121 (the bands' lowest DPD); C -> 0 with nothing owed. Its
    # DAYS_CREDIT_UPDATE (-41947) is before DAYS_CREDIT: no statement from it.
    assert closing[["statement_date", "dpd", "balance"]].values.tolist() == [
        [month(-3), 91.0, 500.0],
        [month(-2), 121.0, 500.0],
        [month(-1), 0.0, 0.0],
    ]


def test_status_dpd_bands():
    dpd = home_credit.STATUS_DPD
    assert [dpd[s] for s in "012345C"] == [0, 1, 31, 61, 91, 121, 0]
    assert np.isnan(dpd["X"])
    # Each band's DPD lands in the band's ledger bucket (edges 30, 60, 90).
    assert [int(dpd[s] >= 30) + int(dpd[s] >= 60) + int(dpd[s] >= 90) for s in "12345"] == [
        0,
        1,
        2,
        3,
        3,
    ]


# -- what did not enter --------------------------------------------------------


def test_every_dropped_row_is_counted_with_its_reason(result):
    got = result.table()
    got = {tuple(r[:4]): (r[4], r[5]) for r in got.drop(columns="message").values.tolist()}
    assert got == {
        ("installments_payments.csv", "row", "blank_id", "dropped"): (1, 10.0),
        ("installments_payments.csv", "payment", "payment_without_date", "dropped"): (1, 50.0),
        ("installments_payments.csv", "payment", "payment_not_positive", "dropped"): (1, 0.0),
        ("installments_payments.csv", "instalment", "revolving_schedule", "dropped"): (2, 0.0),
        ("installments_payments.csv", "instalment", "superseded_version", "replaced"): (1, 0.0),
        ("previous_application.csv", "row", "not_a_credit", "dropped"): (1, 0.0),
        ("previous_application.csv", "row", "no_principal", "dropped"): (1, 0.0),
        ("POS_CASH_balance.csv", "row", "no_balance", "dropped"): (1, 0.0),
        # Loan 1000009 has a dated POS month but no application: no amount and no
        # annuity, so no balance; it cannot enter for want of a principal.
        ("POS_CASH_balance.csv", "row", "no_principal", "dropped"): (1, 0.0),
        ("credit_card_balance.csv", "row", "no_statement_date", "dropped"): (1, 99.0),
        ("bureau.csv", "row", "no_principal", "dropped"): (1, 0.0),
        ("bureau.csv", "statement", "update_before_start", "dropped"): (1, 0.0),
        ("bureau_balance.csv", "row", "blank_id", "dropped"): (1, 0.0),
        ("bureau_balance.csv", "row", "unknown_loan", "dropped"): (1, 0.0),
        ("bureau_balance.csv", "row", "no_principal", "dropped"): (1, 0.0),
    }
    assert set(result.table()["reason"]) <= set(home_credit.REASONS)


def test_money_is_conserved(result):
    read = pd.to_numeric(raw("installments_payments.csv")["AMT_PAYMENT"]).sum()
    assert read == 9531.0  # the file's AMT_PAYMENT, by hand
    paid = result.portfolio.payments
    from_rows = paid[paid["loan_id"] != "prev-1000007"]["amount"].sum()
    dropped = result.table().query("file == 'installments_payments.csv'")["amount"].sum()
    assert from_rows + dropped == pytest.approx(read)
    # The card paid from credit_card_balance: 300 written, 99 on a row without a month.
    assert rows(paid, "prev-1000007")["amount"].sum() == 300.0
    money = result.money().set_index("file")
    assert money.loc["installments_payments.csv", "read"] == pytest.approx(9531.0)
    assert money.loc["credit_card_balance.csv", ["read", "written", "dropped"]].tolist() == [
        399.0,
        300.0,
        99.0,
    ]
    assert money["difference"].abs().max() < 1e-6


def test_summary_counts_rows_per_file(result):
    summary = result.summary().set_index("file")
    assert summary["rows_read"].to_dict() == {
        "application_train.csv": 3,
        "application_test.csv": 1,
        "previous_application.csv": 7,
        "installments_payments.csv": 18,
        "POS_CASH_balance.csv": 6,
        "credit_card_balance.csv": 6,
        "bureau.csv": 4,
        "bureau_balance.csv": 13,
    }
    assert summary.loc["bureau_balance.csv", "rows_dropped"] == 3
    assert summary.loc["installments_payments.csv", "parts_dropped"] == 4
    assert result.to_dict()["tables"]["loans"] == 9


# -- customers and TARGET ------------------------------------------------------


def test_target_is_an_external_label(result):
    assert result.target.to_dict() == {100001: 0, 100002: 1, 100003: 0}
    assert result.target.index.name == "customer_id"
    # The test application's customer is a customer, without a label.
    assert 100004 in set(result.portfolio.customers["customer_id"])
    assert "target" not in result.portfolio.customers
    assert "TARGET" not in result.portfolio.customers


def test_customer_attributes(result):
    c = result.portfolio.customers.set_index("customer_id")
    assert c.loc[100001, "birth_date"] == day(-19241)
    assert c.loc[100001, "age_years"] == pytest.approx(19241 / 365.25, abs=1e-4)
    assert c.loc[100001, "employment_start_date"] == day(-2329)
    # The pensioner's DAYS_EMPLOYED is 365243: no date; gender XNA: blank.
    assert pd.isna(c.loc[100002, "employment_start_date"])
    assert np.isnan(c.loc[100002, "employment_years"])
    assert pd.isna(c.loc[100002, "code_gender"])
    assert c["flag_own_car"].dtype == "boolean"
    assert c["flag_own_car"].tolist() == [False, True, False, False]  # Y only for 100002
    assert isinstance(c["name_income_type"].dtype, pd.CategoricalDtype)


def test_a_customer_without_application_gets_a_bare_row(tmp_path):
    keep = [n for n in NAMES if n != "application_test.csv"]
    got = home_credit.load(folder(tmp_path, keep=keep)).portfolio.customers
    bare = got.set_index("customer_id").loc[100004]  # prev-1000008's customer
    assert bare.isna().all()


# -- the schedule rules on made-up rows ----------------------------------------


def test_a_loan_of_version_0_rows_only_is_a_card(tmp_path):
    # installments_payments alone: 1000003's rows are all version 0, so it is a card;
    # a card without a credit amount or a limit cannot enter: its money is logged.
    got = quietly(folder(tmp_path, keep=["installments_payments.csv"]))
    assert "prev-1000003" not in set(got.portfolio.loans["loan_id"])
    dropped = got.table().set_index("reason")
    assert dropped.loc["no_principal", ["rows", "amount"]].tolist() == [2, 270.0]
    # 1000001 has no AMT_CREDIT here: its principal is what its schedule asks.
    loans = got.portfolio.loans.set_index("loan_id")
    assert loans.loc["prev-1000001", "principal"] == 3 * 1000.0 + 4 * 1200.5


def test_version_0_of_an_instalment_loan_is_replaced_by_version_1(tmp_path):
    def rescheduled(df):
        extra = df.iloc[[0]].copy()  # instalment 1 of 1000001 in version 0, due earlier
        extra[["NUM_INSTALMENT_VERSION", "DAYS_INSTALMENT", "AMT_INSTALMENT"]] = [
            "0.0",
            "-370.0",
            "900.0",
        ]
        extra[["DAYS_ENTRY_PAYMENT", "AMT_PAYMENT"]] = ["", ""]
        return pd.concat([extra, df])

    got = home_credit.load(folder(tmp_path, edit={"installments_payments.csv": rescheduled}))
    first = rows(got.portfolio.installments, "prev-1000001").iloc[0]
    assert (first["due_date"], first["amount_due"]) == (day(-360), 1000.0)
    assert got.table().query("reason == 'superseded_version'")["rows"].tolist() == [2]


# -- any subset of the files, any order of the rows ------------------------------


def _paid_read(path: Path) -> float:
    """AMT_PAYMENT of installments_payments.csv, summed independently of the adapter."""
    file = path / "installments_payments.csv"
    if not file.exists():
        return 0.0
    return float(pd.to_numeric(pd.read_csv(file, dtype=str)["AMT_PAYMENT"]).sum())


def _loans_with_rows(path: Path) -> set[str]:
    file = path / "installments_payments.csv"
    if not file.exists():
        return set()
    return {f"prev-{i}" for i in pd.read_csv(file, dtype=str)["SK_ID_PREV"].dropna()}


@hsettings(SETTINGS, max_examples=15)
@given(keep=st.sets(st.sampled_from(NAMES), min_size=1))
def test_any_subset_of_files_converts_and_conserves_money(tmp_path_factory, keep):
    path = folder(tmp_path_factory.mktemp("subset"), keep=sorted(keep))
    got = quietly(path)
    assert got.portfolio.validated
    money = got.money().set_index("file")
    assert money.loc["installments_payments.csv", "read"] == pytest.approx(_paid_read(path))
    assert money["difference"].abs().max() < 1e-6
    paid = got.portfolio.payments
    from_rows = paid["loan_id"].isin(_loans_with_rows(path))  # the others: card months
    dropped = got.table().query("file == 'installments_payments.csv'")["amount"].sum()
    assert paid.loc[from_rows, "amount"].sum() + dropped == pytest.approx(_paid_read(path))


def _shuffled(seed: int):
    def edit(df):
        return df.sample(frac=1.0, random_state=seed)

    return edit


@hsettings(SETTINGS, max_examples=6)
@given(seed=st.integers(0, 2**16))
def test_the_result_does_not_depend_on_the_order_of_rows(tmp_path_factory, seed, result):
    path = folder(tmp_path_factory.mktemp("order"), edit=dict.fromkeys(NAMES, _shuffled(seed)))
    got = home_credit.load(path)
    for name, df in result.portfolio.tables().items():
        pd.testing.assert_frame_equal(getattr(got.portfolio, name), df, obj=name)
    pd.testing.assert_series_equal(got.target, result.target)
    key = ["file", "part", "reason", "action"]
    pd.testing.assert_frame_equal(
        got.table().sort_values(key).reset_index(drop=True),
        result.table().sort_values(key).reset_index(drop=True),
    )


def test_duplicate_ids_keep_one_row_chosen_by_content(tmp_path):
    def twice(df):
        copy = df[df["SK_ID_PREV"] == "1000002"].assign(AMT_ANNUITY="400.0")
        return pd.concat([copy, df])  # the copy first: the content decides, not the order

    got = home_credit.load(folder(tmp_path, edit={"previous_application.csv": twice}))
    dup = got.table().query("reason == 'duplicate_id'")
    assert dup[["file", "rows"]].values.tolist() == [["previous_application.csv", 1]]
    again = home_credit.load(
        folder(tmp_path, edit={"previous_application.csv": lambda d: twice(d).iloc[::-1]}, name="b")
    )
    pd.testing.assert_frame_equal(got.portfolio.loans, again.portfolio.loans)


# -- bad input and robustness ----------------------------------------------------


def test_a_path_that_is_no_folder_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match="missing_folder") as err:
        home_credit.load(DATA / "bureau.csv")
    assert "is a file, not a folder" in str(err.value)
    with pytest.raises(DataValidationError, match="does not exist"):
        home_credit.load(tmp_path / "nowhere")


def test_a_folder_without_a_known_file_is_refused(tmp_path):
    (tmp_path / "Bureau.CSV").write_text("SK_ID_CURR\n1\n")
    with pytest.raises(DataValidationError, match=r"No Home Credit file.*application_train\.csv"):
        home_credit.load(tmp_path)


def test_every_bad_file_is_named_at_once(tmp_path):
    edit = {
        "installments_payments.csv": lambda d: d.drop(columns="SK_ID_PREV"),
        "bureau_balance.csv": lambda d: d.rename(columns={"SK_ID_BUREAU": "SK_BUREAU_ID"}),
    }
    with pytest.raises(DataValidationError) as err:
        home_credit.load(folder(tmp_path, edit=edit))
    got = err.value.table()[["table", "column", "rule"]].values.tolist()
    assert got == [
        ["installments_payments.csv", "SK_ID_PREV", "missing_column"],
        ["bureau_balance.csv", "SK_ID_BUREAU", "missing_column"],
    ]


def test_text_in_a_number_column_is_named_with_its_lines(tmp_path):
    def text(df):
        df.loc[[2, 5], "AMT_PAYMENT"] = ["12,5", "abc"]
        return df

    def ids(df):
        df.loc[0, "SK_ID_CURR"] = "100001.5"
        return df

    edit = {"installments_payments.csv": text, "bureau.csv": ids}
    with pytest.raises(DataValidationError) as err:
        home_credit.load(folder(tmp_path, edit=edit))
    table = err.value.table().set_index("column")
    assert table.loc["AMT_PAYMENT", ["table", "rule", "count"]].tolist() == [
        "installments_payments.csv",
        "wrong_type",
        2,
    ]
    # Data rows 2 and 5 are the file's lines 4 and 7 (line 1 is the header).
    assert table.loc["AMT_PAYMENT", "examples"] == "line 4, line 7"
    assert table.loc["SK_ID_CURR", ["table", "rule", "examples"]].tolist() == [
        "bureau.csv",
        "wrong_type",
        "line 2",
    ]


def test_repeated_column_names_are_refused(tmp_path):
    path = folder(tmp_path, keep=["bureau_balance.csv"])
    text = (path / "bureau_balance.csv").read_text().replace("STATUS", "MONTHS_BALANCE", 1)
    (path / "bureau_balance.csv").write_text(text)
    with pytest.raises(DataValidationError, match="duplicate_column"):
        home_credit.load(path)


def test_a_bad_reference_date_is_refused():
    with pytest.raises(odr.OverdueRiskError, match="reference_date must be a date"):
        home_credit.load(DATA, reference_date="yesterday")


def _ids_of(file: str) -> list[str]:
    return list(home_credit.FILES[file.removesuffix(".csv")].ids)


def test_missing_optional_columns(tmp_path):
    only_ids = {name: (lambda d, n=name: d[_ids_of(n)]) for name in NAMES}
    got = quietly(folder(tmp_path, edit=only_ids))
    # Nothing but ids: no dates, no amounts; nothing can enter, nothing breaks. A loan
    # without an amount is dropped for that, before its dates are asked for.
    assert got.portfolio.loans.empty and got.portfolio.validated
    reasons = {"blank_id", "not_a_credit", "no_principal", "unknown_loan"}
    assert set(got.table()["reason"]) == reasons


def test_blanks_everywhere(tmp_path):
    def blank(df, name):
        ids = _ids_of(name)
        return df.assign(**{c: "" for c in df.columns if c not in ids})

    edit = {name: (lambda d, n=name: blank(d, n)) for name in NAMES}
    got = quietly(folder(tmp_path, edit=edit))
    assert got.portfolio.loans.empty and got.target.empty
    assert len(got.portfolio.customers) == 4


def test_files_with_a_header_only(tmp_path):
    got = quietly(folder(tmp_path, edit=dict.fromkeys(NAMES, lambda d: d.iloc[:0])))
    assert all(len(df) == 0 for df in got.portfolio.tables().values())
    assert got.dropped.empty


def test_a_loan_missing_from_one_file(tmp_path):
    # Without POS_CASH_balance, prev-1000002 (a POS loan with no instalment rows) stays,
    # bare: no schedule, no statements.
    keep = [n for n in NAMES if n != "POS_CASH_balance.csv"]
    with pytest.warns(DataQualityWarning, match="neither a schedule nor statements"):
        got = home_credit.load(folder(tmp_path, keep=keep))
    assert "prev-1000002" in set(got.portfolio.loans["loan_id"])
    assert rows(got.portfolio.statements, "prev-1000002").empty


# -- dates -----------------------------------------------------------------------


def test_another_reference_date_moves_every_date(result):
    later = home_credit.load(DATA, reference_date="2020-01-31")
    shift = pd.Timestamp("2020-01-31") - REF
    loans = later.portfolio.loans.set_index("loan_id")
    assert loans.loc["prev-1000001", "start_date"] == day(-400) + shift
    # Months count from 2020-01-31: month -2 is 2019-11-30, the month's last day.
    card = rows(later.portfolio.statements, "prev-1000007")
    assert card["statement_date"].tolist() == [
        pd.Timestamp("2019-11-30"),
        pd.Timestamp("2019-12-31"),
    ]


# -- the portfolio folder ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_convert_writes_a_folder_that_loads_and_builds(tmp_path, fmt, result):
    out = tmp_path / "portfolio"
    home_credit.convert(DATA, out, format=fmt)
    assert sorted(p.name for p in out.iterdir()) == [
        "customers." + fmt,
        "home_credit",
        "installments." + fmt,
        "loans." + fmt,
        "payments." + fmt,
        "statements." + fmt,
    ]
    portfolio = odr.load_portfolio(out)
    loans = portfolio.loans
    assert loans["loan_id"].tolist() == result.portfolio.loans["loan_id"].tolist()
    assert loans["start_date"].tolist() == result.portfolio.loans["start_date"].tolist()
    assert portfolio.payments["amount"].sum() == result.portfolio.payments["amount"].sum()
    target = (
        pd.read_parquet(out / "home_credit" / "target.parquet")
        if fmt == "parquet"
        else (pd.read_csv(out / "home_credit" / "target.csv"))
    )
    assert target.values.tolist() == [[100001, 0], [100002, 1], [100003, 0]]
    features = odr.build_features(portfolio, REF)
    assert len(features) == len(loans)
    assert features.loc[("prev-1000001", REF), "dpd"] == 180


def test_convert_refuses_a_full_folder_and_leaves_it(tmp_path):
    out = tmp_path / "portfolio"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(odr.OverdueRiskError, match="not empty"):
        home_credit.convert(DATA, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    home_credit.convert(DATA, out, overwrite=True)
    assert (out / "loans.parquet").exists() and not (out / "keep.txt").exists()


def test_cli_convert(tmp_path, capsys):
    out = tmp_path / "portfolio"
    code, stdout, err = run_cli(["convert", "home-credit", str(DATA), "--out", str(out)], capsys)
    assert code == 0, err
    assert "installments_payments.csv" in stdout and "9531.0" in stdout
    assert (out / "home_credit" / "dropped.parquet").exists()


def test_cli_convert_bad_input_exits_2(tmp_path, capsys):
    bad = folder(
        tmp_path, keep=["bureau.csv"], edit={"bureau.csv": lambda d: d.drop(columns="SK_ID_CURR")}
    )
    out = tmp_path / "portfolio"
    assert_refused(
        ["convert", "home-credit", str(bad), "--out", str(out)],
        capsys,
        "bureau.csv .*SK_ID_CURR .*missing_column",
        watch=[tmp_path],
    )
    assert_refused(
        ["convert", "home-credit", str(DATA), "--out", str(out), "--reference-date", "2018-13-01"],
        capsys,
        "reference_date",
        watch=[tmp_path],
    )


def test_the_training_example_of_the_docs_runs():
    text = (ROOT / "docs" / "home-credit.md").read_text()
    section = text[text.index("## Training on TARGET") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n\nOn")]
    scope: dict = {}
    exec(code, scope)  # the block as written, on the test files
    data, model = scope["data"], scope["model"]
    assert data.index.tolist() == [100001, 100002, 100003]  # the labelled customers
    assert data.loc[100001, "dpd_max"] == 180  # prev-1000001, the worst of 100001's loans
    assert model.predict_proba(data.drop(columns="target")).shape == (3, 2)


def test_an_application_that_is_not_its_contracts_last_is_no_loan(tmp_path):
    def not_last(df):
        df.loc[df["SK_ID_PREV"].isin(["1000005", "1000001"]), "FLAG_LAST_APPL_PER_CONTRACT"] = "N"
        return df

    got = home_credit.load(folder(tmp_path, edit={"previous_application.csv": not_last}))
    reasons = got.table().query("file == 'previous_application.csv'").set_index("reason")
    # 1000005 (approved, no records) is no credit; 1000001 has records: still a loan.
    assert reasons.loc["not_a_credit", "rows"] == 2  # with the refused 1000004
    assert "no_principal" not in reasons.index
    assert "prev-1000001" in set(got.portfolio.loans["loan_id"])


def test_values_that_cannot_stand_are_left_blank(tmp_path):
    def card(df):
        df.loc[4, ["AMT_INST_MIN_REGULARITY", "SK_DPD"]] = ["-5.0", "-1"]  # 1000007, month -1
        return df

    def status(df):
        df.loc[df["SK_ID_BUREAU"] == "5000001", "STATUS"] = ["0", "Z", "", "2"]
        return df

    edit = {"credit_card_balance.csv": card, "bureau_balance.csv": status}
    got = home_credit.load(folder(tmp_path, edit=edit))
    blanked = got.table().query("action == 'blanked'")
    assert blanked[["file", "part", "reason", "rows"]].values.tolist() == [
        ["credit_card_balance.csv", "AMT_INST_MIN_REGULARITY", "negative_amount", 1],
        ["credit_card_balance.csv", "SK_DPD", "bad_dpd", 1],
        ["bureau_balance.csv", "STATUS", "unknown_status", 2],
    ]
    last = rows(got.portfolio.statements, "prev-1000007").iloc[-1]
    assert np.isnan(last["min_due"]) and np.isnan(last["dpd"]) and last["balance"] == 900.0
    months = rows(got.portfolio.statements, "bureau-5000001").set_index("statement_date")
    assert months.loc[[month(-1), month(-2)], "dpd"].isna().all()


def test_one_statement_per_loan_and_date(tmp_path):
    def pos(df):
        again = df[df["SK_ID_PREV"] == "1000002"].iloc[[-1]].assign(SK_DPD="40")
        card = df.iloc[[1]].assign(SK_ID_PREV="1000007", MONTHS_BALANCE="-1")
        return pd.concat([df, again, card])

    got = home_credit.load(folder(tmp_path, edit={"POS_CASH_balance.csv": pos}))
    dup = got.table().query("reason == 'duplicate_statement'")
    assert dup[["file", "rows"]].values.tolist() == [["POS_CASH_balance.csv", 2]]
    # The repeated month keeps the row whose content sorts first (DPD 35 before 40);
    # on a card's date the card's own statement wins over a POS row.
    assert rows(got.portfolio.statements, "prev-1000002")["dpd"].tolist() == [0.0, 5.0, 35.0]
    assert rows(got.portfolio.statements, "prev-1000007")["balance"].tolist() == [1000.0, 900.0]


def test_a_ragged_file_is_unreadable(tmp_path):
    path = folder(tmp_path, keep=["bureau_balance.csv"])
    with open(path / "bureau_balance.csv", "a") as fh:
        fh.write("5000001,-4,0,extra\n")
    with pytest.raises(DataValidationError, match="unreadable"):
        home_credit.load(path)


# -- the streaming conversion ------------------------------------------------------

KEYS = {
    "loans": ["loan_id"],
    "installments": ["loan_id", "installment_no"],
    "payments": ["loan_id", "payment_date", "installment_no"],
    "statements": ["loan_id", "statement_date"],
    "customers": ["customer_id"],
}


def _by_key(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table in key order, categories as their values: each bucket appended brings
    its categories in its own order."""
    df = df.sort_values(KEYS[name]).reset_index(drop=True)
    for column in df.columns:
        if isinstance(df[column].dtype, pd.CategoricalDtype):
            df[column] = df[column].astype(object)
    return df


def _recorded(call):
    """What ``call()`` returns, and the messages of the data-quality warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    return value, sorted(str(w.message) for w in caught if w.category is DataQualityWarning)


def assert_streams_as_loaded(path: Path, out: Path, **kwargs) -> home_credit.HomeCreditResult:
    """``convert`` writes what ``load`` holds (written as a folder, as ``convert`` did
    before it streamed): the same rows and values in every table, the same table of what
    did not enter, money, TARGET and data-quality warnings."""
    loaded, said = _recorded(lambda: home_credit.load(path))
    streamed, told = _recorded(lambda: home_credit.convert(path, out, **kwargs))
    whole = out.parent / f"{out.name}-in-memory"
    loaded.write(whole, format=kwargs.get("format", "parquet"))
    written, _ = _recorded(lambda: odr.load_portfolio(out))
    expected, _ = _recorded(lambda: odr.load_portfolio(whole))
    assert written.tables().keys() == expected.tables().keys() == loaded.portfolio.tables().keys()
    for name, df in expected.tables().items():
        got = getattr(written, name)
        pd.testing.assert_frame_equal(_by_key(got, name), _by_key(df, name), obj=name)
    assert told == said
    pd.testing.assert_series_equal(streamed.target, loaded.target)
    got, want = streamed.table(), loaded.table()
    pd.testing.assert_frame_equal(got.drop(columns="amount"), want.drop(columns="amount"))
    np.testing.assert_allclose(
        got["amount"].astype(float), want["amount"].astype(float), rtol=1e-12
    )
    money = ["read", "written", "dropped", "difference"]
    pd.testing.assert_frame_equal(
        streamed.money().drop(columns=money), loaded.money().drop(columns=money)
    )
    np.testing.assert_allclose(streamed.money()[money], loaded.money()[money], atol=1e-6)
    assert streamed.to_dict()["tables"] == loaded.to_dict()["tables"]
    return streamed


def _quirks(tmp_path: Path) -> Path:
    """The hand-made files with every rule that reads across rows at work: a repeated
    SK_ID_PREV and SK_ID_BUREAU (chosen by content), a customer in both applications,
    a month repeated, the same number as a Home Credit loan and a bureau credit."""

    def twice(key: str, value: str, column: str, new: str):
        def edit(df):
            return pd.concat([df[df[key] == value].assign(**{column: new}), df])

        return edit

    def bureau_id(df):
        df["SK_ID_BUREAU"] = df["SK_ID_BUREAU"].replace("5000002", "1000001")
        return df

    def with_test_rows(df):
        return pd.concat([raw("application_train.csv").iloc[[0]].drop(columns="TARGET"), df])

    edit = {
        "previous_application.csv": twice("SK_ID_PREV", "1000002", "AMT_ANNUITY", "400.0"),
        "bureau.csv": lambda d: twice("SK_ID_BUREAU", "5000001", "AMT_CREDIT_SUM", "9.0")(
            bureau_id(d)
        ),
        "bureau_balance.csv": bureau_id,
        "POS_CASH_balance.csv": twice("SK_ID_PREV", "1000002", "SK_DPD", "40"),
        "application_test.csv": with_test_rows,
    }
    return folder(tmp_path, edit=edit, name="quirks")


@pytest.mark.parametrize("k", [1, 2, 5])
def test_convert_streams_the_portfolio_load_holds(tmp_path, k):
    path = _quirks(tmp_path)
    streamed = assert_streams_as_loaded(path, tmp_path / "out", buckets=k)
    dropped = streamed.table().set_index(["file", "reason"])["rows"]
    assert dropped[("previous_application.csv", "duplicate_id")] == 1
    assert dropped[("bureau.csv", "duplicate_id")] == 1
    assert dropped[("application_test.csv", "duplicate_id")] == 1
    # 1000002's three months, each given twice.
    assert dropped[("POS_CASH_balance.csv", "duplicate_statement")] == 3


@hsettings(SETTINGS, max_examples=5)
@given(k=st.integers(1, 12), keep=st.sets(st.sampled_from(NAMES), min_size=1))
def test_any_number_of_buckets_streams_any_subset_as_loaded(tmp_path_factory, k, keep):
    base = tmp_path_factory.mktemp("buckets")
    path = folder(base, keep=sorted(keep))
    assert_streams_as_loaded(path, base / "out", buckets=k)


def test_csv_output_streams_the_same_rows(tmp_path):
    assert_streams_as_loaded(DATA, tmp_path / "out", buckets=3, format="csv")
    assert (tmp_path / "out" / "loans.csv").is_file()


def test_each_bucket_holds_whole_loans_and_only_its_own(tmp_path, monkeypatch):
    from overdue_risk.adapters.home_credit import _stream

    seen = []
    real = _stream.map_loans

    def spy(reader, *args):
        tables = real(reader, *args)
        seen.append(set(tables.loans["loan_id"]))
        return tables

    monkeypatch.setattr(_stream, "map_loans", spy)
    home_credit.convert(DATA, tmp_path / "out", buckets=3)
    assert len(seen) == 3
    every = set().union(*seen)
    assert sum(len(s) for s in seen) == len(every) == 9  # each loan in one bucket
    assert max(len(s) for s in seen) < 9  # and no bucket holds them all


def test_the_portfolio_of_a_conversion_is_read_from_its_folder(tmp_path):
    out = tmp_path / "out"
    result = home_credit.convert(DATA, out, buckets=2)
    assert result.to_dict()["tables"]["installments"] == 12  # without reading the folder
    assert "installments=12" in repr(result)
    loans = result.portfolio.loans
    assert loans["loan_id"].tolist() == odr.load_portfolio(out).loans["loan_id"].tolist()


def test_a_failure_midway_leaves_no_output_and_no_spill(tmp_path, monkeypatch):
    from overdue_risk.adapters.home_credit import _stream

    spilled = []
    real = _stream.map_loans

    def failing(reader, *args):
        spilled.append(sorted(p.name for p in reader.spill.folder.iterdir()))
        if len(spilled) == 2:
            raise RuntimeError("the disk is full")
        return real(reader, *args)

    monkeypatch.setattr(_stream, "map_loans", failing)
    parent = tmp_path / "runs"
    parent.mkdir()
    with pytest.raises(RuntimeError, match="the disk is full"):
        home_credit.convert(DATA, parent / "out", buckets=3)
    # The buckets were on disk (bucket 0's converted and removed) when it failed ...
    assert "installments_payments-00001.arrows" in spilled[1]
    assert "installments_payments-00000.arrows" not in spilled[1]
    # ... and nothing is left: no output folder, no temporary one, no spill.
    assert list(parent.iterdir()) == []
    # A folder being replaced stays as it was.
    (parent / "out").mkdir()
    (parent / "out" / "keep.txt").write_text("mine")
    spilled.clear()
    with pytest.raises(RuntimeError, match="the disk is full"):
        home_credit.convert(DATA, parent / "out", buckets=3, overwrite=True)
    assert [p.name for p in parent.iterdir()] == ["out"]
    assert [p.name for p in (parent / "out").iterdir()] == ["keep.txt"]


def test_bad_input_found_while_spilling_leaves_nothing(tmp_path):
    def text(df):
        df.loc[2, "AMT_PAYMENT"] = "ten"
        return df

    path = folder(tmp_path, edit={"installments_payments.csv": text})
    parent = tmp_path / "runs"
    parent.mkdir()
    with pytest.raises(DataValidationError, match=r"installments_payments\.csv") as err:
        home_credit.convert(path, parent / "out", buckets=4)
    assert "line 4" in str(err.value)  # the file's line, as load names it
    assert list(parent.iterdir()) == []


def test_a_conversion_leaves_no_spill_behind(tmp_path):
    parent = tmp_path / "runs"
    parent.mkdir()
    home_credit.convert(DATA, parent / "out", buckets=4)
    assert [p.name for p in parent.iterdir()] == ["out"]
    assert not any(p.name.startswith(".") for p in (parent / "out").rglob("*"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows_per_bucket": 0}, "rows_per_bucket must be an integer >= 1; got 0."),
        ({"rows_per_bucket": 2.5}, "rows_per_bucket must be an integer >= 1; got 2.5."),
        ({"buckets": 0}, "buckets must be None or an integer >= 1; got 0."),
        ({"format": "xlsx"}, "format must be one of parquet, csv; got 'xlsx'."),
    ],
)
def test_convert_refuses_bad_parameters_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(odr.OverdueRiskError, match=re.escape(message)):
        home_credit.convert(DATA, tmp_path / "out", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_the_number_of_buckets_follows_the_rows_of_the_loan_files():
    from overdue_risk.adapters.home_credit._files import find_files
    from overdue_risk.adapters.home_credit._spill import bucket_count

    files = find_files(DATA)
    # The loan files hold 7 + 18 + 6 + 6 + 4 + 13 = 54 rows (the summary test's counts);
    # the applications are read whole and do not count.
    assert bucket_count(files, 54) == 1
    assert bucket_count(files, 53) == 2
    assert bucket_count(files, 10) == 6
    assert bucket_count(files, 1) == 54


def test_bucket_of_keeps_an_id_in_one_bucket_and_spreads_ids_evenly():
    from overdue_risk.adapters.home_credit._spill import bucket_of

    ids = np.array([1000001.0, 1000001.0, 0.0, -0.0, np.nan])
    got = bucket_of(ids, 7)
    assert got[0] == got[1] and got[2] == got[3]  # equal ids, one bucket
    assert got[4] == 0  # a blank id: bucket 0, where the mapping drops its row
    assert np.array_equal(bucket_of(ids[:4], 7), got[:4])  # the same every time
    # Ids in steps of k would all share one remainder: mixed, they spread evenly.
    k = 8
    counts = np.bincount(bucket_of(1_000_001.0 + k * np.arange(80_000), k), minlength=k)
    assert counts.min() > 0.95 * 10_000 and counts.max() < 1.05 * 10_000


def test_the_table_of_what_did_not_enter_is_in_file_order(result):
    files = result.table()["file"].tolist()
    rank = [NAMES.index(f) for f in files]
    assert rank == sorted(rank)
    blank = result.table().query("file == 'installments_payments.csv'")["part"].tolist()
    assert blank[0] == "row"  # a whole row before the parts of rows


def test_cli_convert_in_buckets(tmp_path, capsys):
    out = tmp_path / "portfolio"
    argv = ["convert", "home-credit", str(DATA), "--out", str(out), "--rows-per-bucket", "10"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert len(odr.load_portfolio(out).loans) == 9
    assert_refused(
        [
            "convert",
            "home-credit",
            str(DATA),
            "--out",
            str(tmp_path / "b"),
            "--rows-per-bucket",
            "0",
        ],
        capsys,
        "rows_per_bucket must be an integer >= 1",
        watch=[tmp_path],
    )
