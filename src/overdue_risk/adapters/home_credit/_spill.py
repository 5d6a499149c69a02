"""The loan files spilled to disk in buckets of whole loans: pass 1 of :func:`convert`.

Every row of one loan lands in one bucket, whatever file it comes from: the rows
of ``previous_application``, ``installments_payments``, ``POS_CASH_balance`` and
``credit_card_balance`` by ``SK_ID_PREV``, those of ``bureau`` and
``bureau_balance`` by ``SK_ID_BUREAU``; a row with a blank key goes to bucket 0,
where the mapping drops it as it would in the whole folder. Each file is read
once, in blocks, and each block's rows are appended to its buckets' Arrow IPC
streams, the columns the mapping reads and nothing else. A bucket is then read
back by a :class:`BucketReader`, which the mapping reads as it reads a folder.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from ._balances import COLUMNS as BALANCE_COLUMNS
from ._bureau import COLUMNS as BUREAU_COLUMNS
from ._files import FILES, Reader, as_arrays
from ._previous import COLUMNS as PREVIOUS_COLUMNS

__all__ = ["LOAN_FILES", "BucketReader", "Spill", "bucket_count", "bucket_of"]

#: The files spilled, in the order the mapping reads them: (loan key, columns read).
LOAN_FILES: dict[str, tuple[str, Sequence[str]]] = {
    "previous_application": ("SK_ID_PREV", PREVIOUS_COLUMNS),
    "installments_payments": ("SK_ID_PREV", FILES["installments_payments"].columns),
    "credit_card_balance": ("SK_ID_PREV", BALANCE_COLUMNS["credit_card_balance"]),
    "POS_CASH_balance": ("SK_ID_PREV", BALANCE_COLUMNS["POS_CASH_balance"]),
    "bureau": ("SK_ID_BUREAU", BUREAU_COLUMNS),
    "bureau_balance": ("SK_ID_BUREAU", FILES["bureau_balance"].columns),
}
_SAMPLE_BYTES = 1 << 20  # the head of a file that estimates its rows


def bucket_of(ids: np.ndarray, k: int) -> np.ndarray:
    """The bucket (0 to ``k - 1``) of each id (float64; blank: 0).

    The id's bits are mixed (SplitMix64's finaliser) before the remainder is
    taken, so that ids in any arithmetic pattern spread evenly.

    Examples
    --------
    >>> import numpy as np
    >>> buckets = bucket_of(np.array([1000001.0, 1000001.0, np.nan]), 4)
    >>> bool(buckets[0] == buckets[1]), int(buckets[2])
    (True, 0)
    """
    known = np.isfinite(ids)
    # + 0.0 makes -0.0 into 0.0: equal ids, equal bits.
    x = (np.where(known, ids, 0.0) + 0.0).astype(np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return np.where(known, (x % np.uint64(k)).astype(np.int64), 0)


def _estimated_rows(path: Path) -> int:
    """The data rows of a CSV file, estimated from the bytes per row of its head."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    header = head.find(b"\n") + 1
    lines = head.count(b"\n") - 1  # the data lines of the head
    if len(head) >= size:  # the whole file
        return max(lines + (not head.endswith(b"\n") and len(head) > header), 0)
    if lines < 1:
        return 1
    return math.ceil((size - header) / ((len(head) - header) / lines))


def bucket_count(files: dict[str, Path], rows_per_bucket: int) -> int:
    """How many buckets hold the loan files' rows, about ``rows_per_bucket`` each."""
    rows = sum(_estimated_rows(files[name]) for name in LOAN_FILES if name in files)
    return max(1, math.ceil(rows / rows_per_bucket))


