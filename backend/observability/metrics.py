"""Prometheus metrics (prometheus_client): what each process measures itself.

- HTTP: requests per route, method and status; latency per route (the route's rule,
  never the raw path, so ids do not explode the label set).
- Jobs: the scheduler is another process, so each run is recorded in Redis (runs,
  failures, last start/end/duration, interval) and the web node exposes them; a lag is
  how far the last run lies behind its interval.
- The ledger check: `flask ledger check` and the daily job record their verdict.

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty folder so the workers'
counters are summed at scrape time (prometheus_client's multiprocess mode).
Scrape-time readings of the domains (backlogs) live in backend/scrape.py (above the domains).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter("siyu_http_requests", "HTTP requests answered",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("siyu_http_request_seconds", "Time to answer an HTTP request",
                         ["method", "route"], registry=REGISTRY,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

JOB_KEY = "siyu:metrics:job:"
LEDGER_CHECK_KEY = "siyu:metrics:ledger-check"


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def record_job_run(redis: Any, *, name: str, interval_seconds: float, started: float,
                   seconds: float, done: int | None, failed: bool) -> None:
    """One job run, for the web node's /metrics (best effort: metrics never break a job)."""
    key = JOB_KEY + name
    try:
        with redis.pipeline() as pipe:
            pipe.hincrby(key, "runs", 1)
            if failed:
                pipe.hincrby(key, "failures", 1)
            else:
                pipe.hset(key, mapping={"last_success": f"{started + seconds:.3f}"})
            pipe.hset(key, mapping={"interval": f"{interval_seconds:g}", "last_start": f"{started:.3f}",
                                    "last_seconds": f"{seconds:.4f}", "last_done": str(done or 0)})
            pipe.execute()
    except Exception:  # noqa: BLE001 — Redis down must not fail the job it measures
        pass


def read_job_runs(redis: Any) -> dict[str, dict[str, float]]:
    """{job name: its recorded numbers}."""
    out: dict[str, dict[str, float]] = {}
    for key in redis.scan_iter(match=JOB_KEY + "*", count=500):
        name = (key.decode() if isinstance(key, bytes) else key)[len(JOB_KEY):]
        raw = redis.hgetall(key)
        out[name] = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
    return out


def record_ledger_check(redis: Any, *, ok: bool, tenants: int, bad: int, at: float | None = None) -> None:
    """The verdict of a whole ledger check (every tenant)."""
    try:
        redis.set(LEDGER_CHECK_KEY, json.dumps({"ok": ok, "tenants": tenants, "bad": bad,
                                                "at": at if at is not None else time.time()}))
    except Exception:  # noqa: BLE001 — best effort, like the job numbers
        pass


def read_ledger_check(redis: Any) -> dict[str, Any] | None:
    raw = redis.get(LEDGER_CHECK_KEY)
    return json.loads(raw) if raw else None


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
