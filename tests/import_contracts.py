"""Import-linter contract types of our own (registered in pyproject.toml under
[tool.importlinter] contract_types, run by `lint-imports` like the built-in ones).

own_models: a domain's models are its own. No module of `backend.X` imports
`backend.Y.models` (or a module inside it) for another domain Y; other domains use
Y's public face instead: `backend.Y.service` (its verbs, returning plain data or its
own rows) and `backend.Y.types` (the Protocols those rows fit, dataclasses, the status
enums). See docs/architecture.md, "Public faces".
"""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _domain(module: str, container: str) -> str | None:
    """backend.orders.service → "orders"; backend.db → "db" (a kernel module is its own)."""
    rest = module[len(container) + 1:] if module.startswith(container + ".") else None
    return rest.split(".")[0] if rest else None


def _models_of(module: str, container: str) -> str | None:
    """The domain whose models `module` is (backend.orders.models[.x] → "orders"), or None."""
    parts = module.split(".")
    base = container.split(".")
    if parts[:len(base)] != base or len(parts) < len(base) + 2 or parts[len(base) + 1] != "models":
        return None
    return parts[len(base)]


class OwnModelsContract(Contract):
    """Options: containers (the packages whose children are domains); exempt_importers
    (modules that may import every domain's models: the registry that imports them all
    for the metadata)."""

    type_name = "own_models"

    containers = fields.SetField(subfield=fields.StringField())
    exempt_importers = fields.SetField(subfield=fields.StringField(), required=False, default=set())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        violations: list[dict[str, Any]] = []
        for container in sorted(self.containers):
            for importer in sorted(graph.find_descendants(container)):
                if importer in self.exempt_importers:
                    continue
                own = _domain(importer, container)
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    owner = _models_of(imported, container)
                    if owner is None or owner == own:
                        continue
                    lines = sorted(d["line_number"] for d in graph.get_import_details(
                        importer=importer, imported=imported))
                    violations.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in v["lines"])
            output.print_error(f"{v['importer']} imports {v['imported']} ({lines})", bold=False)
        output.new_line()
        output.print("Use that domain's public face instead: backend.<domain>.service for its verbs and "
                     "reads, backend.<domain>.types for the types they return (docs/architecture.md).")
