"""The agent channel's sequences across domains (SPEC §7, §5):

- an application with a level package → an order for the package (orders), paid by
  WeChat Pay or stored value before the review or, per tenant policy, from stored
  value at approval; approved → the level bought (rewards.buy_level: the package's
  own machinery), authorization, certificate; rejected → the package refunded (or its
  unpaid order cancelled), once;
- an application decided → authorization, level in the reward plan, certificate;
- an authorization revoked → its certificates revoked;
- a restock placed → an order (orders) at the buyer's level price + pieces set aside
  (warehouse); paid (WeChat Pay through payments, or stored value through finance) →
  the paid-order follow-up pays the plan's agent rewards, then (`followed_up`) the
  pieces enter the buyer's cloud stock and the money is settled by the tenant's
  settlement mode (ledger);
- a retail order through an agent's link or shop → drop-ship from the agent's cloud
  stock, or per tenant policy refused / from the platform's stock;
- a pickup → pieces out of the cloud stock, freight from stored value (ledger);
- orders cancelled or refunded → pieces back where they came from;
- a paid restock refunded by the brand (whole, or one line when the tenant allows) →
  its pieces out of the buyer's cloud stock back to their source (refused when they
  were moved on), the money back the way it was paid (payments' refund), the upline's
  settlement reversed and the plan's rewards cancelled or reversed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from backend.agents import rules as agent_rules
from backend.agents import service as agents
from backend.agents.errors import InvalidAgentInput, PackageUnpaid
from backend.agents.types import ApplicationStatus, AuthorizationStatus, PackageStatus
from backend.audit.service import record_audit
from backend.catalog import service as catalog
from backend.db import utcnow
from backend.events import listen
from backend.extensions import db
from backend.finance import service as finance
from backend.flows import paid_order, payment_methods
from backend.flows.shop_credit import credited_source
from backend.ledger import service as ledger
from backend.ledger.service import Leg, member, system
from backend.ledger.types import AccountKind as K
from backend.members import service as members
from backend.notifications import service as notifications
from backend.orders import service as orders
from backend.orders.errors import OrderStateConflict
from backend.orders.types import OrderStatus
from backend.payments import service as payments
from backend.rewards import service as rewards
from backend.shops import service as shops
from backend.warehouse import service as warehouse
from backend.warehouse.errors import (
    InsufficientPieces,
    InvalidStockInput,
    NoSupplyingUpline,
    NotRefundable,
    RestockLimitExceeded,
    RestockStateConflict,
)
from backend.warehouse.types import RestockInfo, RestockStatus, TransferStatus

RESTOCK_SOURCES = ("upline", "platform")


# ------------------------------------------------------------------ applications and authorizations


def products_text(*, tenant_id: int, auth: Any) -> str:
    """The products an authorization covers (categories, then named products), as a
    certificate prints them."""
    shown = list(auth.product_ids or [])[:10]
    found = {p.id: p.name for p in catalog.products_by_ids(tenant_id=tenant_id, product_ids=shown)} if shown else {}
    names = [found.get(pid, f"商品{pid}") for pid in shown]  # a product deleted since: its id stands in
    return agent_rules.scope_text(auth.product_ids, auth.categories, names,
                                  more=len(auth.product_ids or []) > len(shown))


def _alert(tenant_id: int, member_id: int, text: str, key: str, now: datetime) -> None:
    notifications.enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind="agent", data={"text": text},
                                dedupe_key=key, now=now)


def apply(*, tenant_id: int, member_id: int, now: datetime, package_sku_id: int | None = None,
          **materials: Any) -> Any:
    """A member applies for a level, optionally buying the level's package (a SKU of a
    product that grants that level): its order waits for payment. An upline reviewer is told."""
    app = agents.apply(tenant_id=tenant_id, member_id=member_id, now=now, **materials)
    if package_sku_id is not None:
        sku = catalog.get_sku(tenant_id=tenant_id, sku_id=package_sku_id)
        if catalog.get_product(tenant_id=tenant_id, product_id=sku.product_id).grants_level != app.level:
            raise InvalidAgentInput("所选商品不是该代理等级的等级礼包",
                                    details=[{"field": "package_sku_id", "message": "须为授予该等级的礼包商品"}])
        order = orders.create_order(
            tenant_id=tenant_id, member_id=member_id, now=now, remark="代理申请等级礼包",
            items=[orders.LineRequest(sku_id=package_sku_id, quantity=1)],
            receiver=orders.Receiver(name=app.real_name, phone=app.phone,
                                     address=f"{app.province}{app.city or ''}（代理申请礼包，发货前与申请人确认地址）"),
            source_type="agent_apply", source_id=app.id)
        agents.attach_package(tenant_id=tenant_id, application_id=app.id, sku_id=package_sku_id, order_id=order.id,
                              amount_fen=order.payable_fen)
    if app.reviewer_id:
        level = agents.level_of(tenant_id=tenant_id, key=app.level)
        _alert(tenant_id, app.reviewer_id, f"团队成员 {app.real_name} 申请成为{level.name}，请在代理中心审核。",
               f"application:{app.id}:review", now)
    return app


def decide_application(*, tenant_id: int, application_id: int, approve: bool, reason: str, actor: str,
                       now: datetime, reviewer_member_id: int | None = None,
                       product_ids: list[int] | None = None, regions: list[dict[str, Any]] | None = None,
                       categories: list[str] | None = None) -> dict[str, Any]:
    """Approve or reject an application; an approval grants the authorization, sets the
    level in the reward plan and issues a certificate. With a level package: approval
    needs it paid (or, per policy, takes it from stored value now) and the level is
    the package's; a rejection refunds it (or cancels its unpaid order)."""
    pending = agents.application_to_decide(tenant_id=tenant_id, application_id=application_id, approve=approve,
                                           reason=reason, reviewer_member_id=reviewer_member_id)
    if pending.package_order_id is not None and approve:
        _collect_package(tenant_id, pending, now)
    app, auth, changed = agents.decide_application(
        tenant_id=tenant_id, application_id=application_id, approve=approve, reason=reason, actor=actor, now=now,
        reviewer_member_id=reviewer_member_id, product_ids=product_ids, regions=regions, categories=categories)
    if app.package_order_id is not None and not approve:  # rejected first: the order's end does not close it again
        _return_package(tenant_id, app, reason, actor, now)
    out: dict[str, Any] = {"application": agents.application_view(app)}
    level = agents.levels(tenant_id=tenant_id).get(app.level)
    name = level.name if level else app.level
    _alert(tenant_id, app.member_id, f"您申请的{name}已通过审核，代理证书已发放。" if approve else
           f"您申请的{name}未通过审核，原因：{app.reason}", f"application:{app.id}:decided", now)
    if auth is not None:
        out["authorization"] = agents.authorization_view(auth, now=now)
        if changed or pending.package_order_id is not None:  # the package moved the level before the grant
            cert = agents.issue_certificate(tenant_id=tenant_id, authorization_id=auth.id, now=now,
                                            products_text=products_text(tenant_id=tenant_id, auth=auth))
            out["certificate"] = agents.certificate_view(cert)
    return out


