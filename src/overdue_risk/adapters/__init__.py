"""Portfolio sources beyond a folder of files, and publication to a database.

* :func:`open_source` names where a portfolio lives: a folder of
  ``<table>.csv`` / ``<table>.parquet`` files or of Parquet datasets
  (``<table>/``, hive partitions included), or a database (``duckdb:///...``,
  ``postgresql://...``) with a :class:`TableMapping` of its tables.
* A :class:`Source` reads the portfolio whole (:meth:`Source.read`), in chunks
  of whole customers (:meth:`Source.chunks`; or :meth:`Source.plan`, a picklable
  :class:`ChunkPlan`, then :meth:`Source.read_chunks`), or a few loans by id
  (:meth:`Source.read_loans`), raw: the caller validates. It fingerprints its
  inputs for a run's manifest (:meth:`Source.fingerprint`).
* A :class:`MemorySource` reads a :class:`~overdue_risk.Portfolio` already in memory
  the same way (``open_source(portfolio)``).
* :func:`publish` writes output tables to a database in one transaction.
* :mod:`~overdue_risk.adapters.home_credit` maps the Kaggle Home Credit Default Risk
  files into the contract (``home_credit.load``, ``home_credit.convert``).

The database drivers (``duckdb``; ``adbc-driver-postgresql`` with
``adbc-driver-manager``) are optional: ``pip install overdue-risk[sql]``.
See ``docs/sources.md``.
"""

from ._chunking import ChunkPlan
from ._drivers import INSTALL_HINT, DatabaseURL, SourceError, is_url, parse_url
from ._mapping import TableMapping
from ._memory import MemorySource
from ._publish import publish
from ._source import FolderSource, Source, open_source
from ._sql import SqlSource

__all__ = [
    "INSTALL_HINT",
    "ChunkPlan",
    "DatabaseURL",
    "FolderSource",
    "MemorySource",
    "Source",
    "SourceError",
    "SqlSource",
    "TableMapping",
    "is_url",
    "open_source",
    "parse_url",
    "publish",
]
