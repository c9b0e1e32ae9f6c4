"""The house rules lint-imports cannot state by itself (docs/architecture.md):

- no import of another domain hidden inside a function, except the few named below
  (each with its reason at the import);
- the own_models contract (tests/import_contracts.py) catches a domain importing
  another's models, however deep and wherever in the module;
- a status is compared with its domain's enum, never a string literal, and is given
  one (a keyword, an attribute, a column default, a dict entry, a parameter's default)
  the same way.
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


# Statuses are compared with their domain's StrEnum (backend/<domain>/types.py), never a
# copied literal: a renamed or removed status then fails mypy and the imports instead of
# silently never matching.
STATUS_LITERALS_ALLOWED: dict[str, int] = {}
# The WeChat sandbox plays WeChat Pay's side: it speaks WeChat's wire values, it is not a
# service of ours (the services compare WeChat's values through backend/wechat/types.py).
STATUS_LITERALS_EXEMPT = ("backend/wechat/sandbox/",)


def _is_status(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name == "status" or name.endswith("_status")


def _has_string_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


def status_literal_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, code) of every comparison of a status (`x.status`, `x.review_status`, a name
    `status` …) with a string literal or a collection holding one: ==, !=, in, not in, and
    SQLAlchemy's .in_() / .not_in()."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any((_is_status(a) and _has_string_literal(b)) or (_is_status(b) and _has_string_literal(a))
                   for a, b in zip(sides, sides[1:], strict=False)):
                found.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("in_", "not_in", "notin_") and _is_status(node.func.value)
              and any(_has_string_literal(a) for a in node.args)):
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def _checked_sources() -> list[tuple[str, str]]:
    """(path, source) of every module of the code under the status rules."""
    out = []
    for package in ("backend", "miniprogram_api", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(STATUS_LITERALS_EXEMPT):
                out.append((rel, path.read_text(encoding="utf-8")))
    return out


def test_statuses_are_compared_with_their_enums_not_copied_literals() -> None:
    over = {}
    for rel, source in _checked_sources():
        found = status_literal_comparisons(source)
        if len(found) > STATUS_LITERALS_ALLOWED.get(rel, 0):
            over[rel] = found
    assert not over, ("a status compared with a string literal (compare the domain's enum from "
                      f"backend/<domain>/types.py, adding the value there if it is new): {over}")


def test_the_status_literal_check_catches_every_form_and_passes_enums() -> None:
    source = (
        "if order.status == 'paid': pass\n"
        "if 'paid' != order.status: pass\n"
        "if row.review_status in ('pending', 'rejected'): pass\n"
        "q = select(Order).where(Order.status.in_(['paid', 'shipped']))\n"
        "if status not in {'open'}: pass\n"
        "if a < b.status == 'x': pass\n"
        "if order.status == OrderStatus.PAID: pass\n"
        "if order.status in OPEN or Order.status.in_(OPEN): pass\n"
        "if order.kind == 'agent' or status is None: pass\n"
    )
    assert [line for line, _ in status_literal_comparisons(source)] == [1, 2, 3, 4, 5, 6]


# A status is also given its enum's member, never a copied literal: a keyword
# (`Order(status=...)`, `.values(status=...)`), an attribute or name, a tuple unpacking,
# a dict entry (audit before/after, bulk rows, answers), a column default, a parameter's
# default. Migrations are not checked: they keep the values they stored.
_COLUMN_DEFAULTS = ("default", "server_default", "insert_default", "onupdate")


def _status_name(name: object) -> bool:
    return isinstance(name, str) and (name == "status" or name.endswith("_status"))


def _is_status_target(node: ast.expr) -> bool:
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and _status_name(node.slice.value)
    return _is_status(node)


def _string_literals(node: ast.expr | None) -> bool:
    """A string literal, or one on either side of a conditional expression."""
    if isinstance(node, ast.IfExp):
        return _string_literals(node.body) or _string_literals(node.orelse)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _column_default_literal(call: ast.expr) -> bool:
    return isinstance(call, ast.Call) and any(
        kw.arg in _COLUMN_DEFAULTS and _string_literals(kw.value) for kw in call.keywords)


def status_literal_assignments(source: str) -> list[tuple[int, str]]:
    """(line, code) of every string literal given to a status (`status`, `*_status`)."""
    found: set[tuple[int, str]] = set()

    def hit(node: ast.AST) -> None:
        found.add((getattr(node, "lineno", 0), ast.unparse(node)))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if any(_status_name(kw.arg) and _string_literals(kw.value) for kw in node.keywords):
                hit(node)
            # Column("status", String(16), default="x") in a Core table
            if (node.args and isinstance(node.args[0], ast.Constant) and _status_name(node.args[0].value)
                    and _column_default_literal(node)):
                hit(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _is_status_target(target) and (_string_literals(node.value)
                                                  or (node.value is not None and _column_default_literal(node.value))):
                    hit(node)
                elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)):
                    if any(_is_status_target(t) and _string_literals(v)
                           for t, v in zip(target.elts, node.value.elts, strict=False)):
                        hit(node)
        elif isinstance(node, ast.Dict):
            if any(isinstance(k, ast.Constant) and _status_name(k.value) and _string_literals(v)
                   for k, v in zip(node.keys, node.values, strict=True)):
                hit(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True),
                     *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
            for a, d in pairs:
                if _status_name(a.arg) and _string_literals(d):
                    found.add((node.lineno, f"{a.arg}={ast.unparse(d)} (a parameter's default)"))
    return sorted(found)


def test_statuses_are_given_their_enums_not_copied_literals() -> None:
    over = {rel: found for rel, source in _checked_sources() if (found := status_literal_assignments(source))}
    assert not over, ("a string literal given to a status (use the member of the domain's enum from "
                      f"backend/<domain>/types.py, adding the value there if it is new): {over}")


def test_the_status_assignment_check_catches_every_form_and_passes_enums() -> None:
    source = (
        "Order(tenant_id=1, status='created')\n"
        "q = update(Order).values(status='paid' if ok else OrderStatus.CREATED)\n"
        "order.status = 'paid'\n"
        "w.status, w.paid_at = 'paid', now\n"
        "record(before={'status': 'pending'}, after={'review_status': x})\n"
        "status: Mapped[str] = mapped_column(String(16), default='open', nullable=False)\n"
        "t = Table('x', md, Column('status', String(8), server_default='new'))\n"
        "def f(*, status: str = 'pending') -> None: pass\n"
        "row['promoter_status'] = 'none'\n"
        "status = 'none'\n"
        "Order(status=OrderStatus.CREATED, kind='agent')\n"
        "order.status = OrderStatus.PAID if ok else OrderStatus.CREATED\n"
        "w.status, w.note = WithdrawalStatus.PAID, 'x'\n"
        "record(before={'status': order.status, 'state': 'x'})\n"
        "status: Mapped[str] = mapped_column(String(16), default=ShopStatus.OPEN)\n"
        "def g(*, status: str | None = None, kind: str = 'a') -> None: pass\n"
        "label = 'ok' if ok else 'MISMATCH'\n"
    )
    assert [line for line, _ in status_literal_assignments(source)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