def _collect_package(tenant_id: int, app: Any, now: datetime) -> None:
    """Before an approval: the package is paid (policy before_review), or paid now from
    the applicant's stored value (on_approval; 409 insufficient_balance when it does
    not cover it, nothing changed). Its follow-up (the plan's rewards, at the level the
    applicant held when it paid) runs now, then the package grants the level."""
    order = orders.lock_order(tenant_id=tenant_id, order_id=app.package_order_id)
    if order is None or order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDING, OrderStatus.REFUNDED):
        raise PackageUnpaid("申请的等级礼包订单已取消或退款，不能审核通过")
    if order.status == OrderStatus.CREATED:
        if agents.get_settings(tenant_id=tenant_id).package_payment != "on_approval":
            raise PackageUnpaid()
        payment_methods.pay_with_stored_value(tenant_id=tenant_id, member_id=app.member_id, order_id=order.id,
                                              amount_fen=None, now=now)
    paid_order.ensure_followed_up(tenant_id=tenant_id, order_id=order.id, pending=True, now=now)
    app.package_status = PackageStatus.PAID
    rewards.buy_level(tenant_id=tenant_id, member_id=app.member_id, level=app.level, order_id=order.id)


def _return_package(tenant_id: int, app: Any, reason: str, actor: str, now: datetime) -> None:
    """Before a rejection: an unpaid package order is cancelled (its payment closed at
    WeChat Pay, any stored value returned); a paid one is refunded the way it was paid
    (WeChat Pay, stored value), its rewards cancelled — once: a rejection happens once,
    and an order is refunded whole once."""
    order = orders.lock_order(tenant_id=tenant_id, order_id=app.package_order_id)
    if order is None or order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDING, OrderStatus.REFUNDED):
        return
    if order.status == OrderStatus.CREATED:
        try:
            payments.cancel_unpaid(tenant_id=tenant_id, order_id=order.id, now=now, reason="agent_rejected")
            app.package_status = PackageStatus.CANCELLED
            return
        except OrderStateConflict:  # WeChat Pay took the money meanwhile (now applied): refund it
            pass
    payments.refund_order(tenant_id=tenant_id, order_id=order.id, order_line_id=None, actor=actor, now=now,
                          reason=f"代理申请未通过，礼包款退回：{reason}"[:200])
    app.package_status = PackageStatus.REFUNDING


