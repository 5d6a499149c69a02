"""The simulator's scenario: every behaviour driver as a frozen, validated parameter.

A :class:`Scenario` is a tree of frozen dataclasses, one section per concern
(``_sections.py``: products, customers, economy, behaviour, collections policy,
action effects), read and written by the configuration kernel
(:mod:`overdue_risk._config`). Each field declares its rule once;
:meth:`Scenario.__post_init__` checks every value against its rule and the
values against each other, so the messages name the full key
(``scenario.economy.downturn_start``) whatever way the scenario was built, and
every one is a :class:`~overdue_risk.ScenarioError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from .._config import SECTION, ConfigRoot, summary, to_dict, to_toml
from .._params import suggest
from ..exceptions import ScenarioError
from ._sections import (
    CAUSES,
    RESPONSE_TYPES,
    ActionEffects,
    Behaviour,
    Causes,
    Collections,
    Customers,
    Economy,
    Products,
)

__all__ = ["CAUSES", "RESPONSE_TYPES", "Scenario"]


# -- the scenario ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Every behaviour driver of the simulated lender, with sensible defaults.

    Sections: ``products`` (mix and terms of POS, cash and card), ``customers``
    (traits and repeat borrowing), ``economy`` (regional unemployment,
    downturns, income shocks), ``behaviour`` (habits, misses, cures, response
    types), ``collections`` (the logged policy), ``actions`` (costs and
    effects) and ``causes`` (causes of delinquency with cause-specific
    responses; off by default, on in the ``cause_driven`` preset). Values are
    validated on construction; an invalid one raises
    :class:`~overdue_risk.ScenarioError` naming its full key. Shipped presets
    (:meth:`presets`) are scenario files read by :meth:`preset`.

    Examples
    --------
    >>> from overdue_risk.simulate import Scenario
    >>> s = Scenario()
    >>> s.collections.call_from
    5
    >>> worse = s.replace(economy={"downturn_start": "2024-03-01",
    ...                            "downturn_end": "2024-12-31"})
    >>> worse.economy.downturn_start
    datetime.date(2024, 3, 1)
    >>> worse.summary().query("source == 'user'")["key"].tolist()
    ['economy.downturn_start', 'economy.downturn_end']
    >>> Scenario.preset("cause_driven").causes.enabled
    True
    """

    products: Products = field(default_factory=Products, metadata=SECTION)
    customers: Customers = field(default_factory=Customers, metadata=SECTION)
    economy: Economy = field(default_factory=Economy, metadata=SECTION)
    behaviour: Behaviour = field(default_factory=Behaviour, metadata=SECTION)
    collections: Collections = field(default_factory=Collections, metadata=SECTION)
    actions: ActionEffects = field(default_factory=ActionEffects, metadata=SECTION)
    causes: Causes = field(default_factory=Causes, metadata=SECTION)

    def __post_init__(self) -> None:
        _ROOT.validate(self)  # checks and normalises every value
        _check_consistency(self)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """A scenario from nested dicts, as in a TOML file; missing keys keep their defaults.

        Unknown keys raise :class:`~overdue_risk.ScenarioError` with the nearest
        valid key suggested.
        """
        return _ROOT.build(cls, data)

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read a scenario from a TOML file (one table per section).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from overdue_risk.simulate import Scenario
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = f.write_text("[economy]\\ndownturn_strt = 2024-03-01\\n")
        >>> Scenario.from_toml(f)
        Traceback (most recent call last):
        ...
        overdue_risk.exceptions.ScenarioError: Unknown key scenario.economy.downturn_strt; \
did you mean downturn_start?
        """
        return cls.from_dict(_ROOT.read_toml(path))

    @classmethod
    def preset(cls, name: str) -> Scenario:
        """A shipped scenario: one of :meth:`presets`.

        ``cause_driven`` is a world where delinquency has causes (forgetful,
        confused, hardship, strategic) that call for different actions; see
        the ``causes`` section. A preset is a scenario file in the package,
        read like any other.

        Examples
        --------
        >>> from overdue_risk.simulate import Scenario
        >>> Scenario.presets()
        ('cause_driven',)
        >>> Scenario.preset("cause_drivn")
        Traceback (most recent call last):
        ...
        overdue_risk.exceptions.ScenarioError: Unknown scenario preset 'cause_drivn'; \
