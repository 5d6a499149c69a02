"""The installed version of overdue_risk.

A module of its own so that the command line and the model manifest can read
the version without importing the root package.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("overdue-risk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
