"""The nightly run on Apache Spark, for books that outgrow one machine.

:func:`run_nightly` is :func:`overdue_risk.workflows.run_nightly` with its
chunks processed on Spark: no second implementation of the ledger, the
features or the scoring. Each chunk of whole customers, with every row of
their loans in every table, is handed by ``applyInPandas`` to the pandas
engine's own chunk function; the models' folders are broadcast and verified on
each executor; the worklist is planned once, on the driver, over the accounts
in arrears the chunks return (capacities are global).

pyspark is an optional dependency (``pip install 'overdue-risk[spark]'``),
imported only when a run starts; Spark needs Java 17 or later. See
``docs/spark.md``.
"""

from ._compat import INSTALL_HINT, SparkEngineError, java_missing, pyspark, spark_session
from ._run import DRIFT_SAMPLE, run_nightly

__all__ = [
    "DRIFT_SAMPLE",
    "INSTALL_HINT",
    "SparkEngineError",
    "java_missing",
    "pyspark",
    "run_nightly",
    "spark_session",
]
