"""The malformed-input corpus of the data contract: numbers and dates the ledger cannot
represent, as-of dates outside the data, and inputs that used to crash.

Each kind of defect is one parametrised test. A command-line case asserts exit 2, a
message naming the problem and that nothing was written (``assert_refused``); a
Python case asserts the package's own error with ``match=``. Data that used to be
accepted silently with changed results (a timezone moved a day, an as-of date far
past the data, labels past the last record) assert the error or the warning; the
good path around each rule is tested too, and the rules that are invariants
(money to the cent, an aware date's local day) are property tests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import HANDMADE, SAMPLE, SETTINGS, assert_refused, one_loan, run_cli
from overdue_risk import (
    DataQualityWarning,
    DataValidationError,
    DpdTarget,
    Ledger,
    LedgerConfig,
    OverdueRiskError,
    Portfolio,
    RiskModel,
    build_features,
    evaluate_model,
    load_portfolio,
    make_labels,
    prioritise_portfolio,
    score_portfolio,
    train_risk_model,
    validate,
)
from overdue_risk._dates import parse_as_of
from overdue_risk.contract import MAX_AMOUNT, check_as_of, cut_portfolio
from overdue_risk.workflows import export_features, export_labels, export_ledger

AS_OF = "2024-06-30"  # within the hand-made portfolio (2024-01-01 .. 2024-12-29)
LAST = "2024-12-29"  # its last record


@pytest.fixture
def work(tmp_path) -> Path:
    """A writable copy of the hand-made portfolio in ``tmp_path / "PF"``, and an empty
    ``tmp_path / "out"``; returns tmp_path."""
    shutil.copytree(HANDMADE, tmp_path / "PF")
    (tmp_path / "out").mkdir()
    return tmp_path


def raw(folder: Path, table: str) -> pd.DataFrame:
    """A CSV table as text, blanks as "", so writing it back is lossless."""
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def to_parquet(folder: Path, table: str, df: pd.DataFrame) -> None:
    """Replace a table's CSV by ``df`` as Parquet."""
    (folder / f"{table}.csv").unlink()
    df.to_parquet(folder / f"{table}.parquet", index=False)


def typed(folder: Path, table: str) -> pd.DataFrame:
    """A CSV table read as the loader reads it (ids as text, the rest parsed)."""
    ids = {c: str for c in ("loan_id", "customer_id", "restructured_from")}
    return pd.read_csv(folder / f"{table}.csv", dtype=ids)


def edit(table: str, column: str, value: str, row: int = 0) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        df = raw(folder, table)
        df.loc[row, column] = value
        df.to_csv(folder / f"{table}.csv", index=False)

    return mutate


def refuse(argv: list, capsys, message: str, work: Path) -> str:
    """``assert_refused`` with the portfolio and the output folder watched."""
    return assert_refused(
        [str(a) for a in argv], capsys, message, watch=[work / "PF", work / "out"]
    )


def ledger_argv(work: Path, *extra: str, as_of: str = AS_OF) -> list:
    return ["ledger", work / "PF", "--as-of", as_of, "--out", work / "out" / "l.csv", *extra]


# -- 1. Amounts beyond MAX_AMOUNT: every money column -----------------------------------


@pytest.mark.parametrize(
    "table, column, value",
    [
        ("payments", "amount", "1e17"),
        ("loans", "principal", "1e308"),
        ("installments", "amount_due", "2e12"),
        ("statements", "balance", "-5e12"),  # a credit balance counts in absolute value
        ("statements", "min_due", "1000000000000.01"),
        ("collections", "promise_amount", "1e13"),
        ("collections", "cost", "1e15"),
    ],
)
def test_amount_beyond_the_maximum_is_refused(table, column, value, work, capsys):
    row = 1 if table == "collections" else 0  # row 1 of the log has a promise
    edit(table, column, value, row)(work / "PF")
    err = refuse(ledger_argv(work), capsys, rf"{table}\s+{column}\s+max_amount\s+1 ", work)
    assert "at most 1e12" in err


def test_the_maximum_amount_itself_is_accepted(work):
    edit("payments", "amount", f"{MAX_AMOUNT:.0f}")(work / "PF")
    p = load_portfolio(work / "PF")
    assert p.payments["amount"].max() == MAX_AMOUNT


