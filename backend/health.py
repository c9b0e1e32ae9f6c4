"""Health checks for /healthz: the database answers, Redis answers."""

from __future__ import annotations

from sqlalchemy import text

from backend.extensions import db, get_redis, redis_holder


def check_health() -> tuple[bool, dict[str, str]]:
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
    try:
        get_redis().ping()
        checks["redis"] = "ok" if redis_holder.is_real else "ok (embedded fakeredis)"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        ok = False
    return ok, checks
