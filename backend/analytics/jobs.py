"""Scheduled entry point of the dashboard figures (listed by backend/jobs.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from backend.analytics import service
from backend.db import run_in_unit_of_work
from backend.extensions import db

INTERVALS = {"refresh_daily_facts": 300}
# Yesterday is recomputed for the first hours of a day: payments notified late, refunds.
YESTERDAY_UNTIL_HOUR = 3


def refresh_daily_facts(*, now: datetime) -> int:
    """Recompute today's daily facts (and yesterday's in the small hours) of every active
    tenant, each tenant in its own unit of work; returns how many facts were written."""
    tenant_ids = service.active_tenant_ids()
    db.session.rollback()
    today = service.china_day(now)
    days = [today]
    if now.astimezone(service.CHINA_TZ).hour < YESTERDAY_UNTIL_HOUR:
        days.insert(0, today - timedelta(days=1))
    written = 0
    for tenant_id in tenant_ids:
        for day in days:
            written += run_in_unit_of_work(
                partial(service.refresh_day, tenant_id=tenant_id, day=day, now=now))
    return written
