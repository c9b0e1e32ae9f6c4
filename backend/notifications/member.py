"""What a member sees and decides about notifications in the mini-program: the chat
identities linked to them, where each kind of message would go now (or why nowhere),
their preferences and subscribe-message consent per kind, and the messages sent or not
sent to them, each with its fate in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.members.service import get_member
from backend.notifications.contacts import reach_of
from backend.notifications.models import ChatContact, OutboxMessage
from backend.notifications.routing import choose_route
from backend.notifications.service import add_subscribe_credits, get_preferences, get_settings
from backend.notifications.types import OutboxStatus

CHANNEL_NAMES = {"bot": "个人微信（机器人）", "wecom": "企业微信", "subscribe": "小程序订阅消息"}
KIND_NAMES = {"daily_summary": "每日业绩", "team_member": "新成员加入", "commission": "佣金到账（冻结）",
              "settlement": "佣金结算", "withdrawal": "提现结果", "agent": "代理通知",
              "promoter": "推广员审核结果", "upgrade": "等级提升",
              "commission_reversed": "佣金调整"}
REASON_TEXT = {"opted_out": "您已关闭这类通知", "no_channel": "没有可用的通知渠道：请绑定机器人或在小程序中同意订阅消息"}
STATUS_TEXT = {"pending": "待发送", "bot_pending": "等待机器人发送", "sending": "发送中", "sent": "已发送",
               "skipped": "未发送", "failed": "发送失败"}


def chat_links(*, tenant_id: int, member_id: int) -> list[dict[str, Any]]:
    """The chat identities (personal WeChat, WeCom) linked to the member."""
    rows = db.session.scalars(select(ChatContact).where(
        ChatContact.tenant_id == tenant_id, ChatContact.member_id == member_id).order_by(ChatContact.id))
    return [{"transport": c.transport, "name": "个人微信" if c.transport == "wechaty" else "企业微信",
             "display_name": c.display_name, "linked_at": c.linked_at.isoformat() if c.linked_at else None}
            for c in rows]


def _route_view(route: Any) -> dict[str, Any]:
    if route.channel is not None:
        return {"channel": route.channel, "channel_name": CHANNEL_NAMES[route.channel], "reason": None,
                "reason_text": None}
    return {"channel": None, "channel_name": None, "reason": route.reason,
            "reason_text": REASON_TEXT.get(route.reason, route.reason)}


def overview(*, tenant_id: int, member_id: int) -> dict[str, Any]:
    """Preferences, consent left per kind, which channels can reach the member, where a
    daily summary and an alert would go now (or why nowhere), the subscribe templates to
    ask consent for, and the linked chat identities."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    settings = get_settings(tenant_id=tenant_id)
    reach = reach_of(tenant_id=tenant_id, member_ids=[member.id], openids={member.id: member.openid})[member.id]
    flags = {"daily_template": bool(settings.daily_template_id), "alert_template": bool(settings.alert_template_id)}
    return {
        "preferences": get_preferences(tenant_id=tenant_id, member_id=member_id),
        "channels": {"bot": reach.bot_contact is not None, "wecom": reach.wecom_user is not None,
                     "subscribe": bool(member.openid) and (flags["daily_template"] or flags["alert_template"])},
        "routes": {"daily_summary": _route_view(choose_route(reach, daily=True, **flags)),
                   "alerts": _route_view(choose_route(reach, daily=False, **flags))},
        "subscribe_templates": {"daily_summary": settings.daily_template_id or None,
                                "alerts": settings.alert_template_id or None},
        "links": chat_links(tenant_id=tenant_id, member_id=member_id),
    }


def record_subscribe_results(*, tenant_id: int, member_id: int, results: dict[str, str],
                             now: datetime) -> dict[str, Any]:
    """What wx.requestSubscribeMessage answered ({template id: "accept" | "reject" | "ban"
    | "filter"}): each accepted template of the tenant is one consent of its kind."""
    settings = get_settings(tenant_id=tenant_id)
    daily = sum(1 for t, r in results.items() if r == "accept" and t and t == settings.daily_template_id)
    alerts = sum(1 for t, r in results.items() if r == "accept" and t and t == settings.alert_template_id)
    return add_subscribe_credits(tenant_id=tenant_id, member_id=member_id, now=now, daily=daily, alerts=alerts)


def _message_view(m: OutboxMessage) -> dict[str, Any]:
    reason = m.last_error if m.status in (OutboxStatus.SKIPPED, OutboxStatus.FAILED) else None
    text = STATUS_TEXT.get(m.status, m.status)
    if m.status == OutboxStatus.SENT and m.channel:
        text = f"已通过{CHANNEL_NAMES.get(m.channel, m.channel)}发送"
    elif m.status == OutboxStatus.SKIPPED and reason:
        text = f"未发送：{REASON_TEXT.get(reason, reason)}"
    payload = m.payload if isinstance(m.payload, dict) else {}
    return {"id": m.id, "kind": m.kind, "kind_name": KIND_NAMES.get(m.kind, m.kind), "status": m.status,
            "channel": m.channel, "reason": reason, "status_text": text, "data": payload.get("data", payload),
            "created_at": m.created_at.isoformat() if getattr(m, "created_at", None) else None,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None}


def my_messages(*, tenant_id: int, member_id: int, before_id: int | None = None,
                limit: int = 20) -> list[dict[str, Any]]:
    """The member's notifications, newest first, including those never sent (no channel,
    opted out) with the reason."""
    stmt = select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.member_id == member_id)
    if before_id is not None:
        stmt = stmt.where(OutboxMessage.id < before_id)
    return [_message_view(m) for m in db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit))]
