"""Which channel a message to a member goes through, if any. Pure.

A member's explicit choice wins when that channel can reach them; otherwise the first
that can, in this order: the bot (personal WeChat contact linked), WeCom (a WeCom
user linked: staff who are also promoters), a mini-program subscribe message (the
tenant configured a template, the member has an openid and an unspent consent).
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO_ORDER = ("bot", "wecom", "subscribe")


@dataclass(frozen=True, slots=True)
class Reach:
    """What is known about reaching one member."""

    daily_enabled: bool = True
    alerts_enabled: bool = True
    choice: str = "auto"  # auto | bot | wecom | subscribe | none
    bot_contact: str | None = None  # personal-WeChat contact id
    wecom_user: str | None = None  # WeCom userid
    openid: str | None = None
    daily_credits: int = 0
    alert_credits: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    channel: str | None  # None: not sent
    reason: str  # why not, when channel is None ("opted_out", "no_channel", …)


def _available(channel: str, reach: Reach, *, daily: bool, daily_template: bool,
               alert_template: bool) -> bool:
    if channel == "bot":
        return reach.bot_contact is not None
    if channel == "wecom":
        return reach.wecom_user is not None
    if channel == "subscribe":
        if not reach.openid:
            return False
        if daily:
            return daily_template and reach.daily_credits > 0
        return alert_template and reach.alert_credits > 0
    return False


def choose_route(reach: Reach, *, daily: bool, daily_template: bool = False,
                 alert_template: bool = False) -> Route:
    """The channel for a daily summary (daily=True) or an alert, honouring opt-outs."""
    if reach.choice == "none":
        return Route(None, "opted_out")
    if daily and not reach.daily_enabled:
        return Route(None, "opted_out")
    if not daily and not reach.alerts_enabled:
        return Route(None, "opted_out")
    flags = {"daily": daily, "daily_template": daily_template, "alert_template": alert_template}
    if reach.choice in AUTO_ORDER and _available(reach.choice, reach, **flags):
        return Route(reach.choice, "")
    for channel in AUTO_ORDER:
        if _available(channel, reach, **flags):
            return Route(channel, "")
    return Route(None, "no_channel")
