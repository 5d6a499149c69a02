"""Regenerate the generated sections of the docs: python scripts/gen_docs.py"""

from __future__ import annotations

import re
from pathlib import Path

from overdue_risk.contract import _docs as contract_docs
from overdue_risk.features import _docs as feature_docs

ROOT = Path(__file__).resolve().parents[1]


def splice(path: Path, block: str, begin: str, end: str) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no generated section to replace")
    path.write_text(pattern.sub(lambda _: block, text))


if __name__ == "__main__":
    c, f = contract_docs, feature_docs
    splice(ROOT / "docs" / "data-contract.md", c.contract_markdown(), c.BEGIN, c.END)
    splice(ROOT / "docs" / "features.md", f.features_markdown(), f.BEGIN, f.END)
