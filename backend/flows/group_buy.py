"""Group-buy (拼团) across marketing, members, orders and payments.

    open_group / join_group   a seat taken (guarded: the last seat cannot be overfilled),
                              the order placed at the group price (checkout), the seat
                              held by it; joining through a share binds the joiner to
                              the sharer exactly as any share does;
    listeners                 an order paid → its seat paid, the group filled when every
                              seat is (the leader's points); an unpaid order cancelled, or
                              a paid one refunded in full while the group forms → its seat
                              free again; a group order ships only once filled;
    unwind_failed_groups      the job: groups whose time ran out fail; their unpaid
                              orders are cancelled and their paid ones refunded, each
                              seat exactly once, each in its own unit of work;
    refund_free_leaders       the job: a filled group of a free-leader campaign (团长免单)
                              has its leader's order refunded in full, once, through the
                              refund path (WeChat Pay / stored value, the ledger, the
                              rewards on it cancelled, the points spent returned); the
                              money only: the leader's goods still ship.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from backend.catalog import service as catalog
from backend.db import run_in_unit_of_work
from backend.errors import DomainError
from backend.events import listen
from backend.extensions import db
from backend.flows import checkout
from backend.marketing import groups, points
from backend.marketing.errors import GroupNotFilled
from backend.marketing.types import SeatStatus
from backend.members import service as members
from backend.orders import service as orders
from backend.orders.errors import NothingToRefund, OrderStateConflict
from backend.orders.types import OrderInfo, OrderStatus
from backend.payments import service as payments

log = logging.getLogger(__name__)


def open_group(*, tenant_id: int, member_id: int, campaign_id: int, receiver: orders.Receiver,
               now: datetime) -> tuple[Any, OrderInfo]:
    """开团: a new group led by this member, and the leader's order at the group price."""
    group = groups.open_group(tenant_id=tenant_id, campaign_id=campaign_id, leader_id=member_id, now=now)
    return group, _seat_and_order(tenant_id, member_id, group.id, receiver, now, leader=True)


def join_group(*, tenant_id: int, member_id: int, group_id: int, receiver: orders.Receiver, now: datetime,
               scene: str | None = None) -> tuple[Any, OrderInfo]:
    """参团: a seat in a forming group and its order at the group price. A share scene
    binds the joiner to the sharer as any share does (a binding refused by the tenant's
    rules leaves the purchase alone)."""
    if scene:
        try:
            members.bind_by_scene(tenant_id=tenant_id, member_id=member_id, scene=scene, source="share", now=now)
        except DomainError:
            pass
    group = groups.get_group(tenant_id=tenant_id, group_id=group_id)
    return group, _seat_and_order(tenant_id, member_id, group.id, receiver, now, leader=False)


def _seat_and_order(tenant_id: int, member_id: int, group_id: int, receiver: orders.Receiver, now: datetime,
                    *, leader: bool) -> OrderInfo:
    group = groups.take_seat(tenant_id=tenant_id, group_id=group_id, member_id=member_id, now=now)
    c = groups.get_campaign(tenant_id=tenant_id, campaign_id=group.campaign_id)
    order = checkout.place_order(tenant_id=tenant_id, member_id=member_id,
                                 items=[orders.LineRequest(sku_id=c.sku_id, quantity=1)], receiver=receiver, now=now,
                                 remark=f"拼团：{c.name}", coupon=checkout.NONE,
                                 activity_prices={c.sku_id: c.group_price_fen})
    groups.attach_order(tenant_id=tenant_id, group_id=group_id, member_id=member_id, order_id=order.id,
                        leader=leader, now=now)
    return order


