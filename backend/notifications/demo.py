"""Demo notifications: the brand's subscribe-message templates (daily summary and change
alerts), and most demo members' consent to them (as if they had accepted
wx.requestSubscribeMessage a few times), so alerts reach them; 小艾 never accepted, so
her alerts show as having no channel."""

from __future__ import annotations

from typing import Any

from backend.db import utcnow
from backend.members.demo import demo_member
from backend.members.service import list_members
from backend.notifications import service as notify

DEMO_SETTINGS = {
    "daily_template_id": "demo-daily-summary-tpl",
    "daily_template_fields": {"thing1": "title", "thing2": "brief", "date3": "date"},
    "alert_template_id": "demo-change-alert-tpl",
    "alert_template_fields": {"thing1": "title", "thing2": "brief", "amount3": "amount", "date4": "date"},
    "robot_daily_report": False,
    "welcome_text": "你好 {name}，欢迎来到{brand}！发送“帮助”看看我能做什么。",
}
WITHOUT_CONSENT = ("demo-erin",)


def seed(tenant: Any) -> None:
    """Templates and consents (called once, inside the demo unit of work)."""
    now = utcnow()
    notify.update_settings(tenant_id=tenant.id, changes=DEMO_SETTINGS, actor="demo", now=now)
    skip = {demo_member(tenant_id=tenant.id, code=code).id for code in WITHOUT_CONSENT}
    for member in list_members(tenant_id=tenant.id, limit=200):
        if member.id not in skip:
            notify.add_subscribe_credits(tenant_id=tenant.id, member_id=member.id, now=now, daily=5, alerts=20)
