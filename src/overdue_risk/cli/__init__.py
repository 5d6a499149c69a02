"""The ``overdue-risk`` command."""

from ._main import main

__all__ = ["main"]
