"""The isolation matrix: no token of tenant A reads or changes anything of tenant B, on
any route.

Tenant B is a lived-in brand: the demo seeding (every domain's demo.py plus the shop's
played history: orders in every state, a refund, withdrawals, SCRM customers, tags,
plans, a mini-shop, suppliers …) and then the FACTORIES below for kinds the demo lacks.
Every route of the live route table is called with B's real ids in its path and a
valid body (built from the route's body model, B's ids in every *_id field), by every
token kind of tenant A (member, staff boss, supplier). The test fails when

- an answer carries B's data (its brand, members' nicknames and invite codes, order
  numbers, receiver address),
- any of B's rows changed (a fingerprint of every tenant table, before and after each
  route), or
- a route did not reach its service (its floor): a body that fails validation proves
  nothing, so each route must get past validation unless FLOORS names why not.

How kinds plug in: a path parameter is resolved by ID_KINDS (parameter name, optionally
per path prefix → the table whose B row to use). A kind added later (agents,
warehouse, suppliers, coupons, live rooms, …) needs one ID_KINDS entry, and, when the
demo does not seed a row of it, one function in FACTORIES building that row for B.
A path parameter no entry resolves fails the test by name.
"""

from __future__ import annotations

import hashlib
import re
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from backend.db import Base
from backend.extensions import db
from miniprogram_api.http import ROUTES

# (parameter, path prefix or "") -> table whose first B row is the id to use.
ID_KINDS: dict[tuple[str, str], str] = {
    ("member_id", ""): "members",
    ("order_id", "/api/v1/admin/shop"): "orders",
    ("order_id", "/api/v1/mp"): "orders",
    ("order_id", ""): "orders",
    ("refund_id", ""): "order_refunds",
    ("withdrawal_id", "/api/v1/admin/suppliers"): "supplier_withdrawals",
    ("withdrawal_id", ""): "finance_withdrawals",
    ("recharge_id", ""): "finance_recharges",
    ("customer_id", ""): "scrm_customers",
    ("tag_id", ""): "scrm_tags",
    ("group_id", "/api/v1/mp/marketing"): "group_buys",
    ("group_id", ""): "scrm_tag_groups",
    ("rule_id", ""): "scrm_tag_rules",
    ("code_id", ""): "scrm_staff_codes",
    ("reminder_id", ""): "scrm_reminders",
    ("template_id", ""): "poster_templates",
    ("version", ""): "reward_plans",
    ("product_id", "/api/v1/admin/supplier"): "supplier_products",
    ("product_id", "/api/v1/admin/suppliers"): "supplier_products",
    ("product_id", ""): "catalog_products",
    ("sku_id", ""): "catalog_skus",
    ("shop_id", ""): "shops",
    ("staff_id", ""): "staff_accounts",
    ("issue_id", ""): "payment_issues",
    ("coupon_id", ""): "marketing_coupons",
    ("task_id", ""): "points_tasks",
    ("campaign_id", ""): "group_campaigns",
    ("material_id", ""): "marketing_materials",
    ("room_id", ""): "live_rooms",
    ("application_id", "/api/v1/admin/agents"): "agent_applications",
    ("application_id", ""): "promoter_applications",
    ("authorization_id", ""): "agent_authorizations",
    ("certificate_id", ""): "agent_certificates",
    ("pickup_id", ""): "warehouse_pickups",
    ("restock_id", ""): "warehouse_restocks",
    ("transfer_id", ""): "warehouse_transfers",
    ("batch_id", ""): "ac_batches",
    ("case_id", ""): "ac_diversion_cases",
    ("difference_id", ""): "recon_differences",
    ("supplier_id", ""): "suppliers",
    ("sub_order_id", ""): "supplier_sub_orders",
}
# Path parameters that are not row ids: a value of B's that A could guess.
NON_ID = {"kind": "invite", "batch_no": "B-0001", "tenant_slug": "demo", "slug": "demo",
          "code": "0" * 20}

# Kinds the demo does not seed: one function each, building a row of it for tenant B.
FACTORIES: dict[str, Callable[[Any, Any], None]] = {}


