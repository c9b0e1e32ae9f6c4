"""The demo tenant the embedded product starts with: a brand, its boss, a team tree, and
(with a sandbox) a shop that has been trading for a while.

`seed_demo` creates the tenant, its boss and the team tree, then calls every domain's
`backend/<domain>/demo.py` `seed(tenant)` in domain name order inside the same unit of
work (products, the 3+3 plan and levels, finance rules, notification templates,
SCRM staff and customers, a mini-shop). `seed_demo_activity` then plays the shop's
history through the services and the WeChat sandbox, as members and staff would:
orders placed and paid with wx.requestPayment at the sandbox (the signed payment
notifications delivered to the product's notify route), shipped, received, completed
and settled after the after-sales window, one cancelled, one refunded through WeChat
Pay, withdrawals (one paid by merchant transfer, one waiting for review), and the
alerts all that queued delivered. Everything runs where it would run in production,
so rewards, ledger postings and alerts are real and `flask ledger check` is clean.

Both are idempotent: the first returns an existing demo tenant untouched, the second
does nothing once the demo tenant has orders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from backend.analytics import service as analytics
from backend.catalog.service import list_products, skus_of
from backend.db import unit_of_work, utcnow
from backend.finance import service as finance
from backend.finance import withdrawals
from backend.finance.jobs import credit_reward_bonuses
from backend.finance.types import WithdrawalStatus
from backend.flows.onboarding import open_tenant
from backend.ledger.service import balances_of
from backend.ledger.types import AccountKind
from backend.members.demo import demo_member
from backend.members.service import bind_member, upsert_member
from backend.models_registry import domain_modules
from backend.notifications.jobs import deliver_notifications
from backend.orders import service as orders
from backend.payments import service as payments
from backend.scrm.demo import DEMO_SALES
from backend.staff.service import create_staff
from backend.suppliers.demo import DEMO_SUPPLIER
from backend.tenants.service import find_tenant_by_slug
from backend.tenants.types import TenantInfo
from backend.wechat.demo import demo_credentials, demo_mchid
from backend.wechat.sandbox import sandbox_openid

if TYPE_CHECKING:
    from backend.wechat.sandbox import HttpResult, Sandbox, WireRequest

log = logging.getLogger(__name__)

DEMO_SLUG = "demo"
DEMO_BOSS = ("boss", "demo1234")
# The demo's staff beyond the boss, one per back-office role, so a newcomer can log in
# as each and see that role's menu (the sales account is SCRM's, the supplier's login is
# the suppliers domain's: both in their demo.py). (username, display name, role)
DEMO_STAFF = [("operator", "小运", "operator"), ("finance", "小财", "finance")]
# Every back-office login of the demo, for `./dev run`'s banner and the README's table
# (tests/firstrun/test_demo.py logs each in and finds it in the README):
# (username, password, role, where to log in)
DEMO_LOGINS: list[tuple[str, str, str, str]] = [
    (DEMO_BOSS[0], DEMO_BOSS[1], "boss", "员工"),
    *((username, DEMO_BOSS[1], role, "员工") for username, _, role in DEMO_STAFF),
    (DEMO_SALES[0], DEMO_SALES[1], "sales", "员工"),
    (DEMO_SUPPLIER[0], DEMO_SUPPLIER[1], "supplier", "供应商"),
]
# (login code a person types into the sandbox, nickname, index of the parent in this list)
DEMO_MEMBERS: list[tuple[str, str, int | None]] = [
    ("demo-alice", "爱丽丝🌸", None),
    ("demo-bob", "小波", 0),
    ("demo-carol", "卡罗尔", 1),
    ("demo-dave", "大卫", 2),
    ("demo-erin", "小艾", 3),
    ("demo-frank", "阿福", 0),
    ("demo-grace", "格蕾丝", 5),
    ("demo-heidi", "海蒂", 1),
    ("demo-ivan", "伊万", 4),
    ("demo-judy", "朱迪", 6),
]
DEMO_RECEIVER = {"name": "张三", "phone": "13800138000", "address": "杭州市西湖区龙井路 1 号"}
# The settlement of the demo's completed orders runs this far after they completed
# (past the demo finance rules' 7-day after-sales window), as the console's
# "move the clock on" control does.
SETTLE_AFTER = timedelta(days=8)

Send = Callable[["WireRequest"], "HttpResult"]


def seed_demo(*, public_base_url: str) -> TenantInfo:
    """Create the demo tenant with sandbox credentials, its boss, members and every
    domain's demo data (once)."""
    existing = find_tenant_by_slug(slug=DEMO_SLUG)
    if existing is not None:
        return existing
    now = utcnow()
    with unit_of_work():
        creds = demo_credentials(
            DEMO_SLUG, pay_notify_url=f"{public_base_url}/api/v1/pay/notify/{DEMO_SLUG}")
        tenant = open_tenant(slug=DEMO_SLUG, name="思语演示品牌", credentials=creds.to_flat(),
                             actor="demo", boss_username=DEMO_BOSS[0], boss_password=DEMO_BOSS[1])
        for username, display_name, role in DEMO_STAFF:
            create_staff(tenant_id=tenant.id, username=username, password=DEMO_BOSS[1],
                         display_name=display_name, role=role, actor="demo")
        made: list[int] = []  # member ids, by position in DEMO_MEMBERS
        for code, nickname, parent_index in DEMO_MEMBERS:
            openid = sandbox_openid(creds.mini_program.appid, code)  # type: ignore[union-attr]
            member = upsert_member(tenant_id=tenant.id, openid=openid, nickname=nickname, now=now)
            if parent_index is not None:
                bind_member(tenant_id=tenant.id, member_id=member.id,
                            parent_id=made[parent_index], source="invite_code", scene=None,
                            now=now)
            made.append(member.id)
        for module in domain_modules("demo"):
            seed = getattr(module, "seed", None)
            if seed is not None:
                seed(tenant)
    return tenant


