"""The daily summary: real figures from members, orders and the ledger, queued to each
promoter's channel once, quiet days and opt-outs sending nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.service import adjust_member
from backend.notifications import dispatch, service
from backend.notifications.daily import member_day
from backend.notifications.jobs import build_daily_summaries, build_tenant_daily
from backend.notifications.messages import china_day
from backend.notifications.models import DailyRun, OutboxMessage
from tests.notifications_factories import freeze_reward, link, settle_reward, wecom_texts

DAY_NOW = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)  # 08:30 in China: yesterday is Nov 2
IN_DAY = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 11:00 on Nov 2, China
BEFORE_DAY = datetime(2026, 11, 1, 15, 59, tzinfo=UTC)  # 23:59 on Nov 1, China


def _outbox(tenant: Any) -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.tenant_id == tenant.id, OutboxMessage.kind == "daily_summary")
        .order_by(OutboxMessage.member_id)))


@pytest.fixture()
def team(factory: Any) -> Any:
    """A → B → C → D, bound over the days around Nov 2 (China)."""
    tenant = factory.tenant()
    a = factory.member(tenant, nickname="阿大", now=BEFORE_DAY - timedelta(days=5))
    b = factory.member(tenant, parent=a, nickname="阿二", now=BEFORE_DAY)  # the day before: not new
    c = factory.member(tenant, parent=b, nickname="阿三", now=IN_DAY)
    d = factory.member(tenant, parent=c, nickname="阿四", now=IN_DAY + timedelta(hours=3))
    return tenant, a, b, c, d


def test_yesterdays_summary_counts_new_members_by_level_and_china_day_commission(team: Any,
                                                                                 sandbox: Any) -> None:
    tenant, a, b, c, _ = team
    freeze_reward(tenant, a, 1200, key="f-a", now=IN_DAY)
    freeze_reward(tenant, a, 999, key="f-a-late", now=DAY_NOW)  # Nov 3: not yesterday
    settle_reward(tenant, a, 1000, key="s-a", now=IN_DAY + timedelta(hours=1))
    freeze_reward(tenant, b, 1800, key="f-b", now=IN_DAY)
    link(tenant, transport="wecom", contact_id="u-a", member=a, now=IN_DAY)
    link(tenant, transport="wechaty", contact_id="wx-b", member=b, now=IN_DAY)

    assert build_daily_summaries(now=DAY_NOW) == 2  # c had news too (a new member) but no channel
    rows = {r.member_id: r for r in _outbox(tenant)}
    assert set(rows) == {a.id, b.id}
    assert rows[a.id].payload == {"day": "2026-11-02", "new": [0, 1, 1], "orders": 0, "order_fen": 0,
                                  "frozen_fen": 1200, "settled_fen": 1000, "balance_fen": 1000}
    assert rows[b.id].payload["new"] == [1, 1, 0] and rows[b.id].payload["frozen_fen"] == 1800
    assert (rows[a.id].status, rows[a.id].channel) == ("pending", "wecom")
    assert (rows[b.id].status, rows[b.id].channel) == ("bot_pending", "bot")

    dispatch.deliver_due(now=DAY_NOW)
    # The new-fan alert queued when 阿二 bound goes out too, before the summary.
    assert wecom_texts(sandbox, tenant, "u-a") == [f"【{tenant.name}】新成员加入：阿二 成为您的一级团队成员。", "\n".join([
        f"【{tenant.name}】11月2日团队与佣金",
        "新增团队成员：2 人（一级 0 / 二级 1 / 三级 1）",
        "团队订单：0 单，金额 ¥0.00",
        "新增佣金（冻结中）：¥12.00",
        "结算到账：¥10.00",
        "可提现余额：¥10.00"])]


def test_the_set_based_summary_equals_the_per_member_figures(team: Any) -> None:
    tenant, a, b, c, d = team
    freeze_reward(tenant, c, 321, key="f-c", now=IN_DAY)
    for m in (a, b, c, d):
        link(tenant, transport="wecom", contact_id=f"u-{m.id}", member=m, now=IN_DAY)
    build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    queued = {r.member_id: r.payload for r in _outbox(tenant)}
    assert set(queued) == {a.id, b.id, c.id}  # d: nothing happened to d's team
    for member_id, payload in queued.items():
        assert member_day(tenant_id=tenant.id, member_id=member_id, day=IN_DAY.date()).as_payload() == payload


def test_running_the_daily_job_twice_queues_each_summary_once(team: Any) -> None:
    tenant, a, *_ = team
    link(tenant, transport="wecom", contact_id="u-a", member=a, now=IN_DAY)
    first = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    second = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    assert (first.enqueued, second.enqueued) == (1, 0)
    assert len(_outbox(tenant)) == 1


def test_a_crashed_run_resumes_after_its_last_committed_chunk(team: Any) -> None:
    tenant, a, b, c, d = team
    for m in (a, b, c):
        link(tenant, transport="wecom", contact_id=f"u-{m.id}", member=m, now=IN_DAY)
    from backend.db import run_in_unit_of_work
    from backend.notifications import daily

    f = daily.day_figures(tenant_id=tenant.id, day=IN_DAY.date())
    first = run_in_unit_of_work(lambda: daily.build_chunk(tenant_id=tenant.id, day=IN_DAY.date(), f=f,
                                                          due=DAY_NOW, now=DAY_NOW, chunk=2))
    assert (first.built, first.enqueued, first.finished) == (2, 2, False)  # then the process died
    rest = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW, chunk=2)
    assert (rest.built, rest.enqueued) == (2, 1)
    assert sorted(r.member_id for r in _outbox(tenant)) == [a.id, b.id, c.id]
    run = db.session.scalar(select(DailyRun).where(DailyRun.tenant_id == tenant.id))
    assert (run.built, run.enqueued, run.last_member_id) == (4, 3, d.id)


def test_opted_out_and_unreachable_promoters_get_nothing(team: Any) -> None:
    tenant, a, b, c, _ = team
    link(tenant, transport="wecom", contact_id="u-a", member=a, now=IN_DAY)
    link(tenant, transport="wecom", contact_id="u-b", member=b, now=IN_DAY)
    with unit_of_work():
        service.set_preferences(tenant_id=tenant.id, member_id=b.id, daily_enabled=False, now=IN_DAY)
    result = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    assert [r.member_id for r in _outbox(tenant)] == [a.id]
    assert (result.built, result.enqueued, result.unreachable, result.quiet) == (4, 1, 2, 1)


def test_a_frozen_promoter_with_news_gets_no_summary_and_is_not_counted(team: Any) -> None:
    tenant, a, b, c, _ = team
    for m in (a, b, c):
        link(tenant, transport="wecom", contact_id=f"u-{m.id}", member=m, now=IN_DAY)
    with unit_of_work():
        adjust_member(tenant_id=tenant.id, member_id=b.id, changes={"promoter_status": "frozen"}, actor="test")
    result = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW, chunk=2)
    assert [r.member_id for r in _outbox(tenant)] == [a.id, c.id]
    assert (result.built, result.enqueued, result.quiet) == (3, 2, 1)  # a, c and the quiet d


def test_quiet_promoters_between_and_after_those_with_news_are_counted_once(factory: Any) -> None:
    tenant = factory.tenant()
    root = factory.member(tenant, now=BEFORE_DAY - timedelta(days=5))
    quiet = [factory.member(tenant, now=BEFORE_DAY) for _ in range(3)]
    news = factory.member(tenant, parent=root, now=IN_DAY)  # root has news: a new team member
    freeze_reward(tenant, news, 500, key="f-news", now=IN_DAY)  # and so has news itself
    tail = [factory.member(tenant, now=BEFORE_DAY) for _ in range(2)]
    link(tenant, transport="wecom", contact_id="u-root", member=root, now=IN_DAY)
    result = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW, chunk=1)
    assert [r.member_id for r in _outbox(tenant)] == [root.id]
    assert (result.built, result.enqueued, result.unreachable, result.quiet) == (
        1 + len(quiet) + 1 + len(tail), 1, 1, len(quiet) + len(tail))
    run = db.session.scalar(select(DailyRun).where(DailyRun.tenant_id == tenant.id))
    assert (run.built, run.last_member_id, run.finished_at is not None) == (7, tail[-1].id, True)


def test_subscribe_messages_spend_one_consent_each_and_stop_when_none_is_left(team: Any, sandbox: Any) -> None:
    tenant, a, *_ = team
    with unit_of_work():
        service.update_settings(tenant_id=tenant.id, actor="test", now=IN_DAY,
                                changes={"daily_template_id": "TPL_DAILY"})
        service.add_subscribe_credits(tenant_id=tenant.id, member_id=a.id, daily=1, now=IN_DAY)
    build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    assert dispatch.deliver_due(now=DAY_NOW).sent == 1
    [msg] = [m for m in sandbox.subscribe_messages if m["template_id"] == "TPL_DAILY"]
    assert msg["touser"] == a.openid
    assert msg["data"] == {"thing1": {"value": "11月2日团队与佣金"}, "thing2": {"value": "新增2人 0单 佣金0.00元"},
                           "date3": {"value": "2026-11-02"}}
    assert service.get_preferences(tenant_id=tenant.id, member_id=a.id)["daily_credits"] == 0
    next_day = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    with unit_of_work():
        service.enqueue_settlement_alert(tenant_id=tenant.id, member_id=a.id, amount_fen=5, count=1,
                                         settlement_key="k", now=next_day)
    assert dispatch.deliver_due(now=next_day).skipped == 1  # no alert template, no consent: unreachable


def test_the_brands_day_goes_to_its_wecom_group_robot_once(team: Any, sandbox: Any) -> None:
    tenant, a, b, *_ = team
    freeze_reward(tenant, b, 1800, key="f-b", now=IN_DAY)
    freeze_reward(tenant, a, 1200, key="f-a", now=IN_DAY)
    with unit_of_work():
        service.update_settings(tenant_id=tenant.id, actor="test", now=IN_DAY,
                                changes={"robot_daily_report": True})
    first = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    second = build_tenant_daily(tenant_id=tenant.id, day=IN_DAY.date(), now=DAY_NOW)
    assert (first.robot_posted, second.robot_posted) == (True, False)
    [post] = list(sandbox.robot_messages)
    assert post["msgtype"] == "markdown"
    content = post["body"]["content"]
    assert content.splitlines()[0] == f"**{tenant.name} 11月2日战报**"
    assert "新增佣金：¥30.00" in content
    assert content.splitlines()[-2:] == ["1. 阿二 ¥18.00", "2. 阿大 ¥12.00"]


def test_a_members_day_is_bounded_by_china_midnight(team: Any) -> None:
    tenant, a, b, c, d = team
    nov2 = member_day(tenant_id=tenant.id, member_id=a.id, day=china_day(IN_DAY))
    nov1 = member_day(tenant_id=tenant.id, member_id=a.id, day=china_day(BEFORE_DAY))
    assert (nov2.new_l1, nov2.new_l2, nov2.new_l3) == (0, 1, 1)
    assert (nov1.new_l1, nov1.new_l2, nov1.new_l3) == (1, 0, 0)  # b, bound at 23:59 on Nov 1
