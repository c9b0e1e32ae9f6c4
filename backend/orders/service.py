"""Order verbs: create (stock reserved), cancel, mark paid (what the payment sets off is
the paid-order follow-up, backend/flows/paid_order.py), ship, receive, complete, refunds per line or
whole; reads and views.

Keyword-only functions that never commit. Every change of an order's state first
takes the order's row lock (`lock_order`) and re-reads its state under it; calls to
WeChat Pay live in backend/payments, which calls these.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update

from backend.audit.service import record_audit
from backend.bulk import id_in, in_batches, insert_loaded
from backend.catalog import service as catalog
from backend.db import expire_loaded, keep_written, newest_first, rowcount
from backend.events import announce
from backend.extensions import db
from backend.members import levels as member_levels
from backend.members import service as members
from backend.money import yuan
from backend.orders import rules as freight_rules
from backend.orders.errors import (
    InvalidOrderInput,
    NothingToRefund,
    OrderExpired,
    OrderNotFound,
    OrderStateConflict,
    RefundNotFound,
    RefundStateConflict,
)
from backend.orders.models import SOURCE_TYPES, STOCK_SOURCES, Order, OrderLine, OrderPolicy, Refund
from backend.orders.paid import BY_ID
from backend.orders.types import LineStatus, OrderInfo, OrderStatus, RefundInfo, RefundStatus
from backend.process_cache import ProcessCache
from backend.wechat.types import WxRefundStatus

DEFAULT_PAY_TIMEOUT_MINUTES = 30
DEFAULT_AUTO_COMPLETE_DAYS = 10
MAX_LINES = 20
MAX_QUANTITY = 999
REFUNDABLE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.RECEIVED, OrderStatus.COMPLETED,
              OrderStatus.REFUNDING)
OPEN_REFUND = (RefundStatus.REQUESTED, RefundStatus.PROCESSING)


@dataclass(frozen=True)
class BuyerPricing:
    """What prices an order for its buyer (the caller read it with something else):
    the agent level (level prices) and the member level (0: no discount)."""

    agent_level: str | None
    member_level: int


@dataclass(frozen=True)
class LineRequest:
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    address: str


# ------------------------------------------------------------------ policy


def order_policy(*, tenant_id: int) -> OrderPolicy:
    """The tenant's order timings and freight rule (the defaults, unsaved, when it never set them)."""
    row = db.session.scalar(select(OrderPolicy).where(OrderPolicy.tenant_id == tenant_id))
    return row or OrderPolicy(tenant_id=tenant_id, pay_timeout_minutes=DEFAULT_PAY_TIMEOUT_MINUTES,
                              auto_complete_days=DEFAULT_AUTO_COMPLETE_DAYS, freight_fen=0,
                              free_freight_over_fen=None, freight_by_region=None, freight_refund="unshipped")


# Every order placed read the policy row for its payment deadline; the timeout is kept
# per process for POLICY_TTL_SECONDS (saved through this process: seen at once; by
# another: within that time; backend/process_cache.py).
POLICY_TTL_SECONDS = 2.0
_PAY_TIMEOUT: ProcessCache[int] = ProcessCache("order_pay_timeout", POLICY_TTL_SECONDS)
_PAY_TIMEOUT.forget_on_change(OrderPolicy, lambda row: row.tenant_id)


def pay_timeout_minutes(*, tenant_id: int) -> int:
    """How long a new order waits for its payment, as saved at most POLICY_TTL_SECONDS ago."""
    return _PAY_TIMEOUT.get(tenant_id, lambda: order_policy(tenant_id=tenant_id).pay_timeout_minutes)


_FREIGHT_FIELDS = ("freight_fen", "free_freight_over_fen", "freight_by_region", "freight_refund")


def update_order_policy(*, tenant_id: int, changes: Mapping[str, Any], actor: str) -> OrderPolicy:
    """Change the unpaid timeout (minutes, 5–1440), the automatic completion (days, 1–60)
    or the freight rule (backend/orders/rules.py; free_freight_over_fen 0 = no 满额包邮)."""
    limits = {"pay_timeout_minutes": (5, 1440), "auto_complete_days": (1, 60)}
    errors = [{"field": k, "message": f"须为 {lo}–{hi} 之间的整数"} for k, v in changes.items()
              if k in limits for lo, hi in [limits[k]]
              if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi]
    over = changes.get("free_freight_over_fen")
    errors += freight_rules.rule_errors(freight_fen=changes.get("freight_fen"),
                                        free_over_fen=over or None,
                                        by_region=changes.get("freight_by_region"),
                                        refund=changes.get("freight_refund"))
    if errors:
        raise InvalidOrderInput(details=errors)
    row = order_policy(tenant_id=tenant_id)
    before = policy_view(row)
    if row.id is None:
        db.session.add(row)
    for key, value in changes.items():
        if key in limits or key in _FREIGHT_FIELDS:
            setattr(row, key, (value or None) if key == "free_freight_over_fen" else value)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="orders.policy", target_type="tenant",
                 target_id=tenant_id, before=before, after=policy_view(row))
    return row


def policy_view(p: OrderPolicy) -> dict[str, Any]:
    return {"pay_timeout_minutes": p.pay_timeout_minutes, "auto_complete_days": p.auto_complete_days,
            "freight_fen": p.freight_fen or 0, "free_freight_over_fen": p.free_freight_over_fen,
            "freight_by_region": dict(p.freight_by_region or {}), "freight_refund": p.freight_refund or "unshipped"}


def freight_rule(*, tenant_id: int) -> freight_rules.FreightRule:
    """The tenant's freight rule as the pure rules take it."""
    p = order_policy(tenant_id=tenant_id)
    return freight_rules.FreightRule(freight_fen=p.freight_fen or 0, free_over_fen=p.free_freight_over_fen,
                                     by_region=dict(p.freight_by_region or {}),
                                     refund=p.freight_refund or "unshipped")


def freight_for(*, tenant_id: int, goods_fen: int, address: str) -> int:
    """What delivering these goods to this address costs the buyer (fen), by the tenant's rule."""
    return freight_rules.freight_for(freight_rule(tenant_id=tenant_id), goods_fen=goods_fen, address=address)


# ------------------------------------------------------------------ create and read


def new_order_no(now: datetime) -> str:
    """24 characters, unique in practice and guarded by a unique key (out_trade_no)."""
    return f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


def _new_refund_no(now: datetime) -> str:
    return f"RF{now:%y%m%d%H%M%S}{secrets.randbelow(10**12):012d}"