@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")  # repeated payments
@pytest.mark.parametrize("decimals, rows", [(4, 240), (2, 23_100)])
def test_money_that_would_overflow_int64_when_summed_is_refused(decimals, rows):
    # Each payment is allowed, but their sum in minor units passes 2**61 (with 4
    # decimals 231 such rows suffice): refused before any cumulative sum.
    p = one_loan([("2024-02-01", MAX_AMOUNT)] * rows)
    with pytest.raises(DataValidationError, match="max_total") as err:
        Ledger(p, LedgerConfig(decimals=decimals))
    assert [(q.table, q.column) for q in err.value.problems] == [("payments", "amount")]
    # One decimal fewer (or half the rows) fits.
    Ledger(one_loan([("2024-02-01", MAX_AMOUNT)] * (rows // 2)), LedgerConfig(decimals=decimals))


def test_tolerance_beyond_the_maximum_amount_is_refused():
    with pytest.raises(OverdueRiskError, match=r"tolerance must be a number in \[0, 10+\]"):
        LedgerConfig(tolerance=1e300)


@pytest.mark.parametrize(
    "table, column, value, limit",
    [
        ("installments", "installment_no", "1e20", "65535"),
        ("payments", "installment_no", "70000", "65535"),  # 16 bits in the ledger's keys
        ("statements", "dpd", "1e10", "2,147,483,647"),
        ("loans", "term_months", "-3e9", r"2,147,483,647"),
    ],
)
def test_integer_beyond_the_limit_is_refused(table, column, value, limit, work, capsys):
    edit(table, column, value)(work / "PF")
    err = refuse(ledger_argv(work), capsys, rf"{table}\s+{column}\s+maximum", work)
    assert limit in err


@st.composite
def repaid_loans(draw):
    """A loan whose instalments (in cents) are paid in full by payments split at random."""
    n = draw(st.integers(1, 6))
    cents = draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n))
    parts = []
    for c in cents:  # each instalment paid in one to three parts
        cut = sorted(draw(st.lists(st.integers(1, c - 1), max_size=2))) if c > 1 else []
        parts += [b - a for a, b in zip([0, *cut], [*cut, c], strict=True) if b > a]
    principal = draw(st.integers(1, sum(cents)))
    given_principal = draw(st.booleans())
    return cents, parts, principal, given_principal


@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")  # repeated payments
@SETTINGS
@given(case=repaid_loans(), closed=st.booleans())
def test_money_is_held_to_the_cent(case, closed):
    """Invariant: every money column of the ledger is a whole number of cents, and a loan
    repaid in full has an outstanding principal of exactly 0 (not 1.8e-9)."""
    cents, parts, principal, given_principal = case
    due = pd.date_range("2024-02-01", periods=len(cents), freq="MS").strftime("%Y-%m-%d")
    pays = [("2024-01-15", c / 100) for c in parts]
    p = one_loan(
        pays,
        amounts=[c / 100 for c in cents],
        due=list(due),
        principal=principal / 100,
        principal_due=[c * principal / sum(cents) / 100 for c in cents]
        if given_principal
        else None,
        closed=due[-1] if closed else None,
    )
    table = Ledger(p).at([due[0], due[-1], "2030-01-01"]).table()
    assert (table["outstanding_principal"] == 0.0).all(), table["outstanding_principal"]
    assert (table["overdue_amount"] == 0.0).all()
    for col in ("amount_due_to_date", "amount_paid_to_date", "paid_ahead", "outstanding_principal"):
        values = table[col].to_numpy()
        assert np.array_equal(values, np.round(values, 2)), col


def test_a_partly_repaid_loan_owes_whole_cents():
    p = one_loan([("2024-02-01", 33.33), ("2024-03-01", 0.01)], principal=270.0)
    owed = Ledger(p).at(["2024-02-01", "2024-03-01"]).table()["outstanding_principal"]
    assert owed.tolist() == [240.0, 239.99]  # 270 - 90% of 33.33 = 240.003, to the cent


# -- 2. Timezones: an aware timestamp counts in its own local date ----------------------


def _aware_payments(folder: Path) -> None:
    df = raw(folder, "payments")
    df["payment_date"] = df["payment_date"] + "T23:30:00+08:00"
    df.to_csv(folder / "payments.csv", index=False)


def _tz_parquet(folder: Path) -> None:
    df = typed(folder, "payments")
    local = pd.to_datetime(df["payment_date"])  # local midnight in Shanghai
    to_parquet(folder, "payments", df.assign(payment_date=local.dt.tz_localize("Asia/Shanghai")))


def _utc_parquet(folder: Path) -> None:
    df = typed(folder, "payments")
    at = pd.to_datetime(df["payment_date"]) + pd.Timedelta(hours=23)
    to_parquet(folder, "payments", df.assign(payment_date=at.dt.tz_localize("UTC")))


def _arrow_tz_parquet(folder: Path) -> None:
    df = typed(folder, "loans")
    local = pd.to_datetime(df["start_date"]).dt.tz_localize("America/New_York")
    arrow = pd.ArrowDtype(pa.timestamp("us", tz="America/New_York"))
    to_parquet(folder, "loans", df.assign(start_date=local.astype(arrow)))


@pytest.mark.parametrize(
    "mutate", [_aware_payments, _tz_parquet, _utc_parquet, _arrow_tz_parquet], ids=str
)
def test_an_aware_date_counts_in_its_local_calendar_date(mutate, work):
    # Before: a CSV offset crashed, and Parquet dates at local midnight moved a day back.
    mutate(work / "PF")
    got, want = load_portfolio(work / "PF"), load_portfolio(HANDMADE)
    for name, df in want.tables().items():
        pd.testing.assert_frame_equal(got.tables()[name], df, check_dtype=False)


@pytest.mark.parametrize(
    "values, found",
    [
        (["+08:00", "-05:00"], r"\+08:00, -05:00"),
        (["+08:00", ""], r"\+08:00, none"),  # an offset on some dates only
        (["Z", "+01:00"], r"\+00:00, \+01:00"),
    ],
    ids=["two_offsets", "offset_and_none", "utc_and_offset"],
)
def test_mixed_utc_offsets_in_one_column_are_refused(values, found, work, capsys):
    df = raw(work / "PF", "payments")
    df["payment_date"] += f"T10:00{values[1]}" if values[1] else ""  # every row but one
    df.loc[0, "payment_date"] = df.loc[0, "payment_date"][:10] + f"T10:00{values[0]}"
    df.to_csv(work / "PF" / "payments.csv", index=False)
    err = refuse(ledger_argv(work), capsys, r"payment_date\s+mixed_timezones\s+1 ", work)
    assert re.search(found, err), err


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(
            [pd.Timestamp("2024-01-05", tz="Asia/Shanghai"), pd.Timestamp("2024-01-15", tz="UTC")],
            dtype=object,
        ),
        pd.Series(
            [
                dt.datetime(2024, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                dt.datetime(2024, 1, 15),
            ],
            dtype=object,
        ),
    ],
    ids=["two_zones", "aware_and_naive"],
)
def test_mixed_timezone_object_column_is_a_problem_not_a_crash(column):
    p = load_portfolio(HANDMADE, validate=False)
    loans = p.loans.iloc[:2].assign(start_date=column.to_numpy())
    with pytest.raises(DataValidationError, match="start_date: mixed_timezones") as err:
        validate(Portfolio(loans=loans, statements=p.statements.iloc[:0]))
    assert {q.rule for q in err.value.problems} >= {"mixed_timezones"}


