"""Schemathesis fuzzes every operation of /openapi.json against the app in-process (WSGI):
a fixed seed, a few examples per operation (valid and invalid input), a time cap, and the
member, staff (boss and sales), supplier and platform tokens each operation's security asks for. Any 5xx, or a response
the document does not describe (status, media type, body schema, headers), fails.

(Schemathesis' own pytest loader does not run under pytest 9, so the operations are driven
here through its strategies, one Hypothesis run per operation and mode.)

The operations are dealt into SHARDS tests (every SHARDS-th operation each), so that
pytest-xdist spreads the fuzzing over its workers instead of one worker carrying it all.

SIYU_SCHEMATHESIS_STATS=file writes each shard's counts (operations, requests, failures)
and every failure as JSON, to file.<shard>."""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from miniprogram_api.http import ROUTES

SEED = 20261205
EXAMPLES = 4  # per operation and mode (valid input, then invalid input)
TIME_CAP_SECONDS = 600  # per shard: operations not reached by then are named in a warning
SHARDS = 4
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_keeps_its_contract(app: Any, client: Any, factory: Any, shard: int) -> None:
    from tests.suppliers_factories import SuppliersFactory

    tenant = factory.tenant()
    member = factory.member(tenant, parent=factory.member(tenant))
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    supplier, _ = SuppliersFactory(client, factory).active(tenant, boss)
    tokens = {"memberBearer": [factory.member_headers(member)],
              # staff operations alternate between the boss and a sales member (roles bite)
              "staffBearer": [boss, factory.staff_headers(factory.staff(tenant, role="sales"))],
              "supplierBearer": [supplier],
              "platformBearer": [{"Authorization": "Bearer test-platform-token"}]}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    declared = {(r.method, re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", r.rule)) for r in ROUTES if r.declared}
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if (op.method.upper(), op.path) in declared]  # routes with their contract declared
    operations = operations[shard::SHARDS]
    started = time.monotonic()
    stats = {"operations": 0, "requests": 0, "failures": 0}
    failures: list[dict[str, Any]] = []
    not_reached: list[str] = []
    for operation in operations:
        if time.monotonic() - started > TIME_CAP_SECONDS:
            not_reached.append(operation.label)
            continue
        stats["operations"] += 1
        security = operation.definition.raw.get("security") or []
        choices = tokens[next(iter(security[0]))] if security else [{}]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, choices, stats)
            except (Exception, BaseExceptionGroup) as exc:  # one failure per operation and mode
                stats["failures"] += 1
                failures.append({"operation": operation.label, "mode": mode.value,
                                 "error": str(exc).strip()[:1500]})
    report = {**stats, "not_reached": not_reached, "failures_detail": failures}
    if os.environ.get("SIYU_SCHEMATHESIS_STATS"):
        with open(f"{os.environ['SIYU_SCHEMATHESIS_STATS']}.{shard}", "w") as out:
            json.dump(report, out, ensure_ascii=False, indent=1)
    if not_reached:
        warnings.warn(f"schemathesis time cap: {len(not_reached)} operations not reached", stacklevel=1)
    assert stats["operations"] >= 100 // SHARDS
    assert not failures, "\n\n".join(f"{f['operation']} ({f['mode']}):\n{f['error']}" for f in failures)


def _fuzz(operation: Any, mode: GenerationMode, choices: list[dict[str, str]], stats: dict[str, int]) -> None:
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception:  # nothing invalid can be generated for this operation
        return

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        stats["requests"] += 1
        headers = choices[stats["requests"] % len(choices)]
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # no invalid input exists for it (e.g. only a free-form slug)
        return