# ---------------------------------------------------------------------- the shop's history


class _Journey:
    """Members and staff acting through the services; payments at the sandbox."""

    def __init__(self, tenant: TenantInfo, sandbox: Sandbox, send: Send) -> None:
        self.tenant_id = tenant.id
        self.mchid = demo_mchid(tenant.slug)
        self.sandbox = sandbox
        self.send = send
        with unit_of_work():
            self.members = {code: demo_member(tenant_id=tenant.id, code=code).id
                            for code, _, _ in DEMO_MEMBERS}
            products = list_products(tenant_id=tenant.id, limit=200)
            skus = skus_of(tenant_id=tenant.id, product_ids=[p.id for p in products])
            self.skus = {f"{p.name}/{s.name}": s.id for p in products for s in skus[p.id]}

    def deliver_pending(self) -> None:
        """Deliver the notifications the sandbox queued for this tenant's merchant and not
        yet delivered (signed, real wire), never another tenant's."""
        pending = [n for n in self.sandbox.pending_notifications() if n.mchid == self.mchid]
        for n in pending:
            for d in self.sandbox.deliver(n, send=self.send):
                if not d.result.ok:
                    raise RuntimeError(f"demo: notification refused: {d.result.status_code} {d.result.body}")

    def order(self, code: str, items: dict[str, int]) -> int:
        with unit_of_work():
            order = orders.create_order(
                tenant_id=self.tenant_id, member_id=self.members[code],
                items=[orders.LineRequest(sku_id=self.skus[k], quantity=q) for k, q in items.items()],
                receiver=orders.Receiver(**DEMO_RECEIVER), now=utcnow())
            return order.id

    def pay(self, code: str, order_id: int) -> None:
        """Prepay, then wx.requestPayment at the sandbox (paySign checked), then the
        TRANSACTION.SUCCESS notification into the product."""
        with unit_of_work():
            prepaid = payments.prepay(tenant_id=self.tenant_id, member_id=self.members[code],
                                      order_id=order_id, now=utcnow())
        self.sandbox.request_payment(prepaid["request_payment"], appid=prepaid["appid"])
        self.deliver_pending()

    def ship(self, order_id: int) -> None:
        with unit_of_work():
            orders.ship_order(tenant_id=self.tenant_id, order_id=order_id, company="顺丰速运",
                              tracking_no=f"SF{1000000000 + order_id}", actor="demo", now=utcnow())

    def receive(self, code: str, order_id: int) -> None:
        with unit_of_work():
            orders.confirm_receipt(tenant_id=self.tenant_id, member_id=self.members[code],
                                   order_id=order_id, now=utcnow())

    def complete(self, order_id: int) -> None:
        with unit_of_work():
            orders.complete_order(tenant_id=self.tenant_id, order_id=order_id, now=utcnow())

    def cancel(self, code: str, order_id: int) -> None:
        with unit_of_work():
            payments.cancel_unpaid(tenant_id=self.tenant_id, order_id=order_id, now=utcnow(),
                                   member_id=self.members[code])

    def refund(self, order_id: int) -> None:
        """The boss refunds the whole order: submitted to WeChat Pay after the commit; the
        sandbox settles it and its REFUND.SUCCESS notification comes back."""


        with unit_of_work():
            refund = payments.refund_order(tenant_id=self.tenant_id, order_id=order_id, order_line_id=None,
                                           reason="买家拍错规格", actor="demo", now=utcnow())
            refund_no = refund.refund_no
        if not self.sandbox.auto_settle:  # a sandbox that waits to be told
            self.sandbox.complete_refund(refund_no)
        self.deliver_pending()

    def settle(self) -> int:
        total = 0
        while True:
            with unit_of_work():
                done = finance.settle_due_batch(tenant_id=self.tenant_id, now=utcnow() + SETTLE_AFTER)
            total += done
            if not done:
                return total

    def available(self, code: str) -> int:
        with unit_of_work():
            return balances_of(tenant_id=self.tenant_id,
                               owner_id=self.members[code]).get(AccountKind.MEMBER_AVAILABLE, 0)

    def withdraw(self, code: str, amount_fen: int) -> None:
        with unit_of_work():
            w = withdrawals.apply_withdrawal(tenant_id=self.tenant_id, member_id=self.members[code],
                                             amount_fen=amount_fen, now=utcnow(),
                                             client_token=f"demo-{code}-{amount_fen}")
            withdrawal_id, bill_no = w.id, w.out_bill_no
        # An auto-approved one was transferred after the commit; the payee confirms it
        # (by itself with an auto-settling sandbox) and the result notification comes back.
        with unit_of_work():
            transferring = withdrawals.get_withdrawal(tenant_id=self.tenant_id,
                                                      withdrawal_id=withdrawal_id).status != WithdrawalStatus.PENDING
        if transferring and not self.sandbox.auto_settle:
            self.sandbox.confirm_transfer(bill_no)
        self.deliver_pending()

    def run_jobs(self) -> None:
        """What the scheduler would do next: credit bonuses, deliver the queued alerts
        (the settlement alerts are dated at the settlement's moved-on clock)."""
        credit_reward_bonuses(now=utcnow())
        deliver_notifications(now=utcnow() + SETTLE_AFTER)


