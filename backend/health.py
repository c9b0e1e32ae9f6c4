"""Health checks for /healthz: the database answers, Redis answers; and, reported
without failing the check (the web node is fine, the worker is not), whether paid
orders' follow-up (rewards, postings) is keeping up."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import text

from backend.db import utcnow
from backend.extensions import db, get_redis, redis_holder
from backend.flows.paid_order import backlog


class HealthStatus(StrEnum):
    """The `status` of /livez, /readyz and /healthz (miniprogram_api/ops.py, meta.py)."""

    OK = "ok"
    DEGRADED = "degraded"  # /healthz: a dependency failed
    UNAVAILABLE = "unavailable"  # /readyz: the database does not answer


def check_ready() -> tuple[bool, dict[str, str]]:
    """Readiness: the database answers (the backlog is not this node's to fix). Redis is
    reported but does not decide it: with Redis down the node still takes payments and
    bindings (docs/operations.md, "Redis down"), and taking every node out of the
    balancer would stop them."""
    _, checks = check_health(with_backlog=False)
    ok = checks["database"].startswith("ok")
    if ok and not checks["redis"].startswith("ok"):
        checks["redis"] += " (degraded: log-ins refused, other limits not counted)"
    return ok, checks


def check_health(*, with_backlog: bool = True) -> tuple[bool, dict[str, str]]:
    """(all ok, a line per dependency)."""
    checks: dict[str, str] = {}
    ok = True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = f"ok ({db.engine.dialect.name})"
    except Exception as exc:  # health reports failures, it does not raise them
        checks["database"] = f"error: {type(exc).__name__}"
        ok = False
    finally:
        db.session.rollback()
    if ok and with_backlog:
        checks["paid_followup"] = _followup_line()
    try:
        get_redis().ping()
        checks["redis"] = "ok" if redis_holder.is_real else "ok (embedded fakeredis)"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        ok = False
    return ok, checks


def _followup_line() -> str:
    try:
        count, age, stalled = backlog(now=utcnow())
    except Exception as exc:  # reported, never raised
        return f"unknown: {type(exc).__name__}"
    finally:
        db.session.rollback()
    if not count:
        return "ok (nothing pending)"
    line = f"{count} paid orders pending, oldest {age:.0f} s"
    return f"stalled: {line}; is the scheduler running orders.follow_up_paid_orders?" if stalled else f"ok ({line})"