def factory_for(table: str) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    def register(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        FACTORIES[table] = fn
        return fn
    return register


@factory_for("scrm_reminders")
def _reminder(world: Any, b: Any) -> None:
    from backend.db import unit_of_work, utcnow
    from backend.scrm import service as scrm

    customer_id, staff_id = world.first("scrm_customers"), world.owner_of_first_customer()
    with unit_of_work():
        scrm.create_reminder(tenant_id=b.id, staff_id=staff_id, customer_id=customer_id,
                             due_at=utcnow(), content="乙方机密提醒", now=utcnow())


@factory_for("marketing_coupons")
def _coupon(world: Any, b: Any) -> None:
    boss = world.b_boss_headers()
    res = world.client.post("/api/v1/admin/marketing/coupons", headers=boss, json={
        "name": "乙方机密券", "kind": "amount", "amount_off_fen": 500, "total_stock": 10,
        "valid_days": 30})
    assert res.status_code == 201, res.get_json()


@factory_for("live_rooms")
def _room(world: Any, b: Any) -> None:
    boss = world.b_boss_headers()
    res = world.client.post("/api/v1/admin/live/rooms", headers=boss, json={
        "title": "乙方机密直播", "scheduled_at": "2030-01-01T12:00:00+08:00",
        "stream_kind": "wechat", "wx_room_id": 1})
    assert res.status_code in (200, 201), res.get_json()


# Kinds tenant B has no row of yet (neither the demo nor a factory builds one): routes
# keyed by them are walked with an id that exists nowhere, which proves less. Each entry
# is a debt: write its FACTORIES function and delete it here (once B has a row of a
# kind, from the demo or a factory, the real row is used whether or not it is listed).
NOT_YET_BUILT: set[str] = {
    "ac_diversion_cases", "agent_applications", "marketing_materials",
    "payment_issues", "poster_templates", "promoter_applications", "recon_differences",
    "supplier_sub_orders", "supplier_withdrawals", "warehouse_pickups", "warehouse_restocks"}


@factory_for("finance_recharges")
def _recharge(world: Any, b: Any) -> None:
    member = world.b_member_headers()
    res = world.client.post("/api/v1/mp/wallet/recharges", headers=member, json={"amount_fen": 10000})
    assert res.status_code == 201, res.get_json()


@factory_for("points_tasks")
def _points_task(world: Any, b: Any) -> None:
    res = world.client.post("/api/v1/admin/marketing/points-tasks", headers=world.b_boss_headers(),
                            json={"title": "乙方机密任务", "points": 10})
    assert res.status_code in (200, 201), res.get_json()


# Routes that cannot get past validation with a generated body, and why (their floor is
# then only: no leak and no change). Keep this list short.
FLOORS: dict[tuple[str, str], str] = {}

MARKERS_FROM_DEMO = ("思语演示品牌", "爱丽丝", "卡罗尔", "龙井路", "乙方机密")


class World:
    """Tenant A's principals and tenant B's rows."""

    def __init__(self, app: Any, client: Any, factory: Any, sandbox: Any) -> None:
        from backend.demo import seed_demo, seed_demo_activity
        from backend.wechat.sandbox import flask_client_sender
        from backend.wechat.service import credentials

        self.client, self.factory = client, factory
        self.unbuilt: set[str] = set()
        self.b = seed_demo(public_base_url="http://localhost")
        sandbox.register_tenant(credentials(tenant_id=self.b.id))
        seed_demo_activity(self.b, sandbox=sandbox, send=flask_client_sender(client))
        self.a = factory.tenant("tenant-a")
        self.a_member = factory.member(self.a, nickname="甲方会员")
        self.a_boss = factory.staff(self.a, "boss")
        from tests.suppliers_factories import SuppliersFactory

        self.a_supplier, _ = SuppliersFactory(client, factory).active(
            self.a, factory.staff_headers(self.a_boss), name="甲方供应商")
        for table, build in FACTORIES.items():
            if self.first(table) is None:
                build(self, self.b)

    def tables(self) -> list[Any]:
        return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]

    def first(self, table: str) -> int | None:
        t = Base.metadata.tables[table]
        return db.session.scalar(select(t.c.id).where(t.c.tenant_id == self.b.id)
                                 .order_by(t.c.id).limit(1))

    def owner_of_first_customer(self) -> int:
        t = Base.metadata.tables["scrm_customers"]
        return db.session.scalar(select(t.c.owner_staff_id).where(
            t.c.tenant_id == self.b.id, t.c.owner_staff_id.is_not(None)).limit(1))

    def b_boss_headers(self) -> dict[str, str]:
        from backend.staff.models import StaffAccount

        boss = db.session.scalar(select(StaffAccount).where(
            StaffAccount.tenant_id == self.b.id, StaffAccount.role == "boss"))
        return self.factory.staff_headers(boss)

    def b_member_headers(self) -> dict[str, str]:
        from backend.members.models import Member

        member = db.session.scalar(select(Member).where(Member.tenant_id == self.b.id)
                                   .order_by(Member.id).limit(1))
        return self.factory.member_headers(member)

    def markers(self) -> set[str]:
        members = Base.metadata.tables["members"]
        orders = Base.metadata.tables["orders"]
        codes = db.session.scalars(select(members.c.invite_code).where(
            members.c.tenant_id == self.b.id)).all()
        nos = db.session.scalars(select(orders.c.order_no).where(
            orders.c.tenant_id == self.b.id)).all()
        return {*MARKERS_FROM_DEMO, *codes, *nos}

    def fingerprint(self) -> str:
        db.session.rollback()
        h = hashlib.sha256()
        for t in self.tables():
            for row in db.session.execute(select(t).where(t.c.tenant_id == self.b.id)
                                          .order_by(*t.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
        return h.hexdigest()

    def id_for(self, name: str, rule: str) -> str:
        if name in NON_ID:
            return NON_ID[name]
        table = next((tb for (p, prefix), tb in ID_KINDS.items()
                      if p == name and prefix and rule.startswith(prefix)), None) or ID_KINDS.get(
            (name, ""))
        assert table is not None, (f"{rule}: path parameter <{name}> is no known id kind; add it "
                                   "to ID_KINDS (and a FACTORIES entry if the demo has no row)")
        row = self.first(table)
        if row is None:
            assert table in NOT_YET_BUILT, (f"{rule}: tenant B has no {table} row; add a "
                                            f"FACTORIES entry for {table!r} building one")
            self.unbuilt.add(table)
            return "987654321"  # no such row anywhere: the route is walked, weakly
        return str(row)


def _params(rule: str) -> list[str]:
    return [m.split(":")[-1] for m in re.findall(r"<([^>]+)>", rule)]


def _sample(model: type[BaseModel], ids: Callable[[str], int | None]) -> dict[str, Any]:
    """A valid body for this model: required fields with plausible values, and every
    *_id field (required or not) naming a row of tenant B."""
    out: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        b_id = ids(name)
        if b_id is not None and _accepts_int(f.annotation):
            out[name] = b_id
        elif f.is_required():
            out[name] = _value(name, f.annotation, f.metadata, ids)
    return out


def _accepts_int(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return annotation is int or int in args or any(getattr(a, "__origin__", None) is None
                                                   and a is int for a in args)


def _value(name: str, annotation: Any, metadata: list[Any], ids: Callable[[str], int | None]) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    low = next((getattr(m, "ge", None) or getattr(m, "gt", None) for m in metadata
                if getattr(m, "ge", None) is not None or getattr(m, "gt", None) is not None), None)
    min_len = next((m.min_length for m in metadata if getattr(m, "min_length", None)), 0)
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in args if a is not type(None)]
        return _value(name, inner[0], metadata, ids)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _sample(annotation, ids)
    if origin in (list, tuple, set):
        item = args[0] if args else str
        return [_value(name, item, [], ids) for _ in range(max(1, min_len))]
    if origin is dict or annotation is dict:
        return {}
    if annotation is bool:
        return True
    if annotation is int:
        return int(low) + 1 if low is not None else 1
    type_name = getattr(annotation, "__name__", str(annotation)).lower()
    if "datetime" in type_name:
        return "2030-01-01T12:00:00+08:00"
    if type_name == "date":
        return "2024-01-01"  # a past day (reconciliation only runs on finished days)
    if type_name == "decimal":
        return "0.9"
    if annotation is str and "phone" in name:
        return "13800138000"
    if annotation is str and name == "id_number":
        return "11010119900307123X"
    if annotation is str:
        return ("乙方" + "x" * 60)[:max(2, min_len or 2)] if "name" in name else "x" * max(
            min_len, 8)
    return None


def test_tenant_a_reads_and_changes_nothing_of_tenant_b_on_any_route(app, client, factory,
                                                                      sandbox):
    world = World(app, client, factory, sandbox)
    markers = world.markers()
    tokens = {"member": factory.member_headers(world.a_member),
              "staff": factory.staff_headers(world.a_boss), "supplier": world.a_supplier}
    below_floor, leaks, changed, checked = [], [], [], 0
    for doc in ROUTES:
        if doc.auth not in tokens:
            continue
        url = re.sub(r"<([^>]+)>",
                     lambda m, rule=doc.rule: world.id_for(m.group(1).split(":")[-1], rule),
                     doc.rule)

        def b_id(field: str, rule: str = doc.rule) -> int | None:
            name = field if field.endswith("_id") else None
            if name is None or (name, "") not in ID_KINDS:
                return None
            return int(world.id_for(name, rule))

        body = _sample(doc.body, b_id) if doc.body is not None else None
        before = world.fingerprint()
        for kind, headers in tokens.items():
            tokens["staff"] = factory.staff_headers(world.a_boss)  # a route may log out
            tokens["member"] = factory.member_headers(world.a_member)
            res = client.open(url, method=doc.method, headers=headers,
                              json=body if doc.method != "GET" else None)
            assert res.status_code < 500, (doc.method, url, kind, res.status_code)
            answer = res.get_data().decode("utf-8", "replace")
            seen = sorted(m for m in markers if m in answer)
            if seen and res.status_code < 400:
                leaks.append(f"{doc.method} {doc.rule} as A's {kind}: {seen[:3]}")
            if kind == doc.auth:
                payload = res.get_json(silent=True) or {}
                if (res.status_code in (400, 422)
                        and payload.get("code") in ("validation_failed", "malformed_json")
                        and (doc.method, doc.rule) not in FLOORS):
                    below_floor.append(f"{doc.method} {doc.rule}: {payload.get('details')}")
            checked += 1
        if world.fingerprint() != before:
            changed.append(f"{doc.method} {doc.rule}")
    assert not leaks, "tenant B's data in answers to tenant A:\n" + "\n".join(leaks)
    assert not changed, "tenant B's rows changed by tenant A's requests:\n" + "\n".join(changed)
    assert not below_floor, ("routes whose generated body failed validation (fix the body "
                             "sample or add a FLOORS entry saying why):\n" + "\n".join(below_floor))
    assert checked >= 3 * 250
