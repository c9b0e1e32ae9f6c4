"""A member's notifications, preferences and linked chat identities as the API shows them."""

from __future__ import annotations

from typing import Any

from miniprogram_api.http import Out, Timestamp


class LinkCodeOut(Out):
    code: str
    expires_in: int
    message: str


class PreferencesOut(Out):
    daily_enabled: bool
    alerts_enabled: bool
    channel: str
    daily_credits: int
    alert_credits: int


class Channels(Out):
    bot: bool
    wecom: bool
    subscribe: bool


class RouteNow(Out):
    """Where a notification of the kind would go now, or why nowhere."""

    channel: str | None
    channel_name: str | None
    reason: str | None
    reason_text: str | None


class Routes(Out):
    daily_summary: RouteNow
    alerts: RouteNow


class SubscribeTemplates(Out):
    daily_summary: str | None
    alerts: str | None


class ChatLink(Out):
    transport: str
    name: str
    display_name: str | None
    linked_at: Timestamp | None


class NotificationSettingsOut(Out):
    preferences: PreferencesOut
    channels: Channels
    routes: Routes
    subscribe_templates: SubscribeTemplates
    links: list[ChatLink]


class MessageOut(Out):
    id: int
    kind: str
    kind_name: str
    status: str
    channel: str | None
    reason: str | None
    status_text: str
    data: Any
    created_at: Timestamp | None
    sent_at: Timestamp | None


class MessagesOut(Out):
    items: list[MessageOut]
    next_before_id: int | None