class Spill:
    """The loan files of a folder in ``k`` buckets under ``folder`` (which must not
    exist): :meth:`write` fills them, :meth:`reader` reads one back; the folder is
    removed on leaving the ``with`` block, whatever happened in it."""

    def __init__(self, folder: Path, k: int):
        self.folder = folder
        self.k = k
        self.columns: dict[str, list[str]] = {}  # the columns spilled, by file
        self._kept = False
        folder.mkdir()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def path(self, name: str, bucket: int) -> Path:
        return self.folder / f"{name}-{bucket:05d}.arrows"

    def write(self, reader: Reader) -> None:
        """Read every loan file of ``reader`` once, each row into its loan's bucket; the
        problems found on the way are the reader's, as when the folder is read whole."""
        for name, (key, columns) in LOAN_FILES.items():
            if name in reader.files:
                self._write_file(reader, name, key, columns)

    def _write_file(self, reader: Reader, name: str, key: str, columns: Sequence[str]) -> None:
        writers: list[ipc.RecordBatchStreamWriter] = []
        sinks: list[pa.NativeFile] = []
        try:
            for batch in reader.record_batches(name, columns):
                if not writers:
                    self.columns[name] = batch.schema.names
                    for bucket in range(self.k):
                        sinks.append(pa.OSFile(str(self.path(name, bucket)), "wb"))
                        writers.append(ipc.new_stream(sinks[-1], batch.schema))
                if self.k == 1:
                    writers[0].write_batch(batch)
                    continue
                ids = as_arrays(batch.select([key]))[key]
                bucket = bucket_of(ids, self.k)
                # Rows in bucket order, each bucket's rows in the file's order.
                order = np.argsort(bucket.astype(np.int32), kind="stable")
                counts = np.bincount(bucket, minlength=self.k)
                rows = batch.take(pa.array(order))
                starts = np.cumsum(counts) - counts
                for b in np.flatnonzero(counts):
                    writers[b].write_batch(rows.slice(int(starts[b]), int(counts[b])))
        finally:
            for writer in writers:
                writer.close()
            for sink in sinks:
                sink.close()

    def keep(self, frame: pd.DataFrame | None) -> None:
        """Put a table aside on disk (an Arrow IPC file) until :meth:`kept` reads it back."""
        self._kept = frame is not None
        if frame is not None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            with pa.OSFile(str(self.folder / "kept.arrow"), "wb") as sink:
                with ipc.new_file(sink, table.schema) as writer:
                    writer.write_table(table)

    def kept(self) -> pd.DataFrame | None:
        """The table :meth:`keep` put aside, as it was (dtypes included)."""
        if not self._kept:
            return None
        with pa.OSFile(str(self.folder / "kept.arrow"), "rb") as source:
            table = ipc.open_file(source).read_all()
        return table.to_pandas()

    def reader(self, bucket: int, reader: Reader) -> BucketReader:
        """Bucket ``bucket`` read as ``reader`` reads the whole folder."""
        return BucketReader(self, bucket, reader)

    def drop(self, bucket: int) -> None:
        """Remove a bucket converted: the disk it takes is free again."""
        for name in self.columns:
            self.path(name, bucket).unlink(missing_ok=True)


class BucketReader:
    """One bucket's rows, offered as :class:`Reader` offers a folder's: the same
    ``files`` (a file without rows in the bucket reads as a file without rows) and
    :meth:`batches`, one block per file."""

    def __init__(self, spill: Spill, bucket: int, reader: Reader):
        self.spill = spill
        self.bucket = bucket
        self.files = reader.files
        self.headers = reader.headers
        self.problems: list = []  # found in pass 1, by the folder's reader

    def batches(
        self, name: str, columns: Sequence[str], *, extra_text: bool = False
    ) -> Iterator[dict]:
        """The bucket's rows of ``name``: the ``columns`` the file has, as arrays."""
        if extra_text or name not in LOAN_FILES:  # pragma: no cover - a coding error
            raise AssertionError(f"{name} is not spilled: read it from the folder")
        path = self.spill.path(name, self.bucket)
        if not path.exists():
            return
        wanted = [c for c in columns if c in self.headers[name]]
        missing = [c for c in wanted if c not in self.spill.columns[name]]
        if missing:  # pragma: no cover - a coding error: LOAN_FILES lists what is read
            raise AssertionError(f"{name}: columns {missing} were not spilled")
        with pa.OSFile(str(path), "rb") as source:
            table = ipc.open_stream(source).read_all()
        if not table.num_rows or not wanted:
            return
        table = table.select(wanted).unify_dictionaries().combine_chunks()
        yield as_arrays(table.to_batches()[0])