def create_order(*, tenant_id: int, member_id: int, items: Sequence[LineRequest], receiver: Receiver,
                 now: datetime, remark: str = "", source_type: str | None = None,
                 source_id: int | None = None, stock_source: str = "catalog") -> Order:
    """Place an order: price every SKU for the buyer's level, reserve the stock (all or
    nothing; only catalog stock here, the flows move cloud stock), and give it a
    payment deadline. The source is taken as given: whether a mini-shop may be
    credited is the checkout flow's to decide (backend/flows/checkout.py)."""
    return create_order_with_lines(tenant_id=tenant_id, member_id=member_id, items=items, receiver=receiver,
                                   now=now, remark=remark, source_type=source_type, source_id=source_id,
                                   stock_source=stock_source)[0]


def create_order_with_lines(*, tenant_id: int, member_id: int, items: Sequence[LineRequest], receiver: Receiver,
                            now: datetime, remark: str = "", source_type: str | None = None,
                            source_id: int | None = None, stock_source: str = "catalog",
                            buyer: BuyerPricing | None = None, sku_rows: catalog.SkuRows | None = None,
                            paid_from_stored_value: bool = False) -> tuple[Order, list[OrderLine]]:
    """create_order, returning the new lines too (one per SKU, in the order of the
    items' first mention), so the caller need not read them back. `buyer`: the buyer's
    pricing when the caller has just read it with its own checks (the buyer is not
    read again; the caller vouches that it is a member of this tenant). `sku_rows`:
    what catalog.sku_rows just read of these SKUs in this unit of work.

    `paid_from_stored_value`: the order is paid wholly from the buyer's stored value in
    this same unit of work (a restock paid at once). It is inserted paid, as
    apply_stored_value and mark_paid would leave it, instead of inserted and then
    updated; the caller takes the stored value (finance) before the unit commits, and a
    refusal there rolls the order back with it."""
    check_items(items, source_type, source_id)
    if stock_source not in STOCK_SOURCES:
        raise ValueError(f"unknown stock source {stock_source!r}")
    quantities: dict[int, int] = {}
    for item in items:
        quantities[item.sku_id] = quantities.get(item.sku_id, 0) + item.quantity
    if any(q > MAX_QUANTITY for q in quantities.values()):
        raise InvalidOrderInput(details=[{"field": "items", "message": f"单个规格最多购买 {MAX_QUANTITY} 件"}])
    if buyer is None:
        member = members.get_member(tenant_id=tenant_id, member_id=member_id)
        buyer = BuyerPricing(member.agent_level, member.member_level)
    priced = catalog.price_skus(tenant_id=tenant_id, sku_ids=list(quantities), agent_level=buyer.agent_level,
                                member_discount=member_levels.member_discount(
                                    tenant_id=tenant_id, member_level=buyer.member_level), rows=sku_rows)
    if stock_source == "catalog":
        catalog.reserve_stock(tenant_id=tenant_id, quantities=quantities)
    goods = sum(priced[s].unit_price_fen * q for s, q in quantities.items())
    pay_timeout = pay_timeout_minutes(tenant_id=tenant_id)
    order_row: dict[str, Any] = dict(
        tenant_id=tenant_id, order_no=new_order_no(now), member_id=member_id, status=OrderStatus.CREATED,
        goods_fen=goods, freight_fen=0, payable_fen=goods, receiver_name=receiver.name,
        receiver_phone=receiver.phone, receiver_address=receiver.address, remark=remark, source_type=source_type,
        source_id=source_id, stock_source=stock_source, pay_deadline=now + timedelta(minutes=pay_timeout),
        created_at=now, updated_at=now)
    if paid_from_stored_value:
        order_row.update(status=OrderStatus.PAID, stored_fen=goods, paid_fen=0, paid_at=now, followup_pending=True)
    # Inserted as rows and handed back as loaded objects (bulk.insert_loaded): this is
    # every order's and restock's path, and the ORM's flush cost more than the INSERTs.
    [order] = insert_loaded(Order, [order_row])
    lines = insert_loaded(OrderLine, [dict(
        tenant_id=tenant_id, order_id=order.id, product_id=p.product.id, sku_id=sku_id,
        product_name=p.product.name, sku_name=p.sku.name, image_url=p.product.image_url, quantity=qty,
        unit_price_fen=p.unit_price_fen, paid_fen=p.unit_price_fen * qty, cost_fen=p.sku.cost_fen * qty)
        for sku_id, qty in quantities.items() for p in (priced[sku_id],)])
    announce("order_placed", order=order, now=now)
    if paid_from_stored_value:
        announce("order_paid", tenant_id=tenant_id, order_id=order.id)
    return order, lines


def apply_discounts(*, tenant_id: int, order: Order, lines: Sequence[OrderLine],
                    line_discounts: Mapping[int, int], freight_fen: int = 0, freight_discount_fen: int = 0) -> Order:
    """Price an order placed in this unit of work (its rows are this transaction's own,
    still awaiting payment), from backend/flows/checkout.py: each line lowered by its
    discount (order line id -> fen: activity prices, coupons, points), so a line's
    paid_fen is what the buyer pays for it (the base of its rewards and refunds); the
    freight added (the tenant's rule) less what a free-shipping coupon waived. The
    order's payable_fen is the lines' sum plus the freight left. It keeps at least 1 fen
    to pay (WeChat Pay takes no zero payments)."""
    if order.tenant_id != tenant_id or order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    if not 0 <= freight_discount_fen <= freight_fen or order.freight_fen != 0:
        raise ValueError(f"freight {freight_fen} less {freight_discount_fen} does not fit order {order.id}")
    by_id = {ln.id: ln for ln in lines if ln.order_id == order.id}
    total = 0
    for line_id, fen in line_discounts.items():
        line = by_id.get(line_id)
        if line is None or not isinstance(fen, int) or fen < 0 or fen > line.paid_fen:
            raise ValueError(f"discount {fen!r} does not fit order line {line_id}")
        line.paid_fen -= fen
        total += fen
    payable = order.payable_fen - total + freight_fen - freight_discount_fen
    if payable < 1:
        raise ValueError("an order keeps at least 1 fen to pay")
    order.payable_fen = payable
    order.freight_fen = freight_fen
    order.freight_discount_fen = freight_discount_fen
    db.session.flush()
    return order


def check_items(items: Sequence[LineRequest], source_type: str | None, source_id: int | None) -> None:
    """An order request's shape (lines, quantities, source), or InvalidOrderInput."""
    errors = []
    if not 1 <= len(items) <= MAX_LINES:
        errors.append({"field": "items", "message": f"须有 1–{MAX_LINES} 个商品"})
    for i, item in enumerate(items):
        if not isinstance(item.quantity, int) or isinstance(item.quantity, bool) or not 1 <= item.quantity <= MAX_QUANTITY:
            errors.append({"field": f"items[{i}].quantity", "message": f"数量须为 1–{MAX_QUANTITY}"})
        if not isinstance(item.sku_id, int) or isinstance(item.sku_id, bool) or item.sku_id < 1:
            errors.append({"field": f"items[{i}].sku_id", "message": "规格无效"})
    if (source_type is None) != (source_id is None):
        errors.append({"field": "source", "message": "来源类型与编号须同时给出"})
    elif source_type is not None and source_type not in SOURCE_TYPES:
        errors.append({"field": "source.type", "message": "来源须为 shop、live、agent 或 restock"})
    if errors:
        raise InvalidOrderInput(details=errors)


