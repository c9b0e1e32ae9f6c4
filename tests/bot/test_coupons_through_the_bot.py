"""The bot hands out coupons: a linked member asks for the list and claims one; the
limits hold as anywhere, and the refusal is the service's Chinese message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.marketing.models import MemberCoupon
from bot.assistant import Assistant, Chat
from tests.marketing_factories import coupon
from tests.notifications_factories import link

NOW = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def test_a_linked_member_lists_and_claims_a_coupon_through_the_bot(app: Any, factory: Any) -> None:
    t = factory.tenant()
    member = factory.member(t)
    link(t, transport="wecom", contact_id="xiaomei", member=member, now=NOW)
    cid = coupon(t, name="满100减30")
    bot = Assistant(app, t.id, clock=lambda: NOW)
    chat = Chat("wecom", "xiaomei", "小美")

    listed = bot.on_text(chat, "领券").replies[0].text
    assert listed == f"可领取的优惠券：\n{cid}. 满100减30（满 100.00 元减 30.00 元）\n发送「领券 编号」即可领取。"
    claimed = bot.on_text(chat, f"领券 {cid}").replies[0].text
    assert claimed.startswith("领取成功：满100减30，有效期至 2026-12-03 14:00")
    again = bot.on_text(chat, f"领券 {cid}").replies[0].text
    assert again == "该券每人限领 1 张"
    db.session.rollback()  # the bot committed in its own session: end this one's snapshot (MariaDB)
    held = db.session.scalars(select(MemberCoupon)).all()
    assert [(h.member_id, h.source) for h in held] == [(member.id, "bot")]
    assert bot.on_text(Chat("wecom", "stranger"), f"领券 {cid}").replies[0].text.startswith("请先")
