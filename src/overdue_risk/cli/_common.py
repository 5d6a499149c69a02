"""What every command shares: exit codes, argument lists and table printing."""

from __future__ import annotations

import pandas as pd

from .._dates import parse_as_of

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def names(text: str | None) -> list[str]:
    """The items of a comma-separated argument, blanks dropped."""
    return [] if text is None else [t.strip() for t in text.split(",") if t.strip()]


def dates(text: str) -> list[str]:
    """Comma-separated ISO dates, checked before any work."""
    items = names(text)
    parse_as_of(items)  # raises one readable error for a bad date
    return items


def print_frame(df: pd.DataFrame, stream) -> None:
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.max_colwidth", 80
    ):
        print(df.to_string(index=False), file=stream)
