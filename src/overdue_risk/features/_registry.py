"""The feature registry: every feature is declared once, as data.

A *family* is one vectorised function that computes several related features
at once (they share intermediate arrays), together with a :class:`FeatureSpec`
for each feature it returns. The catalogue (:func:`list_features`) and
``docs/features.md`` are generated from these specs, and a contract test
checks that every family returns exactly the features it declares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .._params import Invalid, Names, Rule, check, suggest
from ..contract import Portfolio, validate
from ..exceptions import OverdueRiskError

if TYPE_CHECKING:
    from ._context import FeatureContext

__all__ = [
    "CustomFeature",
    "FeatureSpec",
    "KnownNames",
    "check_exclude",
    "excludable",
    "list_features",
]

Dtype = Literal["float32", "category"]


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature is.

    Attributes
    ----------
    name : str
        Column name in the feature matrix.
    family : str
        The family that computes it (see :func:`list_features`).
    description : str
        One sentence a risk analyst can read; also used for reason codes.
    dtype : {"float32", "category"}
        Numbers are float32 with NaN for "not observed"; text is ``category``.
    window : str
        The look-back window, e.g. ``"90d"``, ``"last 3 instalments"``; empty
        when the feature is a state at the as-of date.
    inputs : tuple of str
        Contract tables the feature reads.
    uses_as_of : bool
        Whether the value depends on the as-of date (False for static attributes).
    """

    name: str
    family: str
    description: str
    dtype: Dtype = "float32"
    window: str = ""
    inputs: tuple[str, ...] = ()
    uses_as_of: bool = True


Compute = Callable[["FeatureContext"], dict[str, Any]]


@dataclass(frozen=True)
class Family:
    """A group of features computed together by one vectorised function.

    ``dynamic`` families (static attributes) derive their feature names from
    the data; their specs describe the rule rather than fixed names.
    """

    name: str
    description: str
    compute: Compute
    specs: tuple[FeatureSpec, ...]
    dynamic: bool = False


class FeatureRegistry:
    """An explicit registry of feature families; duplicate names raise."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}
        self._names: dict[str, str] = {}

    def family(
        self, name: str, description: str, specs: Iterable[FeatureSpec], dynamic: bool = False
    ) -> Callable[[Compute], Compute]:
        """Decorator that registers ``compute`` as family ``name``."""
        specs = tuple(specs)

        def register(compute: Compute) -> Compute:
            if name in self._families:
                raise OverdueRiskError(f"Feature family {name!r} is already registered.")
            for spec in specs:
                if spec.family != name:
                    raise OverdueRiskError(
                        f"Feature {spec.name!r} declares family {spec.family!r}, not {name!r}."
                    )
                if spec.name in self._names and not dynamic:
                    raise OverdueRiskError(
                        f"Feature {spec.name!r} is already registered "
                        f"by family {self._names[spec.name]!r}."
                    )
            if not dynamic:
                self._names.update({s.name: name for s in specs})
            self._families[name] = Family(name, description, compute, specs, dynamic)
            return compute

        return register

    @property
    def families(self) -> dict[str, Family]:
        return dict(self._families)

    def select(self, families: Sequence[str] | None) -> list[Family]:
        """The named families, in registration order (all when ``None``).

        An unknown name is an error that suggests the nearest family.
        """
        if families is None:
            return list(self._families.values())
        if isinstance(families, str):
            families = [families]
        rule = Names(among=tuple(self._families))
        chosen = set(check(rule, families, key="families", error=OverdueRiskError))
        return [f for f in self._families.values() if f.name in chosen]

    def is_builtin(self, name: str) -> bool:
        return name in self._names

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every feature a family declares by name (not the static attributes)."""
        return tuple(self._names)


REGISTRY = FeatureRegistry()


@dataclass(frozen=True)
class KnownNames(Rule):
    """A list of names (texts), each among ``known``; ``what`` describes them.

    Repeats are harmless and kept once. Every unknown name is listed, each with
    the nearest known one when there is one.
    """

    known: frozenset[str]
    what: str

    def describe(self) -> str:
        return f"a list of {self.what}"

    def clean(self, value: Any) -> Any:
        names = Names(empty=True).clean(list(dict.fromkeys(value)) if _listlike(value) else value)
        unknown = [n for n in names if n not in self.known]
        if unknown:
            choices = sorted(self.known)
            shown = [f"{u!r}{_nearest(u, choices)}" for u in unknown]
            raise Invalid(f"; unknown: {', '.join(shown)}.")
        return names


def _listlike(value: Any) -> bool:
    return isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes)


def _nearest(name: str, choices: list[str]) -> str:
    hint = suggest(name, choices)  # "; did you mean x?"
    return f" (did you mean {hint.removeprefix('; did you mean ')[:-1]}?)" if hint else ""