@pytest.mark.parametrize(
    "dtype",
    ["datetime64[ns, Asia/Tokyo]", pd.ArrowDtype(pa.timestamp("ns", tz="Asia/Tokyo"))],
    ids=["datetime64_tz", "arrow_tz"],
)
def test_aware_dataframe_columns_keep_their_local_dates(dtype):
    p = load_portfolio(HANDMADE, validate=False)
    want = validate(p)
    local = pd.to_datetime(p.payments["payment_date"]).dt.tz_localize("Asia/Tokyo")
    got = validate(
        Portfolio(**{**p.tables(), "payments": p.payments.assign(payment_date=local.astype(dtype))})
    )
    assert got.payments["payment_date"].equals(want.payments["payment_date"])


@SETTINGS
@given(
    day=st.dates(dt.date(1901, 1, 2), dt.date(2199, 12, 30)),
    minutes=st.integers(0, 24 * 60 - 1),
    offset=st.integers(-14 * 60, 14 * 60),
)
def test_an_aware_date_is_its_local_calendar_day(day, minutes, offset):
    """Invariant: whatever the offset and the time of day, the date is the one written."""
    sign = "-" if offset < 0 else "+"
    text = (
        f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00"
        f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    )
    want = (day - dt.date(1970, 1, 1)).days
    assert parse_as_of(text).tolist() == [want]
    p = one_loan([(text, 50.0)], start="1901-01-01")
    got = validate(p).payments["payment_date"].iloc[0]
    assert got == pd.Timestamp(day)


