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

import enum
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
    ("group_id", "/api/v1/mp/group-buys"): "group_buys",
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

# Body and query fields naming a row whose name is not a path parameter's: field -> table.
# A `*_ids` list field is resolved by its singular (product_ids -> product_id) and gets
# [B's id]. Every `*_id`/`*_ids` field of a body or query model must resolve here, through
# ID_KINDS, or be named in NOT_ROWS: the test fails on one that does neither.
FIELD_KINDS: dict[str, str] = {
    "to_member_id": "members", "agent_id": "members", "target_id": "members",
    "from_staff_id": "staff_accounts", "to_staff_id": "staff_accounts", "owner_staff_id": "staff_accounts",
    "order_line_id": "order_lines", "subject_id": "catalog_products", "package_sku_id": "catalog_skus",
    "new_member_coupon_id": "marketing_coupons", "invite_coupon_id": "marketing_coupons",
}
# Fields ending in _id that name no row of a tenant: page cursors and WeChat's own ids.
NOT_ROWS = {"before_id", "after_id", "wx_room_id", "wecom_user_id", "oa_original_id", "pay_public_key_id",
            "wecom_agent_id"}

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


# What the kinds below are built with: B's demo agents (小爱 l1 with 200 pieces of the tea,
# nationwide; 小波 l2 in 浙江 holding codes 1–50 of the demo batch) and its supplier.
RECEIVER = {"name": "乙方收件人", "phone": "13900139000", "address": "浙江省杭州市西湖区乙方机密路 1 号"}


@factory_for("agent_applications")
def _agent_application(world: Any, b: Any) -> None:
    res = world.client.post("/api/v1/mp/agent/applications", headers=world.b_new_member_headers(), json={
        "level": "l3", "real_name": "乙方申请人", "id_number": "33010219900101123X", "phone": "13800138000",
        "province": "浙江省", "city": "杭州市", "images": []})
    assert res.status_code == 201, res.get_json()


@factory_for("promoter_applications")
def _promoter_application(world: Any, b: Any) -> None:
    from backend.db import unit_of_work
    from backend.tenants.service import update_policy

    with unit_of_work():
        update_policy(tenant_id=b.id, changes={"promoter_mode": "apply"}, actor="test")
    res = world.client.post("/api/v1/mp/promoter/application", headers=world.b_new_member_headers(), json={
        "real_name": "乙方推广员", "phone": "13800138000", "reason": "乙方机密理由"})
    assert res.status_code == 201, res.get_json()


@factory_for("warehouse_restocks")
def _restock(world: Any, b: Any) -> None:
    # Placed and not paid: pay-stored by anyone else's token would change it.
    res = world.client.post("/api/v1/mp/agent/restocks", headers=world.b_demo_member_headers("demo-alice"), json={
        "items": [{"sku_id": world.b_tea_sku(), "quantity": 10}], "source": "platform"})
    assert res.status_code == 201, res.get_json()


@factory_for("warehouse_pickups")
def _pickup(world: Any, b: Any) -> None:
    # Requested and not shipped (the freight comes out of 小爱's stored value).
    from backend.ledger import service as ledger
    from backend.ledger.models import AccountKind as K

    world.credit(ledger.member(K.MEMBER_STORED, world.b_demo_member("demo-alice").id), 5_000, kind="grant",
                 key="alice-stored")
    res = world.client.post("/api/v1/mp/agent/pickups", headers=world.b_demo_member_headers("demo-alice"), json={
        "sku_id": world.b_tea_sku(), "pieces": 2, "client_token": "b-pickup-0001", "receiver": RECEIVER})
    assert res.status_code == 201, res.get_json()


@factory_for("ac_diversion_cases")
def _diversion_case(world: Any, b: Any) -> None:
    # Three of 小波's codes (authorized for 浙江 only) scanned in 江苏: an open case.
    codes_t = Base.metadata.tables["ac_codes"]
    codes = db.session.scalars(select(codes_t.c.code).where(
        codes_t.c.tenant_id == b.id, codes_t.c.agent_id.is_not(None)).order_by(codes_t.c.seq).limit(3)).all()
    for code in codes:
        res = world.client.post(f"/api/v1/public/scan/{code}", json={"province": "江苏省", "city": "南京市"})
        assert res.status_code == 200, res.get_json()


@factory_for("supplier_sub_orders")
def _sub_order(world: Any, b: Any) -> None:
    # A paid order of the supplier's product: its sub-order waits for the supplier to ship.
    world.b_paid_order(world.b_supplier_sku(), quantity=1)


