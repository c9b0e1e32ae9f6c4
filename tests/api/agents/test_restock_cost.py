"""What a restock paid from stored value costs the database in its request: a fixed
budget of statements (the follow-up runs in the worker), each step read or written
once. The benchmark (`./dev bench warehouse`) times it; this pins the count."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text

from backend.extensions import db

# The buyer's authorization with what its order needs of the member (path, levels),
# the SKUs with their products (read once, for the checks and the order), the upline's
# authorization, the order (inserted paid) and its line, the restock, the stored-value
# posting (claim, one guarded balance UPDATE, entries), the pieces set aside (claim,
# guarded UPDATE, entries). The tenant's status, the channel policy, the order policy's
# pay timeout, the plan's levels, whether the tenant has suppliers and the ledger
# accounts (which never change) are kept per process (backend/process_cache.py,
# tenants.tenant_status). Each claim takes its new id from the OK packet (lastrowid), so
# a server without INSERT … RETURNING (MySQL 8, DB_RETURNING=off) spends the same.
BUDGET = 12


@contextmanager
def _statements(app: Any):
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()[:3]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_restock_paid_from_stored_value_costs_a_fixed_budget_of_statements(app, client, factory, channel,
                                                                            monkeypatch):
    tenant, product_id, sku_id = channel.brand(settlement_mode="upline")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 50)
    channel.stored_value(tenant, mid, 1_000_000)
    h = factory.member_headers(mid)
    body = {"items": [{"sku_id": sku_id, "quantity": 2}], "source": "upline", "pay": "stored"}
    for _ in range(8):  # after these the accounts and the brand's eight `held` shards exist
        first = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
        assert first.status_code == 201, first.json
    monkeypatch.setitem(app.config, "SIYU_SETTINGS",  # the follow-up left to the worker, as in production
                        dataclasses.replace(app.config["SIYU_SETTINGS"], paid_followup="worker"))
    with _statements(app) as seen:
        r = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert (r.json["amount_fen"], r.json["paid_via"]) == (12_000, "stored")
    assert len(seen) <= BUDGET, "\n".join(seen)
    # read once each: the SKUs come with their products, the order's lines are not read back
    assert not [s for s in seen if s.startswith("SELECT catalog_products")], seen
    assert not [s for s in seen if s.startswith("SELECT order_lines")], seen
    assert not [s for s in seen if s.startswith("SELECT members")], seen  # read with the authorization
    assert not [s for s in seen if s.startswith("UPDATE orders")], seen  # inserted paid
    assert not [s for s in seen if s.startswith("SELECT ledger_accounts")], seen  # kept: they never change


def test_restock_limits_saved_here_apply_at_once_and_saved_elsewhere_within_the_policy_ttl(
        app, client, factory, channel, monkeypatch):
    from backend import process_cache
    from backend.agents import service as agents

    assert agents.POLICY_TTL_SECONDS <= 5  # the promptness the trade-off promises
    clock = [1000.0]
    monkeypatch.setattr(process_cache, "_clock", lambda: clock[0])
    tenant, product_id, sku_id = channel.brand(restock_limits={"l2": {"max_pieces": 100}})
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 500)
    channel.stored_value(tenant, mid, 10_000_000)
    h = factory.member_headers(mid)
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))

    def restock(pieces: int) -> Any:
        return client.post("/api/v1/mp/agent/restocks", headers=h, json={
            "items": [{"sku_id": sku_id, "quantity": pieces}], "source": "upline", "pay": "stored"})

    assert restock(50).status_code == 201
    # saved through this process (the admin's PATCH): the next restock is held to it
    saved = client.patch("/api/v1/admin/agents/settings", headers=boss,
                         json={"restock_limits": {"l2": {"max_pieces": 40}}})
    assert saved.status_code == 200, saved.json
    refused = restock(50)
    assert (refused.status_code, refused.json["code"]) == (400, "restock_limit_exceeded")
    # saved by another process (no ORM write here): applied once the kept policy expires
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE agent_channel_settings SET restock_limits = :l WHERE tenant_id = :t"),
                     {"l": '{"l2": {"max_pieces": 100}}', "t": tenant.id})
    db.session.rollback()
    clock[0] += agents.POLICY_TTL_SECONDS / 2
    assert restock(50).json["code"] == "restock_limit_exceeded"  # still within the TTL
    clock[0] += agents.POLICY_TTL_SECONDS / 2 + 0.01
    assert restock(50).status_code == 201


def test_an_order_policys_pay_timeout_saved_elsewhere_applies_within_the_policy_ttl(app, factory, shop,
                                                                                    monkeypatch):
    from datetime import timedelta

    from backend import process_cache
    from backend.db import unit_of_work, utcnow
    from backend.orders import service as orders

    clock = [1000.0]
    monkeypatch.setattr(process_cache, "_clock", lambda: clock[0])
    tenant = factory.tenant()
    buyer = factory.member(tenant)
    product_id, sku_id = shop.product(tenant, price_fen=1000, cost_fen=300, stock=100)

    def deadline_minutes() -> float:
        now = utcnow()
        with unit_of_work():
            order = orders.create_order(tenant_id=tenant.id, member_id=buyer.id, now=now,
                                        items=[orders.LineRequest(sku_id=sku_id, quantity=1)],
                                        receiver=orders.Receiver(name="张三", phone="13800138000", address="杭州"))
            return (order.pay_deadline - now) / timedelta(minutes=1)

    assert deadline_minutes() == orders.DEFAULT_PAY_TIMEOUT_MINUTES
    with unit_of_work():  # saved through this process: at once
        orders.update_order_policy(tenant_id=tenant.id, changes={"pay_timeout_minutes": 15}, actor="test")
    assert deadline_minutes() == 15
    with db.engine.begin() as conn:  # saved by another process: within the TTL
        conn.execute(text("UPDATE order_policies SET pay_timeout_minutes = 45 WHERE tenant_id = :t"),
                     {"t": tenant.id})
    db.session.rollback()
    assert deadline_minutes() == 15
    clock[0] += orders.POLICY_TTL_SECONDS + 0.01
    assert deadline_minutes() == 45
