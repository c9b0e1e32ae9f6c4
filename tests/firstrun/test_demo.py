"""The demo tenant as `./dev run` seeds it: everything a newcomer opens has data, the
money adds up, and seeding again changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db import Base, unit_of_work
from backend.demo import DEMO_BOSS, DEMO_LOGINS, DEMO_SLUG, seed_demo, seed_demo_activity
from backend.extensions import db


def _row_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables}


@pytest.fixture()
def demo(app: Any, sandbox: Any) -> Any:
    from backend.wechat.sandbox import flask_client_sender
    from backend.wechat.service import credentials

    tenant = seed_demo(public_base_url="http://localhost")
    sandbox.register_tenant(credentials(tenant_id=tenant.id))
    assert seed_demo_activity(tenant, sandbox=sandbox, send=flask_client_sender(app.test_client()))
    return tenant


def _login(client: Any, code: str) -> dict[str, str]:
    res = client.post("/api/v1/mp/login", json={"tenant": DEMO_SLUG, "code": code})
    assert res.status_code == 200, res.get_json()
    return {"Authorization": f"Bearer {res.get_json()['token']}"}


def _boss(client: Any) -> dict[str, str]:
    res = client.post("/api/v1/admin/login", json={"tenant": DEMO_SLUG, "username": DEMO_BOSS[0],
                                                    "password": DEMO_BOSS[1]})
    assert res.status_code == 200, res.get_json()
    return {"Authorization": f"Bearer {res.get_json()['token']}"}


def _items(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    for key in ("items", "members", "orders", "withdrawals", "entries", "payouts", "customers", "plans",
                "shops", "products", "reminders", "groups", "tag_groups", "refunds", "postings", "rows"):
        if isinstance(body.get(key), list):
            return body[key]
    raise AssertionError(f"no list in {sorted(body)}")


def test_every_list_a_newcomer_opens_has_data(demo: Any, client: Any) -> None:
    alice = _login(client, "demo-alice")
    boss = _boss(client)
    member_lists = ["/api/v1/mp/me/team", "/api/v1/mp/shop/orders", "/api/v1/mp/shop/products",
                    "/api/v1/mp/wallet/statement", "/api/v1/mp/wallet/withdrawals", "/api/v1/mp/me/notifications",
                    "/api/v1/mp/me/team?level=all"]
    staff_lists = ["/api/v1/admin/members", "/api/v1/admin/shop/orders", "/api/v1/admin/shop/products",
                   "/api/v1/admin/shop/refunds", "/api/v1/admin/finance/withdrawals",
                   "/api/v1/admin/finance/postings", "/api/v1/admin/rewards/plans",
                   "/api/v1/admin/rewards/payouts", "/api/v1/admin/shops", "/api/v1/admin/audit",
                   "/api/v1/admin/scrm/tag-rules", "/api/v1/scrm/tag-groups"]
    empty = []
    for path, headers in [(p, alice) for p in member_lists] + [(p, boss) for p in staff_lists]:
        res = client.get(path, headers=headers)
        assert res.status_code == 200, (path, res.get_json())
        if not _items(res.get_json()):
            empty.append(path)
    assert empty == []
    # Products have pictures (drawn at seed time) that load, and categories.
    products = _items(client.get("/api/v1/admin/shop/products", headers=boss).get_json())
    assert all(p["image_url"].startswith("/api/v1/media/") for p in products)
    assert {p["category"] for p in products} == {"茶叶", "茶具", "代理专区"}
    picture = client.get(products[0]["image_url"])
    assert picture.status_code == 200 and picture.mimetype in ("image/png", "image/jpeg")
    sales = client.post("/api/v1/admin/login", json={"tenant": DEMO_SLUG, "username": "sales",
                                                     "password": "demo1234"}).get_json()["token"]
    for path in ("/api/v1/scrm/customers", "/api/v1/scrm/reminders"):
        res = client.get(path, headers={"Authorization": f"Bearer {sales}"})
        assert res.status_code == 200 and _items(res.get_json()), path
    # 小艾 never consented: her alerts show as not sent for want of a channel.
    erin = _login(client, "demo-erin")
    mine = _items(client.get("/api/v1/mp/me/notifications", headers=erin).get_json())
    assert mine and all(m["reason"] == "no_channel" and m["status_text"].startswith("未发送") for m in mine)
    settings = client.get("/api/v1/mp/me/notifications/settings", headers=erin).get_json()
    assert settings["routes"]["alerts"]["reason"] == "no_channel"


def test_every_demo_login_in_the_readme_logs_in_with_its_role(app: Any, client: Any) -> None:
    """One login per back-office role, each a row of the README's table: a newcomer can
    see every role's menu."""
    from pathlib import Path

    seed_demo(public_base_url="http://localhost")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert {role for _, _, role, _ in DEMO_LOGINS} == {"boss", "operator", "finance", "sales", "supplier"}
    for username, password, role, tab in DEMO_LOGINS:
        assert f"| `{username}` | `{password}` | {role} " in readme, username
        path = "/api/v1/admin/supplier/login" if tab == "供应商" else "/api/v1/admin/login"
        res = client.post(path, json={"tenant": DEMO_SLUG, "username": username, "password": password})
        assert res.status_code == 200, (username, res.get_json())
        body = res.get_json()
        if tab != "供应商":
            assert body["staff"]["role"] == role and body["permissions"], username
        wrong = client.post(path, json={"tenant": DEMO_SLUG, "username": username, "password": "wrong-pass"})
        assert wrong.status_code in (400, 401), username


