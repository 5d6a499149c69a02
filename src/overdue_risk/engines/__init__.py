"""Engines: the nightly run processed elsewhere than in this process.

:func:`overdue_risk.workflows.run_nightly` processes a book's chunks here, or in
worker processes of this machine (``jobs``). An engine processes the same chunks
on a cluster, with the same code: the ledger, the features and the scoring are
those of :func:`overdue_risk.workflows.run_chunk`, and the run starts and ends with
the same stages (:func:`~overdue_risk.workflows.check_nightly`,
:func:`~overdue_risk.workflows.finish_nightly`).

- :mod:`overdue_risk.engines.spark`: Apache Spark (``pip install
  'overdue-risk[spark]'``), ``overdue-risk nightly --engine spark``.

An engine's optional dependency is imported only when the engine runs.
"""

__all__: list[str] = []