def get_order(*, tenant_id: int, order_id: int, member_id: int | None = None) -> Order:
    """One order of this tenant (of this member, when given), or OrderNotFound."""
    stmt = select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
    if member_id is not None:
        stmt = stmt.where(Order.member_id == member_id)
    order = db.session.scalar(stmt)
    if order is None:
        raise OrderNotFound()
    return order


def orders_by_ids(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, Order]:
    """Orders of this tenant by id (missing ids are left out)."""
    if not order_ids:
        return {}
    return {o.id: o for o in db.session.scalars(select(Order).where(
        Order.tenant_id == tenant_id, Order.id.in_(sorted(set(order_ids)))))}


def _lock_order_stmt(by_id: bool, by_member: bool) -> Any:
    stmt = select(Order).where(Order.tenant_id == bindparam("tenant_id"))
    stmt = stmt.where(Order.id == bindparam("order_id")) if by_id else stmt.where(Order.order_no == bindparam("order_no"))
    if by_member:
        stmt = stmt.where(Order.member_id == bindparam("member_id"))
    return stmt.with_for_update().execution_options(populate_existing=True)


# Built once (no statement to build or cache key to compute per payment).
_LOCK_ORDER = {(by_id, by_member): _lock_order_stmt(by_id, by_member)
               for by_id in (True, False) for by_member in (True, False)}


def lock_order(*, tenant_id: int, order_id: int | None = None, order_no: str | None = None,
               member_id: int | None = None) -> Order | None:
    """The order under its row lock, freshly read (None when there is none)."""
    return db.session.scalar(_LOCK_ORDER[order_id is not None, member_id is not None], {
        "tenant_id": tenant_id, "order_id": order_id, "order_no": order_no, "member_id": member_id})


def _locked(tenant_id: int, order_id: int, member_id: int | None = None) -> Order:
    order = lock_order(tenant_id=tenant_id, order_id=order_id, member_id=member_id)
    if order is None:
        raise OrderNotFound()
    return order