def test_as_of_with_an_offset_is_its_local_day(capsys, tmp_path):
    # Before: 2024-03-31T00:00+08:00 computed as of 2024-03-30.
    runs = {}
    for as_of in ("2024-03-31T00:00+08:00", "2024-03-31"):
        out = tmp_path / f"{len(runs)}.csv"
        code, _, err = run_cli(["ledger", SAMPLE, "--as-of", as_of, "--out", str(out)], capsys)
        assert code == 0, err
        runs[as_of] = out.read_bytes()
    assert len(set(runs.values())) == 1


# -- 3. As-of dates outside the data -----------------------------------------------------


@pytest.mark.parametrize(
    "as_of, message",
    [
        ("today", r"as_of must be explicit dates .*nothing reads the clock; got 'today'"),
        ("now", r"nothing reads the clock; got 'now'"),
        ("2199-01-01", r"as_of must be on or before 2024-12-30 \(the morning after .* 2024-12-29"),
        ("2024-12-31", r"as_of must be on or before 2024-12-30"),
        ("1990-01-01", r"as_of must be on or after 2024-01-01, the data's first record"),
        ("2024-06-30,2199-01-01", r"--allow-future"),
    ],
)
@pytest.mark.parametrize("command", ["ledger", "features", "labels"])
def test_as_of_outside_the_data_is_refused(command, as_of, message, work, capsys):
    argv = [command, work / "PF", "--as-of", as_of, "--out", work / "out" / "t.csv"]
    refuse(argv, capsys, message, work)


def _scores() -> pd.DataFrame:
    return pd.DataFrame({"loan_id": ["L001"], "score": [0.5]})


@pytest.fixture(scope="module")
def fitted() -> RiskModel:
    """A tiny model of the hand-made portfolio's ledger features, fitted in a second."""
    X = build_features(load_portfolio(HANDMADE), ["2024-03-31", "2024-06-30"], families=["ledger"])
    y = np.arange(len(X)) % 2
    model = RiskModel(n_estimators=2, num_leaves=2, min_child_samples=1, n_jobs=1)
    model.fit(X, y, X, y)
    model.build_options_ = {"families": ["ledger"], "exclude": [], "tolerance": 0.0}
    return model


WORKFLOWS = {
    "ledger": lambda pf, as_of, **kw: export_ledger(pf, as_of, out=kw.pop("out") / "l.csv", **kw),
    "features": lambda pf, as_of, **kw: export_features(
        pf, as_of, out=kw.pop("out") / "f.csv", **kw
    ),
    "labels": lambda pf, as_of, **kw: export_labels(pf, as_of, out=kw.pop("out") / "y.csv", **kw),
    "train": lambda pf, as_of, **kw: train_risk_model(pf, [as_of], out=kw.pop("out") / "m", **kw),
    "evaluate": lambda pf, as_of, **kw: evaluate_model(
        kw.pop("model"), pf, as_of, out=kw.pop("out") / "e.html", **kw
    ),
    "score": lambda pf, as_of, **kw: score_portfolio(
        kw.pop("model"), pf, as_of, out=kw.pop("out") / "s.csv", **kw
    ),
    "prioritise": lambda pf, as_of, **kw: prioritise_portfolio(
        _scores(), pf, as_of, "default", out=kw.pop("out") / "w.csv", **kw
    ),
}


@pytest.mark.filterwarnings("ignore::overdue_risk.DataQualityWarning")
@pytest.mark.parametrize("workflow", list(WORKFLOWS))
@pytest.mark.parametrize(
    "as_of, message",
    [
        ("2199-01-01", r"must be on or before 2024-12-30 .* allow_future=True"),
        ("2023-12-31", r"must be on or after 2024-01-01"),
    ],
    ids=["future", "past"],
)
def test_every_workflow_checks_its_as_of_against_the_data(workflow, as_of, message, work, fitted):
    # One check (contract.check_as_of) behind every command that takes an as-of date.
    kw = {"model": fitted} if workflow in ("evaluate", "score") else {}
    with pytest.raises(OverdueRiskError, match=message):
        WORKFLOWS[workflow](work / "PF", as_of, out=work / "out", **kw)
    assert list((work / "out").iterdir()) == []