def authorize(*, tenant_id: int, member_id: int, level: str, actor: str, now: datetime,
              product_ids: list[int] | None = None, regions: list[dict[str, Any]] | None = None,
              valid_until: datetime | None = None, categories: list[str] | None = None) -> dict[str, Any]:
    """HQ grants or changes an authorization directly; a new certificate when the level
    changed (or the products, regions or validity printed on it did)."""
    auth, _ = agents.authorize(tenant_id=tenant_id, member_id=member_id, level=level, actor=actor, now=now,
                               product_ids=product_ids, regions=regions, valid_until=valid_until,
                               categories=categories)
    cert = agents.issue_certificate(tenant_id=tenant_id, authorization_id=auth.id, now=now,
                                    products_text=products_text(tenant_id=tenant_id, auth=auth))
    return {"authorization": agents.authorization_view(auth, now=now), "certificate": agents.certificate_view(cert)}


def update_authorization(*, tenant_id: int, authorization_id: int, changes: Mapping[str, Any], actor: str,
                         now: datetime) -> dict[str, Any]:
    """Change what an authorization covers or its validity; while it is active, a new
    certificate prints the change (the old one is superseded)."""
    auth = agents.update_authorization(tenant_id=tenant_id, authorization_id=authorization_id, changes=changes,
                                       actor=actor, now=now)
    if auth.status == AuthorizationStatus.ACTIVE:
        agents.issue_certificate(tenant_id=tenant_id, authorization_id=auth.id, now=now,
                                 products_text=products_text(tenant_id=tenant_id, auth=auth))
    return agents.authorization_view(auth, now=now)


def change_authorization_status(*, tenant_id: int, authorization_id: int, action: str, reason: str, actor: str,
                                now: datetime) -> dict[str, Any]:
    """Suspend, reinstate or revoke; revoking revokes its certificates."""
    auth = agents.change_status(tenant_id=tenant_id, authorization_id=authorization_id, action=action,
                                reason=reason, actor=actor, now=now)
    if auth.status == AuthorizationStatus.REVOKED:
        agents.revoke_certificates(tenant_id=tenant_id, authorization_id=auth.id, now=now)
    return agents.authorization_view(auth, now=now)


@listen("agent_level_changed")
def on_agent_level_changed(*, tenant_id: int, member_id: int, old_level: str | None, new_level: str | None,
                           actor: str) -> None:
    """A level changed outside the channel (an operator, an automatic upgrade): the
    authorization follows, with a new certificate (or revoked ones when it ended)."""
    now = utcnow()
    auth = agents.follow_level(tenant_id=tenant_id, member_id=member_id, level=new_level, actor=actor, now=now)
    if auth is None:
        return
    if auth.status == AuthorizationStatus.REVOKED:
        agents.revoke_certificates(tenant_id=tenant_id, authorization_id=auth.id, now=now)
    else:
        agents.issue_certificate(tenant_id=tenant_id, authorization_id=auth.id, now=now,
                                 products_text=products_text(tenant_id=tenant_id, auth=auth))


# ------------------------------------------------------------------ restock


_CLOUD_RECEIVER = orders.Receiver(name="云仓入库", phone="0", address="云仓入库，不发货")


