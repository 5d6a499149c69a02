"""A corpus of malformed portfolios: each breaks exactly one rule of the contract.

Every case copies the clean hand-made portfolio (``tests/data/handmade``), applies one
small mutation to its CSV frames and states the exact problems the loader must
report as ``(table, column, rule, count)``. The counts are worked out from the
mutation and the sample data, never copied from the code's output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import HANDMADE
from overdue_risk import (
    DataQualityWarning,
    DataValidationError,
    Portfolio,
    load_portfolio,
    validate,
)
from overdue_risk.cli import main
from overdue_risk.contract import TABLES

N_PAYMENTS = len(pd.read_csv(HANDMADE / "payments.csv"))

Frames = dict[str, pd.DataFrame | None]  # None: the mutation wrote the file itself
Key = tuple[str, str, str, int]


# --- helpers -----------------------------------------------------------------


def read_raw(folder: Path) -> Frames:
    """Every CSV of ``folder`` as text, blanks as "", so writing back is lossless."""
    return {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted(folder.glob("*.csv"))
    }


def write_raw(folder: Path, frames: Frames) -> None:
    """Write ``frames`` back as CSV; a table dropped from ``frames`` loses its CSV.

    A table set to None is left as the mutation wrote it.
    """
    for p in folder.glob("*.csv"):
        if p.stem not in frames:
            p.unlink()
    for name, df in frames.items():
        if df is not None:
            df.to_csv(folder / f"{name}.csv", index=False)


def where(df: pd.DataFrame, n: int = 1, **match: str) -> pd.Index:
    """Labels of the rows matching ``match``; exactly ``n`` of them must exist."""
    mask = np.ones(len(df), dtype=bool)
    for col, value in match.items():
        mask &= (df[col] == value).to_numpy()
    labels = df.index[mask]
    assert len(labels) == n, f"sample changed: {match} matches {len(labels)} rows, expected {n}"
    return labels


def set_value(df: pd.DataFrame, column: str, value: str, **match: str) -> None:
    df.loc[where(df, **match), column] = value


def append_copy(frames: Frames, table: str, changes: dict[str, str] | None = None, **match):
    df = frames[table]
    row = df.loc[where(df, **match)].copy()
    for col, value in (changes or {}).items():
        row[col] = value
    frames[table] = pd.concat([df, row], ignore_index=True)


def append_row(frames: Frames, table: str, **values: str) -> None:
    df = frames[table]
    row = pd.DataFrame([{c: values.get(c, "") for c in df.columns}], dtype=str)
    frames[table] = pd.concat([df, row], ignore_index=True)


def problem_keys(err: DataValidationError) -> list[Key]:
    return sorted((p.table, p.column, p.rule, p.count) for p in err.problems)


# --- the corpus --------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Frames, Path], None]
    expected: tuple[Key, ...]


def _drop(*tables: str) -> Callable[[Frames, Path], None]:
    def mutate(t: Frames, folder: Path) -> None:
        for name in tables:
            del t[name]

    return mutate


def duplicate_column(t: Frames, folder: Path) -> None:
    df = t["payments"]
    df.insert(len(df.columns), "amount", df["amount"], allow_duplicates=True)


def unparseable_date(t: Frames, folder: Path) -> None:
    # Day-first and an impossible day: 2 rows.
    set_value(
        t["payments"], "payment_date", "28/04/2024", loan_id="L006", payment_date="2024-04-28"
    )
    set_value(
        t["payments"], "payment_date", "2024-02-30", loan_id="L006", payment_date="2024-05-29"
    )


def sentinel_date(t: Frames, folder: Path) -> None:
    set_value(t["loans"], "closed_date", "9999-12-31", loan_id="L002")


def amount_not_a_number(t: Frames, folder: Path) -> None:
    set_value(t["installments"], "amount_due", "two fifty", loan_id="L002", installment_no="4")


def negative_amount_due(t: Frames, folder: Path) -> None:
    for no in ("1", "2"):
        set_value(t["installments"], "amount_due", "-200", loan_id="L003", installment_no=no)


def payment_not_positive(t: Frames, folder: Path) -> None:
    set_value(t["payments"], "amount", "0", loan_id="L006", payment_date="2024-03-29")
    set_value(t["payments"], "amount", "-200.0", loan_id="L006", payment_date="2024-04-28")


def principal_missing(t: Frames, folder: Path) -> None:
    set_value(t["loans"], "principal", "", loan_id="L004")


def amount_infinite(t: Frames, folder: Path) -> None:
    set_value(t["payments"], "amount", "inf", loan_id="L006", payment_date="2024-05-29")


def duplicate_loan_id(t: Frames, folder: Path) -> None:
    append_copy(t, "loans", loan_id="L005")


def duplicate_installment(t: Frames, folder: Path) -> None:
    append_copy(t, "installments", {"amount_due": "999"}, loan_id="L002", installment_no="3")


def orphan_payments(t: Frames, folder: Path) -> None:
    for day in ("2024-03-29", "2024-04-28"):
        set_value(t["payments"], "loan_id", "L999", loan_id="L006", payment_date=day)


def orphan_collection(t: Frames, folder: Path) -> None:
    set_value(t["collections"], "loan_id", "L404", loan_id="L019")


def orphan_statement(t: Frames, folder: Path) -> None:
    set_value(t["statements"], "loan_id", "L1O", loan_id="L010", statement_date="2024-01-31")


def orphan_customer(t: Frames, folder: Path) -> None:
    # C12 holds two loans (L013, L017): both lose their customer.
    cust = t["customers"]
    t["customers"] = cust.drop(where(cust, customer_id="C12"))
    where(t["loans"], n=2, customer_id="C12")


def orphan_restructured_from(t: Frames, folder: Path) -> None:
    loans = t["loans"]
    loans["restructured_from"] = ""
    set_value(loans, "restructured_from", "L003", loan_id="L005")  # a real loan: fine
    set_value(loans, "restructured_from", "L777", loan_id="L006")


def payment_before_start(t: Frames, folder: Path) -> None:
    # L006 starts 2024-03-01.
    set_value(
        t["payments"], "payment_date", "2024-02-29", loan_id="L006", payment_date="2024-03-29"
    )


def collection_before_start(t: Frames, folder: Path) -> None:
    # L016 starts 2024-02-22.
    set_value(
        t["collections"], "action_date", "2024-02-01", loan_id="L016", action_date="2024-03-10"
    )


def statement_before_start(t: Frames, folder: Path) -> None:
    # L009 starts 2024-01-01.
    set_value(
        t["statements"], "statement_date", "2023-12-31", loan_id="L009", statement_date="2024-01-31"
    )


def due_dates_out_of_order(t: Frames, folder: Path) -> None:
    # L002: instalments 1-3 in reverse (two backward steps, one loan);
    # L003: instalment 12 due before instalment 11. Two loans in all.
    inst = t["installments"]
    for no, day in (("1", "2024-04-15"), ("2", "2024-03-15"), ("3", "2024-02-15")):
        set_value(inst, "due_date", day, loan_id="L002", installment_no=no)
    set_value(inst, "due_date", "2024-12-01", loan_id="L003", installment_no="12")


def unknown_action(t: Frames, folder: Path) -> None:
    col = t["collections"]
    set_value(col, "action", "email", loan_id="L004", action_date="2024-06-02")
    set_value(col, "action", " SMS ", loan_id="L008", action_date="2024-06-26")  # legal
    set_value(col, "action", "whatsapp", loan_id="L010", action_date="2024-06-03")


def unknown_product_type(t: Frames, folder: Path) -> None:
    set_value(t["loans"], "product_type", "loan", loan_id="L001")


def propensity_above_one(t: Frames, folder: Path) -> None:
    set_value(t["collections"], "propensity", "1.5", loan_id="L004", action_date="2024-06-02")


def propensity_zero(t: Frames, folder: Path) -> None:
    set_value(t["collections"], "propensity", "0", loan_id="L008", action_date="2024-06-26")


def closed_before_start(t: Frames, folder: Path) -> None:
    # L005 starts 2024-01-10.
    set_value(t["loans"], "closed_date", "2023-12-31", loan_id="L005")


def promise_before_action(t: Frames, folder: Path) -> None:
    set_value(
        t["collections"], "promise_date", "2024-06-01", loan_id="L004", action_date="2024-06-08"
    )


def unknown_installment(t: Frames, folder: Path) -> None:
    # L011 has six instalments.
    where(t["installments"], n=6, loan_id="L011")
    set_value(t["payments"], "installment_no", "7", loan_id="L011", payment_date="2024-06-01")


def fractional_installment_no(t: Frames, folder: Path) -> None:
    set_value(t["installments"], "installment_no", "3.5", loan_id="L001", installment_no="3")


def term_months_zero(t: Frames, folder: Path) -> None:
    set_value(t["loans"], "term_months", "0", loan_id="L007")


def holdout_not_boolean(t: Frames, folder: Path) -> None:
    set_value(t["collections"], "holdout", "maybe", loan_id="L019")


def unknown_outcome(t: Frames, folder: Path) -> None:
    set_value(t["collections"], "outcome", "voicemail", loan_id="L002", action_date="2024-03-20")


def payment_without_loan_id(t: Frames, folder: Path) -> None:
    set_value(t["payments"], "loan_id", "", loan_id="L006", payment_date="2024-03-29")


def ambiguous_table(t: Frames, folder: Path) -> None:
    t["payments"].to_parquet(folder / "payments.parquet", index=False)


def unreadable_parquet(t: Frames, folder: Path) -> None:
    del t["customers"]
    (folder / "customers.parquet").write_bytes(b"PAR1 this is not a parquet file")


def empty_csv(t: Frames, folder: Path) -> None:
    t["collections"] = None
    (folder / "collections.csv").write_text("")


def integer_ids_in_parquet(t: Frames, folder: Path) -> None:
    # payments as Parquet with numeric loan ids, while loans.csv has text ids.
    pay = pd.read_csv(folder / "payments.csv")
    pay["loan_id"] = pay["loan_id"].str[1:].astype("int64")
    del t["payments"]
    pay.to_parquet(folder / "payments.parquet", index=False)


CASES = [
    Case("missing_loans_table", _drop("loans"), (("loans", "", "missing_table", 1),)),
    Case(
        "installments_without_payments",
        _drop("payments"),
        (("payments", "", "missing_table", 1),),
    ),
    Case(
        "payments_without_installments_or_statements",
        _drop("installments", "statements"),
        (("installments", "", "missing_table", 1),),
    ),
    Case(
        "neither_installments_nor_statements",
        _drop("installments", "payments", "statements"),
        (("installments", "", "missing_table", 1),),
    ),
    Case(
        "missing_required_column",
        lambda t, f: t.__setitem__("installments", t["installments"].drop(columns="amount_due")),
        (("installments", "amount_due", "missing_column", 1),),
    ),
    Case("duplicate_column", duplicate_column, (("payments", "", "duplicate_column", 1),)),
    Case(
        "unparseable_date",
        unparseable_date,
        (("payments", "payment_date", "unparseable_date", 2),),
    ),
    Case(
        "sentinel_date_9999",
        sentinel_date,
        (("loans", "closed_date", "unparseable_date", 1),),
    ),
    Case(
        "amount_not_a_number",
        amount_not_a_number,
        (("installments", "amount_due", "wrong_type", 1),),
    ),
    Case(
        "negative_amount_due",
        negative_amount_due,
        (("installments", "amount_due", "non_negative", 2),),
    ),
    Case(
        "payment_amount_not_positive",
        payment_not_positive,
        (("payments", "amount", "positive", 2),),
    ),
    Case("principal_missing", principal_missing, (("loans", "principal", "not_null", 1),)),
    Case("amount_infinite", amount_infinite, (("payments", "amount", "not_finite", 1),)),
    Case("duplicate_loan_id", duplicate_loan_id, (("loans", "loan_id", "unique", 1),)),
    Case(
        "duplicate_installment_key",
        duplicate_installment,
        (("installments", "loan_id,installment_no", "unique", 1),),
    ),
    Case("orphan_payment_loan", orphan_payments, (("payments", "loan_id", "orphan", 2),)),
    Case(
        "orphan_collection_loan",
        orphan_collection,
        (("collections", "loan_id", "orphan", 1),),
    ),
    Case(
        "orphan_statement_loan",
        orphan_statement,
        (("statements", "loan_id", "orphan", 1),),
    ),
    Case("orphan_customer", orphan_customer, (("loans", "customer_id", "orphan", 2),)),
    Case(
        "orphan_restructured_from",
        orphan_restructured_from,
        (("loans", "restructured_from", "orphan", 1),),
    ),
    Case(
        "payment_before_loan_start",
        payment_before_start,
        (("payments", "payment_date", "before_loan_start", 1),),
    ),
    Case(
        "collection_before_loan_start",
        collection_before_start,
        (("collections", "action_date", "before_loan_start", 1),),
    ),
    Case(
        "statement_before_loan_start",
        statement_before_start,
        (("statements", "statement_date", "before_loan_start", 1),),
    ),
    Case(
        "due_dates_out_of_order",
        due_dates_out_of_order,
        (("installments", "due_date", "due_dates_out_of_order", 2),),
    ),
    Case(
        "unknown_action",
        unknown_action,
        (("collections", "action", "allowed_values", 2),),
    ),
    Case(
        "unknown_product_type",
        unknown_product_type,
        (("loans", "product_type", "allowed_values", 1),),
    ),
    Case(
        "unknown_outcome",
        unknown_outcome,
        (("collections", "outcome", "allowed_values", 1),),
    ),
    Case(
        "propensity_above_one",
        propensity_above_one,
        (("collections", "propensity", "maximum", 1),),
    ),
    Case(
        "propensity_zero",
        propensity_zero,
        (("collections", "propensity", "positive", 1),),
    ),
    Case(
        "closed_before_start",
        closed_before_start,
        (("loans", "closed_date", "date_order", 1),),
    ),
    Case(
        "promise_before_action",
        promise_before_action,
        (("collections", "promise_date", "date_order", 1),),
    ),
    Case(
        "payment_to_unknown_installment",
        unknown_installment,
        (("payments", "installment_no", "unknown_installment", 1),),
    ),
    Case(
        "fractional_installment_no",
        fractional_installment_no,
        (("installments", "installment_no", "wrong_type", 1),),
    ),
    Case("term_months_zero", term_months_zero, (("loans", "term_months", "minimum", 1),)),
    Case(
        "holdout_not_boolean",
        holdout_not_boolean,
        (("collections", "holdout", "wrong_type", 1),),
    ),
    Case(
        "payment_without_loan_id",
        payment_without_loan_id,
        (("payments", "loan_id", "not_null", 1),),
    ),
    Case(
        "ambiguous_table_csv_and_parquet",
        ambiguous_table,
        (("payments", "", "ambiguous_table", 2),),
    ),
    Case("unreadable_parquet", unreadable_parquet, (("customers", "", "unreadable", 1),)),
    Case("empty_csv", empty_csv, (("collections", "", "unreadable", 1),)),
    Case(
        "integer_ids_against_text_ids",
        integer_ids_in_parquet,
        (("payments", "loan_id", "id_type_mismatch", N_PAYMENTS),),
    ),
]
CASE_BY_ID = {c.id: c for c in CASES}


def build(folder: Path, *mutations: Callable[[Frames, Path], None]) -> Path:
    frames = read_raw(folder)
    for mutate in mutations:
        mutate(frames, folder)
    write_raw(folder, frames)
    return folder


def test_corpus_is_large_and_distinct():
    assert len(CASES) >= 24
    assert len(CASE_BY_ID) == len(CASES)
    rules = {rule for case in CASES for _, _, rule, _ in case.expected}
    assert len(rules) >= 18


def test_unmutated_copy_is_clean(portfolio_dir):
    folder = build(portfolio_dir())
    p = load_portfolio(folder)
    assert p.validated
    assert {n: len(df) for n, df in p.tables().items()} == {
        n: len(df) for n, df in read_raw(HANDMADE).items()
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_load_portfolio_reports_the_exact_problem(case, portfolio_dir):
    folder = build(portfolio_dir(), case.mutate)
    with pytest.raises(DataValidationError) as info:
        load_portfolio(folder)
    assert problem_keys(info.value) == sorted(case.expected)
    assert len(info.value.table()) == len(case.expected)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_ledger_exits_2_and_writes_nothing(case, portfolio_dir, tmp_path, capsys):
    folder = build(portfolio_dir(), case.mutate)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out_file = out_dir / "ledger.parquet"
    code = main(["ledger", str(folder), "--as-of", "2024-12-31", "--out", str(out_file)])
    captured = capsys.readouterr()
    assert code == 2
    assert not out_file.exists()
    assert list(out_dir.iterdir()) == []
    assert captured.out == ""
    assert f"error: {len(case.expected)} problem(s) with the portfolio" in captured.err
    for _table, _column, rule, _count in case.expected:
        assert rule in captured.err
    assert "Traceback" not in captured.err


COMBINED = {
    "values_across_tables": (
        "negative_amount_due",
        "unknown_action",
        "duplicate_loan_id",
        "propensity_above_one",
        "orphan_customer",
        "promise_before_action",
        "payment_amount_not_positive",
        "sentinel_date_9999",
    ),
    "structure_and_values": (
        "missing_required_column",
        "unknown_product_type",
        "orphan_collection_loan",
        "payment_before_loan_start",
    ),
    # A file that cannot be read does not hide the problems in the other tables.
    "file_and_data": (
        "unreadable_parquet",
        "ambiguous_table_csv_and_parquet",
        "negative_amount_due",
        "duplicate_loan_id",
    ),
}


@pytest.mark.parametrize("ids", COMBINED.values(), ids=COMBINED.keys())
def test_every_problem_is_reported_at_once(ids, portfolio_dir, tmp_path, capsys):
    cases = [CASE_BY_ID[i] for i in ids]
    folder = build(portfolio_dir(), *(c.mutate for c in cases))
    expected = sorted(k for c in cases for k in c.expected)
    with pytest.raises(DataValidationError) as info:
        load_portfolio(folder)
    assert problem_keys(info.value) == expected
    out = tmp_path / "ledger.csv"
    assert main(["ledger", str(folder), "--as-of", "2024-12-31", "--out", str(out)]) == 2
    assert not out.exists()
    assert f"error: {len(expected)} problem(s)" in capsys.readouterr().err


def test_problems_name_the_offending_keys(portfolio_dir):
    folder = build(portfolio_dir(), duplicate_loan_id, orphan_payments)
    with pytest.raises(DataValidationError) as info:
        load_portfolio(folder)
    by_rule = {p.rule: p for p in info.value.problems}
    # The copy of L005 is appended after the 20 sample loans: row 20.
    assert by_rule["unique"].examples == ("loan_id=L005 (row 20)",)
    assert len(by_rule["orphan"].examples) == 2
    assert all(e.startswith("loan_id=L999, payment_date=") for e in by_rule["orphan"].examples)
    assert "L999" in str(info.value)


def test_missing_folder(tmp_path, capsys):
    with pytest.raises(DataValidationError) as info:
        load_portfolio(tmp_path / "nowhere")
    assert problem_keys(info.value) == [("portfolio", "", "missing_folder", 1)]
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "missing_folder" in capsys.readouterr().err


def test_unknown_files_are_ignored_with_a_warning(portfolio_dir):
    folder = portfolio_dir()
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.warns(DataQualityWarning, match=r"Ignored files .*notes\.csv"):
        p = load_portfolio(folder)
    assert set(p.tables()) == {"loans", "installments", "payments", "statements"} | {
        "collections",
        "customers",
    }


# --- validate(): copies, ids and dtypes --------------------------------------


def test_validate_does_not_modify_the_callers_frames(sample_dir):
    raw = load_portfolio(sample_dir, validate=False)
    assert not raw.validated
    # A non-default index as well, which validation resets on its copy.
    frames = {
        name: df.set_axis(pd.RangeIndex(100, 100 + len(df)), axis=0)
        for name, df in raw.tables().items()
    }
    before = {name: df.copy(deep=True) for name, df in frames.items()}
    result = validate(Portfolio(**frames))
    assert result.validated
    for name, df in frames.items():
        pd.testing.assert_frame_equal(df, before[name])
        assert result.tables()[name] is not df
    # Validation did change the types, on its own copy.
    assert result.loans["start_date"].dtype == "datetime64[ns]"
    assert frames["loans"]["start_date"].dtype != "datetime64[ns]"
    assert list(result.loans.index) == list(range(len(before["loans"])))


def test_validating_twice_returns_the_same_portfolio(sample_dir):
    p = load_portfolio(sample_dir)
    assert validate(p) is p


def test_text_ids_from_csv_are_kept_as_given(portfolio_dir):
    def rename(t: Frames, folder: Path) -> None:
        for df in t.values():
            if "loan_id" in df:
                df.loc[df["loan_id"] == "L001", "loan_id"] = "00123"
            if "customer_id" in df:
                df.loc[df["customer_id"] == "C01", "customer_id"] = "007"

    p = load_portfolio(build(portfolio_dir(), rename))
    assert "00123" in set(p.loans["loan_id"])
    assert "007" in set(p.customers["customer_id"])
    assert "007" in set(p.loans["customer_id"])
    assert (p.installments["loan_id"] == "00123").sum() == 6
    for df in p.tables().values():
        for col in ("loan_id", "customer_id"):
            if col in df:
                assert all(isinstance(v, str) for v in df[col])


def test_integer_ids_from_dataframes_stay_integers():
    loans = pd.DataFrame(
        {
            "loan_id": [101, 102],
            "customer_id": [7, 8],
            "product_type": ["instalment", "Instalment"],
            "start_date": ["2024-01-01", "2024-01-15"],
            "principal": [200, 300],
        }
    )
    inst = pd.DataFrame(
        {
            "loan_id": [101, 101, 102],
            "installment_no": [1, 2, 1],
            "due_date": ["2024-02-01", "2024-03-01", "2024-02-15"],
            "amount_due": [100, 100, 300],
        }
    )
    pay = pd.DataFrame({"loan_id": [101], "payment_date": ["2024-02-01"], "amount": [100]})
    customers = pd.DataFrame({"customer_id": [7, 8]})
    p = validate(Portfolio(loans=loans, installments=inst, payments=pay, customers=customers))
    for df, col, values in (
        (p.loans, "loan_id", [101, 102]),
        (p.loans, "customer_id", [7, 8]),
        (p.installments, "loan_id", [101, 101, 102]),
        (p.payments, "loan_id", [101]),
        (p.customers, "customer_id", [7, 8]),
    ):
        assert pd.api.types.is_integer_dtype(df[col]), (col, df[col].dtype)
        assert df[col].tolist() == values
    assert p.loans["product_type"].tolist() == ["instalment", "instalment"]


def test_dtypes_are_normalised(sample_dir):
    p = load_portfolio(sample_dir)
    seen_kinds = set()
    for name, df in p.tables().items():
        spec = TABLES[name]
        for col in spec.columns:
            if col.name not in df:
                continue
            s = df[col.name]
            seen_kinds.add(col.kind)
            if col.kind == "date":
                assert s.dtype == np.dtype("datetime64[ns]"), (name, col.name)
                assert (s.dropna() == s.dropna().dt.normalize()).all()
            elif col.kind in ("amount", "float"):
                assert s.dtype == np.dtype("float64"), (name, col.name)
            elif col.kind == "int":
                assert pd.api.types.is_numeric_dtype(s), (name, col.name)
                assert not pd.api.types.is_bool_dtype(s)
                if not col.nullable:
                    assert s.dtype == np.dtype("int64"), (name, col.name)
            elif col.kind == "category":
                assert isinstance(s.dtype, pd.CategoricalDtype), (name, col.name)
                if col.allowed is not None:
                    assert list(s.cat.categories) == list(col.allowed), (name, col.name)
            elif col.kind == "bool":
                assert s.dtype == "boolean", (name, col.name)
    assert seen_kinds == {"id", "date", "amount", "float", "int", "category", "bool"}
    # Extra text columns of loans and customers become categories; numbers stay numbers.
    extras = ((p.loans, "ltv_band"), (p.customers, "income_band"), (p.customers, "employment"))
    for df, col in extras:
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col
    assert set(p.customers["income_band"].cat.categories) == {"low", "mid", "high"}
    assert pd.api.types.is_integer_dtype(p.customers["birth_year"])
    assert p.loans["closed_date"].isna().sum() == 18  # blanks stay missing, not errors


def test_dates_with_a_time_of_day_are_floored_to_the_day(sample_dir):
    raw = load_portfolio(sample_dir, validate=False).tables()
    pay = raw["payments"].copy()
    pay["payment_date"] = pd.to_datetime(pay["payment_date"]) + pd.Timedelta(hours=13)
    p = validate(Portfolio(**{**raw, "payments": pay}))
    assert (p.payments["payment_date"].dt.hour == 0).all()
    assert (
        p.payments["payment_date"].tolist()
        == pd.to_datetime(raw["payments"]["payment_date"]).tolist()
    )


# --- suspicious but legal: warnings, not errors -------------------------------


def duplicate_payment_row(t: Frames, folder: Path) -> None:
    append_copy(t, "payments", loan_id="L006", payment_date="2024-04-28")


def payment_after_close(t: Frames, folder: Path) -> None:
    # L001 closed 2024-07-05.
    append_row(t, "payments", loan_id="L001", payment_date="2024-08-01", amount="100.0")


def loan_without_schedule(t: Frames, folder: Path) -> None:
    append_row(
        t,
        "loans",
        loan_id="L021",
        customer_id="C01",
        product_type="instalment",
        start_date="2024-05-01",
        principal="500",
    )


def installment_before_start(t: Frames, folder: Path) -> None:
    # L006 starts 2024-03-01.
    set_value(t["installments"], "due_date", "2024-02-15", loan_id="L006", installment_no="1")


def zero_amount_due(t: Frames, folder: Path) -> None:
    set_value(t["installments"], "amount_due", "0", loan_id="L003", installment_no="12")


WARNINGS = {
    "duplicate_payment_row": (
        duplicate_payment_row,
        r"^payments: 1 rows repeat another payment's loan, date and amount\.$",
    ),
    "payment_after_closed_date": (
        payment_after_close,
        r"^payments: 1 payments are dated after the loan closed\.$",
    ),
    "loan_with_no_schedule": (
        loan_without_schedule,
        r"^loans: 1 loans have neither a schedule nor statements",
    ),
    "installment_before_loan_start": (
        installment_before_start,
        r"^installments: 1 rows have due_date before the loan's start_date\.$",
    ),
    "zero_amount_due": (zero_amount_due, r"^installments: 1 instalments have amount_due 0\.$"),
}


@pytest.mark.parametrize("mutate, match", WARNINGS.values(), ids=WARNINGS.keys())
def test_suspicious_data_warns_and_loads(mutate, match, portfolio_dir):
    folder = build(portfolio_dir(), mutate)
    with pytest.warns(DataQualityWarning, match=match) as record:
        p = load_portfolio(folder)
    assert len(record) == 1
    assert p.validated


def test_warnings_are_not_emitted_when_there_are_errors(portfolio_dir):
    folder = build(portfolio_dir(), duplicate_payment_row, duplicate_loan_id)
    with pytest.raises(DataValidationError) as info:
        load_portfolio(folder)  # filterwarnings=error: a warning here would fail first
    assert problem_keys(info.value) == [("loans", "loan_id", "unique", 1)]
