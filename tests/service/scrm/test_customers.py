"""Customers arriving through staff codes, ownership, manual adds, phone capture, remarks
and reminders, and who may see what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.errors import InvalidScene
from backend.members.models import Binding, Member
from backend.scrm import service as scrm
from backend.scrm.errors import (
    CustomerExists,
    CustomerNotFound,
    CustomerNotYours,
    InvalidCustomerField,
    InvalidReminder,
    ReminderClosed,
    ReminderNotFound,
    StaffCodeExists,
)
from backend.scrm.models import Customer, Ownership, Reminder
from backend.staff.models import StaffAccount
from backend.wechat.errors import InvalidPhoneCode
from tests.scrm_factories import add_customer, arrive, events, fresh, mp_code, rule, tag_group, tag_names


def owners(customer_id: int) -> list[tuple[int, str, str | None]]:
    rows = db.session.scalars(select(Ownership).where(Ownership.customer_id == customer_id)
                              .order_by(Ownership.id).execution_options(populate_existing=True))
    return [(o.staff_id, o.reason, o.end_reason) for o in rows]


# ------------------------------------------------------------------ arrivals


def test_a_member_scanning_a_staff_code_becomes_that_staff_members_customer(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    code = mp_code(tenant, sales, channel="门店")
    store = tag_group(tenant, "来源", ["门店客户"])["门店客户"]
    rule(tenant, store, "channel", {"channels": ["门店"]})
    member = factory.member(tenant, nickname="王女士")

    arrival = arrive(tenant, member, sales)
    assert (arrival.status, arrival.owner_staff_id, arrival.bind_status) == (
        "assigned", sales.id, "unchanged")  # the staff account has no member: nothing to bind
    customer = fresh(Customer, arrival.customer_id)
    assert (customer.member_id, customer.name, customer.source, customer.channel) == (
        member.id, "王女士", "mp_code", "门店")
    assert owners(customer.id) == [(sales.id, "mp_code", None)]
    assert db.session.scalar(select(Ownership.code_id).where(
        Ownership.customer_id == customer.id)) == code.id
    assert tag_names(tenant, customer.id) == ["门店客户"]
    assert [e.kind for e in events(customer.id)] == ["added", "tag_add"]

    again = arrive(tenant, member, sales)
    assert (again.customer_id, again.status) == (customer.id, "kept")
    assert [e.kind for e in events(customer.id)] == ["added", "tag_add"]  # nothing new


def test_a_staff_member_with_a_member_account_also_binds_the_customer_as_a_fan(factory: Any) -> None:
    tenant = factory.tenant()
    own = factory.member(tenant)
    sales = factory.staff(tenant, "sales", member_id=own.id)
    member = factory.member(tenant)
    arrival = arrive(tenant, member, sales)
    assert (arrival.status, arrival.bind_status) == ("assigned", "bound")
    assert fresh(Member, member.id).parent_id == own.id
    assert db.session.scalar(select(Binding.source).where(Binding.member_id == member.id)) == "staff_code"


def test_the_first_staff_member_keeps_the_customer_until_their_account_is_closed(factory: Any) -> None:
    tenant = factory.tenant()
    first, second = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    member = factory.member(tenant)
    customer_id = arrive(tenant, member, first).customer_id

    assert arrive(tenant, member, second).status == "other_owner"
    assert fresh(Customer, customer_id).owner_staff_id == first.id

    with unit_of_work():
        db.session.execute(update(StaffAccount).where(StaffAccount.id == first.id)
                           .values(status="disabled"))
    assert arrive(tenant, member, second).status == "assigned"
    assert fresh(Customer, customer_id).owner_staff_id == second.id
    assert owners(customer_id) == [(first.id, "mp_code", "owner_left"), (second.id, "mp_code", None)]


def test_only_one_mini_program_code_per_staff_member_and_scenes_must_name_staff(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    code = mp_code(tenant, sales, channel="门店")
    assert (code.kind, code.state) == ("mp", f"s={sales.id}")
    with pytest.raises(StaffCodeExists):
        mp_code(tenant, sales)
    member = factory.member(tenant)
    with pytest.raises(InvalidScene), unit_of_work():
        scrm.arrive_by_scene(tenant_id=tenant.id, member_id=member.id,
                             scene=f"i={member.invite_code}", now=utcnow())


def test_an_inactive_code_creates_the_customer_without_an_owner(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    code = mp_code(tenant, sales)
    with unit_of_work():
        scrm.set_staff_code_active(tenant_id=tenant.id, code_id=code.id, active=False, actor="test")
    arrival = arrive(tenant, factory.member(tenant), sales)
    assert (arrival.status, arrival.owner_staff_id) == ("staff_inactive", None)


def test_a_bot_friend_becomes_one_customer_however_often_they_are_seen(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    with unit_of_work():
        first = scrm.upsert_contact_customer(tenant_id=tenant.id, staff_id=sales.id,
                                             contact_id="wxid_abc", name="老李", now=utcnow())
    with unit_of_work():
        again = scrm.upsert_contact_customer(tenant_id=tenant.id, staff_id=sales.id,
                                             contact_id="wxid_abc", name="李先生", now=utcnow())
    assert first.id == again.id and fresh(Customer, first.id).name == "老李"
    assert fresh(Customer, first.id).owner_staff_id == sales.id
    found = scrm.find_customer_by_contact(tenant_id=tenant.id, im_contact_id="wxid_abc")
    assert found is not None and found.id == first.id
    assert scrm.find_customer_by_contact(tenant_id=tenant.id, im_contact_id="wxid_zzz") is None


# ------------------------------------------------------------------ manual add and phone


def test_a_staff_member_adds_a_customer_by_hand_with_tags_and_a_first_remark(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    level = tag_group(tenant, "意向", ["高意向", "低意向"])
    customer = add_customer(tenant, sales, name="  张三 ", phone="+86 138-0013-8000",
                            channel="展会", remark="展会上聊过普洱", tag_ids=[level["高意向"]])
    customer = fresh(Customer, customer.id)
    assert (customer.name, customer.phone, customer.source, customer.owner_staff_id) == (
        "张三", "13800138000", "manual", sales.id)
    assert tag_names(tenant, customer.id) == ["高意向"]
    assert [(e.kind, e.content) for e in events(customer.id)] == [
        ("added", ""), ("tag_add", "高意向"), ("remark", "展会上聊过普洱")]


def test_a_phone_number_already_on_file_is_refused_and_only_its_owner_learns_the_id(
        factory: Any) -> None:
    tenant = factory.tenant()
    a, b = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    boss = factory.staff(tenant, "boss")
    existing = add_customer(tenant, a, phone="13800138000")
    with pytest.raises(CustomerExists) as mine:
        add_customer(tenant, a, name="李四", phone="138 0013 8000")
    assert mine.value.details == {"customer_id": existing.id}
    with pytest.raises(CustomerExists) as theirs:
        add_customer(tenant, b, name="李四", phone="13800138000")
    assert theirs.value.details is None and "其他员工" in theirs.value.message
    with pytest.raises(CustomerExists) as boss_sees:
        add_customer(tenant, boss, name="李四", phone="13800138000")
    assert boss_sees.value.details == {"customer_id": existing.id}


@pytest.mark.parametrize("fields", [{"name": ""}, {"phone": "12345"}, {"phone": "2380013800"},
                                    {"channel": "渠" * 33}, {"name": "a\x00b"}])
def test_bad_customer_fields_are_refused(factory: Any, fields: dict) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    with pytest.raises(InvalidCustomerField):
        add_customer(tenant, sales, **{"name": "张三", **fields})


def test_phone_capture_through_the_sandbox_links_a_customer_typed_in_with_that_number(
        factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    typed = add_customer(tenant, sales, name="电话客户", phone="13912345678")
    member = factory.member(tenant)
    with unit_of_work():
        customer = scrm.capture_phone(tenant_id=tenant.id, member_id=member.id,
                                      code="p:13912345678", now=utcnow())
    assert customer.id == typed.id
    row = fresh(Customer, typed.id)
    assert (row.member_id, row.phone, row.owner_staff_id) == (member.id, "13912345678", sales.id)
    assert fresh(Member, member.id).phone == "13912345678"

    stranger = factory.member(tenant)
    with unit_of_work():
        own = scrm.capture_phone(tenant_id=tenant.id, member_id=stranger.id, code="p:13700000001",
                                 now=utcnow())
    row = fresh(Customer, own.id)
    assert (row.member_id, row.phone, row.source, row.owner_staff_id) == (
        stranger.id, "13700000001", "phone", None)
    assert [e.kind for e in events(own.id)] == ["phone"]
    with pytest.raises(InvalidPhoneCode), unit_of_work():
        scrm.capture_phone(tenant_id=tenant.id, member_id=stranger.id, code="invalid-1", now=utcnow())


# ------------------------------------------------------------------ access


def test_sales_staff_see_only_their_customers_and_managers_see_all(factory: Any) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    a, b = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    boss = factory.staff(tenant, "boss")
    outsider = factory.staff(other, "boss")
    mine = add_customer(tenant, a, name="甲客户", phone="13800000001")
    theirs = add_customer(tenant, b, name="乙客户", phone="13800000002")

    assert [c.id for c in scrm.list_customers(tenant_id=tenant.id, staff_id=a.id)] == [mine.id]
    assert [c.id for c in scrm.list_customers(tenant_id=tenant.id, staff_id=boss.id)] == [
        mine.id, theirs.id]
    assert [c.id for c in scrm.list_customers(tenant_id=tenant.id, staff_id=boss.id,
                                              owner_staff_id=b.id)] == [theirs.id]
    assert [c.id for c in scrm.list_customers(tenant_id=tenant.id, staff_id=boss.id,
                                              query="0002")] == [theirs.id]
    assert [c.id for c in scrm.find_customers(tenant_id=tenant.id, staff_id=a.id, text="客户")] == [
        mine.id]
    member = factory.member(tenant)
    fan = arrive(tenant, member, a)
    assert [c.id for c in scrm.find_customers(tenant_id=tenant.id, staff_id=a.id,
                                              text=member.invite_code.lower())] == [fan.customer_id]
    with pytest.raises(CustomerNotYours):
        scrm.get_customer(tenant_id=tenant.id, staff_id=a.id, customer_id=theirs.id)
    with pytest.raises(CustomerNotYours), unit_of_work():
        scrm.add_remark(tenant_id=tenant.id, staff_id=a.id, customer_id=theirs.id, content="x",
                        now=utcnow())
    assert scrm.get_customer(tenant_id=tenant.id, staff_id=boss.id, customer_id=theirs.id).id == theirs.id
    with pytest.raises(CustomerNotFound):
        scrm.get_customer(tenant_id=other.id, staff_id=outsider.id, customer_id=mine.id)


# ------------------------------------------------------------------ remarks and reminders


def test_remarks_and_follow_ups_form_a_newest_first_timeline_on_the_card(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    t0 = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    with unit_of_work():
        scrm.add_remark(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                        content="喜欢熟普", now=t0)
        scrm.add_remark(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                        content="电话回访，下周再约", follow_up=True, now=t0 + timedelta(minutes=1))
    card = scrm.customer_card(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id)
    assert [(r["kind"], r["content"]) for r in card["remarks"]] == [
        ("follow_up", "电话回访，下周再约"), ("remark", "喜欢熟普")]
    assert fresh(Customer, customer.id).last_followed_at == t0 + timedelta(minutes=1)
    page = scrm.timeline(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id, limit=2)
    assert [e.kind for e in page] == ["follow_up", "remark"]
    older = scrm.timeline(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                          before_id=page[-1].id)
    assert [e.kind for e in older] == ["added"]
    with pytest.raises(InvalidCustomerField), unit_of_work():
        scrm.add_remark(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                        content="   ", now=t0)


def test_a_reminder_falls_due_is_completed_as_a_follow_up_and_cannot_close_twice(
        factory: Any) -> None:
    tenant = factory.tenant()
    sales, other = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    now = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    with unit_of_work():
        reminder = scrm.create_reminder(tenant_id=tenant.id, staff_id=sales.id,
                                        customer_id=customer.id, due_at=now + timedelta(days=2),
                                        note="问问茶喝完没有", now=now)
    assert scrm.list_reminders(tenant_id=tenant.id, staff_id=sales.id, due_before=now) == []
    due = scrm.list_reminders(tenant_id=tenant.id, staff_id=sales.id,
                              due_before=now + timedelta(days=3))
    assert [r.id for r in due] == [reminder.id]
    with pytest.raises(ReminderNotFound), unit_of_work():
        scrm.complete_reminder(tenant_id=tenant.id, staff_id=other.id, reminder_id=reminder.id,
                               now=now)
    later = now + timedelta(days=2, hours=1)
    with unit_of_work():
        scrm.complete_reminder(tenant_id=tenant.id, staff_id=sales.id, reminder_id=reminder.id,
                               note="已回访，准备复购", now=later)
    row = fresh(Reminder, reminder.id)
    assert (row.status, row.done_at) == ("done", later)
    assert [(e.kind, e.content) for e in events(customer.id, "follow_up")] == [
        ("follow_up", "已回访，准备复购")]
    assert fresh(Customer, customer.id).last_followed_at == later
    with pytest.raises(ReminderClosed), unit_of_work():
        scrm.cancel_reminder(tenant_id=tenant.id, staff_id=sales.id, reminder_id=reminder.id,
                             now=later)


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(days=400)])
def test_a_reminder_in_the_past_or_beyond_a_year_is_refused(factory: Any, offset: timedelta) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    now = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    with pytest.raises(InvalidReminder), unit_of_work():
        scrm.create_reminder(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                             due_at=now + offset, now=now)


def test_due_reminders_are_sent_once_to_the_staff_members_wecom(factory: Any, sandbox: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    with unit_of_work():
        scrm.set_staff_wecom_user(tenant_id=tenant.id, staff_id=sales.id,
                                  wecom_user_id=f"zhangsan{tenant.id}", actor="test")
    customer = add_customer(tenant, sales, name="复购客户")
    now = utcnow().replace(microsecond=0)  # MariaDB DATETIME keeps whole seconds
    with unit_of_work():
        scrm.create_reminder(tenant_id=tenant.id, staff_id=sales.id, customer_id=customer.id,
                             due_at=now + timedelta(hours=1), note="提醒复购", now=now)
    before = len(sandbox.wecom_messages)
    with unit_of_work():
        assert scrm.notify_due_reminders(now=now) == 0
    with unit_of_work():
        assert scrm.notify_due_reminders(now=now + timedelta(hours=2)) == 1
    with unit_of_work():
        assert scrm.notify_due_reminders(now=now + timedelta(hours=3)) == 0
    sent = sandbox.wecom_messages[before:]
    assert [(m["touser"], m["body"]["content"]) for m in sent] == [
        ([f"zhangsan{tenant.id}"], "跟进提醒（1 条）\n· 复购客户：提醒复购")]
