"""Atomic output files: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .exceptions import OverdueRiskError

__all__ = ["OUTPUT_FORMATS", "check_output_path", "write_table"]

OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}


def check_output_path(path: str | Path) -> Path:
    """Fail before any work when the output cannot be written."""
    out = Path(path)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise OverdueRiskError(
            f"Output file {out.name!r} must end in .parquet or .csv; the extension "
            "chooses the format."
        )
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Output folder {str(out.parent)!r} does not exist.")
    if out.is_dir():
        raise OverdueRiskError(f"Output path {str(out)!r} is a folder, not a file.")
    return out


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` (index as columns) to Parquet or CSV, atomically."""
    out = check_output_path(path)
    flat = df.reset_index() if any(n is not None for n in df.index.names) else df
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        if OUTPUT_FORMATS[out.suffix.lower()] == "parquet":
            flat.to_parquet(tmp, index=False)
        else:
            flat.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