def order_lines(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    """The lines of these orders, per order id, in id order."""
    out: dict[int, list[OrderLine]] = {oid: [] for oid in order_ids}
    if order_ids:
        for line in db.session.scalars(select(OrderLine).where(
                OrderLine.tenant_id == tenant_id, OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)):
            out[line.order_id].append(line)
    return out


def list_orders(*, tenant_id: int, member_id: int | None = None, status: str | None = None,
                before_id: int | None = None, limit: int = 20,
                member_ids: Sequence[int] | None = None) -> list[Order]:
    """Orders newest first, keyset-paged, optionally one member's or in one state;
    `member_ids` keeps only those members' orders (an empty list: none)."""
    if member_ids is not None:
        stmt = select(Order).where(Order.tenant_id == tenant_id, Order.member_id.in_(member_ids))
        if member_id is not None:
            stmt = stmt.where(Order.member_id == member_id)
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if before_id is not None:
            stmt = stmt.where(Order.id < before_id)
        return list(db.session.scalars(stmt.order_by(Order.id.desc()).limit(limit)))
    return newest_first(Order, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={Order.member_id: member_id, Order.status: status})


def mark_profit_sharing(*, tenant_id: int, order_id: int) -> None:
    """Have an order just placed paid with profit sharing (分账; before its prepay)."""
    order = _locked(tenant_id, order_id)
    if order.status != OrderStatus.CREATED or order.prepay_id is not None:
        raise OrderStateConflict(details={"status": order.status})
    order.profit_sharing = True


# What a paid order brought and kept, however it was paid (paid_fen is WeChat Pay's part).
_KEPT_FEN = Order.paid_fen + Order.stored_fen + Order.offline_fen - Order.refunded_fen


def paid_totals(*, tenant_id: int, order_ids: Sequence[int]) -> tuple[int, int]:
    """(orders paid and not wholly refunded, what they brought net of refunds in fen,
    however paid: WeChat Pay, stored value, offline; freight included) of these orders:
    the figures a live room or campaign reports."""
    if not order_ids:
        return 0, 0
    n, fen = db.session.execute(select(func.count(), func.coalesce(func.sum(_KEPT_FEN), 0))
                                .where(Order.tenant_id == tenant_id, Order.id.in_(sorted(set(order_ids))),
                                       Order.paid_at.is_not(None), Order.status != OrderStatus.REFUNDED)).one()
    return int(n), int(fen)


def members_paid_totals(*, tenant_id: int, member_ids: Sequence[int]) -> tuple[int, int]:
    """(orders paid and not wholly refunded, net fen however paid) of these buyers."""
    if not member_ids:
        return 0, 0
    n, fen = db.session.execute(select(func.count(), func.coalesce(func.sum(_KEPT_FEN), 0))
                                .where(Order.tenant_id == tenant_id, Order.member_id.in_(sorted(set(member_ids))),
                                       Order.paid_at.is_not(None), Order.status != OrderStatus.REFUNDED)).one()
    return int(n), int(fen)


def check_payable(order: Order, *, now: datetime) -> None:
    """Refuse paying an order that is not awaiting payment or is past its deadline."""
    if order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    if order.pay_deadline <= now:
        raise OrderExpired()


# ------------------------------------------------------------------ cancel


def cancel_order(*, tenant_id: int, order_id: int, reason: str, now: datetime,
                 member_id: int | None = None, locked: Order | None = None) -> Order:
    """Cancel an unpaid order and return its stock, once. The caller has made sure WeChat
    Pay will not take the money any more (closed the payment, or none was started)."""
    order = locked or _locked(tenant_id, order_id, member_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = reason
    lines = order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    if order.stock_source == "catalog":
        catalog.release_stock(tenant_id=tenant_id, quantities=_quantities(lines))
    announce("order_cancelled", order=order, now=now)
    return order


def _quantities(lines: Sequence[OrderLine]) -> dict[int, int]:
    out: dict[int, int] = {}
    for line in lines:
        out[line.sku_id] = out.get(line.sku_id, 0) + line.quantity
    return out


# ------------------------------------------------------------------ paid: the money path


@dataclass(frozen=True, slots=True)
class PayableOrder:
    """What the payment path reads of an order, under its row lock (five columns, not an
    ORM row of thirty: on the notification's path every column costs)."""

    id: int
    order_no: str
    status: str
    payable_fen: int
    transaction_id: str | None
    stored_fen: int = 0  # stored value applied: WeChat Pay is asked for the rest

    @property
    def wechat_due_fen(self) -> int:
        """What WeChat Pay must take: the payable less the stored value applied."""
        return self.payable_fen - self.stored_fen


_orders_table = Order.__table__
_LOCK_PAYABLE = (
    select(_orders_table.c.id, _orders_table.c.order_no, _orders_table.c.status, _orders_table.c.payable_fen,
           _orders_table.c.transaction_id, _orders_table.c.stored_fen)
    .where(_orders_table.c.tenant_id == bindparam("tenant_id"), _orders_table.c.order_no == bindparam("order_no"))
    .with_for_update())
_MARK_PAID = (
    update(_orders_table)
    .where(_orders_table.c.id == bindparam("order_id"), _orders_table.c.status == OrderStatus.CREATED)
    .values(status=OrderStatus.PAID, paid_fen=bindparam("b_paid_fen"), transaction_id=bindparam("b_transaction_id"),
            paid_at=bindparam("b_paid_at"), followup_pending=True, updated_at=bindparam("b_now")))


def lock_for_payment(*, tenant_id: int, order_no: str) -> PayableOrder | None:
    """The order with this out_trade_no under its row lock, as the payment path needs it."""
    row = db.session.execute(_LOCK_PAYABLE, {"tenant_id": tenant_id, "order_no": order_no}).first()
    return None if row is None else PayableOrder(*row)


def mark_paid(*, tenant_id: int, order: PayableOrder, transaction_id: str | None, paid_fen: int,
              paid_at: datetime, now: datetime) -> None:
    """Mark the order paid, under its row lock (lock_for_payment), once. What the payment
    sets off (the buyer's binding, rewards on the upline, frozen postings, alerts) is the
    paid-order follow-up (backend/flows/paid_order.py, on "order_paid"): right after
    this unit of work commits, or in the worker's next batch."""
    if order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    db.session.execute(_MARK_PAID, {"order_id": order.id, "b_paid_fen": paid_fen,
                                    "b_transaction_id": transaction_id, "b_paid_at": paid_at, "b_now": now})
    expire_loaded(Order, [order.id])  # a caller's ORM copy (the timeout job's) reloads what changed
    announce("order_paid", tenant_id=tenant_id, order_id=order.id)


def apply_stored_value(*, tenant_id: int, order: PayableOrder, amount_fen: int, now: datetime) -> None:
    """Record stored value paying (part of) an unpaid order, under its row lock, once and
    before a WeChat Pay order exists for it (that order's amount is fixed when created)."""
    done = rowcount(db.session.execute(update(Order).where(
        Order.tenant_id == tenant_id, Order.id == order.id, Order.status == OrderStatus.CREATED, Order.stored_fen == 0,
        Order.prepay_id.is_(None)).values(stored_fen=amount_fen, updated_at=now).execution_options(
        synchronize_session=False)))
    if done != 1:
        raise OrderStateConflict("订单已发起微信支付或已使用余额，不能再用余额支付",
                                 details={"status": order.status})
    expire_loaded(Order, [order.id])


def mark_paid_offline(*, tenant_id: int, order: PayableOrder, reference: str, voucher_url: str | None,
                      now: datetime) -> int:
    """Finance recorded money received outside WeChat Pay for the unpaid order (under its
    row lock): paid, with what remained after stored value as offline_fen. Returns it."""
    if order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    offline = order.wechat_due_fen
    db.session.execute(update(Order).where(Order.tenant_id == tenant_id, Order.id == order.id,
                                           Order.status == OrderStatus.CREATED)
                       .values(status=OrderStatus.PAID, offline_fen=offline, offline_reference=reference,
                               offline_voucher_url=voucher_url, paid_at=now, followup_pending=True,
                               updated_at=now).execution_options(synchronize_session=False))
    expire_loaded(Order, [order.id])
    announce("order_paid", tenant_id=tenant_id, order_id=order.id)
    return offline


def record_prepay(*, order: Order, prepay_id: str) -> None:
    """Keep the WeChat Pay prepay id of an order being paid (under its row lock)."""
    order.prepay_id = prepay_id


def split_refund(*, order: Order, refund: Refund) -> int:
    """Split a refund about to be submitted over the ways the order was paid: its stored
    value and offline parts are recorded on it; returns the part WeChat Pay refunds."""
    wechat_fen, refund.stored_fen, refund.offline_fen = refund_parts(order=order, amount_fen=refund.amount_fen)
    return wechat_fen


def refund_submitted(*, refund: Refund, now: datetime, wechat_refund_id: str | None = None,
                     wechat_status: str | None = None) -> None:
    """A refund was accepted (by WeChat Pay, with its id and status; or needs none)."""
    refund.submitted_at = now
    if wechat_refund_id is not None:
        refund.wechat_refund_id = wechat_refund_id
    if wechat_status is not None:
        refund.wechat_status = wechat_status


def unsubmitted_refunds(*, created_before: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant_id, refund_id) of approved refunds not accepted by WeChat Pay yet, created
    before a time, oldest first (every tenant: the retry job's list)."""
    return [(t, r) for t, r in db.session.execute(
        select(Refund.tenant_id, Refund.id).where(Refund.status == RefundStatus.PROCESSING,
                                                  Refund.submitted_at.is_(None), Refund.created_at < created_before)
        .order_by(Refund.id).limit(limit))]


def refund_parts(*, order: Order, amount_fen: int) -> tuple[int, int, int]:
    """How a refund of amount_fen splits over the ways the order was paid, given the
    refunds already succeeded: (WeChat Pay, stored value, offline), WeChat Pay first."""
    done = db.session.execute(select(
        func.coalesce(func.sum(Refund.amount_fen - Refund.stored_fen - Refund.offline_fen), 0),
        func.coalesce(func.sum(Refund.stored_fen), 0), func.coalesce(func.sum(Refund.offline_fen), 0))
        .where(Refund.tenant_id == order.tenant_id, Refund.order_id == order.id,
               Refund.status == RefundStatus.SUCCEEDED)).one()
    left = [order.paid_fen - int(done[0]), order.stored_fen - int(done[1]), order.offline_fen - int(done[2])]
    parts = []
    rest = amount_fen
    for available in left:
        take = max(0, min(rest, available))
        parts.append(take)
        rest -= take
    if rest > 0:  # more than was paid and not yet refunded: never sent anywhere
        raise RefundStateConflict("退款金额超过可退金额", details={"left_fen": sum(max(0, x) for x in left)})
    return parts[0], parts[1], parts[2]


def unpaid_past_deadline(*, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant_id, order_id) of orders left unpaid past their deadline, oldest deadline first."""
    return [(t, o) for t, o in db.session.execute(select(Order.tenant_id, Order.id).where(
        Order.status == OrderStatus.CREATED, Order.pay_deadline <= now).order_by(Order.pay_deadline).limit(limit))]


# ------------------------------------------------------------------ fulfilment


def ship_order(*, tenant_id: int, order_id: int, company: str, tracking_no: str, actor: str,
               now: datetime) -> Order:
    """Record the shipment (logistics company and tracking number) of a paid order; a
    second call corrects the tracking data of a shipped one (audited)."""
    order = _locked(tenant_id, order_id)
    if order.status not in (OrderStatus.PAID, OrderStatus.SHIPPED):
        raise OrderStateConflict(details={"status": order.status})
    before = {"status": order.status, "company": order.logistics_company, "tracking_no": order.tracking_no}
    if order.status == OrderStatus.PAID:
        announce("order_shipping", order=order)  # a listener may refuse (a group not yet formed)
        order.status = OrderStatus.SHIPPED
        order.shipped_at = now
    order.logistics_company = company
    order.tracking_no = tracking_no
    record_audit(tenant_id=tenant_id, actor=actor, action="orders.ship", target_type="order",
                 target_id=order.id, before=before,
                 after={"status": order.status, "company": company, "tracking_no": tracking_no})
    return order


def ship_paid_orders(*, tenant_id: int, shipments: Mapping[int, tuple[str, str]], actor: str,
                     now: datetime) -> list[int]:
    """`ship_order` for a batch of paid orders (order id -> (company, tracking number)):
    the orders locked in one read, each shipped and audited as ship_order does. Orders
    no longer paid (refunded or shipped meanwhile) are left as they are. Returns the
    ids shipped."""
    if not shipments:
        return []
    locked = db.session.scalars(select(Order).where(Order.tenant_id == tenant_id,
                                                    Order.id.in_(sorted(shipments)))
                                .with_hint(Order, BY_ID, dialect_name="mysql")
                                .order_by(Order.id).with_for_update().execution_options(populate_existing=True))
    done = []
    for order in locked:
        if order.status != OrderStatus.PAID:
            continue
        company, tracking_no = shipments[order.id]
        announce("order_shipping", order=order)  # a listener may refuse (a group not yet formed)
        record_audit(tenant_id=tenant_id, actor=actor, action="orders.ship", target_type="order",
                     target_id=order.id,
                     before={"status": order.status, "company": order.logistics_company,
                             "tracking_no": order.tracking_no},
                     after={"status": OrderStatus.SHIPPED.value, "company": company, "tracking_no": tracking_no})
        done.append(order)
    if not done:
        return []
    # One UPDATE for the batch (the ORM would send one per order); the loaded orders
    # take the same values without a flush of their own.
    o = Order.__table__.c
    db.session.execute(update(Order.__table__).where(o.tenant_id == tenant_id, o.id.in_([x.id for x in done]))
                       .values(status=OrderStatus.SHIPPED, shipped_at=now, updated_at=now,
                               logistics_company=case({x.id: shipments[x.id][0] for x in done}, value=o.id),
                               tracking_no=case({x.id: shipments[x.id][1] for x in done}, value=o.id)))
    for x in done:
        keep_written(x, status=OrderStatus.SHIPPED.value, shipped_at=now, updated_at=now,
                     logistics_company=shipments[x.id][0], tracking_no=shipments[x.id][1])
    return [x.id for x in done]


def confirm_receipt(*, tenant_id: int, member_id: int, order_id: int, now: datetime) -> Order:
    """The buyer confirms receipt of a shipped order (it completes at the next run of the
    completion job)."""
    order = _locked(tenant_id, order_id, member_id)
    if order.status == OrderStatus.RECEIVED:
        return order
    if order.status != OrderStatus.SHIPPED:
        raise OrderStateConflict(details={"status": order.status})
    order.status = OrderStatus.RECEIVED
    order.received_at = now
    return order


def complete_order(*, tenant_id: int, order_id: int, now: datetime) -> Order:
    """Complete a received order, or a shipped one the buyer never confirmed (received
    now): the after-sales window of its rewards starts."""
    order = _locked(tenant_id, order_id)
    if order.status == OrderStatus.COMPLETED:
        return order
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.RECEIVED):
        raise OrderStateConflict(details={"status": order.status})
    order.status = OrderStatus.COMPLETED
    order.received_at = order.received_at or now
    order.completed_at = now
    # Its money (rewards start their after-sales window) and the rest: backend/flows.
    announce("order_completed", order=order, now=now)
    return order


# ------------------------------------------------------------------ refunds


def get_refund(*, tenant_id: int, refund_id: int | None = None, refund_no: str | None = None,
               lock: bool = False) -> Refund:
    """One refund of this tenant, by id or number, or RefundNotFound."""
    stmt = select(Refund).where(Refund.tenant_id == tenant_id)
    stmt = stmt.where(Refund.id == refund_id) if refund_id is not None else stmt.where(Refund.refund_no == refund_no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    refund = db.session.scalar(stmt)
    if refund is None:
        raise RefundNotFound()
    return refund


def list_refunds(*, tenant_id: int, order_id: int | None = None, status: str | None = None,
                 before_id: int | None = None, limit: int = 50) -> list[Refund]:
    """Refunds newest first, optionally of one order or in one state."""
    return newest_first(Refund, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={Refund.order_id: order_id, Refund.status: status})


def count_refunds(*, tenant_id: int, status: str) -> int:
    """How many refunds are in one state (an index range count)."""
    return int(db.session.scalar(select(func.count()).select_from(Refund).where(
        Refund.tenant_id == tenant_id, Refund.status == status)) or 0)


def count_orders(*, tenant_id: int, status: str) -> int:
    """How many orders are in one state (an index range count)."""
    return int(db.session.scalar(select(func.count()).select_from(Order).where(
        Order.tenant_id == tenant_id, Order.status == status)) or 0)


def sales_between(*, tenant_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Orders paid in [start, end): how many, fen paid, fen refunded since (one indexed
    range over paid_at)."""
    n, paid, refunded = db.session.execute(
        select(func.count(), func.sum(Order.paid_fen), func.sum(Order.refunded_fen)).where(
            Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end)).one()
    return {"orders": int(n or 0), "paid_fen": int(paid or 0), "refunded_fen": int(refunded or 0)}


def paid_by_buyer(*, tenant_id: int, start: datetime, end: datetime) -> dict[int, list[int]]:
    """{buyer: [orders, fen paid]} of the orders paid in [start, end): one range on
    (tenant_id, paid_at), summed here (a GROUP BY per buyer costs more than the rows)."""
    buyers: dict[int, list[int]] = {}
    for buyer, paid in db.session.execute(select(Order.member_id, Order.paid_fen).where(
            Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end)):
        b = buyers.get(buyer)
        if b is None:
            buyers[buyer] = [1, int(paid or 0)]
        else:
            b[0] += 1
            b[1] += int(paid or 0)
    return buyers


def paid_by_buyers_between(*, tenant_id: int, member_ids: Sequence[int], start: datetime,
                           end: datetime) -> tuple[int, int]:
    """(orders, fen paid) of these buyers' orders paid in [start, end)."""
    count = total = 0
    for ids in in_batches(member_ids):
        n, fen = db.session.execute(select(func.count(), func.coalesce(func.sum(Order.paid_fen), 0)).where(
            Order.tenant_id == tenant_id, id_in(Order.member_id, ids), Order.paid_at >= start,
            Order.paid_at < end)).one()
        count += int(n or 0)
        total += int(fen or 0)
    return count, total


def top_products_between(*, tenant_id: int, start: datetime, end: datetime,
                         limit: int = 20) -> list[dict[str, Any]]:
    """The products sold most (by fen paid) in orders paid in [start, end)."""
    rows = db.session.execute(
        select(OrderLine.product_id, func.max(OrderLine.product_name), func.sum(OrderLine.quantity),
               func.sum(OrderLine.paid_fen))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end,
               OrderLine.tenant_id == tenant_id)
        .group_by(OrderLine.product_id).order_by(func.sum(OrderLine.paid_fen).desc()).limit(limit))
    return [{"product_id": int(pid), "name": name, "quantity": int(q or 0), "paid_fen": int(fen or 0)}
            for pid, name, q, fen in rows]


def open_refund(*, tenant_id: int, order_id: int, order_line_id: int | None, reason: str, requested_by: str,
                now: datetime, member_id: int | None = None, approved: bool = False,
                keeps_goods: bool = False) -> Refund:
    """Open a refund of one line, or of every line not yet refunded (order_line_id None).
    A buyer's request waits for the operator (requested); an operator's refund is
    approved at once (processing) and submitted to WeChat Pay by the payments domain.

    keeps_goods: the money only, every line and the freight, while the order stays where
    it is and still ships (团长免单: the leader's goods are free, not returned); its lines
    end normal with refunded_fen = paid_fen, so nothing is left to refund again."""
    order = _locked(tenant_id, order_id, member_id)
    if order.status not in REFUNDABLE:
        raise OrderStateConflict(details={"status": order.status})
    announce("refund_requested", order=order)
    lines = order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    if order_line_id is not None:
        chosen = [ln for ln in lines if ln.id == order_line_id]
        if not chosen:
            raise InvalidOrderInput(details=[{"field": "order_line_id", "message": "订单中没有该商品"}])
        if chosen[0].status != LineStatus.NORMAL:
            raise NothingToRefund(f"该商品{'退款处理中' if chosen[0].status == LineStatus.REFUNDING else '已退款'}")
    else:
        chosen = [ln for ln in lines if ln.status == LineStatus.NORMAL]
        if not chosen:
            raise NothingToRefund()
    amount = sum(ln.paid_fen - ln.refunded_fen for ln in chosen)
    if amount <= 0:
        raise NothingToRefund()
    freight = _freight_back(order, leaves_no_goods=all(ln.status != LineStatus.NORMAL or ln in chosen for ln in lines),
                            by_rule=not keeps_goods)
    amount += freight
    for ln in chosen:
        ln.status = LineStatus.REFUNDING
    whole = order_line_id is None
    if whole and not keeps_goods and order.status != OrderStatus.REFUNDING:
        order.status_before_refund = order.status
        order.status = OrderStatus.REFUNDING
    refund = Refund(tenant_id=tenant_id, refund_no=_new_refund_no(now), order_id=order.id, whole=whole,
                    keeps_goods=keeps_goods, line_ids=[ln.id for ln in chosen], amount_fen=amount,
                    freight_fen=freight, reason=reason, status=RefundStatus.PROCESSING if approved else RefundStatus.REQUESTED,
                    requested_by=requested_by, decided_by=requested_by if approved else None, created_at=now)
    db.session.add(refund)
    db.session.flush()
    if approved:
        record_audit(tenant_id=tenant_id, actor=requested_by, action="orders.refund", target_type="order",
                     target_id=order.id, before=None, after=refund_view(refund))
    return refund


def _freight_back(order: Order, *, leaves_no_goods: bool, by_rule: bool = True) -> int:
    """The freight this refund gives back (under the order's lock): what the buyer paid
    for delivery, with the refund after which no goods are left, by the tenant's rule
    (unless by_rule is off: a free order gives it all back), unless a refund not failed
    or rejected already carries it."""
    paid = order.freight_fen - order.freight_discount_fen
    if paid <= 0 or not leaves_no_goods:
        return 0
    carried = db.session.scalar(select(Refund.id).where(
        Refund.tenant_id == order.tenant_id, Refund.order_id == order.id, Refund.freight_fen > 0,
        Refund.status.in_((*OPEN_REFUND, RefundStatus.SUCCEEDED))).limit(1))
    rule = freight_rule(tenant_id=order.tenant_id) if by_rule else freight_rules.FreightRule(refund="always")
    return freight_rules.freight_refund_fen(rule, freight_paid_fen=paid,
                                            last_goods=True, shipped=order.shipped_at is not None,
                                            already_refunded=carried is not None)


def refunded_goods(*, tenant_id: int, order_id: int, since: datetime | None = None) -> int:
    """The goods (freight left out) of this order's succeeded refunds, in fen; with
    since, only those that succeeded at or after it."""
    stmt = select(func.coalesce(func.sum(Refund.amount_fen - Refund.freight_fen), 0)).where(
        Refund.tenant_id == tenant_id, Refund.order_id == order_id, Refund.status == RefundStatus.SUCCEEDED)
    if since is not None:
        stmt = stmt.where(Refund.completed_at >= since)
    return int(db.session.scalar(stmt) or 0)


def approve_refund(*, tenant_id: int, refund_id: int, actor: str) -> Refund:
    """The operator approves a buyer's request: it goes to WeChat Pay (audited)."""
    refund = get_refund(tenant_id=tenant_id, refund_id=refund_id)
    _locked(tenant_id, refund.order_id)
    refund = get_refund(tenant_id=tenant_id, refund_id=refund_id, lock=True)
    if refund.status == RefundStatus.PROCESSING:
        return refund
    if refund.status != RefundStatus.REQUESTED:
        raise RefundStateConflict(details={"status": refund.status})
    refund.status = RefundStatus.PROCESSING
    refund.decided_by = actor
    record_audit(tenant_id=tenant_id, actor=actor, action="orders.refund_approve", target_type="refund",
                 target_id=refund.id, before={"status": RefundStatus.REQUESTED}, after={"status": RefundStatus.PROCESSING})
    return refund


def reject_refund(*, tenant_id: int, refund_id: int, actor: str, now: datetime, note: str = "") -> Refund:
    """The operator refuses a buyer's request: the lines (and order) are as before (audited)."""
    refund = get_refund(tenant_id=tenant_id, refund_id=refund_id)
    order = _locked(tenant_id, refund.order_id)
    refund = get_refund(tenant_id=tenant_id, refund_id=refund_id, lock=True)
    if refund.status != RefundStatus.REQUESTED:
        raise RefundStateConflict(details={"status": refund.status})
    refund.status = RefundStatus.REJECTED
    refund.decided_by = actor
    refund.failure = (note or "rejected")[:64]
    refund.completed_at = now
    _release_lines(order, refund)
    record_audit(tenant_id=tenant_id, actor=actor, action="orders.refund_reject", target_type="refund",
                 target_id=refund.id, before={"status": RefundStatus.REQUESTED}, after={"status": RefundStatus.REJECTED, "note": note})
    return refund


def _refund_lines(order: Order, refund: Refund) -> list[OrderLine]:
    ids = set(refund.line_ids)
    return [ln for ln in order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id] if ln.id in ids]


def _release_lines(order: Order, refund: Refund) -> None:
    for ln in _refund_lines(order, refund):
        if ln.status == LineStatus.REFUNDING:
            ln.status = LineStatus.NORMAL
    _settle_order_status(order)


def _settle_order_status(order: Order) -> None:
    """After a refund ends: refunded when every line is, refunding while a whole-order
    refund is still open, else back to the state before the refund."""
    db.session.flush()
    lines = order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id]
    if lines and all(ln.status == LineStatus.REFUNDED for ln in lines):
        order.status = OrderStatus.REFUNDED
        return
    whole_open = db.session.scalar(select(Refund.id).where(
        Refund.tenant_id == order.tenant_id, Refund.order_id == order.id, Refund.whole.is_(True),
        Refund.status.in_(OPEN_REFUND)).limit(1))
    if order.status == OrderStatus.REFUNDING and whole_open is None:
        order.status = order.status_before_refund or "paid"
        order.status_before_refund = None


