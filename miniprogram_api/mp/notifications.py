"""Mini-program: the member's notifications: link a WeChat or WeCom identity to the bot
with a one-time code, read and change preferences and subscribe-message consent per
kind, and see every message sent (or not sent, and why)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.notifications import member as mine
from backend.notifications.contacts import LINK_TTL_SECONDS, issue_link_code
from backend.notifications.service import set_preferences
from miniprogram_api.http import Body, Query, route
from miniprogram_api.schemas.notifications import LinkCodeOut, MessagesOut, NotificationSettingsOut

bp = Blueprint("mp_notifications", __name__, url_prefix="/api/v1/mp/me")


class PreferencesIn(Body):
    daily_enabled: bool | None = Field(None, description="每日业绩通知")
    alerts_enabled: bool | None = Field(None, description="变动提醒（新成员、佣金、结算、提现）")
    channel: Literal["auto", "bot", "wecom", "subscribe", "none"] | None = Field(
        None, description="auto：能送达的第一个；none：全部关闭")


class SubscribeIn(Body):
    results: dict[str, Literal["accept", "reject", "ban", "filter"]] = Field(
        description="wx.requestSubscribeMessage 的结果：{模板 id: accept|reject|ban|filter}",
        max_length=10)


class MessagesQuery(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=100)


@route(bp, "/bot-link-code", method="POST", auth="member", status=201, response=LinkCodeOut)
def bot_link_code(principal: Principal) -> dict[str, Any]:
    """A one-time code: send "绑定 <code>" to the bot in WeChat or WeCom to link that identity."""
    code = issue_link_code(tenant_id=principal.tenant_id, member_id=principal.subject_id, now=utcnow())
    return LinkCodeOut(code=code, expires_in=LINK_TTL_SECONDS,
                       message=f"在微信或企业微信里给机器人发送“绑定 {code}”，{LINK_TTL_SECONDS // 60} 分钟内有效，只能用一次。")


@route(bp, "/notifications/settings", auth="member", response=NotificationSettingsOut)
def notification_settings(principal: Principal) -> dict[str, Any]:
    """Preferences, consent per kind, reachable channels, where each kind would go now, links."""
    return mine.overview(tenant_id=principal.tenant_id, member_id=principal.subject_id)


@route(bp, "/notifications/settings", method="PATCH", auth="member", body=PreferencesIn,
       response=NotificationSettingsOut)
def change_notification_settings(principal: Principal, body: PreferencesIn) -> dict[str, Any]:
    """Turn daily summaries or alerts on or off, or pick a channel."""
    set_preferences(tenant_id=principal.tenant_id, member_id=principal.subject_id, now=utcnow(),
                    daily_enabled=body.daily_enabled, alerts_enabled=body.alerts_enabled, channel=body.channel)
    return mine.overview(tenant_id=principal.tenant_id, member_id=principal.subject_id)


@route(bp, "/notifications/subscribe", method="POST", auth="member", body=SubscribeIn,
       response=NotificationSettingsOut)
def record_subscribe(principal: Principal, body: SubscribeIn) -> dict[str, Any]:
    """Record wx.requestSubscribeMessage's answer: one consent per accepted template."""
    mine.record_subscribe_results(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                  results=dict(body.results), now=utcnow())
    return mine.overview(tenant_id=principal.tenant_id, member_id=principal.subject_id)


@route(bp, "/notifications", auth="member", query=MessagesQuery, response=MessagesOut)
def my_notifications(principal: Principal, query: MessagesQuery) -> dict[str, Any]:
    """My notifications, newest first, with what became of each (sent where, or why not)."""
    items = mine.my_messages(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                             before_id=query.before_id, limit=query.limit)
    return MessagesOut(items=items, next_before_id=items[-1]["id"] if len(items) == query.limit else None)
