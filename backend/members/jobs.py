"""Scheduled entry points of the members domain (listed by backend/jobs.py)."""

from __future__ import annotations

from datetime import datetime

from backend.db import run_in_unit_of_work
from backend.extensions import db
from backend.members import service as members

INTERVALS = {"expire_lapsed_bindings": 300}


def expire_lapsed_bindings(*, now: datetime) -> int:
    """Unbind members whose binding lapsed without a purchase (tenants with expiring
    bindings); each member in its own unit of work; returns how many were unbound."""
    due = members.lapsed_bindings(now=now)
    db.session.rollback()
    return sum(run_in_unit_of_work(lambda t=t, m=m: members.expire_binding(
        tenant_id=t, member_id=m, now=now)) for t, m in due)