did you mean cause_driven? Available presets: cause_driven.
        """
        available = cls.presets()
        if not isinstance(name, str) or name not in available:
            hint = suggest(name, available) or "."
            raise ScenarioError(
                f"Unknown scenario preset {name!r}{hint} Available presets: {', '.join(available)}."
            )
        text = _preset_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
        return cls.from_dict(_ROOT.parse_toml(text, f"Scenario preset {name!r}"))

    @classmethod
    def load(cls, scenario: Scenario | str | os.PathLike | None) -> Scenario:
        """A scenario from itself, None (the default), a preset's name or a TOML file.

        A name in :meth:`presets` is a preset; any other text or path is a TOML
        file read by :meth:`from_toml`.

        Examples
        --------
        >>> from overdue_risk.simulate import Scenario
        >>> Scenario.load("cause_driven").causes.enabled
        True
        >>> Scenario.load(None) == Scenario()
        True
        """
        if scenario is None:
            return cls()
        if isinstance(scenario, Scenario):
            return scenario
        if isinstance(scenario, str) and scenario in cls.presets():
            return cls.preset(scenario)
        if isinstance(scenario, str | os.PathLike):
            return cls.from_toml(scenario)
        raise ScenarioError(
            "scenario must be a Scenario, a preset's name or a TOML file; "
            f"got {type(scenario).__name__}."
        )

    @staticmethod
    def presets() -> tuple[str, ...]:
        """The names of the shipped scenario presets."""
        names = (p.name for p in _preset_dir().iterdir() if p.name.endswith(".toml"))
        return tuple(sorted(n.removesuffix(".toml") for n in names))

    def replace(self, **sections: dict[str, Any] | Any) -> Scenario:
        """A copy with some values changed: ``s.replace(economy={"shock_rate": 0.2})``.

        Each keyword names a section and gives either a dict of its keys (nested
        dicts for subsections) or a whole section object.
        """
        return _ROOT.merge(self, sections)

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts of every value (dates as ``datetime.date``; absent dates omitted)."""
        return to_dict(self)

    def to_toml(self) -> str:
        """The scenario as TOML text that :meth:`from_toml` reads back to an equal scenario."""
        return to_toml(self)

    def summary(self) -> pd.DataFrame:
        """One row per parameter: ``key``, ``value``, ``default`` and ``source``.

        ``source`` is ``"user"`` where the value differs from the default and
        ``"default"`` elsewhere.
        """
        return summary(self, Scenario())


_ROOT = ConfigRoot("scenario", ScenarioError)


def _preset_dir():
    return resources.files(__package__).joinpath("presets")


# -- consistency across keys ---------------------------------------------------------------


def _check_consistency(s: Scenario) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ScenarioError(message)

    p = s.products
    total = p.pos_share + p.cash_share + p.card_share
    need(abs(total - 1) < 1e-9, f"scenario.products shares must sum to 1; got {total:g}.")
    for name in ("pos", "cash"):
        q = getattr(p, name)
        key = f"scenario.products.{name}"
        need(
            q.principal_min <= q.principal_max,
            f"{key}.principal_min must be <= principal_max; got {q.principal_min:g} > "
            f"{q.principal_max:g}.",
        )
        need(
            q.term_min <= q.term_max,
            f"{key}.term_min must be <= term_max; got {q.term_min} > {q.term_max}.",
        )
        need(
            q.rate_min <= q.rate_max,
            f"{key}.rate_min must be <= rate_max; got {q.rate_min:g} > {q.rate_max:g}.",
        )
    c = p.card
    need(
        c.limit_min <= c.limit_max,
        f"scenario.products.card.limit_min must be <= limit_max; got {c.limit_min:g} > "
        f"{c.limit_max:g}.",
    )
    e = s.economy
    n = len(e.regions)
    for name in ("region_shares", "base_unemployment", "sensitivity"):
        got = len(getattr(e, name))
        need(
            got == n,
            f"scenario.economy.{name} must have one value per region ({n}); got {got}.",
        )
    total = sum(e.region_shares)
    need(abs(total - 1) < 1e-9, f"scenario.economy.region_shares must sum to 1; got {total:g}.")
    need(
        (e.downturn_start is None) == (e.downturn_end is None),
        "scenario.economy.downturn_start and downturn_end must be given together.",
    )
    if e.downturn_start is not None:
        need(
            e.downturn_start < e.downturn_end,
            f"scenario.economy.downturn_start must be before downturn_end; got "
            f"{e.downturn_start} >= {e.downturn_end}.",
        )
    b = s.behaviour
    total = b.early_share + b.on_time_share + b.late_share + b.partial_share
    need(abs(total - 1) < 1e-9, f"scenario.behaviour habit shares must sum to 1; got {total:g}.")
    total = sum(getattr(b, f"share_{t}") for t in RESPONSE_TYPES)
    need(
        abs(total - 1) < 1e-9,
        f"scenario.behaviour response-type shares must sum to 1; got {total:g}.",
    )
    total = sum(getattr(s.causes, f"share_{c}") for c in CAUSES)
    need(abs(total - 1) < 1e-9, f"scenario.causes shares must sum to 1; got {total:g}.")
    need(
        b.partial_min <= b.partial_max,
        f"scenario.behaviour.partial_min must be <= partial_max; got {b.partial_min:g} > "
        f"{b.partial_max:g}.",
    )