def refund_succeeded(*, order: Order, refund: Refund, wechat_refund_id: str | None, now: datetime) -> None:
    """The money went back to the buyer (under the order's lock, once): lines refunded,
    stock returned if nothing was shipped, the lines' rewards cancelled by finance."""
    if refund.status == RefundStatus.SUCCEEDED:
        return
    if refund.status != RefundStatus.PROCESSING:
        raise RefundStateConflict(details={"status": refund.status})
    refund.status = RefundStatus.SUCCEEDED
    refund.wechat_status = WxRefundStatus.SUCCESS
    refund.wechat_refund_id = wechat_refund_id or refund.wechat_refund_id
    refund.completed_at = now
    lines = _refund_lines(order, refund)
    for ln in lines:
        ln.refunded_fen = ln.paid_fen
        ln.status = LineStatus.NORMAL if refund.keeps_goods else LineStatus.REFUNDED
    order.refunded_fen += refund.amount_fen
    if order.shipped_at is None and order.stock_source == "catalog" and not refund.keeps_goods:
        catalog.release_stock(tenant_id=order.tenant_id, quantities=_quantities(lines))
    _settle_order_status(order)
    # The refund posted and the lines' rewards cancelled or reversed: backend/flows.
    announce("lines_refunded", order=order, refund=refund, lines=lines, now=now)


