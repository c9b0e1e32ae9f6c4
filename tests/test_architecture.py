"""The house rules lint-imports cannot state by itself (docs/architecture.md):

- no import of another domain hidden inside a function, except the few named below
  (each with its reason at the import);
- the own_models contract (tests/import_contracts.py) catches a domain importing
  another's models, however deep and wherever in the module.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from grimp import ImportGraph
from importlinter.domain.contract import ContractCheck

from tests.import_contracts import OwnModelsContract

ROOT = Path(__file__).resolve().parents[1]

# (importer, imported package of backend) → how many function-local imports are allowed.
ALLOWED_LOCAL_IMPORTS = {
    # alembic loads for the db commands only, not on every app start
    ("backend.cli", "backend.migrate"): 2,
    # config is read before anything else; ratelimit (and the limits package) only
    # to check the configured strings
    ("backend.config", "backend.ratelimit"): 1,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top(module: str) -> str:
    """backend.orders.service → backend.orders; backend.db → backend.db."""
    return ".".join(module.split(".")[:2])


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] if node.module else [f"{target}.{a.name}" for a in node.names]


def function_local_cross_domain_imports() -> Counter[tuple[str, str]]:
    """(importer module, imported package of backend) → count, for every import inside a
    function of backend/ that reaches outside the importer's own package."""
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted((ROOT / "backend").rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                targets = {_top(t) for t in _imported(node, module, path.name == "__init__.py")
                           if t.startswith("backend.")}
                for target in targets - {_top(module)}:
                    found[(_top(module) if module.count(".") > 1 else module, target)] += 1
    return found


def test_no_domain_imports_another_inside_a_function_beyond_the_named_few() -> None:
    found = function_local_cross_domain_imports()
    over = {k: n for k, n in found.items() if n > ALLOWED_LOCAL_IMPORTS.get(k, 0)}
    assert not over, ("imports of another domain inside a function (move them to the top of the "
                      f"module, or announce an event and handle it in backend/flows/): {over}")


def test_the_local_import_counter_reads_absolute_and_relative_imports() -> None:
    tree = ast.parse("def f():\n    from backend.orders.models import Order\n    from ..orders import service\n"
                     "    from . import rules\n")
    absolute, up, here = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert _imported(absolute, "backend.flows.x", False) == ["backend.orders.models"]
    assert _imported(up, "backend.flows.x", False) == ["backend.orders"]
    assert _imported(here, "backend.flows.x", False) == ["backend.flows.rules"]
    assert _top("backend.orders.models") == "backend.orders"


def _check(imports: list[tuple[str, str]]) -> ContractCheck:
    graph = ImportGraph()
    for importer, imported in imports:
        for module in (importer, imported):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                graph.add_module(".".join(parts[:i]))
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    contract = OwnModelsContract(name="own models", session_options={},
                                 contract_options={"containers": ["backend"],
                                                   "exempt_importers": ["backend.models_registry"]})
    return contract.check(graph, verbose=False)


def test_a_domain_importing_another_domains_models_breaks_the_contract() -> None:
    check = _check([("backend.flows.checkout", "backend.orders.models"),
                    ("backend.finance.service", "backend.ledger.models.sub")])
    assert not check.kept
    assert [(v["importer"], v["imported"]) for v in check.metadata["violations"]] == [
        ("backend.finance.service", "backend.ledger.models.sub"),
        ("backend.flows.checkout", "backend.orders.models")]


def test_own_models_public_types_and_the_registry_keep_the_contract() -> None:
    check = _check([("backend.orders.service", "backend.orders.models"),
                    ("backend.flows.checkout", "backend.orders.types"),
                    ("backend.flows.checkout", "backend.orders.service"),
                    ("backend.models_registry", "backend.orders.models")])
    assert check.kept
