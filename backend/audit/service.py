"""Record and read audit entries; every admin action calls record_audit."""

from __future__ import annotations

from typing import Any

from backend.audit.models import AuditLog
from backend.db import newest_first, utcnow
from backend.extensions import db


def record_audit(*, tenant_id: int | None, actor: str, action: str, target_type: str,
                 target_id: int | str, before: Any, after: Any) -> AuditLog:
    """Append one audit entry in the caller's unit of work."""
    entry = AuditLog(tenant_id=tenant_id, actor=actor, action=action, target_type=target_type,
                     target_id=str(target_id), before=before, after=after)
    db.session.add(entry)
    return entry


def record_security_event(*, tenant_id: int | None, actor: str, action: str, target_type: str,
                          target_id: int | str, detail: Any) -> None:
    """Append an audit entry in its own transaction, committed now: security events
    (a log-in lockout) are kept even though the request that caused them fails."""
    with db.engine.begin() as conn:
        conn.execute(AuditLog.__table__.insert().values(
            tenant_id=tenant_id, actor=actor, action=action, target_type=target_type,
            target_id=str(target_id), before=None, after=detail, at=utcnow()))


def list_audit(*, tenant_id: int, target_type: str | None = None, target_id: str | None = None,
               limit: int = 50, before_id: int | None = None) -> list[AuditLog]:
    """Newest first audit entries of one tenant, keyset-paged."""
    return newest_first(AuditLog, tenant_id=tenant_id, before_id=before_id or None, limit=limit,
                        where={AuditLog.target_type: target_type or None,
                               AuditLog.target_id: str(target_id) if target_id else None})


def audit_view(entry: AuditLog) -> dict[str, Any]:
    return {"id": entry.id, "actor": entry.actor, "action": entry.action,
            "target_type": entry.target_type, "target_id": entry.target_id,
            "before": entry.before, "after": entry.after, "at": entry.at.isoformat()}
