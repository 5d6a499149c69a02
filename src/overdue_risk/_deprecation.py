"""Names that moved: the old import path keeps working for one release, with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

__all__ = ["moved"]


def moved(module: str, new_homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` that serves names from their new modules.

    Parameters
    ----------
    module : str
        The old module's ``__name__``.
    new_homes : mapping of str to str
        Each moved name and the public module it now lives in.

    Returns
    -------
    callable
        Assign it to ``__getattr__`` in the old module. Reading a moved name
        emits a :class:`DeprecationWarning` and returns the very object of the
        new module; any other name raises :class:`AttributeError`.

    Notes
    -----
    The new module is imported by name when the old name is read: a shim
    points up the layers (the old home is usually below the new one), and a
    static import there would tie the layers together for good.

    Examples
    --------
    >>> import warnings
    >>> getattr_ = moved("old.place", {"sqrt": "math"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getattr_("sqrt")(9.0)
    3.0
    >>> str(caught[0].message)
    'old.place.sqrt has moved to math.sqrt; the old name will be removed in the next release.'
    """

    def __getattr__(name: str) -> object:
        home = new_homes.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} has moved to {home}.{name}; the old name will be removed in "
            "the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__