def test_allow_future_computes_with_a_warning(work, capsys):
    argv = ledger_argv(work, "--allow-future", as_of="2199-01-01")
    code, _, err = run_cli([str(a) for a in argv], capsys)
    assert code == 0, err
    assert "warning: as_of 2199-01-01 is after 2024-12-30" in err
    dpd = pd.read_csv(work / "out" / "l.csv")["dpd"]
    assert dpd.max() > 60_000  # what the flag allows: DPD far past the data
    with pytest.warns(DataQualityWarning, match="after 2024-12-30"):
        export_ledger(work / "PF", "2199-01-01", out=work / "out" / "l2.csv", allow_future=True)


def test_the_morning_after_the_last_record_is_allowed(sample):
    # The nightly worklist is for the morning after the data's last evening.
    assert check_as_of(sample, "2025-01-01").tolist() == [20089]
    with pytest.raises(OverdueRiskError, match="on or before 2025-01-01"):
        check_as_of(sample, "2025-01-02")
    with pytest.raises(OverdueRiskError, match="allow_future must be True or False"):
        check_as_of(sample, "2025-01-01", allow_future="yes")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--observed-until", "2030-01-01"], r"observed_until must be on or before 2024-12-29"),
        (["--observed-until", "2024-13-01"], r"error: observed_until must be dates in ISO 8601"),
        (["--observed-until", "today"], r"error: observed_until must be explicit dates"),
    ],
    ids=["after_the_data", "bad_date", "clock"],
)
def test_observed_until_past_the_data_or_bad_is_refused(argv, message, work, capsys):
    # Before: 2030-01-01 labelled unobserved horizons as bad (71.6% bad on the sample),
    # and a bad date was reported as an as_of error.
    cmd = ["labels", work / "PF", "--as-of", "2024-03-31", "--out", work / "out" / "y.csv"]
    err = refuse([*cmd, *argv], capsys, message, work)
    assert "as_of" not in err.replace("observed_until", "")


def test_observed_until_is_checked_by_the_library(sample):
    with pytest.raises(OverdueRiskError, match="observed_until must be on or before 2024-12-31"):
        make_labels(sample, "2024-03-31", DpdTarget(), observed_until="2025-01-01")
    assert len(make_labels(sample, "2024-03-31", DpdTarget(), observed_until="2024-12-31")) > 0


# -- 4. Inputs that crashed: the package's own errors ------------------------------------


def _bool_amounts(folder: Path) -> None:
    to_parquet(folder, "payments", typed(folder, "payments").assign(amount=True))


def _bool_instalment_numbers(folder: Path) -> None:
    to_parquet(folder, "installments", typed(folder, "installments").assign(installment_no=True))


def _list_column(folder: Path) -> None:
    df = typed(folder, "loans")
    to_parquet(folder, "loans", df.assign(principal=[[p] for p in df["principal"]]))


def _struct_column(folder: Path) -> None:
    df = typed(folder, "loans")
    to_parquet(folder, "loans", df.assign(ltv_band=[{"band": b} for b in df["ltv_band"]]))


def _list_of_ids(folder: Path) -> None:
    df = typed(folder, "payments")
    to_parquet(folder, "payments", df.assign(loan_id=[[i] for i in df["loan_id"]]))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (_bool_amounts, r"payments\s+amount\s+wrong_type.*booleans"),
        (_bool_instalment_numbers, r"installments\s+installment_no\s+wrong_type"),
        (_list_column, r"loans\s+principal\s+wrong_type.*lists or structs"),
        (_struct_column, r"loans\s+ltv_band\s+wrong_type.*lists or structs"),
        (_list_of_ids, r"payments\s+loan_id\s+wrong_type.*lists or structs"),
    ],
    ids=["bool_amount", "bool_key", "list", "struct", "list_ids"],
)
def test_a_column_of_the_wrong_kind_is_refused_not_a_crash(mutate, message, work, capsys):
    # Before: the validator dropped the column, then a later rule indexed it (KeyError).
    mutate(work / "PF")
    refuse(ledger_argv(work), capsys, message, work)
    refuse(["validate", work / "PF"], capsys, message, work)


