"""Find per-domain modules by name (models, cli, demo), so a new domain folder is
picked up without editing a central list."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import backend


def domain_modules(name: str) -> list[ModuleType]:
    """backend/<domain>/<name>.py for every domain folder that has one, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(backend.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            found.append(importlib.import_module(f"backend.{info.name}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"backend.{info.name}.{name}":
                raise
    return found


def import_all_models() -> None:
    """Import every domain's models so the metadata (Alembic, tests) sees all tables."""
    domain_modules("models")