@factory_for("supplier_withdrawals")
def _supplier_withdrawal(world: Any, b: Any) -> None:
    # Settled income on the supplier's account, then a withdrawal waiting for the boss's review.
    from backend.ledger import service as ledger
    from backend.ledger.models import AccountKind as K

    world.credit(ledger.supplier(K.SUPPLIER_AVAILABLE, world.first("suppliers")), 50_000, kind="supplier_settle",
                 key="supplier-income")
    res = world.client.post("/api/v1/admin/supplier/withdrawals", headers=world.b_supplier_headers(),
                            json={"amount_fen": 20_000, "client_token": "b-supplier-w-0001"})
    assert res.status_code == 201, res.get_json()


@factory_for("payment_issues")
def _payment_issue(world: Any, b: Any) -> None:
    # The buyer pays while the order is being cancelled (the timeout job closing it
    # without asking WeChat Pay): the money arrives for a cancelled order, an open issue.
    from backend.db import unit_of_work, utcnow
    from backend.orders import service as orders

    def cancel(order_id: int) -> None:
        with unit_of_work():
            orders.cancel_order(tenant_id=b.id, order_id=order_id, reason="timeout", now=utcnow())

    world.b_paid_order(world.b_tea_sku(), quantity=1, before_delivery=cancel)


@factory_for("recon_differences")
def _recon_difference(world: Any, b: Any) -> None:
    # Paid at WeChat Pay but the notification not yet in when today is reconciled: the
    # bill lists a payment the ledger lacks. The notification then arrives (nothing is
    # left queued in the shared sandbox for a later test of the demo's merchant).
    from datetime import timedelta

    from backend.db import utcnow
    from backend.finance.rules import CHINA
    from backend.flows import reconciliation

    delivered_later = world.b_paid_order(world.b_tea_sku(), quantity=1, deliver=False)
    now = utcnow()
    assert reconciliation.reconcile_day(tenant_id=b.id, day=now.astimezone(CHINA).date(),
                                        now=now + timedelta(days=1)) == "differences"
    delivered_later()


@factory_for("poster_templates")
def _poster_template(world: Any, b: Any) -> None:
    from backend.posters import service as posters

    res = world.client.post("/api/v1/admin/poster-templates", headers=world.b_boss_headers(), json={
        "kind": "invite", "name": "乙方机密海报", "layout": posters.default_template(kind="invite")})
    assert res.status_code == 201, res.get_json()