@pytest.mark.parametrize("table", ["loans", "payments"])
def test_multiindex_columns_are_refused(table):
    p = load_portfolio(HANDMADE, validate=False)
    df = p.tables()[table].copy()
    df.columns = pd.MultiIndex.from_product([["x"], df.columns])
    with pytest.raises(DataValidationError, match=rf"{table}: column_names .*MultiIndex"):
        validate(Portfolio(**{**p.tables(), table: df}))


@pytest.mark.parametrize(
    "as_of", [None, 20240331, 2024.5, True, b"2024-03-31", [20240331], ["2024-03-31", None]]
)
@pytest.mark.parametrize(
    "call",
    [
        lambda p, a: Ledger(p).at(a),
        lambda p, a: build_features(p, a, families=["ledger"]),
        lambda p, a: make_labels(p, a, DpdTarget()),
        lambda p, a: check_as_of(p, a),
        lambda p, a: cut_portfolio(p, a),
    ],
    ids=["Ledger.at", "build_features", "make_labels", "check_as_of", "cut_portfolio"],
)
def test_as_of_that_is_not_dates_is_refused(call, as_of):
    # Before: Ledger.at(None) raised a TypeError, and 20240331 read as nanoseconds.
    p = load_portfolio(HANDMADE)
    with pytest.raises(OverdueRiskError, match=r"as_of must (be a date|be dates|not contain)"):
        call(p, as_of)


