"""The generated parts of the docs match the code they describe."""

from __future__ import annotations

from helpers import ROOT
from overdue_risk import Ledger, load_portfolio
from overdue_risk.contract import TABLES
from overdue_risk.contract._docs import BEGIN, END, contract_markdown


def test_data_contract_doc_is_current():
    text = (ROOT / "docs" / "data-contract.md").read_text()
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == contract_markdown(), "run: python scripts/gen_docs.py"


def test_every_contract_column_is_documented():
    block = contract_markdown()
    for spec in TABLES.values():
        assert f"### `{spec.name}`" in block
        for col in spec.columns:
            assert f"| `{col.name}` |" in block


def test_ledger_doc_names_every_output_column(sample_dir):
    text = (ROOT / "docs" / "ledger.md").read_text()
    table = Ledger(load_portfolio(sample_dir)).at("2024-12-31").table()
    for column in [*table.index.names, *table.columns]:
        assert f"`{column}`" in text, column


def test_feature_catalogue_doc_is_current():
    from overdue_risk.features._docs import BEGIN as F_BEGIN
    from overdue_risk.features._docs import END as F_END
    from overdue_risk.features._docs import features_markdown

    text = (ROOT / "docs" / "features.md").read_text()
    start = text.index(F_BEGIN)
    committed = text[start : text.index(F_END, start) + len(F_END)]
    assert committed == features_markdown(), "run: python scripts/gen_docs.py"