@factory_for("group_buys")
def _group_buy(world: Any, b: Any) -> None:
    res = world.client.post(f"/api/v1/mp/group-buys/{world.first('group_campaigns')}/open",
                            headers=world.b_new_member_headers(), json={"receiver": RECEIVER})
    assert res.status_code == 201, res.get_json()


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

        self.client, self.factory, self.sandbox = client, factory, sandbox
        self.b = seed_demo(public_base_url="http://localhost")
        sandbox.register_tenant(credentials(tenant_id=self.b.id))
        seed_demo_activity(self.b, sandbox=sandbox, send=flask_client_sender(client))
        self.a = factory.tenant("tenant-a")
        self.a_member = factory.member(self.a, nickname="甲方会员")
        self.a_boss = factory.staff(self.a, "boss")
        from tests.suppliers_factories import SuppliersFactory

        self.used: set[tuple[str, str]] = set()
        self._scans: list[str] = []
        _, self.a_supplier_id = SuppliersFactory(client, factory).active(
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

    def b_new_member_headers(self) -> dict[str, str]:
        """A fresh member of B (no level, no application, no group yet)."""
        return self.factory.member_headers(self.factory.member(self.b, nickname="乙方机密会员"))

    def b_demo_member(self, code: str) -> Any:
        from backend.db import unit_of_work
        from backend.members.demo import demo_member

        with unit_of_work():
            return demo_member(tenant_id=self.b.id, code=code)

    def b_demo_member_headers(self, code: str) -> dict[str, str]:
        return self.factory.member_headers(self.b_demo_member(code))

    def b_tea_sku(self) -> int:
        """The first SKU of B's own tea (the one the demo agents hold)."""
        from backend.catalog.service import list_products, skus_of

        tea = next(p for p in list_products(tenant_id=self.b.id, limit=200) if p.name == "明前龙井")
        return int(skus_of(tenant_id=self.b.id, product_ids=[tea.id])[tea.id][0].id)

    def b_supplier_sku(self) -> int:
        t = Base.metadata.tables["supplier_products"]
        product_id = db.session.scalar(select(t.c.product_id).where(t.c.tenant_id == self.b.id).limit(1))
        from backend.catalog.service import skus_of

        return int(skus_of(tenant_id=self.b.id, product_ids=[product_id])[product_id][0].id)

    def b_supplier_headers(self) -> dict[str, str]:
        from backend.suppliers.demo import DEMO_SUPPLIER

        res = self.client.post("/api/v1/admin/supplier/login", json={
            "tenant": self.b.slug, "username": DEMO_SUPPLIER[0], "password": DEMO_SUPPLIER[1]})
        assert res.status_code == 200, res.get_json()
        return {"Authorization": f"Bearer {res.get_json()['token']}"}

    def credit(self, account: Any, amount_fen: int, *, kind: str, key: str) -> None:
        """Money onto one of B's accounts from the brand's own (not from WeChat Pay's
        clearing, which the reconciliation factory compares against the bills)."""
        from backend.db import unit_of_work, utcnow
        from backend.ledger import service as ledger
        from backend.ledger.models import AccountKind as K

        with unit_of_work():
            ledger.post(tenant_id=self.b.id, key=f"test:isolation:{key}", kind=kind, now=utcnow(),
                        legs=[ledger.Leg(ledger.system(K.MERCHANT), -amount_fen), ledger.Leg(account, amount_fen)])

    def b_paid_order(self, sku_id: int, *, quantity: int, deliver: bool = True,
                     before_delivery: Callable[[int], None] | None = None) -> Callable[[], None]:
        """An order of a fresh B member, paid at the sandbox; its notification delivered
        now (after `before_delivery(order_id)`), or by the function returned. Nothing is
        left queued in the shared sandbox for a later test of the demo's merchant."""
        from tests.orders_factories import OrdersFactory

        shop = OrdersFactory(self.client.application, self.sandbox)
        buyer = self.factory.member(self.b, nickname="乙方机密买家")
        order = shop.order(self.b, buyer, [(sku_id, quantity)])
        notification = shop.payment(self.b, buyer, order)
        if before_delivery is not None:
            before_delivery(order.id)

        def delivered() -> None:
            (d,) = shop.deliver(notification)
            assert d.result.status_code == 204, d.result.body

        if deliver:
            delivered()
        return delivered

    def markers(self) -> set[str]:
        members = Base.metadata.tables["members"]
        orders = Base.metadata.tables["orders"]
        codes = db.session.scalars(select(members.c.invite_code).where(
            members.c.tenant_id == self.b.id)).all()
        nos = db.session.scalars(select(orders.c.order_no).where(
            orders.c.tenant_id == self.b.id)).all()
        return {*MARKERS_FROM_DEMO, *codes, *nos}

    def fingerprint(self) -> str:
        """A hash of every row of B's in every tenant-scoped table. Taken twice per route,
        it was most of this test's time: the statements are compiled once and each
        table's rows hashed as one fetch, from the DB-API cursor without Row objects."""
        db.session.rollback()
        if not self._scans:
            dialect = db.engine.dialect
            self._scans = [str(select(t).where(t.c.tenant_id == self.b.id).order_by(*t.primary_key.columns)
                               .compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                           for t in self.tables()]
        h = hashlib.sha256()
        cursor = db.session.connection().connection.cursor()
        try:
            for sql in self._scans:
                cursor.execute(sql)
                h.update(repr(cursor.fetchall()).encode())
        finally:
            cursor.close()
        db.session.rollback()
        return h.hexdigest()

    def table_for(self, name: str, rule: str) -> str | None:
        """The table whose B row a path parameter or an id field names (None: no kind)."""
        prefixes = sorted((prefix for (p, prefix) in ID_KINDS if p == name and prefix
                           and rule.startswith(prefix + "/")), key=len, reverse=True)  # the longest wins
        for key in [*((name, prefix) for prefix in prefixes), (name, "")]:
            if key in ID_KINDS:
                self.used.add(key)
                return ID_KINDS[key]
        if name in FIELD_KINDS:
            self.used.add((name, "field"))
            return FIELD_KINDS[name]
        if name.endswith("_ids"):
            return self.table_for(name[:-1], rule)
        return None

    def b_row(self, table: str, rule: str) -> int:
        row = self.first(table)
        assert row is not None, (f"{rule}: tenant B has no {table} row; add a FACTORIES entry for "
                                 f"{table!r} building one")
        return row

    def id_for(self, name: str, rule: str) -> str:
        if name in NON_ID:
            return NON_ID[name]
        table = self.table_for(name, rule)
        assert table is not None, (f"{rule}: path parameter <{name}> is no known id kind; add it "
                                   "to ID_KINDS (and a FACTORIES entry if the demo has no row)")
        return str(self.b_row(table, rule))

    def field_id(self, field: str, rule: str, unknown: set[str]) -> int | None:
        """B's id for a body or query field naming a row (None for other fields); a
        `*_id` field that names no known kind is added to `unknown`."""
        if not (field.endswith("_id") or field.endswith("_ids")) or field in NOT_ROWS:
            return None
        table = self.table_for(field, rule)
        if table is None:
            unknown.add(f"{rule}: {field}")
            return None
        return self.b_row(table, rule)

    def a_tokens(self) -> dict[str, dict[str, str]]:
        """Fresh tokens of A's three principals at their current token versions (a
        route walked before may have been a logout)."""
        from backend.auth.tokens import issue_token
        from backend.members.models import Member
        from backend.staff.models import StaffAccount
        from backend.suppliers.models import SupplierUser

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        member_v = db.session.scalar(select(Member.token_version).where(Member.id == self.a_member.id))
        boss_v = db.session.scalar(select(StaffAccount.token_version).where(StaffAccount.id == self.a_boss.id))
        user_id, user_v = db.session.execute(select(SupplierUser.id, SupplierUser.token_version).where(
            SupplierUser.supplier_id == self.a_supplier_id)).one()
        return {
            "member": bearer(issue_token(kind="member", tenant_id=self.a.id, subject_id=self.a_member.id,
                                         version=member_v)),
            "staff": bearer(issue_token(kind="staff", tenant_id=self.a.id, subject_id=self.a_boss.id, role="boss",
                                        version=boss_v)),
            "supplier": bearer(issue_token(kind="supplier", tenant_id=self.a.id, subject_id=user_id,
                                           role="supplier", version=user_v))}


def _params(rule: str) -> list[str]:
    return [m.split(":")[-1] for m in re.findall(r"<([^>]+)>", rule)]


def _sample(model: type[BaseModel], ids: Callable[[str], int | None]) -> dict[str, Any]:
    """A valid body for this model: required fields with plausible values, and every
    *_id field (required or not) naming a row of tenant B ([B's id] for *_ids lists)."""
    out: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        b_id = ids(name)
        if b_id is not None and name.endswith("_ids"):
            out[name] = [b_id]
        elif b_id is not None and _accepts_int(f.annotation):
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
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation)).value  # a status enum of backend/<domain>/types.py
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
    below_floor, leaks, changed, unknown, checked = [], [], [], set(), 0
    after = world.fingerprint()
    for doc in ROUTES:
        if doc.auth not in ("member", "staff", "supplier"):
            continue
        url = re.sub(r"<([^>]+)>",
                     lambda m, rule=doc.rule: world.id_for(m.group(1).split(":")[-1], rule),
                     doc.rule)

        def b_id(field: str, rule: str = doc.rule) -> int | None:
            return world.field_id(field, rule, unknown)

        body = _sample(doc.body, b_id) if doc.body is not None else None
        query = {name: b for name in (doc.query.model_fields if doc.query is not None else ())
                 if (b := b_id(name)) is not None}
        before = after
        for kind in ("member", "staff", "supplier"):
            headers = world.a_tokens()[kind]  # a route walked before may have logged one out
            res = client.open(url, method=doc.method, headers=headers, query_string=query,
                              json=body if doc.method != "GET" else None)
            assert res.status_code < 500, (doc.method, url, kind, res.status_code)
            answer = res.get_data().decode("utf-8", "replace")
            seen = sorted(m for m in markers if m in answer)
            if seen and res.status_code < 400:
                leaks.append(f"{doc.method} {doc.rule} as A's {kind}: {seen[:3]}")
            if kind == doc.auth:
                payload = res.get_json(silent=True) or {}
                # The route's own kind of token must reach the service: past
                # authentication, past validation (else it proves nothing).
                if res.status_code == 401 or (
                        res.status_code in (400, 422)
                        and payload.get("code") in ("validation_failed", "malformed_json")
                        and (doc.method, doc.rule) not in FLOORS):
                    below_floor.append(f"{doc.method} {doc.rule}: {res.status_code} "
                                       f"{payload.get('code')} {payload.get('details')}")
            checked += 1
        after = world.fingerprint()  # also the next route's "before"
        if after != before:
            changed.append(f"{doc.method} {doc.rule}")
    stale = sorted(f"{name} ({where or 'any path'})" for name, where in
                   {*ID_KINDS, *((f, "field") for f in FIELD_KINDS)} - world.used)
    problems = [
        *(["id fields naming no known kind: map them in ID_KINDS or FIELD_KINDS (with a "
           "FACTORIES entry if B has no row), or name them in NOT_ROWS:", *sorted(unknown)] if unknown else []),
        *(["ID_KINDS/FIELD_KINDS entries no route uses (a renamed path or field would "
           "resolve to the wrong kind through them): " + ", ".join(stale)] if stale else []),
        *(["tenant B's data in answers to tenant A:", *leaks] if leaks else []),
        *(["tenant B's rows changed by tenant A's requests:", *changed] if changed else []),
        *(["routes whose own token kind did not get past authentication or validation (fix "
           "the body sample or add a FLOORS entry saying why):", *below_floor] if below_floor else [])]
    assert not problems, "\n".join(problems)
    assert checked >= 3 * 250