def excludable(portfolio: Portfolio, custom: Sequence[CustomFeature] = ()) -> frozenset[str]:
    """Every name ``build_features(portfolio, ..., exclude=...)`` may leave out.

    The built-in features, the families, the custom features' columns, and the
    loans and customers columns the static family turns into features, with
    the names of those features (``restructured``; ``customer_<column>`` as
    well as ``<column>`` for a customers column).

    Examples
    --------
    >>> from overdue_risk import load_portfolio
    >>> from overdue_risk.features import excludable
    >>> names = excludable(load_portfolio("data/sample"))
    >>> {"dpd", "region", "customer_income_band", "repayment"} <= names
    True
    >>> "loan_id" in names or "start_date" in names  # ids and dates are no features
    False
    """
    from . import _families  # noqa: F401  (registers the built-in families)
    from ._static import attribute_columns

    portfolio = validate(portfolio)  # as it is when already validated
    columns = (c for f in custom for c in f.columns)
    attributes = attribute_columns(portfolio)
    return frozenset((*REGISTRY.feature_names, *REGISTRY.families, *attributes, *columns))


def check_exclude(exclude: Sequence[str] | str, known: Iterable[str]) -> frozenset[str]:
    """The names ``exclude`` holds, each one of ``known`` (see ``excludable``).

    A name that is none of them is an error, with the nearest valid one
    suggested: a misspelt exclusion would otherwise leave in what was meant
    to be out.
    """
    if isinstance(exclude, str):
        exclude = [exclude]
    what = "feature names, feature families, or loans and customers columns the static family uses"
    rule = KnownNames(frozenset(known), what)
    return frozenset(check(rule, exclude, key="exclude", error=OverdueRiskError))


@dataclass(frozen=True)
class CustomFeature:
    """A feature of your own, computed next to the built-in ones.

    ``func(portfolio, as_of)`` is called once per as-of date with the
    portfolio cut at that date: only loans started by ``as_of`` and only
    records dated on or before it (a later ``closed_date`` reads as missing),
    so it cannot see the future. It returns a Series indexed by ``loan_id``,
    or a DataFrame whose columns are features named in ``names``.

    Parameters
    ----------
    name : str
        The feature's column name (or a label for the group when ``names`` is set).
    func : callable
        ``func(portfolio, as_of) -> Series | DataFrame``.
    description : str
    dtype : {"float32", "category"}
    names : tuple of str, optional
        Column names when ``func`` returns a DataFrame.

    Examples
    --------
    >>> def n_payments(portfolio, as_of):
    ...     return portfolio.payments.groupby("loan_id").size()
    >>> feature = CustomFeature("n_payments", n_payments, "Payments received so far.")
    """

    name: str
    func: Callable[..., pd.Series | pd.DataFrame]
    description: str = ""
    dtype: Dtype = "float32"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise OverdueRiskError(
                f"CustomFeature name must be a non-empty string; got {self.name!r}."
            )
        if not callable(self.func):
            raise OverdueRiskError(f"CustomFeature {self.name!r}: func must be callable.")
        if self.dtype not in ("float32", "category"):
            raise OverdueRiskError(
                f"CustomFeature {self.name!r}: dtype must be 'float32' or 'category'; "
                f"got {self.dtype!r}."
            )
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def columns(self) -> tuple[str, ...]:
        return self.names or (self.name,)

    def specs(self) -> list[FeatureSpec]:
        return [
            FeatureSpec(c, "custom", self.description, self.dtype, inputs=("any",))
            for c in self.columns
        ]


def list_features(
    families: Sequence[str] | None = None, custom: Sequence[CustomFeature] = ()
) -> pd.DataFrame:
    """The feature catalogue: one row per declared feature.

    Parameters
    ----------
    families : list of str, optional
        Only these families (default: all).
    custom : list of CustomFeature, optional
        Your own features, listed under family ``custom``.

    Returns
    -------
    DataFrame
        Columns ``name, family, description, dtype, window, inputs, uses_as_of``.
        Static attributes are listed as one rule per table (``<column>``).

    Examples
    --------
    >>> from overdue_risk.features import list_features
    >>> catalogue = list_features(["ledger"])
    >>> "dpd" in set(catalogue["name"])
    True
    """
    from . import _families  # noqa: F401  (registers the built-in families)

    rows = []
    for fam in REGISTRY.select(families):
        rows.extend(fam.specs)
    for feature in custom:
        rows.extend(feature.specs())
    return pd.DataFrame(
        {
            "name": [s.name for s in rows],
            "family": [s.family for s in rows],
            "description": [s.description for s in rows],
            "dtype": [s.dtype for s in rows],
            "window": [s.window for s in rows],
            "inputs": [", ".join(s.inputs) for s in rows],
            "uses_as_of": [s.uses_as_of for s in rows],
        }
    )
