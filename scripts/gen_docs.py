"""Regenerate the generated sections of the docs: python scripts/gen_docs.py"""

from __future__ import annotations

import re
from pathlib import Path

from overdue_risk.contract._docs import BEGIN, END, contract_markdown

ROOT = Path(__file__).resolve().parents[1]


def splice(path: Path, block: str) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no generated section to replace")
    path.write_text(pattern.sub(lambda _: block, text))


if __name__ == "__main__":
    splice(ROOT / "docs" / "data-contract.md", contract_markdown())
