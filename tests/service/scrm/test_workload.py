"""The boss's workload view per staff member per China-local day, hand-over with history,
sales credited to whoever owned the customer when they paid, and purchase tag rules."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.scrm import jobs, workload
from backend.scrm import service as scrm
from backend.scrm import tags as tagging
from backend.scrm.access import china_day
from backend.scrm.errors import InvalidHandover, InvalidPeriod, StaffInactive
from backend.scrm.models import Customer, Reminder
from tests.orders_factories import OrdersFactory
from tests.scrm_factories import add_customer, arrive, events, fresh, rule, tag_group, tag_names


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def row(report: dict[str, Any], staff: Any, day: date | None = None) -> dict[str, int]:
    [entry] = [s for s in report["staff"] if s["staff_id"] == staff.id]
    if day is None:
        return entry["total"]
    [cell] = [d for d in entry["days"] if d["day"] == day.isoformat()]
    return {k: v for k, v in cell.items() if k != "day"}


def test_each_staff_members_day_counts_distinct_customers_per_china_local_day(factory: Any) -> None:
    tenant = factory.tenant()
    a, b = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    hobby = tag_group(tenant, "爱好", ["喝茶", "咖啡"])
    # 2026-03-01 23:30 China = 15:30 UTC; 2026-03-02 00:30 China = 16:30 UTC on the 1st
    late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    after_midnight = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    c1 = add_customer(tenant, a, name="一", now=late)
    c2 = add_customer(tenant, a, name="二", now=after_midnight)
    c3 = add_customer(tenant, b, name="三", now=after_midnight)
    with unit_of_work():
        for tag_id in (hobby["喝茶"], hobby["咖啡"]):  # two tags, one customer
            tagging.apply_tags(customer=fresh(Customer, c1.id), add=[tag_id], source="manual",
                               staff_id=a.id, now=after_midnight)
        for content in ("电话", "微信"):  # two follow-ups, one customer
            scrm.add_remark(tenant_id=tenant.id, staff_id=a.id, customer_id=c2.id, content=content,
                            follow_up=True, now=after_midnight)
        scrm.add_remark(tenant_id=tenant.id, staff_id=b.id, customer_id=c3.id, content="备注",
                        now=after_midnight)

    report = workload.staff_workload(tenant_id=tenant.id, start=date(2026, 3, 1),
                                     end=date(2026, 3, 2))
    assert report["days"] == ["2026-03-01", "2026-03-02"]
    assert row(report, a, date(2026, 3, 1)) == {
        "customers_added": 1, "customers_tagged": 0, "customers_followed_up": 0,
        "customers_remarked": 0, "orders": 0, "sales_fen": 0}
    assert row(report, a, date(2026, 3, 2)) == {
        "customers_added": 1, "customers_tagged": 1, "customers_followed_up": 1,
        "customers_remarked": 0, "orders": 0, "sales_fen": 0}
    assert row(report, b) == {"customers_added": 1, "customers_tagged": 0,
                              "customers_followed_up": 0, "customers_remarked": 1, "orders": 0,
                              "sales_fen": 0}
    [entry_a] = [s for s in report["staff"] if s["staff_id"] == a.id]
    assert entry_a["customers_owned"] == 2
    assert china_day(after_midnight) == date(2026, 3, 2)


@pytest.mark.parametrize("start, end", [(date(2026, 3, 2), date(2026, 3, 1)),
                                        (date(2026, 1, 1), date(2026, 4, 30))])
def test_a_backwards_or_too_long_period_is_refused(factory: Any, start: date, end: date) -> None:
    tenant = factory.tenant()
    with pytest.raises(InvalidPeriod):
        workload.staff_workload(tenant_id=tenant.id, start=start, end=end)


def test_a_hand_over_moves_customers_and_reminders_and_keeps_the_history(factory: Any) -> None:
    tenant = factory.tenant()
    leaver, heir = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    stays = factory.staff(tenant, "sales")
    t0 = utcnow().replace(microsecond=0) - timedelta(days=3)
    c1 = add_customer(tenant, leaver, name="一", now=t0)
    c2 = add_customer(tenant, leaver, name="二", now=t0)
    other = add_customer(tenant, stays, name="别人的", now=t0)
    with unit_of_work():
        reminder = scrm.create_reminder(tenant_id=tenant.id, staff_id=leaver.id, customer_id=c1.id,
                                        due_at=t0 + timedelta(days=5), note="回访", now=t0)
    now = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    with unit_of_work():
        moved = workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=leaver.id,
                                             to_staff_id=heir.id, actor="staff:1", now=now)
    assert moved == 2
    assert [c.id for c in scrm.list_customers(tenant_id=tenant.id, staff_id=heir.id)] == [c1.id, c2.id]
    assert scrm.list_customers(tenant_id=tenant.id, staff_id=leaver.id) == []
    assert fresh(Customer, other.id).owner_staff_id == stays.id
    history = workload.ownership_history(tenant_id=tenant.id, customer_id=c1.id)
    assert [(o.staff_id, o.reason, o.started_at, o.ended_at, o.end_reason) for o in history] == [
        (leaver.id, "manual", t0, now, "handover"), (heir.id, "handover", now, None, None)]
    assert fresh(Reminder, reminder.id).staff_id == heir.id
    assert [(e.kind, e.staff_id, e.data) for e in events(c2.id, "handover")] == [
        ("handover", heir.id, {"from_staff_id": leaver.id, "to_staff_id": heir.id})]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "scrm.handover"))
    assert (audit.actor, audit.after["customers"]) == ("staff:1", 2)


def test_a_hand_over_of_chosen_customers_refuses_ones_the_leaver_does_not_own(factory: Any) -> None:
    tenant = factory.tenant()
    a, b, c = (factory.staff(tenant, "sales") for _ in range(3))
    mine = [add_customer(tenant, a, name=f"客户{i}") for i in range(3)]
    theirs = add_customer(tenant, c, name="别人的")
    with pytest.raises(InvalidHandover) as err, unit_of_work():
        workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=a.id, to_staff_id=b.id,
                                     customer_ids=[mine[0].id, theirs.id], actor="t", now=utcnow())
    assert err.value.details == {"customer_ids": [theirs.id]}
    with unit_of_work():
        assert workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=a.id,
                                            to_staff_id=b.id, customer_ids=[mine[1].id],
                                            actor="t", now=utcnow()) == 1
    assert [fresh(Customer, m.id).owner_staff_id for m in mine] == [a.id, b.id, a.id]
    with pytest.raises(InvalidHandover), unit_of_work():
        workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=a.id, to_staff_id=a.id,
                                     actor="t", now=utcnow())


def test_customers_cannot_be_handed_to_an_inactive_account(factory: Any) -> None:
    from sqlalchemy import update

    from backend.staff.models import StaffAccount

    tenant = factory.tenant()
    a, gone = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    add_customer(tenant, a)
    with unit_of_work():
        db.session.execute(update(StaffAccount).where(StaffAccount.id == gone.id).values(status="disabled"))
    with pytest.raises(StaffInactive), unit_of_work():
        workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=a.id, to_staff_id=gone.id,
                                     actor="t", now=utcnow())


def test_sales_go_to_whoever_owned_the_customer_when_they_paid(
        factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    first, heir = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    buyer, stranger = factory.member(tenant), factory.member(tenant)
    _, sku = orders.product(tenant, price_fen=12900)
    arrive(tenant, buyer, first, now=utcnow() - timedelta(minutes=1))
    orders.paid_order(tenant, buyer, [(sku, 2)])
    # WeChat reports payment times in whole seconds: hand over on the next whole second,
    # so the first payment is strictly before it and the next one at or after it.
    time.sleep(1.01 - time.time() % 1)
    with unit_of_work():
        workload.hand_over_customers(tenant_id=tenant.id, from_staff_id=first.id,
                                     to_staff_id=heir.id, actor="t",
                                     now=utcnow().replace(microsecond=0))
    orders.paid_order(tenant, buyer, [(sku, 1)])
    orders.paid_order(tenant, stranger, [(sku, 5)])  # not anybody's customer
    orders.order(tenant, buyer, [(sku, 3)])  # unpaid

    today = china_day(utcnow())
    report = workload.staff_workload(tenant_id=tenant.id, start=today - timedelta(days=1), end=today)
    assert (row(report, first)["orders"], row(report, first)["sales_fen"]) == (1, 25800)
    assert (row(report, heir)["orders"], row(report, heir)["sales_fen"]) == (1, 12900)


def test_purchase_rules_tag_buyers_who_are_customers(factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    buyer, other = factory.member(tenant), factory.member(tenant)
    tea, tea_sku = orders.product(tenant, price_fen=30000, name="普洱")
    _, cup_sku = orders.product(tenant, price_fen=3000, name="杯")
    ids = tag_group(tenant, "消费", ["已购", "高消费", "茶客"])
    rule(tenant, ids["已购"], "purchase", {"min_orders": 1})
    rule(tenant, ids["高消费"], "purchase", {"min_total_fen": 50000})
    rule(tenant, ids["茶客"], "purchase", {"product_ids": [tea]})
    customer_id = arrive(tenant, buyer, sales, now=utcnow() - timedelta(minutes=1)).customer_id
    orders.paid_order(tenant, buyer, [(cup_sku, 1)])
    orders.paid_order(tenant, other, [(tea_sku, 2)])  # a member but not a customer: skipped

    assert jobs.tag_recent_buyers(now=utcnow()) == 1
    assert tag_names(tenant, customer_id) == ["已购"]
    orders.paid_order(tenant, buyer, [(tea_sku, 2)])
    assert jobs.tag_recent_buyers(now=utcnow()) == 2
    assert tag_names(tenant, customer_id) == ["已购", "高消费", "茶客"]
    assert jobs.tag_recent_buyers(now=utcnow()) == 0
    assert jobs.tag_recent_buyers(now=utcnow() + timedelta(hours=2)) == 0  # nobody paid lately