def refund_failed(*, order: Order, refund: Refund, wechat_status: str, reason: str, now: datetime) -> None:
    """WeChat Pay could not refund (ABNORMAL, CLOSED, refused): lines back to normal."""
    if refund.status in (RefundStatus.FAILED, RefundStatus.SUCCEEDED, RefundStatus.REJECTED):
        return
    refund.status = RefundStatus.FAILED
    refund.wechat_status = wechat_status
    refund.failure = reason[:64]
    refund.completed_at = now
    _release_lines(order, refund)


# ------------------------------------------------------------------ views


def line_view(ln: OrderLine) -> dict[str, Any]:
    return {"id": ln.id, "product_id": ln.product_id, "sku_id": ln.sku_id, "product_name": ln.product_name,
            "sku_name": ln.sku_name, "image_url": ln.image_url, "quantity": ln.quantity,
            "unit_price_fen": ln.unit_price_fen, "paid_fen": ln.paid_fen, "paid": yuan(ln.paid_fen),
            "status": ln.status, "refunded_fen": ln.refunded_fen}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_view(order: OrderInfo, lines: Sequence[OrderLine], *, admin: bool = False) -> dict[str, Any]:
    """An order with its lines as the buyer (or, with admin, the operator) sees it."""
    out: dict[str, Any] = {
        "id": order.id, "order_no": order.order_no, "status": order.status, "goods_fen": order.goods_fen,
        "freight_fen": order.freight_fen, "freight_discount_fen": order.freight_discount_fen,
        "discount_fen": order.goods_fen + order.freight_fen - order.payable_fen,
        "payable_fen": order.payable_fen, "payable": yuan(order.payable_fen),
        "paid_fen": order.paid_fen, "stored_fen": order.stored_fen, "offline_fen": order.offline_fen,
        "refunded_fen": order.refunded_fen,
        "receiver": {"name": order.receiver_name, "phone": order.receiver_phone,
                     "address": order.receiver_address},
        "remark": order.remark,
        "source": {"type": order.source_type, "id": order.source_id} if order.source_type else None,
        "logistics": {"company": order.logistics_company, "tracking_no": order.tracking_no}
        if order.tracking_no else None,
        "pay_deadline": order.pay_deadline.isoformat(), "created_at": order.created_at.isoformat(),
        "paid_at": _iso(order.paid_at), "shipped_at": _iso(order.shipped_at),
        "received_at": _iso(order.received_at), "completed_at": _iso(order.completed_at),
        "cancelled_at": _iso(order.cancelled_at), "lines": [line_view(ln) for ln in lines],
    }
    if admin:
        out.update(member_id=order.member_id, transaction_id=order.transaction_id,
                   cancel_reason=order.cancel_reason, offline_reference=order.offline_reference,
                   offline_voucher_url=order.offline_voucher_url)
    return out


