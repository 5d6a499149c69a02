"""pyspark and Java, looked for in one place; the Spark session a run uses.

pyspark is an optional dependency (``pip install 'overdue-risk[spark]'``) and
Spark runs on a Java virtual machine: both are looked for only when the engine
runs, and their absence is an error that says what to install.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from contextlib import contextmanager
from types import ModuleType

from ...exceptions import OverdueRiskError

__all__ = [
    "INSTALL_HINT",
    "PANDAS_WARNING",
    "PYSPARK_WARNINGS",
    "SparkEngineError",
    "java_missing",
    "pyspark",
    "quiet",
    "spark_session",
    "temporary_conf",
]

INSTALL_HINT = "pip install 'overdue-risk[spark]'"
# pyspark's own warning on pandas releases newer than those it was tested with
# ("PySpark does not yet fully support pandas >= 3.0.0 ..."): the releases tested
# together are listed in docs/spark.md.
PANDAS_WARNING = r"PySpark does not yet fully support pandas"
# What pyspark's own code makes its dependencies say (pandas deprecating what pyspark
# calls; pyspark 3.5 comparing versions with distutils): nothing a user can act on.
PYSPARK_WARNINGS = (
    PANDAS_WARNING,
    r"The copy keyword is deprecated",
    r"distutils Version classes are deprecated",
    r"is_\w+_dtype is deprecated",
)


class SparkEngineError(OverdueRiskError):
    """The Spark engine cannot run: pyspark or Java missing, or an input it does not take."""


def pyspark() -> ModuleType:
    """pyspark, with an install hint when it is missing.

    Examples
    --------
    >>> from overdue_risk.engines.spark import pyspark
    >>> pyspark().__name__  # doctest: +SKIP
    'pyspark'
    """
    try:
        import pyspark as module
    except ImportError as exc:
        raise SparkEngineError(
            f"The Spark engine needs pyspark, an optional dependency: {INSTALL_HINT}"
        ) from exc
    return module


def java_missing() -> str | None:
    """Why Spark cannot start a Java virtual machine here, or None when it can.

    Spark runs ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else ``java``
    from the ``PATH``.

    Examples
    --------
    >>> from overdue_risk.engines.spark import java_missing
    >>> java_missing() is None or "Java" in java_missing()
    True
    """
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        if os.path.isfile(java) and os.access(java, os.X_OK):
            return None
        return f"JAVA_HOME is {home!r}, which holds no bin/java: Spark needs Java 17 or later."
    if shutil.which("java") is None:
        return "no Java found (no java on the PATH, JAVA_HOME not set): Spark needs Java 17+."
    return None


def spark_session(master: str | None = None, **conf: str):
    """A Spark session: the active one, or a new one on ``master``.

    With ``master`` None, the session ``spark-submit`` started (or any active
    one) is used, else a new one with Spark's default master. A local master
    (``local``, ``local[4]``, ...) runs its Python workers with this interpreter
    (``PYSPARK_PYTHON``, unless set), so that they import the same packages.

    Parameters
    ----------
    master : str, optional
        ``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``.
    **conf
        Spark settings for a new session (dots as in Spark's names:
        ``spark_session("local[2]", **{"spark.ui.enabled": "false"})``).

    Returns
    -------
    SparkSession

    Raises
    ------
    SparkEngineError
        pyspark is not installed, or Java is not found.

    Examples
    --------
    >>> from overdue_risk.engines.spark import spark_session
    >>> spark = spark_session("local[1]", **{"spark.ui.enabled": "false"})  # doctest: +SKIP
    """
    pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None and not conf:
        return active
    why = java_missing()
    if why is not None:
        raise SparkEngineError(f"The Spark engine cannot start: {why}")
    builder = SparkSession.builder
    if master is not None:
        if not isinstance(master, str) or not master.strip():
            raise SparkEngineError(
                f"master must be a Spark master URL (local[2], spark://host:7077, yarn); "
                f"got {master!r}."
            )
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    elif active is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = builder.appName("overdue-risk nightly")
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextmanager
def temporary_conf(spark, settings: dict[str, str]):
    """Spark SQL settings for the duration of a block, the session's own put back after."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


@contextmanager
def quiet():
    """pyspark's conversions to and from pandas, without the warnings pandas 3 gives about
    how pyspark calls it (see :data:`PANDAS_WARNING`)."""
    with warnings.catch_warnings():
        for message in PYSPARK_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield
