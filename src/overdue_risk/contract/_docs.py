"""Render the contract tables as Markdown for ``docs/data-contract.md``.

The doc's table section is generated from :data:`TABLES`, so the contract is
written down once; a test fails when the committed doc falls behind.
"""

from __future__ import annotations

from ._schema import TABLES, ColumnSpec, amount_text

BEGIN = "<!-- BEGIN GENERATED: contract tables (python scripts/gen_docs.py) -->"
END = "<!-- END GENERATED -->"

_KIND = {
    "id": "id (kept as given)",
    "date": "date",
    "amount": "amount",
    "int": "integer",
    "float": "number",
    "category": "category",
    "bool": "boolean",
}


def _rule(col: ColumnSpec) -> str:
    parts = []
    if col.minimum is not None:
        parts.append(f"{'>' if col.strict else '>='} {col.minimum:g}")
    if col.maximum is not None:
        parts.append(f"<= {col.maximum:g}")
    if col.kind == "amount":  # MAX_AMOUNT, in absolute value
        limit = amount_text()
        parts.append(f"at most {limit}" if col.minimum is not None else f"-{limit} to {limit}")
    if col.allowed is not None:
        parts.append("one of " + ", ".join(f"`{a}`" for a in col.allowed))
    parts.append("may be blank" if col.nullable else "not blank")
    return "; ".join(parts)


def contract_markdown() -> str:
    """The generated section: one Markdown table per contract table."""
    out = [BEGIN, ""]
    for spec in TABLES.values():
        key = ", ".join(f"`{k}`" for k in spec.key)
        out.append(f"### `{spec.name}`")
        out.append("")
        out.append(spec.description)
        out.append("")
        out.append(
            f"Key: ({key}){', unique' if spec.unique_key else ''}."
            + (
                " Any further column is kept: numbers as they are, text as `category`."
                if spec.extra_columns
                else ""
            )
        )
        out.append("")
        out.append("| column | required | type | rule | meaning |")
        out.append("|---|---|---|---|---|")
        for col in spec.columns:
            out.append(
                f"| `{col.name}` | {'yes' if col.required else 'no'} | "
                f"{_KIND[col.kind]} | {_rule(col)} | {col.description} |"
            )
        out.append("")
    out.append(END)
    return "\n".join(out)
