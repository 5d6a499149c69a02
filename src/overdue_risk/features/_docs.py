"""Render the feature catalogue as Markdown for ``docs/features.md``."""

from __future__ import annotations

from ._registry import REGISTRY, list_features

BEGIN = "<!-- BEGIN GENERATED: feature catalogue (python scripts/gen_docs.py) -->"
END = "<!-- END GENERATED -->"


def features_markdown() -> str:
    """The catalogue section: one table per family, from the registry."""
    catalogue = list_features()
    lines = [BEGIN, ""]
    counts = catalogue.groupby("family", sort=False).size()
    lines.append(f"{len(catalogue)} declared features in {len(counts)} families.")
    lines.append("")
    for family, specs in catalogue.groupby("family", sort=False):
        fam = REGISTRY.families[family]
        lines += [f"### `{family}` ({len(specs)})", "", fam.description, ""]
        lines += ["| feature | description | window | reads |", "|---|---|---|---|"]
        for row in specs.itertuples(index=False):
            name = row.name.replace("<", "&lt;").replace(">", "&gt;")
            dtype = " (category)" if row.dtype == "category" else ""
            lines.append(
                f"| `{name}`{dtype} | {row.description} | {row.window or '-'} | {row.inputs} |"
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)