def seed_demo_activity(tenant: TenantInfo, *, sandbox: Sandbox, send: Send) -> bool:
    """Play the demo shop's history (see the module docstring); False when it already
    has one. `send` delivers the sandbox's signed notifications to the product's routes
    (a Flask test client of the web app, or HTTP); the sandbox must know the tenant."""
    with unit_of_work():
        if orders.list_orders(tenant_id=tenant.id, limit=1):
            return False
    j = _Journey(tenant, sandbox, send)
    tea, box, cup = "明前龙井/250g 罐装", "明前龙井/500g 礼盒", "紫砂品茗杯/单只"
    pack = "代理进货装 · 龙井 10 罐/10 × 250g"

    # Completed and settled: commission and agent rewards reach the uplines' balances.
    for code, items in (("demo-bob", {box: 1}), ("demo-dave", {tea: 2}), ("demo-erin", {box: 1, cup: 2}),
                        ("demo-carol", {pack: 1})):
        order_id = j.order(code, items)
        j.pay(code, order_id)
        j.ship(order_id)
        j.receive(code, order_id)
        j.complete(order_id)
    settled = j.settle()
    # Completed within the after-sales window: rewards still frozen.
    order_id = j.order("demo-grace", {cup: 2})
    j.pay("demo-grace", order_id)
    j.ship(order_id)
    j.complete(order_id)
    # Received, shipped, paid: frozen rewards along the way.
    order_id = j.order("demo-heidi", {box: 1})
    j.pay("demo-heidi", order_id)
    j.ship(order_id)
    j.receive("demo-heidi", order_id)
    order_id = j.order("demo-ivan", {tea: 1})
    j.pay("demo-ivan", order_id)
    j.ship(order_id)
    order_id = j.order("demo-alice", {box: 1})
    j.pay("demo-alice", order_id)
    j.ship(order_id)
    order_id = j.order("demo-judy", {tea: 1, cup: 1})
    j.pay("demo-judy", order_id)
    # 山间茶园's own tea, paid: the supplier login has a sub-order to ship (我的订单) and
    # income frozen in its statement, instead of an empty portal.
    supplied = "武夷岩茶·大红袍/125g 罐装"
    if supplied in j.skus:
        order_id = j.order("demo-dave", {supplied: 1})
        j.pay("demo-dave", order_id)
    # Refunded through WeChat Pay: its rewards are cancelled.
    order_id = j.order("demo-frank", {cup: 1})
    j.pay("demo-frank", order_id)
    j.refund(order_id)
    # Cancelled before payment, and one still waiting for payment.
    j.cancel("demo-erin", j.order("demo-erin", {cup: 1}))
    j.order("demo-judy", {box: 1})

    j.run_jobs()
    # Withdrawals: a small one is paid at once (merchant transfer at the sandbox), a large
    # one waits for the boss's review (the demo rules approve below 50 yuan by themselves).
    small = min(2_000, j.available("demo-carol"))
    if small >= 100:
        j.withdraw("demo-carol", small)
    large = j.available("demo-alice") // 2
    if large >= 5_000:
        j.withdraw("demo-alice", large)
    j.run_jobs()
    # The 经营看板 reads daily facts that the scheduler refreshes every 5 minutes; the
    # history above is all today's, so today's facts are computed now, or a newcomer's
    # first look at the dashboard shows zeros everywhere.
    now = utcnow()
    with unit_of_work():
        analytics.refresh_day(tenant_id=tenant.id, day=analytics.china_day(now), now=now)
    log.info("demo: history played (%d rewards settled)", settled)
    return True