def order_nos(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, str]:
    """The order numbers of some orders of one tenant (one primary-key read), for lists
    that show a refund or a line beside its order's number."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return {int(i): str(no) for i, no in db.session.execute(select(Order.id, Order.order_no).where(
        Order.tenant_id == tenant_id, id_in(Order.id, ids)))}


def refund_view(r: RefundInfo, *, order_no: str | None = None) -> dict[str, Any]:
    """A refund as the API shows it, with its order's number (the people who handle it
    search by that number, not by the id); lists pass it in from one `order_nos` read."""
    if order_no is None:
        order_no = order_nos(tenant_id=r.tenant_id, order_ids=[r.order_id]).get(r.order_id, "")
    return {"id": r.id, "refund_no": r.refund_no, "order_id": r.order_id, "order_no": order_no, "whole": r.whole,
            "keeps_goods": r.keeps_goods,
            "order_line_ids": list(r.line_ids), "amount_fen": r.amount_fen, "amount": yuan(r.amount_fen),
            "freight_fen": r.freight_fen,
            "stored_fen": r.stored_fen, "offline_fen": r.offline_fen,
            "reason": r.reason, "status": r.status, "requested_by": r.requested_by, "decided_by": r.decided_by,
            "wechat_status": r.wechat_status, "failure": r.failure, "created_at": r.created_at.isoformat(),
            "submitted_at": _iso(r.submitted_at), "completed_at": _iso(r.completed_at)}


# Orders that count as bought: paid and on their way, or done (not cancelled or refunded).
BOUGHT_STATUSES = ("paid", "shipped", "received", "completed")


@dataclass(frozen=True)
class BuyerTotals:
    """What a buyer has bought so far: orders, fen kept (paid less refunded), products."""

    paid_orders: int
    paid_fen: int
    product_ids: frozenset[int]


def buyer_totals(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, BuyerTotals]:
    """Per buyer among member_ids: their bought orders, what they kept paid and which
    products they hold (refunded lines left out). Two reads on (tenant, member) indexes."""
    ids = sorted(set(member_ids))
    out = {m: BuyerTotals(0, 0, frozenset()) for m in ids}
    if not ids:
        return out
    counts = db.session.execute(
        # what the buyer paid however it paid (WeChat Pay, stored value, offline), less refunds
        select(Order.member_id, func.count(),
               func.sum(Order.paid_fen + Order.stored_fen + Order.offline_fen - Order.refunded_fen))
        .where(Order.tenant_id == tenant_id, Order.member_id.in_(ids),
               Order.status.in_(BOUGHT_STATUSES)).group_by(Order.member_id)).all()
    products: dict[int, set[int]] = {m: set() for m in ids}
    for member_id, product_id in db.session.execute(
            select(Order.member_id, OrderLine.product_id).distinct()
            .join(OrderLine, (OrderLine.tenant_id == Order.tenant_id) & (OrderLine.order_id == Order.id))
            .where(Order.tenant_id == tenant_id, Order.member_id.in_(ids),
                   Order.status.in_(BOUGHT_STATUSES), OrderLine.status != LineStatus.REFUNDED)):
        products[member_id].add(int(product_id))
    for member_id, n, fen in counts:
        out[member_id] = BuyerTotals(int(n), int(fen or 0), frozenset(products[member_id]))
    return out


# Paid and not wholly refunded (refunding included): what the SCRM's tags, the shops'
# figures and the staff workload count as an order; amounts are WeChat Pay's, net of refunds.
_KEPT = (Order.paid_at.is_not(None), Order.status != OrderStatus.REFUNDED)


def purchase_summary(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, BuyerTotals]:
    """Per buyer among member_ids with such orders: orders paid and not wholly refunded,
    the fen paid net of refunds, and the products of lines not refunded (two grouped
    queries on the (tenant, member) index)."""
    if not member_ids:
        return {}
    counted = and_(Order.tenant_id == tenant_id, Order.member_id.in_(list(member_ids)), *_KEPT)
    totals = {mid: (int(n), int(fen or 0)) for mid, n, fen in db.session.execute(
        select(Order.member_id, func.count(), func.sum(Order.paid_fen - Order.refunded_fen))
        .where(counted).group_by(Order.member_id))}
    products: dict[int, set[int]] = {}
    for mid, pid in db.session.execute(
            select(Order.member_id, OrderLine.product_id).distinct()
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(counted, OrderLine.status != LineStatus.REFUNDED)):
        products.setdefault(mid, set()).add(pid)
    return {mid: BuyerTotals(n, fen, frozenset(products.get(mid, ()))) for mid, (n, fen) in totals.items()}


def recent_buyers(*, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant id, member id) of members with an order paid since `since`, across tenants."""
    return [(t, mid) for t, mid in db.session.execute(
        select(Order.tenant_id, Order.member_id).where(Order.paid_at >= since).distinct()
        .order_by(Order.tenant_id, Order.member_id).limit(limit))]


