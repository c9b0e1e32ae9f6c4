"""Becoming a promoter (SPEC §2) by the tenant's promoter_mode: an application staff
review (apply), or by itself once a purchase condition holds (condition); each outcome
reaches the member as an alert."""

from __future__ import annotations

from typing import Any

import pytest

from backend.members import service as members
from backend.notifications.service import list_outbox
from tests.orders_factories import OrdersFactory

FORM = {"real_name": "王小明", "phone": "13800138000", "reason": "我有很多喜欢喝茶的朋友"}


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def _status(tenant: Any, member: Any) -> str:
    return members.get_member(tenant_id=tenant.id, member_id=member.id).promoter_status


def _alerts(tenant: Any, member: Any) -> list[dict[str, Any]]:
    return [m.payload for m in list_outbox(tenant_id=tenant.id, member_id=member.id) if m.kind == "promoter"]


def test_an_application_is_reviewed_rejected_with_a_reason_then_approved(client: Any, factory: Any) -> None:
    tenant = factory.tenant(promoter_mode="apply")
    member = factory.member(tenant)
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    me = factory.member_headers(member)
    assert _status(tenant, member) == "none"

    filed = client.post("/api/v1/mp/promoter/application", json=FORM, headers=me)
    assert filed.status_code == 201 and filed.json["status"] == "pending"
    assert _status(tenant, member) == "pending"
    again = client.post("/api/v1/mp/promoter/application", json=FORM, headers=me)
    assert (again.status_code, again.json["code"]) == (409, "promoter_application_pending")

    queue = client.get("/api/v1/admin/promoter-applications", headers=boss).json["items"]
    assert [(a["member_id"], a["real_name"]) for a in queue] == [(member.id, "王小明")]
    app_id = queue[0]["id"]
    no_reason = client.post(f"/api/v1/admin/promoter-applications/{app_id}/reject", json={"reason": ""},
                            headers=boss)
    assert no_reason.status_code == 400 and _status(tenant, member) == "pending"
    rejected = client.post(f"/api/v1/admin/promoter-applications/{app_id}/reject",
                           json={"reason": "资料不完整"}, headers=boss)
    assert rejected.status_code == 200 and rejected.json["reject_reason"] == "资料不完整"
    assert _status(tenant, member) == "none"
    twice = client.post(f"/api/v1/admin/promoter-applications/{app_id}/approve", headers=boss)
    assert (twice.status_code, twice.json["code"]) == (409, "promoter_application_decided")
    assert _alerts(tenant, member) == [{"outcome": "rejected", "reason": "资料不完整"}]

    second = client.post("/api/v1/mp/promoter/application", json=FORM, headers=me).json
    approved = client.post(f"/api/v1/admin/promoter-applications/{second['id']}/approve", headers=boss)
    assert approved.status_code == 200 and _status(tenant, member) == "active"
    mine = client.get("/api/v1/mp/promoter/application", headers=me).json
    assert mine["promoter_status"] == "active" and mine["application"]["status"] == "approved"
    assert {"outcome": "approved", "reason": None} in _alerts(tenant, member)
    audit = client.get("/api/v1/admin/audit?target_type=promoter_application", headers=boss).json["items"]
    assert {a["action"] for a in audit} == {"promoter_application.rejected", "promoter_application.approved"}


def test_a_brand_that_makes_everyone_a_promoter_takes_no_applications(client: Any, factory: Any) -> None:
    tenant = factory.tenant(promoter_mode="auto")
    member = factory.member(tenant)
    resp = client.post("/api/v1/mp/promoter/application", json=FORM, headers=factory.member_headers(member))
    assert (resp.status_code, resp.json["code"]) == (403, "promoter_applications_closed")
    bad_phone = client.post("/api/v1/mp/promoter/application", json={**FORM, "phone": "12345"},
                            headers=factory.member_headers(member))
    assert bad_phone.status_code == 400


def test_another_tenants_staff_cannot_decide_an_application(client: Any, factory: Any) -> None:
    tenant, other = factory.tenant(promoter_mode="apply"), factory.tenant(promoter_mode="apply")
    member = factory.member(tenant)
    filed = client.post("/api/v1/mp/promoter/application", json=FORM,
                        headers=factory.member_headers(member)).json
    stranger = factory.staff_headers(factory.staff(other, "boss"))
    resp = client.post(f"/api/v1/admin/promoter-applications/{filed['id']}/approve", headers=stranger)
    assert resp.status_code == 404 and _status(tenant, member) == "pending"


def test_buying_the_named_product_makes_a_member_a_promoter_by_condition(
        client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant(promoter_mode="condition")
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    _, cup_sku = orders.product(tenant, name="青瓷杯", price_fen=3900)
    gift, gift_sku = orders.product(tenant, name="推广员礼包", price_fen=39900)
    incomplete = client.patch("/api/v1/admin/tenant/policy", json={"promoter_condition": {"kind": "bought"}},
                              headers=boss)
    assert incomplete.status_code == 400
    policy = client.patch("/api/v1/admin/tenant/policy",
                          json={"promoter_condition": {"kind": "bought", "product_ids": [gift]}}, headers=boss)
    assert policy.status_code == 200 and policy.json["promoter_condition"] == {"kind": "bought",
                                                                               "product_ids": [gift]}
    buyer = factory.member(tenant)
    orders.paid_order(tenant, buyer, [(cup_sku, 1)])
    assert _status(tenant, buyer) == "none"
    orders.paid_order(tenant, buyer, [(gift_sku, 1)])
    assert _status(tenant, buyer) == "active"
    assert _alerts(tenant, buyer) == [{"outcome": "condition_met", "reason": None}]


def test_spending_enough_in_all_makes_a_member_a_promoter(client: Any, factory: Any,
                                                          orders: OrdersFactory) -> None:
    tenant = factory.tenant(promoter_mode="condition")
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    client.patch("/api/v1/admin/tenant/policy", json={"promoter_condition": {"kind": "spent", "min_fen": 10000}},
                 headers=boss)
    _, sku = orders.product(tenant, price_fen=6000)
    buyer = factory.member(tenant)
    orders.paid_order(tenant, buyer, [(sku, 1)])
    assert _status(tenant, buyer) == "none"  # 60 元 so far
    orders.paid_order(tenant, buyer, [(sku, 1)])
    assert _status(tenant, buyer) == "active"  # 120 元 ≥ 100 元
