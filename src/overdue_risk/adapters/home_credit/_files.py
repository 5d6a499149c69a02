"""The Kaggle files: names, columns in Kaggle's order, and a batched, typed reader.

Every file is read with ``pyarrow.csv.open_csv`` in blocks of rows: numbers as
float64 (ids included, then checked to be whole), text as dictionary-encoded
strings, blanks as missing. A value that is not a number in a number column, a
missing id column or a repeated column name is a :class:`~overdue_risk.Problem`
naming the file, the column and the rule; the caller raises them together.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ...exceptions import Problem

__all__ = ["FILES", "KaggleFile", "Reader", "as_arrays", "find_files", "read_whole"]

_BUILDING = (
    "APARTMENTS BASEMENTAREA YEARS_BEGINEXPLUATATION YEARS_BUILD COMMONAREA ELEVATORS "
    "ENTRANCES FLOORSMAX FLOORSMIN LANDAREA LIVINGAPARTMENTS LIVINGAREA NONLIVINGAPARTMENTS "
    "NONLIVINGAREA"
).split()
_APPLICATION = (
    "NAME_CONTRACT_TYPE CODE_GENDER FLAG_OWN_CAR FLAG_OWN_REALTY CNT_CHILDREN AMT_INCOME_TOTAL "
    "AMT_CREDIT AMT_ANNUITY AMT_GOODS_PRICE NAME_TYPE_SUITE NAME_INCOME_TYPE "
    "NAME_EDUCATION_TYPE NAME_FAMILY_STATUS NAME_HOUSING_TYPE REGION_POPULATION_RELATIVE "
    "DAYS_BIRTH DAYS_EMPLOYED DAYS_REGISTRATION DAYS_ID_PUBLISH OWN_CAR_AGE FLAG_MOBIL "
    "FLAG_EMP_PHONE FLAG_WORK_PHONE FLAG_CONT_MOBILE FLAG_PHONE FLAG_EMAIL OCCUPATION_TYPE "
    "CNT_FAM_MEMBERS REGION_RATING_CLIENT REGION_RATING_CLIENT_W_CITY WEEKDAY_APPR_PROCESS_START "
    "HOUR_APPR_PROCESS_START REG_REGION_NOT_LIVE_REGION REG_REGION_NOT_WORK_REGION "
    "LIVE_REGION_NOT_WORK_REGION REG_CITY_NOT_LIVE_CITY REG_CITY_NOT_WORK_CITY "
    "LIVE_CITY_NOT_WORK_CITY ORGANIZATION_TYPE EXT_SOURCE_1 EXT_SOURCE_2 EXT_SOURCE_3"
).split()
_APPLICATION += [f"{b}_{s}" for s in ("AVG", "MODE", "MEDI") for b in _BUILDING]
_APPLICATION += (
    "FONDKAPREMONT_MODE HOUSETYPE_MODE TOTALAREA_MODE WALLSMATERIAL_MODE EMERGENCYSTATE_MODE "
    "OBS_30_CNT_SOCIAL_CIRCLE DEF_30_CNT_SOCIAL_CIRCLE OBS_60_CNT_SOCIAL_CIRCLE "
    "DEF_60_CNT_SOCIAL_CIRCLE DAYS_LAST_PHONE_CHANGE"
).split()
_APPLICATION += [f"FLAG_DOCUMENT_{i}" for i in range(2, 22)]
_APPLICATION += [
    f"AMT_REQ_CREDIT_BUREAU_{p}" for p in ("HOUR", "DAY", "WEEK", "MON", "QRT", "YEAR")
]
_APPLICATION_TEXT = (
    "NAME_CONTRACT_TYPE CODE_GENDER FLAG_OWN_CAR FLAG_OWN_REALTY NAME_TYPE_SUITE "
    "NAME_INCOME_TYPE NAME_EDUCATION_TYPE NAME_FAMILY_STATUS NAME_HOUSING_TYPE OCCUPATION_TYPE "
    "WEEKDAY_APPR_PROCESS_START ORGANIZATION_TYPE FONDKAPREMONT_MODE HOUSETYPE_MODE "
    "WALLSMATERIAL_MODE EMERGENCYSTATE_MODE"
).split()
_PREVIOUS = (
    "SK_ID_PREV SK_ID_CURR NAME_CONTRACT_TYPE AMT_ANNUITY AMT_APPLICATION AMT_CREDIT "
    "AMT_DOWN_PAYMENT AMT_GOODS_PRICE WEEKDAY_APPR_PROCESS_START HOUR_APPR_PROCESS_START "
    "FLAG_LAST_APPL_PER_CONTRACT NFLAG_LAST_APPL_IN_DAY RATE_DOWN_PAYMENT RATE_INTEREST_PRIMARY "
    "RATE_INTEREST_PRIVILEGED NAME_CASH_LOAN_PURPOSE NAME_CONTRACT_STATUS DAYS_DECISION "
    "NAME_PAYMENT_TYPE CODE_REJECT_REASON NAME_TYPE_SUITE NAME_CLIENT_TYPE NAME_GOODS_CATEGORY "
    "NAME_PORTFOLIO NAME_PRODUCT_TYPE CHANNEL_TYPE SELLERPLACE_AREA NAME_SELLER_INDUSTRY "
    "CNT_PAYMENT NAME_YIELD_GROUP PRODUCT_COMBINATION DAYS_FIRST_DRAWING DAYS_FIRST_DUE "
    "DAYS_LAST_DUE_1ST_VERSION DAYS_LAST_DUE DAYS_TERMINATION NFLAG_INSURED_ON_APPROVAL"
).split()
_PREVIOUS_TEXT = (
    "NAME_CONTRACT_TYPE WEEKDAY_APPR_PROCESS_START FLAG_LAST_APPL_PER_CONTRACT "
    "NAME_CASH_LOAN_PURPOSE NAME_CONTRACT_STATUS NAME_PAYMENT_TYPE CODE_REJECT_REASON "
    "NAME_TYPE_SUITE NAME_CLIENT_TYPE NAME_GOODS_CATEGORY NAME_PORTFOLIO NAME_PRODUCT_TYPE "
    "CHANNEL_TYPE NAME_SELLER_INDUSTRY NAME_YIELD_GROUP PRODUCT_COMBINATION"
).split()
_CARD = (
    "SK_ID_PREV SK_ID_CURR MONTHS_BALANCE AMT_BALANCE AMT_CREDIT_LIMIT_ACTUAL "
    "AMT_DRAWINGS_ATM_CURRENT AMT_DRAWINGS_CURRENT AMT_DRAWINGS_OTHER_CURRENT "
    "AMT_DRAWINGS_POS_CURRENT AMT_INST_MIN_REGULARITY AMT_PAYMENT_CURRENT "
    "AMT_PAYMENT_TOTAL_CURRENT AMT_RECEIVABLE_PRINCIPAL AMT_RECIVABLE AMT_TOTAL_RECEIVABLE "
    "CNT_DRAWINGS_ATM_CURRENT CNT_DRAWINGS_CURRENT CNT_DRAWINGS_OTHER_CURRENT "
    "CNT_DRAWINGS_POS_CURRENT CNT_INSTALMENT_MATURE_CUM NAME_CONTRACT_STATUS SK_DPD SK_DPD_DEF"
).split()
_BUREAU = (
    "SK_ID_CURR SK_ID_BUREAU CREDIT_ACTIVE CREDIT_CURRENCY DAYS_CREDIT CREDIT_DAY_OVERDUE "
    "DAYS_CREDIT_ENDDATE DAYS_ENDDATE_FACT AMT_CREDIT_MAX_OVERDUE CNT_CREDIT_PROLONG "
    "AMT_CREDIT_SUM AMT_CREDIT_SUM_DEBT AMT_CREDIT_SUM_LIMIT AMT_CREDIT_SUM_OVERDUE CREDIT_TYPE "
    "DAYS_CREDIT_UPDATE AMT_ANNUITY"
).split()


@dataclass(frozen=True)
class KaggleFile:
    """One file of the competition: its columns in Kaggle's order, ids and text columns.

    Every known column that is not text is a number; the id columns are
    required, every other column may be absent (it then reads as blank).
    """

    name: str
    columns: tuple[str, ...]
    ids: tuple[str, ...]
    text: frozenset[str] = frozenset()

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"


def _file(name: str, columns: Sequence[str], ids: Sequence[str], text=()) -> KaggleFile:
    return KaggleFile(name, tuple(columns), tuple(ids), frozenset(text))


#: The eight files, in the order they are read.
FILES: dict[str, KaggleFile] = {
    f.name: f
    for f in (
        _file(
            "application_train",
            ["SK_ID_CURR", "TARGET", *_APPLICATION],
            ["SK_ID_CURR"],
            _APPLICATION_TEXT,
        ),
        _file("application_test", ["SK_ID_CURR", *_APPLICATION], ["SK_ID_CURR"], _APPLICATION_TEXT),
        _file("previous_application", _PREVIOUS, ["SK_ID_PREV", "SK_ID_CURR"], _PREVIOUS_TEXT),
        _file(
            "installments_payments",
            "SK_ID_PREV SK_ID_CURR NUM_INSTALMENT_VERSION NUM_INSTALMENT_NUMBER DAYS_INSTALMENT "
            "DAYS_ENTRY_PAYMENT AMT_INSTALMENT AMT_PAYMENT".split(),
            ["SK_ID_PREV", "SK_ID_CURR"],
        ),
        _file(
            "POS_CASH_balance",
            "SK_ID_PREV SK_ID_CURR MONTHS_BALANCE CNT_INSTALMENT CNT_INSTALMENT_FUTURE "
            "NAME_CONTRACT_STATUS SK_DPD SK_DPD_DEF".split(),
            ["SK_ID_PREV", "SK_ID_CURR"],
            ["NAME_CONTRACT_STATUS"],
        ),
        _file("credit_card_balance", _CARD, ["SK_ID_PREV", "SK_ID_CURR"], ["NAME_CONTRACT_STATUS"]),
        _file(
            "bureau",
            _BUREAU,
            ["SK_ID_CURR", "SK_ID_BUREAU"],
            ["CREDIT_ACTIVE", "CREDIT_CURRENCY", "CREDIT_TYPE"],
        ),
        _file(
            "bureau_balance",
            ["SK_ID_BUREAU", "MONTHS_BALANCE", "STATUS"],
            ["SK_ID_BUREAU"],
            ["STATUS"],
        ),
    )
}

# About 50,000 instalment rows per block. pyarrow reads blocks ahead of the one parsed:
# the block size bounds the memory reading takes (8 MiB blocks took 0.4 GB more).
_BLOCK_BYTES = 2 << 20
_CONVERSION = re.compile(r"column #(\d+)", re.IGNORECASE)


def find_files(folder: Path) -> dict[str, Path]:
    """The Kaggle files present in ``folder``, by name (exact names, ``.csv``)."""
    found = {}
    for name, spec in FILES.items():
        path = folder / spec.file_name
        if path.is_file():
            found[name] = path
    return found


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh), [])
    return [c.strip() for c in row]


class Reader:
    """Reads the Kaggle files of one folder, collecting every problem on the way.

    ``problems`` holds what is wrong with the files (missing id columns, repeated
    names, text in number columns, ids that are not whole numbers); the caller
    raises them together once every file has been read.
    """

    def __init__(self, files: dict[str, Path], *, block_bytes: int = _BLOCK_BYTES):
        self.files = files
        self.block_bytes = block_bytes
        self.problems: list[Problem] = []
        self.rows_read: dict[str, int] = dict.fromkeys(files, 0)
        self.headers: dict[str, list[str]] = {}
        for name, path in files.items():
            self.headers[name] = self._check_header(FILES[name], path)

    def _problem(self, spec: KaggleFile, column: str, rule: str, count: int, examples, message):
        self.problems.append(
            Problem(spec.file_name, column, rule, int(count), tuple(examples), message)
        )

    def _check_header(self, spec: KaggleFile, path: Path) -> list[str]:
        try:
            names = _header(path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self._problem(spec, "", "unreadable", 1, (), f"Could not read the header: {exc}")
            return []
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            self._problem(
                spec, "", "duplicate_column", len(repeated), repeated[:5], "Column names repeat."
            )
        for column in spec.ids:
            if column not in names:
                self._problem(
                    spec,
                    column,
                    "missing_column",
                    1,
                    (),
                    f"{spec.file_name} needs its id column {column}.",
                )
        return names

    def has(self, name: str, column: str) -> bool:
        return column in self.headers.get(name, ())

    def batches(
        self, name: str, columns: Sequence[str], *, extra_text: bool = False
    ) -> Iterator[dict[str, np.ndarray | pd.Categorical]]:
        """Blocks of ``name``'s rows: the known ``columns`` present, as arrays.

        Numbers come as float64 (blank: NaN), text as a Categorical. Ids are
        checked to be whole numbers. With ``extra_text`` every column of the
        file outside the Kaggle list comes too, as text.
        """
        for batch in self.record_batches(name, columns, extra_text=extra_text):
            yield as_arrays(batch)

    def record_batches(
        self, name: str, columns: Sequence[str], *, extra_text: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """The blocks of :meth:`batches` as Arrow record batches (numbers as float64,
        text dictionary-encoded), ids checked."""
        spec, path = FILES[name], self.files[name]
        header = self.headers[name]
        wanted = [c for c in columns if c in header]
        if extra_text:
            wanted += [c for c in header if c not in spec.columns and c not in wanted]
        if not wanted:
            return
        types = {c: _arrow_type(spec, c) for c in wanted}
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=self.block_bytes),
                memory_pool=pa.system_memory_pool(),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    include_columns=wanted,
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            line = 2  # the first data row is the file's second line
            for batch in reader:
                for column in spec.ids:
                    if column in batch.schema.names:
                        ids = _to_numpy(batch.column(column))
                        self._check_ids(spec, column, ids, line)
                line += batch.num_rows
                self.rows_read[name] += batch.num_rows
                yield batch
        except pa.ArrowInvalid as exc:
            self._bad_numbers(spec, path, wanted, exc)
        except OSError as exc:
            self._problem(spec, "", "unreadable", 1, (), f"Could not read the file: {exc}")

    def _check_ids(self, spec: KaggleFile, column: str, ids: np.ndarray, line: int) -> None:
        bad = np.isfinite(ids) & (ids != np.round(ids))
        if bad.any():
            rows = np.flatnonzero(bad)[:5] + line
            self._problem(
                spec,
                column,
                "wrong_type",
                bad.sum(),
                [f"line {r}" for r in rows],
                "Ids must be whole numbers.",
            )

    def _bad_numbers(self, spec: KaggleFile, path: Path, wanted: list[str], exc) -> None:
        """Name every value that is no number, column by column (the slow path, on error)."""
        numbers = [c for c in wanted if not pa.types.is_dictionary(_arrow_type(spec, c))]
        counts: dict[str, list] = {c: [0, [], []] for c in numbers}
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=self.block_bytes),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(numbers, pa.string()),
                    include_columns=numbers,
                    null_values=[""],
                    strings_can_be_null=True,
                ),
            )
            line = 2
            for batch in reader:
                for i, column in enumerate(batch.schema.names):
                    text = batch.column(i).to_pandas()
                    parsed = pd.to_numeric(text, errors="coerce")
                    bad = (text.notna() & parsed.isna()).to_numpy()
                    if bad.any():
                        entry = counts[column]
                        entry[0] += int(bad.sum())
                        where = np.flatnonzero(bad)[: 5 - len(entry[1])]
                        entry[1] += [f"line {line + r}" for r in where]
                        entry[2] += [str(v) for v in text.iloc[where]]
                line += batch.num_rows
        except (pa.ArrowInvalid, OSError) as again:
            self._problem(spec, "", "unreadable", 1, (), f"Could not read the file: {again}")
            return
        found = False
        for column, (n, where, values) in counts.items():
            if n:
                found = True
                shown = ", ".join(repr(v) for v in values[:3])
                self._problem(
                    spec, column, "wrong_type", n, where, f"Expected numbers; found {shown}."
                )
        if not found:  # not a number problem: a ragged row, bad quoting, ...
            column = _column_of(exc, wanted)
            self._problem(spec, column, "unreadable", 1, (), f"Could not read the file: {exc}")


def _column_of(exc: Exception, wanted: list[str]) -> str:
    match = _CONVERSION.search(str(exc))
    if match and int(match.group(1)) < len(wanted):
        return wanted[int(match.group(1))]
    return ""


def _arrow_type(spec: KaggleFile, column: str) -> pa.DataType:
    if column in spec.text or column not in spec.columns:
        return pa.dictionary(pa.int32(), pa.string())
    return pa.float64()


def as_arrays(batch: pa.RecordBatch) -> dict[str, np.ndarray | pd.Categorical]:
    """The columns of a block as :meth:`Reader.batches` gives them."""
    return {c: _to_numpy(batch.column(i)) for i, c in enumerate(batch.schema.names)}


def _to_numpy(column: pa.Array) -> np.ndarray | pd.Categorical:
    if pa.types.is_dictionary(column.type):
        codes = column.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        categories = column.dictionary.to_pylist()
        return pd.Categorical.from_codes(
            codes.astype(np.int32), pd.Index(categories, dtype=object), validate=False
        )
    return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def read_whole(reader: Reader, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """A small file whole, ``columns`` in order: a column the file lacks is blank (None
    for text, NaN for numbers), text as objects. No rows when the file is absent."""
    text = FILES[name].text
    cols: dict[str, list] = {}
    for part in reader.batches(name, columns) if name in reader.files else ():
        n = len(next(iter(part.values())))
        for column in columns:
            value = part.get(column)
            if value is None:
                value = np.full(n, None if column in text else np.nan)
            elif column in text:
                value = np.asarray(value.astype(object))
            cols.setdefault(column, []).append(value)
    return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()}, copy=False)