def place_restock(*, tenant_id: int, member_id: int, items: Sequence[tuple[int, int]], source: str,
                  now: datetime, paid_via: str | None = None, hold: bool = True,
                  paid_from_stored_value: bool = False) -> tuple[RestockInfo, Any]:
    """An agent restocks from its upline or the platform at its own level's price; the
    order waits for payment, the upline's pieces are set aside. Returns (restock, order).
    `paid_from_stored_value`: the order is placed paid; the caller takes the stored
    value in this unit of work (restock_with_stored_value)."""
    if source not in RESTOCK_SOURCES:
        raise InvalidStockInput(details=[{"field": "source", "message": "进货来源须为 upline 或 platform"}])
    # The authorization and what the order needs of the buyer (its path for the upline,
    # its levels for the prices), in one read.
    auth = agents.agent_buying(tenant_id=tenant_id, member_id=member_id, now=now)
    quantities: dict[int, int] = {}
    for sku_id, qty in items:
        quantities[sku_id] = quantities.get(sku_id, 0) + qty
    rows = catalog.sku_rows(tenant_id=tenant_id, sku_ids=quantities)  # read once: checked here, priced by the order
    priced = catalog.price_skus(tenant_id=tenant_id, sku_ids=list(quantities), agent_level=auth.level, rows=rows)
    product_ids = sorted({p.product.id for p in priced.values()})
    agents.check_can_sell(tenant_id=tenant_id, member_id=member_id, product_ids=product_ids, now=now, auth=auth)
    policy = agents.restock_policy(tenant_id=tenant_id)
    limits = policy.restock_limits.get(auth.level) or {}
    total = sum(quantities.values())
    lo, hi = limits.get("min_pieces", 0), limits.get("max_pieces")
    if total < lo or (hi is not None and total > hi):
        level_name = agents.levels(tenant_id=tenant_id).get(auth.level)
        raise RestockLimitExceeded(
            f"{level_name.name if level_name else auth.level}每次进货须为 {lo}–{hi if hi is not None else '不限'} 件，"
            f"本次 {total} 件", details={"min_pieces": lo, "max_pieces": hi, "pieces": total})
    supplier_id = 0
    if source == "upline":
        up = agents.supplying_upline(tenant_id=tenant_id, member_id=member_id, now=now, auth=auth,
                                     path=auth.buyer_path)
        if up is None:
            raise NoSupplyingUpline()
        agents.check_can_sell(tenant_id=tenant_id, member_id=up.member_id, product_ids=product_ids, now=now,
                              auth=up)
        supplier_id = up.member_id
    order, lines = orders.create_order_with_lines(
        tenant_id=tenant_id, member_id=member_id, receiver=_CLOUD_RECEIVER, now=now, remark="云仓进货",
        items=[orders.LineRequest(sku_id=s, quantity=q) for s, q in sorted(quantities.items())],
        source_type="restock", source_id=supplier_id, stock_source="none" if supplier_id else "catalog",
        buyer=orders.BuyerPricing(auth.buyer_agent_level, auth.buyer_member_level), sku_rows=rows,
        paid_from_stored_value=paid_from_stored_value)
    restock = warehouse.record_restock(
        tenant_id=tenant_id, buyer_id=member_id, supplier_id=supplier_id, order_id=order.id, now=now,
        settlement_mode=policy.settlement_mode, paid_via=paid_via, hold=hold,
        lines=[{"sku_id": ln.sku_id, "quantity": ln.quantity, "unit_price_fen": ln.unit_price_fen} for ln in lines])
    return restock, order


def pay_restock_with_stored_value(*, tenant_id: int, member_id: int, restock_id: int, now: datetime) -> RestockInfo:
    """Pay a restock from the agent's stored value (409 insufficient_balance when it
    does not cover it): the order is paid, and its follow-up (rewards, then the pieces)
    runs as for a WeChat payment. The order records it as its stored-value part
    (stored_fen; paid_fen is what WeChat Pay took: 0), so a refund goes back there."""
    restock = warehouse.get_restock(tenant_id=tenant_id, restock_id=restock_id)
    if restock.buyer_id != member_id:
        raise RestockStateConflict("只能支付自己的进货单")
    order = orders.get_order(tenant_id=tenant_id, order_id=restock.order_id, member_id=member_id)
    payable = orders.lock_for_payment(tenant_id=tenant_id, order_no=order.order_no)
    if payable is None or payable.status != OrderStatus.CREATED:
        raise RestockStateConflict("进货单已支付或已取消")
    payment_methods.pay_with_stored_value(tenant_id=tenant_id, member_id=member_id, order_id=order.id,
                                          amount_fen=None, now=now)
    warehouse.paying_with(restock=restock, paid_via="stored")
    return restock


