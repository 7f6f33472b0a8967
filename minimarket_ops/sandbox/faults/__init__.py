"""Named, composable sandbox faults: each breaks one thing, so its check must fail.

A database fault is SQL run as the sandbox superuser in the target database after the
reference data is loaded; an API fault changes the gateway's behaviour; a server fault
changes how the sandbox is reached. Areas keep their faults in a module of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["database", "api", "server"]


@dataclass(frozen=True)
class Fault:
    name: str
    kind: Kind
    description: str
    check: str  # the check that must fail on it
    sql: str | None = None


FAULTS: dict[str, Fault] = {}


def register(*faults: Fault) -> None:
    for fault in faults:
        if fault.name in FAULTS:
            raise ValueError(f"fault {fault.name!r} registered twice")
        FAULTS[fault.name] = fault


def get(name: str) -> Fault:
    _load()
    try:
        return FAULTS[name]
    except KeyError:
        known = ", ".join(sorted(FAULTS))
        raise ValueError(f"unknown fault {name!r} (known: {known})") from None


def all_faults() -> dict[str, Fault]:
    _load()
    return dict(FAULTS)


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    _loaded = True  # only once every module is in: a failed import is not a smaller registry
