""":func:`load`: the Kaggle folder as a portfolio in memory, and the result."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..._dates import day_of
from ..._io import check_output_folder, path_kind, write_folder
from ...contract import Portfolio, load_portfolio
from ...contract import validate as validate_portfolio
from ...exceptions import DataValidationError, OverdueRiskError, Problem
from ._assemble import Assembled, assemble
from ._balances import Balances
from ._bureau import Bureau
from ._customers import read_customers
from ._files import FILES, Reader, find_files
from ._instalments import Instalments
from ._log import Log
from ._previous import read_previous

__all__ = [
    "FORMATS",
    "REFERENCE_DATE",
    "TARGET_FOLDER",
    "HomeCreditResult",
    "customers_of",
    "load",
    "map_loans",
    "open_folder",
]

logger = logging.getLogger(__name__)

#: The application date every relative day counts from, unless another is given: the
#: day the Kaggle competition opened. Any date works: the data hold no absolute date.
REFERENCE_DATE = "2018-05-17"
#: Where :meth:`HomeCreditResult.write` puts what is not a contract table, inside the
#: output folder: ``target.<format>`` (customer_id, target) and ``dropped.<format>``.
TARGET_FOLDER = "home_credit"
#: The file formats an output folder may be written in.
FORMATS = ("parquet", "csv")


class HomeCreditResult:
    """What :func:`load` and :func:`convert` return: the portfolio, the label, and what
    did not enter.

    Attributes
    ----------
    portfolio : Portfolio
        ``loans``, ``installments``, ``payments``, ``statements`` and, with an
        application file, ``customers``; validated unless ``load(validate=False)``.
        After :func:`convert`, which holds no table in memory, it is read from the
        folder written (``load_portfolio``) when first asked for.
    target : Series
        TARGET of ``application_train.csv`` (0 or 1), indexed by ``customer_id``;
        an external label, not a column of the portfolio.
    dropped : DataFrame
        One row per (file, part, reason, action): ``rows`` and the ``amount`` of
        payments they held (see :meth:`table`).
    reference_date : Timestamp
        Day 0 of every ``DAYS_*`` and ``MONTHS_BALANCE`` column.
    """

    def __init__(
        self,
        portfolio,
        target,
        dropped,
        money,
        rows_read,
        reference_date,
        *,
        counts: dict[str, int] | None = None,
        folder: Path | None = None,
    ):
        self._portfolio = portfolio
        self.target = target
        self.dropped = dropped
        self.reference_date = reference_date
        self._money = money
        self._rows_read = rows_read
        self._counts = counts
        self._folder = folder

    @property
    def portfolio(self) -> Portfolio:
        if self._portfolio is None:
            self._portfolio = load_portfolio(self._folder)
        return self._portfolio

    @portfolio.setter
    def portfolio(self, value: Portfolio) -> None:
        self._portfolio = value

    def _tables(self) -> dict[str, int]:
        """Rows per table, without reading a folder written."""
        if self._counts is not None:
            return dict(self._counts)
        return {k: len(v) for k, v in self.portfolio.tables().items()}

    def table(self) -> pd.DataFrame:
        """What did not enter as given: ``file``, ``part`` (``row``, ``payment``,
        ``instalment``, ``statement``, ``loan`` or the column blanked), ``reason``,
        ``action`` (dropped, blanked, replaced, adjusted), ``rows``, ``amount``
        (payment money of the rows) and ``message``."""
        return self.dropped.copy()

    def money(self) -> pd.DataFrame:
        """Payment money by source column: ``read`` = ``written`` + ``dropped``.

        ``installments_payments.csv`` counts every AMT_PAYMENT; ``credit_card_balance.csv``
        the AMT_PAYMENT_TOTAL_CURRENT > 0 of the cards paid from it (cards without rows
        in installments_payments).
        """
        out = self._money.copy()
        amounts = self.dropped.groupby("file")["amount"].sum()
        out["dropped"] = out["file"].map(amounts).fillna(0.0).astype(np.float64)
        out["difference"] = out["read"] - out["written"] - out["dropped"]
        return out

    def summary(self) -> pd.DataFrame:
        """Per file read: rows read, whole rows dropped, parts of rows dropped, values
        blanked, and payment money read, written and dropped."""
        d = self.dropped
        whole = d[(d["part"] == "row") & (d["action"] == "dropped")].groupby("file")["rows"]
        parts = d[(d["part"] != "row") & (d["action"] == "dropped")].groupby("file")["rows"]
        blank = d[d["action"] == "blanked"].groupby("file")["rows"]
        files = [FILES[n].file_name for n in FILES if n in self._rows_read]
        out = pd.DataFrame({"file": files})
        out["rows_read"] = [self._rows_read[n] for n in FILES if n in self._rows_read]
        for name, counts in (
            ("rows_dropped", whole),
            ("parts_dropped", parts),
            ("values_blanked", blank),
        ):
            out[name] = out["file"].map(counts.sum()).fillna(0).astype(np.int64)
        money = self.money().set_index("file")
        for column in ("read", "written", "dropped"):
            out[f"amount_{column}"] = out["file"].map(money[column])
        return out

    def to_dict(self) -> dict:
        """The counts as plain data: tables per name, rows per file, and the money."""
        return {
            "reference_date": self.reference_date.strftime("%Y-%m-%d"),
            "tables": self._tables(),
            "labelled_customers": len(self.target),
            "summary": self.summary().to_dict("records"),
            "dropped": self.dropped.to_dict("records"),
        }

    def files(self, format: str = "parquet") -> dict[str, pd.DataFrame]:
        """The output folder's layout: ``{relative path: table}``: the contract tables at
        the top, ``home_credit/target`` and ``home_credit/dropped`` below."""
        check_format(format)
        files = {f"{name}.{format}": df for name, df in self.portfolio.tables().items()}
        files[f"{TARGET_FOLDER}/target.{format}"] = self.target.reset_index()
        files[f"{TARGET_FOLDER}/dropped.{format}"] = self.dropped
        return files

    def write(
        self, folder: str | os.PathLike, *, format: str = "parquet", overwrite: bool = False
    ) -> Path:
        """Write :meth:`files` into ``folder``, which appears whole or not at all."""
        files = self.files(format)
        out = check_output_folder(folder, overwrite)
        return write_folder(files, out)

    def __repr__(self) -> str:
        tables = ", ".join(f"{k}={n:,}" for k, n in self._tables().items())
        dropped = int(self.dropped.loc[self.dropped["action"] == "dropped", "rows"].sum())
        return (
            f"HomeCreditResult({tables}; {len(self.target):,} labelled customers; "
            f"{dropped:,} rows or parts dropped)"
        )


def check_format(format: str) -> None:
    if format not in FORMATS:
        raise OverdueRiskError(f"format must be one of parquet, csv; got {format!r}.")


def _folder_problem(folder: Path) -> DataValidationError:
    kind = path_kind(folder)
    what = "does not exist" if kind == "missing" else f"is {kind}, not a folder"
    return DataValidationError(
        [Problem("home_credit", "", "missing_folder", 1, (str(folder),), f"The folder {what}.")],
        subject=f"the Home Credit folder {str(folder)!r}",
    )


def customers_of(customers: pd.DataFrame | None, of_loans: np.ndarray) -> pd.DataFrame | None:
    """The customers, with a bare row for each customer of a loan (``of_loans``: the
    loans' customer ids) the applications miss."""
    if customers is None:
        return None
    ids = customers["customer_id"].to_numpy()
    missing = np.setdiff1d(of_loans, ids)
    if not missing.size:
        return customers
    every = np.sort(np.concatenate([ids, missing]))
    bare = customers.set_index("customer_id").reindex(every)
    # Column by column (no insert into a frame of many blocks, which pandas warns about).
    columns = {"customer_id": every, **{c: bare[c].values for c in bare.columns}}
    return pd.DataFrame(columns, copy=False)


def load(
    folder: str | os.PathLike,
    *,
    reference_date=REFERENCE_DATE,
    validate: bool = True,
) -> HomeCreditResult:
    """Read the Home Credit Default Risk files of a folder as a portfolio.

    Any subset of the eight Kaggle files works (``application_train.csv``,
    ``application_test.csv``, ``previous_application.csv``,
    ``installments_payments.csv``, ``POS_CASH_balance.csv``,
    ``credit_card_balance.csv``, ``bureau.csv``, ``bureau_balance.csv``; exact
    names). Every ``DAYS_*`` column counts from ``reference_date`` (day 0, the
    application), ``MONTHS_BALANCE`` month ``m`` is ``reference_date`` moved by ``m``
    months, and 365243 means blank. See ``docs/home-credit.md`` for the mapping.

    Parameters
    ----------
    folder : path
        The folder holding the Kaggle files.
    reference_date : date-like, default "2018-05-17"
        The application date: day 0 of every relative day.
    validate : bool, default True
        Validate the portfolio against the data contract.

    Returns
    -------
    HomeCreditResult
        ``.portfolio``, ``.target`` (TARGET by ``customer_id``) and ``.dropped``.

    Raises
    ------
    DataValidationError
        A folder that is missing or holds no Kaggle file; a file without its id
        columns, with repeated column names, with text in a number column or ids
        that are not whole numbers (every such problem at once, naming the file,
        the column and the rule).

    Examples
    --------
    >>> from overdue_risk.adapters import home_credit
    >>> result = home_credit.load("tests/data/home_credit", reference_date="2018-05-17")
    >>> result.portfolio.loans["loan_id"].iloc[0]
    'prev-1000001'
    >>> float(result.money()["difference"].abs().max()) < 1e-6
    True
    """
    path, ref_day, reader, subject = open_folder(folder, reference_date)
    log = Log()
    customers, target = read_customers(reader, ref_day, log)
    tables = map_loans(reader, ref_day, log, subject)
    portfolio = Portfolio(
        loans=tables.loans,
        installments=tables.installments,
        payments=tables.payments,
        statements=tables.statements,
        customers=customers_of(customers, tables.loans["customer_id"].to_numpy()),
    )
    if validate:
        portfolio = validate_portfolio(portfolio)
    logger.info("Read %s from %s", portfolio, path)
    return HomeCreditResult(
        portfolio,
        target,
        log.table(),
        tables.money,
        reader.rows_read,
        pd.Timestamp(np.datetime64(ref_day, "D")),
    )


def open_folder(folder: str | os.PathLike, reference_date) -> tuple[Path, int, Reader, str]:
    """The folder's Kaggle files, open for reading, its headers checked; the reference
    day (days since 1970) and how errors name the folder."""
    path = Path(folder)
    if not path.is_dir():
        raise _folder_problem(path)
    ref_day = day_of(reference_date, "reference_date")
    files = find_files(path)
    subject = f"the Home Credit folder {str(path)!r}"
    if not files:
        names = [f.file_name for f in FILES.values()]
        raise DataValidationError(
            [
                Problem(
                    "home_credit",
                    "",
                    "missing_table",
                    1,
                    (),
                    f"No Home Credit file in the folder; expected any of {', '.join(names)}.",
                )
            ],
            subject=subject,
        )
    reader = Reader(files)
    if reader.problems:
        raise DataValidationError(reader.problems, subject=subject)
    return path, ref_day, reader, subject


def map_loans(reader, ref_day: int, log: Log, subject: str) -> Assembled:
    """The loans of every file but the applications, as contract tables: the whole
    mapping, for a folder (:class:`Reader`) or one bucket of its loans."""
    reference = np.datetime64(ref_day, "D")
    prev = read_previous(reader, ref_day, log)
    inst = Instalments(reader, ref_day, log) if "installments_payments" in reader.files else None
    bal = Balances(reader, reference, log)
    bureau = Bureau(reader, reference, ref_day, log)
    if reader.problems:
        raise DataValidationError(reader.problems, subject=subject)
    return assemble(prev, inst, bal, bureau, log)