def source_totals(*, tenant_id: int, source_type: str, source_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(source id, orders, net fen) of the orders paid and not wholly refunded that are
    attributed to these sources (shops, live rooms)."""
    rows = db.session.execute(
        select(Order.source_id, func.count(), func.sum(Order.paid_fen - Order.refunded_fen))
        .where(Order.tenant_id == tenant_id, Order.source_type == source_type,
               Order.source_id.in_(list(source_ids)), *_KEPT)
        .group_by(Order.source_id))
    return [(int(sid), int(n), int(fen or 0)) for sid, n, fen in rows if sid is not None]


def kept_orders_paid_between(*, tenant_id: int, start: datetime, end: datetime) -> Any:
    """The orders paid in [start, end) and not wholly refunded, as a subquery with the
    columns member_id, paid_at and net_fen (paid less refunded), for a caller that
    joins its own tables to them in one statement (the SCRM's sales per owner). A
    read-only view: the orders table itself stays this domain's."""
    return (select(Order.member_id.label("member_id"), Order.paid_at.label("paid_at"),
                   (Order.paid_fen - Order.refunded_fen).label("net_fen"))
            .where(Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end,
                   Order.status != OrderStatus.REFUNDED)
            .subquery("kept_orders"))


def sales_by_buyer(*, tenant_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """Each buyer's sales paid in [start, end), net of refunds (fen): what the lines cost
    the buyers, however paid (WeChat Pay, stored value), after discounts. The period's
    team performance is built from them; a range on (tenant, paid_at)."""
    rows = db.session.execute(
        select(Order.member_id, func.sum(OrderLine.paid_fen - OrderLine.refunded_fen))
        .join(OrderLine, (OrderLine.tenant_id == Order.tenant_id) & (OrderLine.order_id == Order.id))
        .where(Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end,
               Order.status.in_(BOUGHT_STATUSES + ("refunding", "refunded")))
        .group_by(Order.member_id))
    return {int(m): int(f) for m, f in rows if f and int(f) > 0}


def pieces_by_buyer(*, tenant_id: int, product_ids: Sequence[int],
                    member_ids: Sequence[int] | None = None) -> dict[tuple[int, int], int]:
    """Pieces each buyer holds of these products (bought, refunded lines left out):
    {(member_id, product_id): pieces}, for the upgrade fact product_pieces."""
    if not product_ids:
        return {}
    stmt = (select(Order.member_id, OrderLine.product_id, func.sum(OrderLine.quantity))
            .join(OrderLine, (OrderLine.tenant_id == Order.tenant_id) & (OrderLine.order_id == Order.id))
            .where(Order.tenant_id == tenant_id, Order.status.in_(BOUGHT_STATUSES),
                   OrderLine.status != LineStatus.REFUNDED, OrderLine.product_id.in_(sorted(set(product_ids))))
            .group_by(Order.member_id, OrderLine.product_id))
    if member_ids is not None:
        stmt = stmt.where(Order.member_id.in_(sorted(set(member_ids))))
    return {(int(m), int(p)): int(n) for m, p, n in db.session.execute(stmt)}