@listen("orders_followed_up")
def seats_paid(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> None:
    for filled in groups.seats_paid(tenant_id=tenant_id, order_ids=order_ids, now=now):
        if filled.leader_reward_points:
            points.grant(tenant_id=tenant_id, member_id=filled.leader_id, points=filled.leader_reward_points,
                         kind="group_leader", key=f"group_leader:{filled.group_id}", memo="拼团成团团长奖励", now=now)


@listen("order_cancelled")
def seat_released(*, order: Any, now: datetime) -> None:
    groups.release_seat(tenant_id=order.tenant_id, order_id=order.id)


@listen("lines_refunded")
def seat_released_on_refund(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    if order.status == OrderStatus.REFUNDED:
        groups.release_refunded_seat(tenant_id=order.tenant_id, order_id=order.id)


@listen("order_shipping")
def ship_only_filled_groups(*, order: Any) -> None:
    # A restock (the agent channel's order, delivered to the cloud by its follow-up) is
    # never a group seat: no read for it.
    if order.source_type == "restock":
        return
    if not groups.may_ship(tenant_id=order.tenant_id, order_id=order.id):
        raise GroupNotFilled()


def unwind_failed_groups(*, now_fn: Any) -> int:
    """Fail the groups whose time ran out, then cancel or refund their seats' orders:
    each seat in its own unit of work, exactly once. Returns how many seats it settled."""
    run_in_unit_of_work(lambda: groups.fail_due_groups(now=now_fn()))
    done = 0
    for tenant_id, seat_id, order_id, status in run_in_unit_of_work(lambda: groups.seats_to_unwind()):
        try:
            done += run_in_unit_of_work(partial(_unwind_seat, tenant_id, seat_id, order_id, status, now_fn))
        except Exception:
            log.exception("group seat %s (order %s) could not be unwound; retried next run", seat_id, order_id)
    return done


def _unwind_seat(tenant_id: int, seat_id: int, order_id: int, status: str, now_fn: Callable[[], datetime]) -> int:
    now = now_fn()
    if status == SeatStatus.RESERVED:
        # Closes the WeChat Pay order first; paid meanwhile → applied instead (the seat
        # becomes paid and the next run refunds it).
        try:
            payments.cancel_unpaid(tenant_id=tenant_id, order_id=order_id, now=now, reason="timeout")
        except OrderStateConflict:
            return 0  # paid after all: the payment stands (committed), its seat is refunded next
        return 1
    if not groups.mark_refunded(tenant_id=tenant_id, seat_id=seat_id):
        return 0
    payments.refund_order(tenant_id=tenant_id, order_id=order_id, order_line_id=None, reason="拼团未成团，自动退款",
                          actor="system:group_buy", now=now)
    return 1


def refund_free_leaders(*, now_fn: Any) -> int:
    """团长免单: refund the leaders' orders of filled free-leader groups, each group once
    (its own unit of work). Returns how many orders it refunded."""
    done = 0
    for tenant_id, group_id in run_in_unit_of_work(lambda: groups.leader_refunds_due()):
        try:
            done += run_in_unit_of_work(partial(_refund_leader, tenant_id, group_id, now_fn))
        except Exception:
            log.exception("free leader of group %s could not be refunded; retried next run", group_id)
    return done


def _refund_leader(tenant_id: int, group_id: int, now_fn: Callable[[], datetime]) -> int:
    now = now_fn()
    order_id = groups.claim_leader_refund(tenant_id=tenant_id, group_id=group_id, now=now)
    if order_id is None:
        return 0  # another runner did it
    try:
        with db.session.begin_nested():
            payments.refund_order(tenant_id=tenant_id, order_id=order_id, order_line_id=None,
                                  reason="拼团成团，团长免单", actor="system:group_buy", now=now, keeps_goods=True)
    except (NothingToRefund, OrderStateConflict):
        # The leader had it refunded already (or is being refunded): nothing more is owed.
        log.info("free leader of group %s: order %s has nothing left to refund", group_id, order_id)
        return 0
    return 1


def create_campaign(*, tenant_id: int, spec: groups.CampaignSpec, actor: str) -> Any:
    """A campaign on one of the tenant's SKUs (SkuNotFound otherwise)."""
    sku = catalog.get_sku(tenant_id=tenant_id, sku_id=spec.sku_id)
    return groups.create_campaign(tenant_id=tenant_id, spec=spec, sku_product_id=sku.product_id, actor=actor)


def group_page(*, tenant_id: int, group_id: int, now: datetime) -> dict[str, Any]:
    """A group as its share page shows it: the campaign, the seats, the time left."""
    group = groups.get_group(tenant_id=tenant_id, group_id=group_id)
    c = groups.get_campaign(tenant_id=tenant_id, campaign_id=group.campaign_id)
    out = groups.group_view(group, groups.seats_of(tenant_id=tenant_id, group_ids=[group.id])[group.id], now=now)
    out["campaign"] = groups.campaign_view(c)
    return out


def placed_view(group: Any, order: OrderInfo, *, now: datetime) -> dict[str, Any]:
    """What opening or joining returns: the group and the order to pay."""
    return {"group": group_page(tenant_id=order.tenant_id, group_id=group.id, now=now),
            "order": checkout.order_out(order)}


def campaign_groups(*, tenant_id: int, campaign_id: int, now: datetime, before_id: int | None = None,
                    limit: int = 50) -> dict[str, Any]:
    """A campaign's groups, newest first, with every seat and its order (the back-office)."""
    groups.get_campaign(tenant_id=tenant_id, campaign_id=campaign_id)
    rows = groups.list_groups(tenant_id=tenant_id, campaign_id=campaign_id, before_id=before_id, limit=limit)
    seats = groups.seats_of(tenant_id=tenant_id, group_ids=[g.id for g in rows])
    return {"items": [groups.group_view(g, seats[g.id], now=now, admin=True) for g in rows],
            "next_cursor": rows[-1].id if len(rows) == limit and rows else None}
