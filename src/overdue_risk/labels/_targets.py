"""What a label means: the prediction targets, as small frozen dataclasses.

A target names the event (reaching a DPD threshold, curing), the horizon in
days after the as-of date in which it must happen, and which loans are
eligible. ``to_dict`` / ``from_dict`` round-trip a target through a model's
manifest; ``parse_target`` reads the short names the command line uses.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from .._params import Boolean, Interval, check
from ..exceptions import OverdueRiskError

__all__ = ["CureTarget", "DpdTarget", "Target", "parse_target", "target_from_dict"]


#: The largest DPD threshold and horizon a target may ask for: ten years of days.
#: Past them no loan of any real portfolio can be labelled 1 (or observed at all).
MAX_THRESHOLD = 3650
MAX_HORIZON_DAYS = 3650

# The rule of every target field (see overdue_risk._params).
_RULES = {
    "threshold": Interval(int, 1, MAX_THRESHOLD),
    "horizon_days": Interval(int, 1, MAX_HORIZON_DAYS),
    "exclude_closed": Boolean(),
    "exclude_at_threshold": Boolean(),
}


class _Target:
    """Shared behaviour: the check of its fields, the manifest form and its dictionary."""

    kind: ClassVar[str]

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = check(_RULES[f.name], getattr(self, f.name), key=f.name, error=OverdueRiskError)
            object.__setattr__(self, f.name, value)  # an integer-like value becomes an int

    def to_dict(self) -> dict[str, Any]:
        """The target as plain data, ``kind`` first, for a model's manifest."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """The target a :meth:`to_dict` dictionary describes."""
        if not isinstance(data, dict):
            raise OverdueRiskError(f"A target must be read from a dict; got {type(data).__name__}.")
        values = dict(data)
        kind = values.pop("kind", cls.kind)
        if kind != cls.kind:
            raise OverdueRiskError(
                f"{cls.__name__}.from_dict needs kind {cls.kind!r}; got {kind!r}."
            )
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise OverdueRiskError(
                f"Unknown {cls.__name__} field(s) {unknown}; expected some of {sorted(known)}."
            )
        return cls(**values)


@dataclass(frozen=True)
class DpdTarget(_Target):
    """The loan reaches DPD >= ``threshold`` within ``horizon_days`` after the as-of date.

    The label is 1 when the ledger's DPD is at least ``threshold`` on some day
    of ``(as_of, as_of + horizon_days]``, 0 otherwise. A loan that closes in
    the horizon keeps the state it had on closing (the ledger freezes it), so
    only the days up to its closing can count.

    Parameters
    ----------
    threshold : int, default 30
        DPD to reach, in [1, 3650].
    horizon_days : int, default 90
        Days after the as-of date, in [1, 3650].
    exclude_closed : bool, default True
        Leave out loans closed on or before the as-of date.
    exclude_at_threshold : bool, default True
        Leave out loans already at DPD >= ``threshold`` on the as-of date
        (their label would say nothing new).

    Examples
    --------
    >>> DpdTarget().name
    'dpd30_90d'
    >>> DpdTarget(threshold=60, horizon_days=180).to_dict()["threshold"]
    60
    >>> DpdTarget.from_dict(DpdTarget().to_dict()) == DpdTarget()
    True
    """

    kind: ClassVar[str] = "dpd"

    threshold: int = 30
    horizon_days: int = 90
    exclude_closed: bool = True
    exclude_at_threshold: bool = True

    @property
    def name(self) -> str:
        """Short name, e.g. ``dpd30_90d`` (the eligibility options are not part of it)."""
        return f"dpd{self.threshold}_{self.horizon_days}d"


@dataclass(frozen=True)
class CureTarget(_Target):
    """An overdue loan returns to current (DPD 0) within ``horizon_days``.

    Eligible are loans with DPD > 0 on the as-of date. The label is 1 when the
    ledger's DPD is 0 on some day of ``(as_of, as_of + horizon_days]``; a loan
    that closes in the horizon with DPD 0 on closing (paid off) is cured.

    Parameters
    ----------
    horizon_days : int, default 30
        Days after the as-of date, in [1, 3650].
    exclude_closed : bool, default True
        Leave out loans closed on or before the as-of date.

    Examples
    --------
    >>> CureTarget().name
    'cure_30d'
    >>> CureTarget(horizon_days=60).to_dict()
    {'kind': 'cure', 'horizon_days': 60, 'exclude_closed': True}
    """

    kind: ClassVar[str] = "cure"

    horizon_days: int = 30
    exclude_closed: bool = True

    @property
    def name(self) -> str:
        """Short name, e.g. ``cure_30d``."""
        return f"cure_{self.horizon_days}d"


Target = DpdTarget | CureTarget
_KINDS: dict[str, type[DpdTarget] | type[CureTarget]] = {"dpd": DpdTarget, "cure": CureTarget}
_DPD_NAME = re.compile(r"dpd(\d+)_(\d+)d")
_CURE_NAME = re.compile(r"cure_(\d+)d")


def target_from_dict(data: dict[str, Any]) -> Target:
    """The target of any kind that a ``to_dict()`` dictionary describes.

    Examples
    --------
    >>> target_from_dict({"kind": "cure", "horizon_days": 60})
    CureTarget(horizon_days=60, exclude_closed=True)
    """
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise OverdueRiskError(
            f"A target dict needs 'kind' set to one of {sorted(_KINDS)}; got {kind!r}."
        )
    return _KINDS[kind].from_dict(data)


def parse_target(name: str) -> Target:
    """The target a short name stands for: ``dpd<threshold>_<days>d`` or ``cure_<days>d``.

    Examples
    --------
    >>> parse_target("dpd30_90d")
    DpdTarget(threshold=30, horizon_days=90, exclude_closed=True, exclude_at_threshold=True)
    >>> parse_target("cure_30d").horizon_days
    30
    """
    text = name.strip().lower() if isinstance(name, str) else None
    if text is not None:
        if m := _DPD_NAME.fullmatch(text):
            return DpdTarget(threshold=int(m[1]), horizon_days=int(m[2]))
        if m := _CURE_NAME.fullmatch(text):
            return CureTarget(horizon_days=int(m[1]))
    raise OverdueRiskError(
        f"Unknown target {name!r}; use dpd<threshold>_<days>d (e.g. dpd30_90d) "
        "or cure_<days>d (e.g. cure_30d)."
    )


def as_target(target: Target | str) -> Target:
    """A target object from a target or its short name."""
    if isinstance(target, str):
        return parse_target(target)
    if not isinstance(target, DpdTarget | CureTarget):
        raise OverdueRiskError(
            f"target must be a DpdTarget, a CureTarget or a name such as 'dpd30_90d'; "
            f"got {type(target).__name__}."
        )
    return target