def restock_with_stored_value(*, tenant_id: int, member_id: int, items: Sequence[tuple[int, int]], source: str,
                              now: datetime) -> tuple[RestockInfo, Any]:
    """Place a restock and pay it from the agent's stored value in one go (one unit of
    work, nothing read twice): the order is paid before anyone else can see it, so the
    follow-up (rewards, pieces in, settlement) is the only thing left. 409
    insufficient_balance, and nothing placed, when the stored value does not cover it."""
    # The order is placed paid, recorded as its stored-value part (stored_fen), so a
    # refund goes back there; the stored value is taken right after, in this unit of
    # work, and a refusal (insufficient_balance) rolls the order back with it.
    restock, order = place_restock(tenant_id=tenant_id, member_id=member_id, items=items, source=source, now=now,
                                   paid_via="stored", hold=False, paid_from_stored_value=True)
    finance.pay_with_stored_value(tenant_id=tenant_id, member_id=member_id, order_id=order.id,
                                  amount_fen=order.payable_fen, now=now)
    # The upline's pieces set aside last, right before the commit: the posting locks the
    # upline's balance and a `held` shard that concurrent restocks (and the follow-up)
    # write too. All in this one unit of work: short of pieces, nothing is placed or paid.
    warehouse.hold_restock_pieces(tenant_id=tenant_id, restock=restock, now=now)
    return restock, order


def _settlement_fen(tenant_id: int, r: RestockInfo, skus: Sequence[int] | None = None) -> int:
    """What the upline is owed for the pieces it supplied (of these SKUs; all when None):
    `upline` mode, what the buyer paid for them; `platform` mode, what they cost the
    upline (its own level's price)."""
    return _settlements_fen(tenant_id, [r], skus)[r.id]


def _settlements_fen(tenant_id: int, restocks: Sequence[RestockInfo],
                     skus: Sequence[int] | None = None) -> dict[int, int]:
    """_settlement_fen of several restocks (by restock id), the uplines' levels read in
    one statement and each SKU once."""
    lines = {r.id: [ln for ln in r.lines if skus is None or ln["sku_id"] in skus] for r in restocks}
    out = {r.id: sum(ln["unit_price_fen"] * ln["quantity"] for ln in lines[r.id])
           for r in restocks if r.settlement_mode == "upline"}
    at_cost = [r for r in restocks if r.settlement_mode != "upline"]
    if at_cost:
        ups = members.reward_profiles(tenant_id=tenant_id, member_ids=[r.supplier_id for r in at_cost])
        priced = catalog.get_skus(tenant_id=tenant_id, sku_ids={ln["sku_id"] for r in at_cost for ln in lines[r.id]})
        for r in at_cost:
            level = ups[r.supplier_id].agent_level if r.supplier_id in ups else None
            out[r.id] = sum(catalog.unit_price(priced[ln["sku_id"]], level) * ln["quantity"] for ln in lines[r.id])
    return out


def _settle_restocks(tenant_id: int, restocks: Sequence[RestockInfo], now: datetime) -> None:
    """Money for pieces uplines supplied (_settlement_fen), from the merchant account to
    each upline's withdrawable balance, once per restock: one ledger batch."""
    supplied = [r for r in restocks if r.supplier_id]
    amounts = _settlements_fen(tenant_id, supplied)
    ledger.post_many(tenant_id=tenant_id, now=now, postings=[ledger.PostingSpec(
        key=f"restock:settle:{r.id}", kind="restock_settlement", memo=f"进货单 {r.id} 货款结算给上级",
        member_id=r.supplier_id, order_id=r.order_id,
        legs=[Leg(system(K.MERCHANT), -amounts[r.id]), Leg(member(K.MEMBER_AVAILABLE, r.supplier_id), amounts[r.id])])
        for r in supplied if amounts[r.id] > 0])