def _dir(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _loop(path: Path) -> None:
    os.symlink(path.name, path)


def _dangling(path: Path) -> None:
    os.symlink("nowhere.csv", path)


@pytest.mark.parametrize(
    "make, what",
    [
        (_dir, "a directory"),
        (_fifo, r"a named pipe \(FIFO\)"),
        (_loop, "a symbolic link loop"),
        (_dangling, "a broken symbolic link"),
    ],
    ids=["directory", "fifo", "symlink_loop", "dangling_symlink"],
)
def test_a_table_that_is_not_a_file_is_reported_as_what_it_is(make, what, work, capsys):
    # Before: reported as a missing table (and a FIFO would have been waited on for ever).
    (work / "PF" / "loans.csv").unlink()
    make(work / "PF" / "loans.csv")
    refuse(["validate", work / "PF"], capsys, rf"loans\.csv is {what}, not a file", work)
    refuse(ledger_argv(work), capsys, r"loans\s+unreadable", work)


def test_a_portfolio_folder_that_is_a_file_is_reported_as_such(work, capsys):
    refuse(["validate", work / "PF" / "loans.csv"], capsys, "is a file, not a folder", work)


@pytest.mark.parametrize(
    "suffix, shown",
    [(" ", r"'L001 '"), ("\u200b", r"'L001\u200b'"), ("\t", r"'L001\t'")],
    ids=["padding", "zero_width", "tab"],
)
def test_invisible_differences_in_ids_are_shown_with_repr(suffix, shown, work, capsys):
    edit("payments", "loan_id", "L001" + suffix)(work / "PF")
    err = refuse(["validate", work / "PF"], capsys, r"payments\s+loan_id\s+orphan", work)
    assert shown in err


def test_policy_eval_dates_too_early_name_the_first_possible_date(work, capsys):
    # Before: "as_of must name at least one date" (no month end to train on).
    argv = ["policy-eval", "--dates", "2023-03-01", "--strategy", "default"]
    refuse(
        [*argv, "--out", work / "out" / "c.csv"],
        capsys,
        r"dates must start on or after 2023-09-29: the risk model learns from month ends",
        work,
    )


def test_clock_words_in_data_are_not_dates(work, capsys):
    edit("payments", "payment_date", "today")(work / "PF")
    refuse(ledger_argv(work), capsys, r"payments\s+payment_date\s+unparseable_date\s+1 ", work)


# -- 5. Hardening: lookalike files, numbers that are not, dates that are not ---------------


@pytest.mark.parametrize(
    "table, name",
    [
        ("collections", "collections.CSV"),
        ("customers", "customers.Csv"),
        ("customers", "customers.csv "),
        ("customers", "customers.csv.bak"),
        ("customers", "customers.tsv"),
        ("customers", "customers.xlsx"),
        ("customers", "customers.parq"),
    ],
)
def test_a_lookalike_table_file_is_named_in_a_warning(table, name, work):
    (work / "PF" / f"{table}.csv").rename(work / "PF" / name)
    with pytest.warns(DataQualityWarning, match=rf"{re.escape(repr(name))}.* table {table}"):
        p = load_portfolio(work / "PF")
    assert getattr(p, table) is None


def test_a_required_table_missing_names_its_lookalike(work, capsys):
    (work / "PF" / "loans.csv").rename(work / "PF" / "Loans.csv")
    refuse(ledger_argv(work), capsys, r"loans\s+missing_table\s+1 .*'Loans.csv'", work)


@pytest.mark.parametrize(
    "table, value, rule",
    [
        ("loans", "inf", "not_finite"),
        ("loans", "-inf", "not_finite"),
        ("loans", "1e308", "maximum"),  # float32 features would hold inf
        ("customers", "inf", "not_finite"),
        ("customers", "-1e39", "maximum"),
    ],
)
def test_extra_numbers_must_be_finite_and_fit_float32(table, value, rule, work, capsys):
    df = raw(work / "PF", table)
    df["application_score"] = "0.5"
    df.loc[1, "application_score"] = value
    df.to_csv(work / "PF" / f"{table}.csv", index=False)
    refuse(ledger_argv(work), capsys, rf"{table}\s+application_score\s+{rule}\s+1 ", work)


def test_a_float_column_beyond_float32_is_refused(work, capsys):
    edit("loans", "annual_rate", "1e300")(work / "PF")
    refuse(ledger_argv(work), capsys, r"loans\s+annual_rate\s+maximum\s+1 .*float32", work)


@pytest.mark.parametrize(
    "table, column",
    [
        ("installments", "installment_no"),
        ("payments", "installment_no"),
        ("loans", "term_months"),
        ("statements", "dpd"),
    ],
)
@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_an_infinite_integer_is_not_finite(table, column, value, work, capsys):
    edit(table, column, value)(work / "PF")
    refuse(ledger_argv(work), capsys, rf"{table}\s+{column}\s+not_finite\s+1 ", work)


def test_an_infinite_parquet_instalment_number_is_not_finite(work, capsys):
    df = typed(work / "PF", "installments")
    df["installment_no"] = df["installment_no"].astype(float)
    df.loc[0, "installment_no"] = np.inf
    to_parquet(work / "PF", "installments", df)
    refuse(ledger_argv(work), capsys, r"installments\s+installment_no\s+not_finite\s+1 ", work)


def test_numbers_in_a_date_column_are_not_dates(work, capsys):
    df = typed(work / "PF", "payments")
    df["payment_date"] = df["payment_date"].str.replace("-", "").astype("int64")
    to_parquet(work / "PF", "payments", df)
    n = len(df)
    refuse(ledger_argv(work), capsys, rf"payments\s+payment_date\s+unparseable_date\s+{n} ", work)


@pytest.mark.parametrize("value", ["2024-03", "2024", "20240301"])
def test_a_partial_date_in_data_is_not_a_date(value, work, capsys):
    edit("payments", "payment_date", value)(work / "PF")
    refuse(ledger_argv(work), capsys, r"payments\s+payment_date\s+unparseable_date\s+1 ", work)


@pytest.mark.parametrize("as_of", ["2024-03", "2024", "20240331"])
def test_a_partial_as_of_is_refused(as_of, work, capsys):
    refuse(ledger_argv(work, as_of=as_of), capsys, r"as_of must be dates in ISO 8601", work)
    with pytest.raises(OverdueRiskError, match="as_of must be dates in ISO 8601"):
        Ledger(load_portfolio(HANDMADE)).at(as_of)
    with pytest.raises(OverdueRiskError, match="full dates"):
        parse_as_of(np.datetime64("2024-03"))


def test_numbers_as_scores_as_of_are_not_dates():
    from overdue_risk.prioritise import check_scores

    scores = pd.DataFrame({"loan_id": ["L1", "L2"], "as_of": [20241231, 20241231], "score": 0.1})
    with pytest.raises(DataValidationError, match=r"as_of: unparseable_date \(2\)"):
        check_scores(scores)
    with pytest.raises(OverdueRiskError, match="as_of must be a date or dates"):
        Ledger(load_portfolio(HANDMADE)).at(20240331)


def test_scores_count_mixed_timezones_as_the_contract_does():
    from overdue_risk.prioritise import check_scores

    zones = ["-05:00"] * 3 + ["+08:00"] * 7
    scores = pd.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(10)],
            "as_of": [f"2024-06-30T12:00{z}" for z in zones],
            "score": 0.1,
        }
    )
    with pytest.raises(DataValidationError, match=r"as_of: mixed_timezones \(3\)"):
        check_scores(scores)
    loans = one_loan().loans
    loans = pd.concat([loans] * 10, ignore_index=True).assign(
        loan_id=scores["loan_id"], start_date=scores["as_of"]
    )
    with pytest.raises(DataValidationError, match=r"start_date: mixed_timezones \(3\)"):
        validate(
            Portfolio(
                loans=loans,
                statements=pd.DataFrame({"loan_id": [], "statement_date": [], "balance": []}),
            )
        )


