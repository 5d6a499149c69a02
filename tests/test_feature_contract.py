"""One contract test for every registered feature.

Each feature declared in the registry is checked on its own, against feature
matrices built once on the simulated sample (three as-of dates):

* its declaration is complete: a snake_case name, a sentence a risk analyst can
  read (it becomes a reason code), a known dtype and known input tables;
* it is built, with the declared dtype, and is never infinite;
* it is point in time: dropping every record dated after the as-of date, and
  every loan started after it, changes none of its values;
* it does not depend on the order of the portfolio's rows;
* a feature that does not use the as-of date is constant over as-of dates;
* it is observed for at least one loan of the sample.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import SAMPLE
from overdue_risk import DataQualityWarning, build_features, list_features, load_portfolio
from overdue_risk.contract import TABLES
from overdue_risk.features._custom import cut_portfolio

DATES = ["2024-03-31", "2024-06-30", "2024-09-30"]
CUT = DATES[1]

CATALOGUE = list_features()
FIXED = CATALOGUE[~CATALOGUE["name"].str.contains("<")]  # static rules name no single column
FEATURES = FIXED["name"].tolist()
SPEC = FIXED.set_index("name")


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(SAMPLE)


@pytest.fixture(scope="module")
def matrix(portfolio) -> pd.DataFrame:
    return build_features(portfolio, DATES)


@pytest.fixture(scope="module")
def cut_matrices(portfolio, matrix) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matrix at CUT from the whole portfolio, and from the portfolio cut at CUT."""
    at = pd.Timestamp(CUT)
    whole = matrix.xs(at, level="as_of", drop_level=False)
    with warnings.catch_warnings():
        # Cards whose first statement comes after CUT have no record yet: that is the point.
        warnings.simplefilter("ignore", DataQualityWarning)
        cut = build_features(cut_portfolio(portfolio, at), CUT)
    return whole, cut


@pytest.fixture(scope="module")
def shuffled_matrix(portfolio) -> pd.DataFrame:
    """The matrix of the portfolio with every table's rows in a random order."""
    rng = np.random.default_rng(7)
    tables = {
        name: df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        for name, df in portfolio.tables().items()
    }
    return build_features(type(portfolio)(**tables), DATES)


def test_every_family_has_features():
    assert set(CATALOGUE["family"]) >= {"ledger", "repayment", "collections", "revolving"}
    assert len(FEATURES) == len(set(FEATURES))


@pytest.mark.parametrize("name", FEATURES)
def test_declaration_is_complete(name):
    spec = SPEC.loc[name]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name), "a snake_case column name"
    text = spec["description"]
    assert (text[:1].isupper() or text[:1].isdigit()) and text.endswith("."), (
        f"not a sentence: {text!r}"
    )
    assert len(text.split()) >= 3
    assert spec["dtype"] in ("float32", "category")
    inputs = [t.strip() for t in spec["inputs"].split(",") if t.strip()]
    assert inputs, "a feature reads at least one table"
    assert set(inputs) <= set(TABLES), f"unknown input tables {set(inputs) - set(TABLES)}"


@pytest.mark.parametrize("name", FEATURES)
def test_built_with_its_dtype_and_finite(name, matrix):
    assert name in matrix.columns
    column = matrix[name]
    if SPEC.loc[name, "dtype"] == "category":
        assert isinstance(column.dtype, pd.CategoricalDtype)
    else:
        assert column.dtype == np.float32
        assert not np.isinf(column.to_numpy()).any()


@pytest.mark.parametrize("name", FEATURES)
def test_observed_somewhere_on_the_sample(name, matrix):
    assert matrix[name].notna().any(), f"{name} is missing for every loan and date"


@pytest.mark.parametrize("name", FEATURES)
def test_records_after_as_of_change_nothing(name, cut_matrices):
    whole, cut = cut_matrices
    pd.testing.assert_series_equal(
        cut[name], whole[name].loc[cut.index], check_categorical=False, obj=name
    )


@pytest.mark.parametrize("name", FEATURES)
def test_row_order_changes_nothing(name, matrix, shuffled_matrix):
    pd.testing.assert_series_equal(
        shuffled_matrix[name].loc[matrix.index], matrix[name], check_categorical=False, obj=name
    )


def test_static_attributes_do_not_move_with_the_date(matrix):
    """The static family's columns (named after the data) and any feature declared
    not to use the as-of date keep one value per loan over the as-of dates."""
    fixed = [n for n in FEATURES if not SPEC.loc[n, "uses_as_of"]]
    static = [c for c in matrix.columns if c not in SPEC.index] + fixed
    assert "region" in static and "customer_income_band" in static
    per_loan = matrix[static].astype(object).groupby(level="loan_id").nunique(dropna=False)
    assert (per_loan <= 1).all().all(), per_loan.max()[per_loan.max() > 1]
