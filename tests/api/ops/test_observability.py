"""Operations: liveness and readiness apart, request ids through the logs, and the
Prometheus numbers an operator watches (requests, jobs, backlogs, the ledger check)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.extensions import get_redis
from backend.jobs import Job, run_locked
from backend.observability.context import bound_request_id
from backend.observability.logs import JsonFormatter, RequestIdFilter
from backend.observability.metrics import record_ledger_check


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_liveness_needs_nothing_and_readiness_needs_the_database_not_redis(client: Any,
                                                                          monkeypatch: Any) -> None:
    assert client.get("/livez").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"].startswith("ok")

    def down() -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(get_redis(), "ping", down)
    degraded = client.get("/readyz")  # still taking payments and bindings: stays in the balancer
    assert degraded.status_code == 200 and degraded.json["redis"].startswith("error")
    assert "degraded" in degraded.json["redis"]
    assert client.get("/healthz").status_code == 503  # for people: something is wrong
    assert client.get("/livez").status_code == 200


def test_every_answer_carries_a_request_id_and_a_sane_one_is_taken_from_the_caller(client: Any) -> None:
    mine = client.get("/livez", headers={"X-Request-Id": "lb-42.abc"})
    assert mine.headers["X-Request-Id"] == "lb-42.abc"
    injected = client.get("/livez", headers={"X-Request-Id": "evil id; rm -rf /" + "x" * 80})
    assert len(injected.headers["X-Request-Id"]) == 16 and "evil" not in injected.headers["X-Request-Id"]


def test_json_log_lines_carry_the_request_id_and_the_extras() -> None:
    record = logging.LogRecord("siyu.test", logging.INFO, __file__, 1, "付款 %s", ("ok",), None)
    record.order_no = "SY123"
    with bound_request_id("req-1"):
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["request_id"], line["order_no"], line["level"]) == (
        "付款 ok", "req-1", "SY123", "INFO")


def test_metrics_count_requests_per_route_not_per_raw_path(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    headers = factory.member_headers(member)
    before = samples(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):
        assert client.get("/api/v1/mp/me", headers=headers).status_code == 200
    after = samples(client.get("/metrics").get_data(as_text=True))
    key = ("siyu_http_requests_total", (("method", "GET"), ("route", "/api/v1/mp/me"), ("status", "200")))
    assert after[key] - before.get(key, 0) == 3
    assert not any(f"/members/{member.id}" in dict(labels).get("route", "") for _, labels in after)


def test_job_runs_failures_and_the_ledger_check_reach_the_metrics(client: Any) -> None:
    redis = get_redis()

    def works(*, now: Any) -> int:
        return 4

    def breaks(*, now: Any) -> int:
        raise RuntimeError("boom")

    run_locked(Job("test.works", works, 60), redis=redis, now_fn=lambda: None)
    with pytest.raises(RuntimeError):
        run_locked(Job("test.breaks", breaks, 60), redis=redis, now_fn=lambda: None)
    record_ledger_check(redis, ok=False, tenants=3, bad=1)
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert got[("siyu_job_runs", (("job", "test.works"),))] >= 1
    assert got[("siyu_job_failures", (("job", "test.breaks"),))] >= 1
    assert got[("siyu_job_lag_seconds", (("job", "test.works"),))] == 0
    assert got[("siyu_ledger_check_ok", ())] == 0
    assert ("siyu_paid_followup_backlog", ()) in got and ("siyu_outbox_backlog", ()) in got


def test_the_team_counter_deltas_waiting_for_the_fold_reach_the_metrics(client: Any, factory: Any) -> None:
    from backend.db import unit_of_work
    from backend.members import service as members

    t = factory.tenant()
    factory.chain(t, 3)  # two bindings: 1 + 2 deltas
    assert samples(client.get("/metrics").get_data(as_text=True))[("siyu_team_counter_deltas_pending", ())] == 3
    with unit_of_work():
        members.fold_team_counters()
    assert samples(client.get("/metrics").get_data(as_text=True))[("siyu_team_counter_deltas_pending", ())] == 0


def test_metrics_want_the_token_when_one_is_set(client: Any, app: Any, monkeypatch: Any) -> None:
    from dataclasses import replace

    settings = replace(app.config["SIYU_SETTINGS"], metrics_token="scrape-me")
    monkeypatch.setitem(app.config, "SIYU_SETTINGS", settings)
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and b"siyu_http_requests_total" in ok.data


def test_the_daily_ledger_check_records_a_clean_verdict(client: Any, factory: Any) -> None:
    from backend.db import utcnow
    from backend.ledger.jobs import check_balances

    factory.tenant()
    assert check_balances(now=utcnow()) == 0
    got = samples(client.get("/metrics").get_data(as_text=True))
    assert got[("siyu_ledger_check_ok", ())] == 1
