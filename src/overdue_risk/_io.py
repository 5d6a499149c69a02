"""Atomic output files: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from .exceptions import OverdueRiskError

__all__ = [
    "OUTPUT_FORMATS",
    "check_output_path",
    "replace_folder",
    "write_files",
    "write_folder",
    "write_table",
]

OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs are not
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_folder(tables: Mapping[str, pd.DataFrame], folder: str | Path) -> Path:
    """Write ``{relative path: frame}`` into ``folder`` as a whole, atomically."""

    def fill(tmp: Path) -> None:
        for rel, df in tables.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            write_table(df, tmp / rel)

    return replace_folder(folder, fill)


def write_files(files: Mapping[str, bytes], folder: str | Path) -> Path:
    """Write ``{file name: content}`` into ``folder`` as a whole, atomically."""

    def fill(tmp: Path) -> None:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
            os.chmod(tmp / name, 0o666 & ~_umask())

    return replace_folder(folder, fill)


def replace_folder(folder: str | Path, fill: Callable[[Path], None]) -> Path:
    """Fill a temporary sibling folder, then put it in the place of ``folder``.

    A reader sees the old folder or the complete new one, never a mix; when
    ``fill`` fails the old folder stays as it was.
    """
    out = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    old = None
    try:
        fill(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        if old is not None and not out.exists():
            os.replace(old, out)  # put the previous folder back
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out