def _with(table: str, column: str, values: list, dtype=object) -> Portfolio:
    """Loan ``A`` with one payment and a collection action, ``column`` of ``table`` set."""
    p = one_loan([("2024-02-01", 100.0)])
    t = p.tables()
    t["collections"] = pd.DataFrame(
        {"loan_id": ["A"], "action_date": ["2024-02-02"], "action": ["sms"], "propensity": [0.5]}
    )
    df = t[table].copy()
    df[column] = pd.Series(values, index=df.index, dtype=dtype)
    t[table] = df
    return Portfolio(**t)


@pytest.mark.parametrize(
    "table, column, values, dtype",
    [
        ("payments", "amount", [True], object),
        ("payments", "amount", [np.True_], object),
        ("payments", "amount", [np.False_], object),  # not "positive": not a number at all
        ("loans", "term_months", [True], object),
        ("installments", "installment_no", [1, 2, np.True_], object),
        ("collections", "propensity", [True], object),
        ("payments", "amount", [100 + 0j], complex),
        ("payments", "amount", [pd.Timedelta(days=1)], object),
        ("payments", "amount", [pd.Timedelta(days=1)], "timedelta64[ns]"),
        ("payments", "amount", [dt.datetime(2024, 1, 1)], object),
        ("loans", "term_months", [pd.Timestamp("2024-01-01")], "datetime64[ns]"),
    ],
)
def test_values_that_are_not_numbers_are_wrong_type(table, column, values, dtype):
    with pytest.raises(DataValidationError) as err:
        validate(_with(table, column, values, dtype))
    rules = err.value.table().query("table == @table and column == @column")["rule"]
    assert rules.tolist() == ["wrong_type"]


def test_a_parquet_duration_amount_is_wrong_type(work, capsys):
    df = typed(work / "PF", "payments")
    df["amount"] = pd.to_timedelta(df["amount"], unit="s")
    to_parquet(work / "PF", "payments", df)
    refuse(ledger_argv(work), capsys, r"payments\s+amount\s+wrong_type\s+\d+ .*durations", work)


def test_a_column_named_like_the_feature_index_is_refused(work, capsys):
    df = raw(work / "PF", "loans")
    df["as_of"] = "1"
    df.to_csv(work / "PF" / "loans.csv", index=False)
    argv = ["features", work / "PF", "--as-of", AS_OF, "--out", work / "out" / "x.csv"]
    refuse(argv, capsys, r"'as_of' .* the feature frame's index \(loan_id, as_of\)", work)


def test_observed_until_before_the_data_or_every_as_of_is_refused(work, capsys):
    argv = ["labels", work / "PF", "--as-of", "2024-03-31", "--out", work / "out" / "y.csv"]
    refuse([*argv, "--observed-until", "1950-01-01"], capsys, r"on or after .* first record", work)
    p = load_portfolio(work / "PF")
    with pytest.raises(OverdueRiskError, match="first record"):
        make_labels(p, "2024-03-31", "dpd30_90d", observed_until="1950-01-01")
    with pytest.raises(OverdueRiskError, match="before every as-of date"):
        make_labels(p, ["2024-03-31", "2024-06-30"], "dpd30_90d", observed_until="2024-03-01")


def test_targets_beyond_ten_years_are_refused(work, capsys):
    argv = ["labels", work / "PF", "--as-of", "2024-03-31", "--out", work / "out" / "y.csv"]
    refuse([*argv, "--target", "dpd99999999999_90d"], capsys, r"threshold .*\[1, 3650\]", work)
    with pytest.raises(OverdueRiskError, match=r"threshold must be an integer in \[1, 3650\]"):
        DpdTarget(threshold=10**12)
    with pytest.raises(OverdueRiskError, match=r"horizon_days must be an integer in \[1, 3650\]"):
        DpdTarget(horizon_days=10**9)
    assert DpdTarget(threshold=3650, horizon_days=3650).name == "dpd3650_3650d"
