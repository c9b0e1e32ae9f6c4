"""Scheduled entry points of notifications (listed by the scheduler, backend/jobs.py).

- `build_daily_summaries` (once a day, in the morning, China time): yesterday's
  summary for every active promoter of every tenant, queued to their channels, and
  the brand's day posted to its WeCom group robot where enabled;
- `deliver_notifications` (every minute): the outbox's server-side deliveries
  (WeCom app messages, subscribe messages); personal-WeChat rows are sent by the bot
  process (`python -m bot`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.db import rowcount, run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db
from backend.notifications import daily
from backend.notifications.dispatch import deliver_due, take_budget
from backend.notifications.messages import china_day, robot_report_markdown
from backend.notifications.models import DailyRun
from backend.notifications.service import get_settings
from backend.tenants.service import get_tenant, list_tenants
from backend.tenants.types import TenantStatus
from backend.wechat.service import credentials, gateway
from backend.wechat.wecom import robot_markdown

log = logging.getLogger(__name__)


@dataclass
class TenantDailyResult:
    tenant_id: int
    day: date
    built: int = 0
    enqueued: int = 0
    quiet: int = 0
    unreachable: int = 0
    robot_posted: bool = False


def build_tenant_daily(*, tenant_id: int, day: date, now: datetime,
                       chunk: int = daily.CHUNK) -> TenantDailyResult:
    """Build and queue one tenant's summaries for a day (resumes a crashed run)."""
    result = TenantDailyResult(tenant_id=tenant_id, day=day)
    if not get_settings(tenant_id=tenant_id).daily_enabled:
        db.session.rollback()
        return result
    figures = daily.day_figures(tenant_id=tenant_id, day=day)
    db.session.rollback()  # end the read transaction before the chunked writes
    while True:
        r = run_in_unit_of_work(lambda: daily.build_chunk(tenant_id=tenant_id, day=day, f=figures, due=now,
                                                          now=now, chunk=chunk))
        result.built += r.built
        result.enqueued += r.enqueued
        result.quiet += r.quiet
        result.unreachable += r.unreachable
        if r.finished:
            break
    result.robot_posted = _post_robot_report(tenant_id=tenant_id, figures=figures, now=now)
    return result


def _post_robot_report(*, tenant_id: int, figures: daily.DayFigures, now: datetime) -> bool:
    """The brand's day to its WeCom group robot, once per day (claimed on the run row)."""
    from sqlalchemy import select, update


    settings = get_settings(tenant_id=tenant_id)
    wecom = credentials(tenant_id=tenant_id).wecom
    if not settings.robot_daily_report or wecom is None or not wecom.robot_webhook_key:
        db.session.rollback()
        return False

    def claim() -> bool:
        run_id = db.session.scalar(select(DailyRun.id).where(DailyRun.tenant_id == tenant_id,
                                                             DailyRun.day == figures.day))
        return rowcount(db.session.execute(update(DailyRun).where(DailyRun.id == run_id,
                                                         DailyRun.robot_posted_at.is_(None))
                                  .values(robot_posted_at=now))) == 1

    if not take_budget(channel="robot", tenant_id=tenant_id, wanted=1, now=now):
        return False
    text = robot_report_markdown(daily.brand_day(tenant_id=tenant_id, f=figures),
                                 brand=get_tenant(tenant_id=tenant_id).name)
    db.session.rollback()
    if not run_in_unit_of_work(claim):
        return False
    try:
        gateway().post_group_robot(wecom.robot_webhook_key, robot_markdown(text))
    except DomainError as exc:
        log.warning("robot report of tenant %s not posted: %s", tenant_id, exc.code)
        run_in_unit_of_work(lambda: db.session.execute(
            update(DailyRun).where(DailyRun.tenant_id == tenant_id, DailyRun.day == figures.day)
            .values(robot_posted_at=None)))
        return False
    return True


def build_daily_summaries(*, now: datetime) -> int:
    """Yesterday's (China time) summaries for every active tenant; returns how many were queued."""

    day = china_day(now) - timedelta(days=1)
    queued = 0
    after = 0
    while True:
        tenants = [(t.id, t.status) for t in list_tenants(limit=100, after_id=after)]
        db.session.rollback()
        if not tenants:
            return queued
        for tenant_id, status in tenants:
            if status != TenantStatus.ACTIVE:
                continue
            try:
                queued += build_tenant_daily(tenant_id=tenant_id, day=day, now=now).enqueued
            except DomainError as exc:
                log.warning("daily summaries of tenant %s not built: %s", tenant_id, exc.code)
        after = tenants[-1][0]


def deliver_notifications(*, now: datetime) -> int:
    """Send due outbox rows (WeCom, subscribe messages); returns how many were sent."""
    report = deliver_due(now=now)
    if report.claimed:
        log.info("notifications: %s", report)
    return report.sent