def test_the_demo_has_every_state_clean_books_and_seeds_once(demo: Any, app: Any, sandbox: Any) -> None:
    from backend.finance import withdrawals
    from backend.finance.models import RewardAccrual
    from backend.ledger.service import check_ledger
    from backend.members.service import list_members
    from backend.notifications.service import list_outbox
    from backend.orders.models import Order
    from backend.rewards.service import get_active_plan

    with unit_of_work():
        statuses = set(db.session.scalars(select(Order.status).where(Order.tenant_id == demo.id)))
        assert {"created", "paid", "shipped", "received", "completed", "cancelled", "refunded"} <= statuses
        accruals = set(db.session.scalars(select(RewardAccrual.status).where(RewardAccrual.tenant_id == demo.id)))
        assert {"frozen", "settled"} <= accruals
        assert {w.status for w in withdrawals.list_withdrawals(tenant_id=demo.id)} >= {"pending", "paid"}
        plan = get_active_plan(tenant_id=demo.id)
        assert len(plan.level_by_key) == 3 and len(plan.tier_by_key) == 4
        members = list_members(tenant_id=demo.id, limit=100)
        assert {m.agent_level for m in members} >= {"l1", "l2", "l3"}
        assert max(m.depth for m in members) >= 4
        outbox = list_outbox(tenant_id=demo.id, limit=500)
        assert any(m.status == "sent" for m in outbox)
        assert any(m.status == "skipped" and m.last_error == "no_channel" for m in outbox)
        assert not [m for m in outbox if m.status == "pending"]
        report = check_ledger(tenant_id=demo.id)
        assert report.ok, report.as_dict()
    assert any(m["template_id"] == "demo-change-alert-tpl" for m in sandbox.subscribe_messages)

    # Seeding twice changes nothing.
    from backend.wechat.sandbox import flask_client_sender

    before = _row_counts()
    again = seed_demo(public_base_url="http://localhost")
    assert again.id == demo.id
    assert not seed_demo_activity(again, sandbox=sandbox, send=flask_client_sender(app.test_client()))
    assert _row_counts() == before


def test_the_demo_agent_channel_has_agents_stock_certificates_and_codes(demo: Any, client: Any) -> None:
    bob = _login(client, "demo-bob")
    me = client.get("/api/v1/mp/agent/me", headers=bob).get_json()
    assert me["authorization"]["level"] == "l2" and me["authorization"]["regions"] == [{"province": "浙江省"}]
    assert [s["pieces"] for s in me["stock"]] == [40]  # 50 opening, 10 transferred to 卡罗尔
    serial = me["certificates"][0]["serial"]
    assert client.get(f"/api/v1/public/certificates/{serial}").get_json()["status"] == "valid"
    carol = client.get("/api/v1/mp/agent/stock", headers=_login(client, "demo-carol")).get_json()
    assert [s["pieces"] for s in carol["items"]] == [10]
    boss = _boss(client)
    assert client.get("/api/v1/admin/agents/warehouse/check", headers=boss).get_json()["ok"] is True
    shipments = client.get("/api/v1/admin/anticounterfeit/shipments", headers=boss).get_json()["items"]
    assert [(s["seq_from"], s["seq_to"]) for s in shipments] == [(1, 50)]
