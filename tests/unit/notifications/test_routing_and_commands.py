"""Pure pieces: which channel a message takes, what a chat message asks, China days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.notifications.messages import DaySummary, alert_text, china_day, day_window, summary_brief
from backend.notifications.routing import Reach, choose_route
from bot.commands import Command, link_code_in, parse


@pytest.mark.parametrize(("reach", "daily", "expected"), [
    (Reach(bot_contact="wx", wecom_user="u", openid="o", daily_credits=1), True, ("bot", "")),
    (Reach(choice="subscribe", bot_contact="wx", openid="o", daily_credits=1), True, ("subscribe", "")),
    (Reach(choice="subscribe", bot_contact="wx", openid="o", daily_credits=0), True, ("bot", "")),
    (Reach(choice="none", bot_contact="wx"), False, (None, "opted_out")),
    (Reach(daily_enabled=False, bot_contact="wx"), True, (None, "opted_out")),
    (Reach(daily_enabled=False, bot_contact="wx"), False, ("bot", "")),
    (Reach(openid="o", daily_credits=5), False, (None, "no_channel")),  # credits are for daily only
    (Reach(openid="o", alert_credits=1), False, ("subscribe", "")),
    (Reach(wecom_user="u"), True, ("wecom", "")),
])
def test_the_route_honours_choice_opt_outs_and_consent(reach: Reach, daily: bool,
                                                       expected: tuple[str | None, str]) -> None:
    route = choose_route(reach, daily=daily, daily_template=True, alert_template=True)
    assert (route.channel, route.reason) == expected


def test_subscribe_needs_the_tenants_template() -> None:
    reach = Reach(openid="o", daily_credits=3)
    assert choose_route(reach, daily=True, daily_template=False).reason == "no_channel"


@pytest.mark.parametrize(("text", "command"), [
    ("邀请码", Command("invite_code")), ("  海报 ", Command("poster")), ("今日", Command("today")),
    ("绑定 123456", Command("link", "123456")), ("绑定：654321", Command("link", "654321")),
    ("客户 13800138000", Command("customer", "13800138000")), ("HELP", Command("help")),
    ("退订", Command("notify_off")), ("今天天气不错", None), ("绑定 12345", None), ("", None),
])
def test_commands_are_read_from_short_messages(text: str, command: Command | None) -> None:
    assert parse(text) == command


def test_a_link_code_is_found_inside_a_friend_greeting() -> None:
    assert link_code_in("我是小美，绑定 246810 谢谢") == "246810"
    assert link_code_in("你好") is None


def test_a_china_day_runs_from_16_00_utc_to_16_00_utc() -> None:
    start, end = day_window(date(2026, 11, 2))
    assert (start, end) == (datetime(2026, 11, 1, 16, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC))
    assert china_day(datetime(2026, 11, 1, 16, 0, tzinfo=UTC)) == date(2026, 11, 2)
    assert china_day(datetime(2026, 11, 1, 15, 59, tzinfo=UTC)) == date(2026, 11, 1)


def test_a_quiet_day_has_no_news_but_a_balance_alone_is_not_news() -> None:
    assert not DaySummary(member_id=1, day=date(2026, 11, 2), balance_fen=5000).has_news()
    assert DaySummary(member_id=1, day=date(2026, 11, 2), settled_fen=1).has_news()


def test_texts_show_yuan_from_fen_exactly() -> None:
    assert alert_text("commission", {"order_id": 5, "amount_fen": 1999}) == \
        "新佣金：订单 5 为您带来 ¥19.99，冻结中，售后期结束后自动结算。"
    assert alert_text("team_member", {"nickname": "阿花", "level": 2}) == "新成员加入：阿花 成为您的二级团队成员。"
    brief = summary_brief(DaySummary(member_id=1, day=date(2026, 11, 2), new_l1=123, orders=4567,
                                     frozen_fen=123456789))
    assert len(brief) <= 20 and brief.startswith("新增123人")
