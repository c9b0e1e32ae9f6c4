"""What a chat message asks for. Pure: text in, command out.

Commands are short Chinese keywords (what people actually type); anything else is
ordinary conversation, which the bot leaves to the humans (it may still tag the
customer by keyword rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXACT = {
    "help": ("帮助", "菜单", "功能", "help", "?", "？"),
    "invite_code": ("邀请码", "我的邀请码"),
    "poster": ("海报", "邀请海报", "推广海报", "我的海报", "分享海报"),
    "today": ("今日", "今天", "业绩", "今日业绩", "佣金", "今日佣金", "团队", "我的团队", "数据"),
    "unlink": ("解绑", "解除绑定"),
    "notify_off": ("退订", "取消通知", "关闭通知", "不要通知"),
    "notify_on": ("订阅", "开启通知", "打开通知"),
    "coupons": ("领券", "优惠券", "领优惠券"),
}
_LOOKUP = {word.lower(): name for name, words in _EXACT.items() for word in words}
_WITH_ARG = (
    ("link", re.compile(r"^(?:绑定|绑定码)[\s:：]*(\d{6})$")),
    ("customer", re.compile(r"^(?:客户|查客户|查询客户)[\s:：]+(.{1,40})$")),
    ("claim_coupon", re.compile(r"^(?:领券|领取优惠券)[\s:：]*(\d{1,12})$")),
)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # help | invite_code | poster | today | link | customer | unlink | notify_off | notify_on |
    #            coupons | claim_coupon
    arg: str = ""


def parse(text: str) -> Command | None:
    """The command in a message, or None for conversation."""
    cleaned = text.replace("\u2005", " ").strip()
    if not cleaned or len(cleaned) > 60:
        return None
    name = _LOOKUP.get(cleaned.lower())
    if name:
        return Command(name)
    for name, pattern in _WITH_ARG:
        m = pattern.match(cleaned)
        if m:
            return Command(name, m.group(1).strip())
    return None


def link_code_in(text: str) -> str | None:
    """A link code inside a friend request's greeting ("绑定 123456")."""
    m = re.search(r"绑定[\s:：]*(\d{6})", text or "")
    return m.group(1) if m else None