@listen("orders_followed_up")
def on_orders_followed_up(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> None:
    """Paid restock orders (rewards already recorded): pieces in, money settled, and the
    order delivered to the cloud at once (it completes by the orders' job). A paid
    application package is marked paid (its level waits for the approval). A whole
    batch of the follow-up in a few statements: one read of the packages, one of the
    restocks, one pieces batch, one money batch, one read of the orders to deliver."""
    for app in agents.applications_of_packages(tenant_id=tenant_id, order_ids=order_ids):
        if app.package_status == PackageStatus.UNPAID:
            app.package_status = PackageStatus.PAID
    due = [r for r in warehouse.restocks_of_orders(tenant_id=tenant_id, order_ids=order_ids, lock=True)
           if r.status == RestockStatus.CREATED]  # paid already, or cancelled before the payment: not here
    if not due:
        return
    _settle_restocks(tenant_id, due, now)
    # An order refunded meanwhile by an operator is not shipped: its pieces stay booked.
    orders.ship_paid_orders(tenant_id=tenant_id, shipments={r.order_id: ("云仓入库", f"RS{r.id}") for r in due},
                            actor="system:warehouse", now=now)
    # The pieces last, right before the batch commits: their posting locks the brand's
    # `held` shards, which every new restock from an upline also writes (its pieces set
    # aside), so the batch holds them for as short a time as it can.
    warehouse.restocks_paid(tenant_id=tenant_id, restocks=due, now=now)


# The order whose refund refund_restock is opening: the buyer's own refund request
# through the shop stays refused (the pieces must leave the cloud stock first, and only
# refund_restock moves them).
_refunding_restock: ContextVar[int | None] = ContextVar("refunding_restock", default=None)
_RESTOCK_STATUS_TEXT: dict[str, str] = {RestockStatus.CREATED: "未支付", RestockStatus.CANCELLED: "已取消",
                                        RestockStatus.REFUNDED: "已退款"}


def refund_restock(*, tenant_id: int, restock_id: int, sku_id: int | None, reason: str, actor: str,
                   now: datetime) -> dict[str, Any]:
    """The brand refunds a paid restock, whole or (tenant rule `lines`) one SKU's line:
    the pieces leave the buyer's cloud stock back to their source at once (409
    restock_pieces_moved when it no longer holds them; nothing changed), platform pieces
    back into the catalog's stock, and the money goes back through payments' refund
    (WeChat Pay, stored value); when it has, the upline's settlement is reversed and the
    rewards cancelled or reversed (lines_refunded). Once per line; audited."""
    rule = agents.get_settings(tenant_id=tenant_id).restock_refund
    if rule == "none":
        raise NotRefundable("品牌未开放进货单退款")
    if sku_id is not None and rule != "lines":
        raise InvalidStockInput("品牌只允许进货单整单退款", details=[{"field": "sku_id", "message": "只能整单退款"}])
    r = warehouse.lock_restock(tenant_id=tenant_id, restock_id=restock_id)
    if r.status != RestockStatus.PAID:
        raise RestockStateConflict(f"进货单{_RESTOCK_STATUS_TEXT.get(r.status, r.status)}，不能退款")
    line_id = None
    if sku_id is not None:
        found = [ln for ln in orders.order_lines(tenant_id=tenant_id, order_ids=[r.order_id])[r.order_id]
                 if ln.sku_id == sku_id]
        if not found:
            raise InvalidStockInput(details=[{"field": "sku_id", "message": "进货单中没有该规格"}])
        line_id = found[0].id
    token = _refunding_restock.set(r.order_id)
    try:
        refund = payments.refund_order(tenant_id=tenant_id, order_id=r.order_id, order_line_id=line_id, actor=actor,
                                       now=now, reason=(reason or "进货单退款")[:200])
    finally:
        _refunding_restock.reset(token)
    by_line = {ln.id: ln for ln in orders.order_lines(tenant_id=tenant_id, order_ids=[r.order_id])[r.order_id]}
    quantities: dict[int, int] = {}
    for lid in refund.line_ids:
        quantities[by_line[lid].sku_id] = quantities.get(by_line[lid].sku_id, 0) + by_line[lid].quantity
    warehouse.return_restock_pieces(tenant_id=tenant_id, restock=r, quantities=quantities, refund_id=refund.id,
                                    now=now)
    order = orders.get_order(tenant_id=tenant_id, order_id=r.order_id)
    if not r.supplier_id and order.shipped_at is not None:  # issued from the brand's stock: back into it
        catalog.release_stock(tenant_id=tenant_id, quantities=quantities)
    record_audit(tenant_id=tenant_id, actor=actor, action="warehouse.restock_refund", target_type="restock",
                 target_id=r.id, before={"status": r.status},
                 after={"refund_no": refund.refund_no, "amount_fen": refund.amount_fen,
                        "pieces": {str(k): v for k, v in sorted(quantities.items())}, "reason": refund.reason})
    return {"restock": warehouse.restock_view(r), "refund": orders.refund_view(refund)}


def _restock_money_back(order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """A restock's refund went through: the upline gives back what it was settled for
    those pieces (it may go below zero, recovered from later earnings, as reversed
    rewards do), once per refund; the restock is refunded when every line is."""
    found = warehouse.restocks_of_orders(tenant_id=order.tenant_id, order_ids=[order.id], lock=True)
    if not found:
        return
    r = found[0]
    if r.supplier_id and r.paid_at is not None:
        amount = _settlement_fen(order.tenant_id, r, sorted({ln.sku_id for ln in lines}))
        if amount > 0:
            ledger.post(tenant_id=order.tenant_id, key=f"restock:unsettle:{refund.refund_no}",
                        kind="restock_settlement_reversal", now=now, memo=f"进货单 {r.id} 退款，上级退回货款",
                        member_id=r.supplier_id, order_id=order.id,
                        legs=[Leg(member(K.MEMBER_AVAILABLE, r.supplier_id), -amount),
                              Leg(system(K.MERCHANT), amount)])
    warehouse.restock_refunded(restock=r, whole=order.status == OrderStatus.REFUNDED, now=now)


@listen("order_cancelled")
def on_order_cancelled(*, order: Any, now: datetime) -> None:
    """An unpaid order cancelled: a restock's held pieces back to the upline, a
    drop-ship order's pieces back to the agent."""
    if order.source_type == "agent_apply":
        _package_ended(order, PackageStatus.CANCELLED, "礼包订单已取消，申请关闭", now)
    elif order.source_type == "restock":
        warehouse.restock_cancelled(tenant_id=order.tenant_id, order_id=order.id, now=now)
    elif order.stock_source == "cloud":
        warehouse.return_for_order(tenant_id=order.tenant_id, order_id=order.id, quantities=None, now=now,
                                   key="cancel")


@listen("lines_refunded")
def on_lines_refunded(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """Drop-ship lines refunded before the brand shipped: their pieces back to the agent.
    An application's package refunded: the application closes if still pending. A
    restock's refund: the upline's settlement back."""
    if order.source_type == "restock":
        _restock_money_back(order, refund, lines, now)
        return
    if order.source_type == "agent_apply":
        _package_ended(order, PackageStatus.REFUNDED, "礼包已退款，申请关闭", now)
        return
    if order.stock_source != "cloud" or order.shipped_at is not None:
        return
    quantities: dict[int, int] = {}
    for ln in lines:
        quantities[ln.sku_id] = quantities.get(ln.sku_id, 0) + ln.quantity
    warehouse.return_for_order(tenant_id=order.tenant_id, order_id=order.id, quantities=quantities, now=now,
                               key=f"refund:{refund.id}")


def _package_ended(order: Any, status: PackageStatus, reason: str, now: datetime) -> None:
    app = agents.application_of_package(tenant_id=order.tenant_id, order_id=order.id)
    if app is None:
        return
    app.package_status = status
    if app.status == ApplicationStatus.PENDING:
        agents.close_application(tenant_id=order.tenant_id, application_id=app.id, reason=reason, now=now)
        _alert(order.tenant_id, app.member_id, f"您的代理申请已关闭：{reason}", f"application:{app.id}:closed", now)


@listen("refund_requested")
def on_refund_requested(*, order: Any) -> None:
    """A restock order is refunded only through refund_restock, which takes the pieces
    out of the cloud stock first (the buyer's own request through the shop is refused)."""
    if order.source_type == "restock" and _refunding_restock.get() != order.id:
        raise NotRefundable()


# ------------------------------------------------------------------ drop-ship


def place_retail_order(*, tenant_id: int, member_id: int, items: Sequence[Any], receiver: Any, now: datetime,
                       remark: str = "", source_type: str | None = None, source_id: int | None = None) -> Any:
    """A retail order. Through an agent's link (source agent) or an agent's mini-shop it
    ships from that agent's cloud stock (厂家一件代发) when the agent holds the pieces;
    short, the tenant's policy refuses it or falls back to the platform's stock. An
    agent whose authorization is not in force, or does not cover the products or the
    delivery region, cannot sell."""
    source_type, source_id = credited_source(tenant_id=tenant_id, items=items, source_type=source_type,
                                             source_id=source_id)
    agent_id = _selling_agent(tenant_id, items, source_type, source_id)
    if agent_id is None:
        return orders.create_order(tenant_id=tenant_id, member_id=member_id, items=items, receiver=receiver, now=now,
                                   remark=remark, source_type=source_type, source_id=source_id)
    quantities: dict[int, int] = {}
    for it in items:
        quantities[it.sku_id] = quantities.get(it.sku_id, 0) + it.quantity
    buyer = members.get_member(tenant_id=tenant_id, member_id=member_id)
    priced = catalog.price_skus(tenant_id=tenant_id, sku_ids=list(quantities), agent_level=buyer.agent_level)
    agents.check_can_sell(tenant_id=tenant_id, member_id=agent_id, now=now, address=receiver.address,
                          product_ids=sorted({p.product.id for p in priced.values()}))
    fallback = agents.get_settings(tenant_id=tenant_id).dropship_shortage == "platform"
    if warehouse.has_pieces(tenant_id=tenant_id, member_id=agent_id, quantities=quantities):
        if not fallback:  # short after all (a concurrent order took them): refused, all rolled back
            return _dropship_order(tenant_id, member_id, agent_id, items, receiver, quantities, remark, source_type,
                                   source_id, now)
        try:
            # Falling back needs this attempt undone alone. (A deadlock inside rolls the
            # whole transaction back; the unit of work retries it.)
            with db.session.begin_nested():
                return _dropship_order(tenant_id, member_id, agent_id, items, receiver, quantities, remark,
                                       source_type, source_id, now)
        except InsufficientPieces:  # taken by a concurrent order since the look
            pass
    if not fallback:
        raise InsufficientPieces("代理云仓库存不足，暂时无法下单")
    return orders.create_order(tenant_id=tenant_id, member_id=member_id, items=items, receiver=receiver, now=now,
                               remark=remark, source_type=source_type, source_id=source_id)


def _dropship_order(tenant_id: int, member_id: int, agent_id: int, items: Sequence[Any], receiver: Any,
                    quantities: Mapping[int, int], remark: str, source_type: str | None, source_id: int | None,
                    now: datetime) -> Any:
    order = orders.create_order(tenant_id=tenant_id, member_id=member_id, items=items, receiver=receiver, now=now,
                                remark=remark, source_type=source_type, source_id=source_id, stock_source="cloud")
    warehouse.consume_for_order(tenant_id=tenant_id, order_id=order.id, agent_id=agent_id, quantities=quantities,
                                now=now)
    return order


def _selling_agent(tenant_id: int, items: Sequence[Any], source_type: str | None, source_id: int | None) -> int | None:
    if source_type == "agent" and source_id:
        if agents.find_authorization(tenant_id=tenant_id, member_id=source_id) is None:
            raise InvalidStockInput("链接中的代理不存在", code="agent_not_found", http_status=404)
        return source_id
    if source_type == "shop" and source_id:
        product_ids = []
        for it in items:
            try:
                product_ids.append(catalog.get_sku(tenant_id=tenant_id, sku_id=it.sku_id).product_id)
            except Exception:  # noqa: BLE001 - an unknown SKU is create_order's error to give
                continue
        shown = shops.order_attribution(tenant_id=tenant_id, shop_id=source_id, product_ids=product_ids)
        if shown is not None and agents.find_authorization(tenant_id=tenant_id,
                                                            member_id=shown.owner_member_id) is not None:
            return shown.owner_member_id
    return None


# ------------------------------------------------------------------ transfer and pickup


def transfer(*, tenant_id: int, from_id: int, to_id: int, sku_id: int, pieces: int, client_token: str,
             now: datetime, note: str = "") -> Any:
    """Pieces to a downline agent, confirmed by the receiver when the tenant wants it."""
    t = warehouse.transfer(tenant_id=tenant_id, from_id=from_id, to_id=to_id, sku_id=sku_id,
                           product_id=lambda: catalog.get_sku(tenant_id=tenant_id, sku_id=sku_id).product_id,
                           pieces=pieces, client_token=client_token, note=note, now=now)
    if t.status == TransferStatus.PENDING:
        _alert(tenant_id, to_id, f"您的上级转来 {t.pieces} 件货，请在代理中心确认收货。", f"transfer:{t.id}", now)
    return t



def request_pickup(*, tenant_id: int, member_id: int, sku_id: int, pieces: int, client_token: str,
                   receiver: Mapping[str, str], now: datetime) -> Any:
    """An agent has its own pieces shipped: out of the cloud stock at once, the tenant's
    freight paid from stored value (409 when either does not cover it), once per token."""
    sku = catalog.get_sku(tenant_id=tenant_id, sku_id=sku_id)
    freight = agents.get_settings(tenant_id=tenant_id).pickup_freight_fen
    pickup, created = warehouse.request_pickup(
        tenant_id=tenant_id, member_id=member_id, sku_id=sku_id, product_id=sku.product_id, pieces=pieces,
        freight_fen=freight, client_token=client_token, receiver=receiver, now=now)
    if created and freight > 0:
        ledger.post(tenant_id=tenant_id, key=f"pickup:freight:{pickup.id}", kind="pickup_freight", now=now,
                    memo=f"提货单 {pickup.id} 运费", member_id=member_id,
                    legs=[Leg(member(K.MEMBER_STORED, member_id), -freight, covered=True),
                          Leg(system(K.MERCHANT), freight)])
    return pickup
