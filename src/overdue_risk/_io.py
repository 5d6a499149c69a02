"""Reading and writing tables and folders.

Outputs are checked before any work (:func:`check_output_path`,
:func:`check_output_folder`, :func:`check_report_path`) and written atomically:
a reader sees the old file or the whole new one, never half.
"""

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
    "check_output_folder",
    "check_output_path",
    "check_report_path",
    "read_table",
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


def check_output_folder(path: str | Path, overwrite: bool = False) -> Path:
    """Fail before any work when the output folder cannot be used.

    The folder may be missing (its parent must exist) or empty; a non-empty
    one is replaced only with ``overwrite``.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OverdueRiskError(f"Output path {str(out)!r} is a file, not a folder.")
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Parent folder of {str(out)!r} does not exist.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OverdueRiskError(
            f"Output folder {str(out)!r} is not empty; use --overwrite to replace it."
        )
    return out


def check_report_path(path: str | Path) -> Path:
    """Fail before any work when an HTML report cannot be written there."""
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise OverdueRiskError(f"Report file {out.name!r} must end in .html.")
    if not out.parent.is_dir():
        raise OverdueRiskError(f"Output folder {str(out.parent)!r} does not exist.")
    return out


def read_table(path: str | Path, what: str = "Table") -> pd.DataFrame:
    """Read a Parquet or CSV table; CSV ``loan_id`` stays text.

    ``what`` names the file in the error messages (``"Scores file"``).
    """
    src = Path(path)
    if not src.is_file():
        raise OverdueRiskError(f"{what} {str(src)!r} does not exist.")
    if src.suffix.lower() == ".parquet":
        return pd.read_parquet(src)
    if src.suffix.lower() == ".csv":
        return pd.read_csv(src, dtype={"loan_id": str})
    raise OverdueRiskError(f"{what} {src.name!r} must be a .parquet or .csv file.")


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
