"""Real threads against MariaDB: one person arriving many ways at once is one customer with
one owner; a WeCom callback replayed at once is handled once; racing hand-overs leave
every customer exactly one open ownership period."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.scrm import service as scrm
from backend.scrm import workload
from backend.scrm.models import Customer, CustomerEvent, Ownership
from backend.wechat.sandbox import flask_client_sender
from backend.wechat.service import credentials
from tests.concurrency import race
from tests.scrm_factories import add_customer

pytestmark = pytest.mark.mariadb


def test_one_member_scanning_ten_staff_codes_at_once_is_one_customer_with_one_owner(
        app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    staff_ids = [factory.staff(tenant, "sales").id for _ in range(10)]
    member_id, tid = factory.member(tenant).id, tenant.id
    outcomes = race(app, [
        (lambda s=s: scrm.arrive_by_scene(tenant_id=tid, member_id=member_id, scene=f"s={s}",
                                          now=utcnow()).status) for s in staff_ids])
    assert sorted(outcomes) == ["assigned"] + ["other_owner"] * 9, outcomes
    [customer] = db.session.scalars(select(Customer).where(Customer.tenant_id == tid))
    open_periods = db.session.scalars(select(Ownership.staff_id).where(
        Ownership.customer_id == customer.id, Ownership.ended_at.is_(None))).all()
    assert open_periods == [customer.owner_staff_id]
    assert db.session.scalar(select(func.count()).select_from(CustomerEvent).where(
        CustomerEvent.customer_id == customer.id, CustomerEvent.kind == "added")) == 1


def test_a_wecom_callback_delivered_eight_times_at_once_is_handled_once(
        app: Any, factory: Any, sandbox: Any) -> None:
    slug = f"wcc{uuid.uuid4().hex[:8]}"
    tenant = factory.tenant(slug)
    sandbox.register_tenant(credentials(tenant_id=tenant.id), wecom_callback_url=f"/wecom/{slug}")
    staff = factory.staff(tenant, "sales")
    with unit_of_work():
        scrm.set_staff_wecom_user(tenant_id=tenant.id, staff_id=staff.id, wecom_user_id="racer",
                                  actor="test")
        code = scrm.create_staff_code(tenant_id=tenant.id, staff_id=staff.id, kind="wecom",
                                      actor="test")
    # the first delivery is dropped (no callback URL yet); then eight replays race
    external_userid, _ = sandbox.wecom_add_customer(code.config_id, "u-racer",
                                                    url="http://127.0.0.1:9/unreachable")
    request = sandbox.build_wecom_callback(credentials(tenant_id=tenant.id).wecom.corp_id, {
        "ToUserName": "x", "FromUserName": "sys", "CreateTime": 1700000000, "MsgType": "event",
        "Event": "change_external_contact", "ChangeType": "add_external_contact",
        "UserID": "racer", "ExternalUserID": external_userid, "State": code.state})
    results: list[int] = []

    def deliver() -> None:
        results.append(flask_client_sender(app.test_client())(request).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    # one delivery handles the event; the seven identical ones racing it are refused as
    # replays (the push guard), which changes nothing either
    assert sorted(results) == [200] + [403] * 7
    [customer] = db.session.scalars(select(Customer).where(Customer.tenant_id == tenant.id))
    assert (customer.external_userid, customer.owner_staff_id) == (external_userid, staff.id)
    assert db.session.scalar(select(func.count()).select_from(CustomerEvent).where(
        CustomerEvent.customer_id == customer.id, CustomerEvent.kind == "added")) == 1


def test_racing_hand_overs_leave_each_customer_one_open_ownership(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    leaver = factory.staff(tenant, "sales")
    heirs = [factory.staff(tenant, "sales").id for _ in range(4)]
    ids = [add_customer(tenant, leaver, name=f"客户{i}").id for i in range(30)]
    tid, leaver_id = tenant.id, leaver.id
    outcomes = race(app, [
        (lambda h=h: workload.hand_over_customers(tenant_id=tid, from_staff_id=leaver_id,
                                                  to_staff_id=h, actor="t", now=utcnow()))
        for h in heirs])
    assert sorted(outcomes) == [0, 0, 0, 30], outcomes
    rows = db.session.execute(select(Ownership.customer_id, func.count()).where(
        Ownership.customer_id.in_(ids), Ownership.ended_at.is_(None))
        .group_by(Ownership.customer_id)).all()
    assert sorted(rows) == [(i, 1) for i in ids]
    owners = set(db.session.scalars(select(Customer.owner_staff_id).where(Customer.id.in_(ids))))
    assert len(owners) == 1 and owners <= set(heirs)
