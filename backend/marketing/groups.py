"""Group-buy verbs (拼团): campaigns, groups and their seats.

A seat is taken by one guarded UPDATE (`seats_taken < size`, still forming, not
expired), so however many buyers race for the last seat, one gets it. A seat is paid
when its order's payment is followed up; when every seat is paid the group is filled
and its orders may ship. A group whose time runs out fails: the job (flows/group_buy)
cancels its unpaid orders and refunds its paid ones, each seat exactly once (a guarded
change of the seat's state in the same unit of work as the refund).

Orders are placed and refunded by backend/flows/group_buy.py; here only marketing's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend.audit.service import record_audit
from backend.db import newest_first, rowcount
from backend.extensions import db
from backend.marketing.errors import (
    AlreadyInGroup,
    CampaignClosed,
    CampaignNotFound,
    GroupExpired,
    GroupFull,
    GroupNotFound,
    InvalidMarketingInput,
)
from backend.marketing.models import GroupBuy, GroupCampaign, GroupSeat
from backend.marketing.types import GroupStatus, OfferStatus, SeatStatus
from backend.money import yuan


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    product_id: int
    sku_id: int
    group_price_fen: int
    group_size: int
    time_limit_minutes: int
    starts_at: datetime
    ends_at: datetime
    leader_reward_points: int = 0
    free_leader: bool = False  # 团长免单: the leader's order refunded in full once the group fills


def create_campaign(*, tenant_id: int, spec: CampaignSpec, sku_product_id: int, actor: str) -> GroupCampaign:
    """A group-buy campaign on one SKU (sku_product_id: the product the SKU belongs to,
    checked by the caller against the catalog) (audited)."""
    errors = []
    if not 1 <= len(spec.name.strip()) <= 60:
        errors.append({"field": "name", "message": "名称须为 1–60 个字符"})
    if sku_product_id != spec.product_id:
        errors.append({"field": "sku_id", "message": "规格不属于该商品"})
    if spec.group_price_fen < 1:
        errors.append({"field": "group_price_fen", "message": "拼团价须至少 1 分"})
    if not 2 <= spec.group_size <= 100:
        errors.append({"field": "group_size", "message": "成团人数须为 2–100"})
    if not 5 <= spec.time_limit_minutes <= 7 * 24 * 60:
        errors.append({"field": "time_limit_minutes", "message": "成团时限须为 5 分钟到 7 天"})
    if spec.ends_at <= spec.starts_at:
        errors.append({"field": "ends_at", "message": "结束时间须晚于开始时间"})
    if not 0 <= spec.leader_reward_points <= 1_000_000:
        errors.append({"field": "leader_reward_points", "message": "团长奖励积分须为 0–1000000"})
    if errors:
        raise InvalidMarketingInput(details=errors)
    row = GroupCampaign(tenant_id=tenant_id, name=spec.name.strip(), product_id=spec.product_id, sku_id=spec.sku_id,
                        group_price_fen=spec.group_price_fen, group_size=spec.group_size,
                        time_limit_minutes=spec.time_limit_minutes, starts_at=spec.starts_at, ends_at=spec.ends_at,
                        leader_reward_points=spec.leader_reward_points, free_leader=spec.free_leader,
                        status=OfferStatus.ACTIVE)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.group_campaign_create",
                 target_type="group_campaign", target_id=row.id, before=None, after=campaign_view(row))
    return row


def set_campaign_status(*, tenant_id: int, campaign_id: int, status: str, actor: str) -> GroupCampaign:
    """Stop a campaign (no new groups; forming ones run their course) or resume (audited)."""
    if status not in (OfferStatus.ACTIVE, OfferStatus.STOPPED):
        raise InvalidMarketingInput(details=[{"field": "status", "message": "须为 active 或 stopped"}])
    row = get_campaign(tenant_id=tenant_id, campaign_id=campaign_id)
    before, row.status = row.status, status
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.group_campaign_status",
                 target_type="group_campaign", target_id=row.id, before={"status": before}, after={"status": status})
    return row


def get_campaign(*, tenant_id: int, campaign_id: int) -> GroupCampaign:
    row = db.session.scalar(select(GroupCampaign).where(GroupCampaign.tenant_id == tenant_id,
                                                        GroupCampaign.id == campaign_id))
    if row is None:
        raise CampaignNotFound()
    return row


def list_campaigns(*, tenant_id: int, now: datetime | None = None, before_id: int | None = None,
                   limit: int = 50) -> list[GroupCampaign]:
    """Campaigns newest first; with now, only those open for new groups."""
    if now is None:
        return newest_first(GroupCampaign, tenant_id=tenant_id, before_id=before_id, limit=limit, where={})
    return list(db.session.scalars(select(GroupCampaign).where(
        GroupCampaign.tenant_id == tenant_id, GroupCampaign.status == OfferStatus.ACTIVE, GroupCampaign.starts_at <= now,
        GroupCampaign.ends_at > now).order_by(GroupCampaign.id.desc()).limit(limit)))


def campaign_view(c: GroupCampaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "product_id": c.product_id, "sku_id": c.sku_id,
            "group_price_fen": c.group_price_fen, "group_price": yuan(c.group_price_fen), "group_size": c.group_size,
            "time_limit_minutes": c.time_limit_minutes, "starts_at": c.starts_at.isoformat(),
            "ends_at": c.ends_at.isoformat(), "leader_reward_points": c.leader_reward_points,
            "free_leader": c.free_leader, "status": c.status}


# ------------------------------------------------------------------ groups and seats


def open_group(*, tenant_id: int, campaign_id: int, leader_id: int, now: datetime) -> GroupBuy:
    """A new group led by this member (its seat is taken with take_seat)."""
    c = get_campaign(tenant_id=tenant_id, campaign_id=campaign_id)
    if c.status != OfferStatus.ACTIVE or not c.starts_at <= now < c.ends_at:
        raise CampaignClosed()
    group = GroupBuy(tenant_id=tenant_id, campaign_id=c.id, leader_id=leader_id, size=c.group_size, seats_taken=0,
                     seats_paid=0, status=GroupStatus.FORMING, expires_at=now + timedelta(minutes=c.time_limit_minutes),
                     created_at=now)
    db.session.add(group)
    db.session.flush()
    return group


def get_group(*, tenant_id: int, group_id: int) -> GroupBuy:
    row = db.session.scalar(select(GroupBuy).where(GroupBuy.tenant_id == tenant_id, GroupBuy.id == group_id))
    if row is None:
        raise GroupNotFound()
    return row


def take_seat(*, tenant_id: int, group_id: int, member_id: int, now: datetime) -> GroupBuy:
    """One seat of a forming group for this member, or GroupFull / GroupExpired /
    AlreadyInGroup. The seat's row is written by attach_order once the order exists."""
    taken = rowcount(db.session.execute(update(GroupBuy).where(
        GroupBuy.tenant_id == tenant_id, GroupBuy.id == group_id, GroupBuy.status == GroupStatus.FORMING,
        GroupBuy.expires_at > now, GroupBuy.seats_taken < GroupBuy.size)
        .values(seats_taken=GroupBuy.seats_taken + 1).execution_options(synchronize_session=False)))
    group = get_group(tenant_id=tenant_id, group_id=group_id)
    db.session.refresh(group)
    if taken != 1:
        if group.status != GroupStatus.FORMING or group.expires_at <= now:
            raise GroupExpired("该团已结束" if group.status != GroupStatus.FILLED else "该团已成团")
        raise GroupFull()
    held = db.session.scalar(select(GroupSeat).where(GroupSeat.tenant_id == tenant_id, GroupSeat.group_id == group_id,
                                                     GroupSeat.member_id == member_id).with_for_update())
    if held is not None and held.status in (SeatStatus.RESERVED, SeatStatus.PAID):
        raise AlreadyInGroup()
    return group


def attach_order(*, tenant_id: int, group_id: int, member_id: int, order_id: int, leader: bool,
                 now: datetime) -> GroupSeat:
    """Write the seat taken by take_seat, held by this order (a member who left before
    takes its old row back)."""
    seat = db.session.scalar(select(GroupSeat).where(GroupSeat.tenant_id == tenant_id, GroupSeat.group_id == group_id,
                                                     GroupSeat.member_id == member_id))
    if seat is None:
        seat = GroupSeat(tenant_id=tenant_id, group_id=group_id, member_id=member_id, order_id=order_id,
                         leader=leader, status=SeatStatus.RESERVED, created_at=now)
        db.session.add(seat)
    else:
        seat.order_id, seat.status, seat.created_at = order_id, SeatStatus.RESERVED, now
    db.session.flush()
    return seat


def seat_of_order(*, tenant_id: int, order_id: int) -> GroupSeat | None:
    return db.session.scalar(select(GroupSeat).where(GroupSeat.tenant_id == tenant_id, GroupSeat.order_id == order_id))


def _move_seat(tenant_id: int, seat_id: int, src: SeatStatus, dst: SeatStatus) -> bool:
    return rowcount(db.session.execute(update(GroupSeat).where(
        GroupSeat.tenant_id == tenant_id, GroupSeat.id == seat_id, GroupSeat.status == src)
        .values(status=dst).execution_options(synchronize_session=False))) == 1


def release_seat(*, tenant_id: int, order_id: int) -> bool:
    """The seat's order was cancelled unpaid: the seat is free again, once."""
    seat = seat_of_order(tenant_id=tenant_id, order_id=order_id)
    if seat is None or not _move_seat(tenant_id, seat.id, SeatStatus.RESERVED, SeatStatus.RELEASED):
        return False
    db.session.execute(update(GroupBuy).where(GroupBuy.tenant_id == tenant_id, GroupBuy.id == seat.group_id,
                                              GroupBuy.seats_taken > 0)
                       .values(seats_taken=GroupBuy.seats_taken - 1).execution_options(synchronize_session=False))
    return True


def release_refunded_seat(*, tenant_id: int, order_id: int) -> bool:
    """A paid seat's order was refunded in full while its group was still forming: the
    seat is free again (the group needs someone else), once. A filled group keeps it."""
    seat = seat_of_order(tenant_id=tenant_id, order_id=order_id)
    if seat is None:
        return False
    forming = db.session.scalar(select(GroupBuy.id).where(
        GroupBuy.tenant_id == tenant_id, GroupBuy.id == seat.group_id, GroupBuy.status == GroupStatus.FORMING)
        .with_for_update())
    if forming is None or not _move_seat(tenant_id, seat.id, SeatStatus.PAID, SeatStatus.RELEASED):
        return False
    db.session.execute(update(GroupBuy).where(GroupBuy.tenant_id == tenant_id, GroupBuy.id == seat.group_id,
                                              GroupBuy.seats_taken > 0, GroupBuy.seats_paid > 0)
                       .values(seats_taken=GroupBuy.seats_taken - 1, seats_paid=GroupBuy.seats_paid - 1)
                       .execution_options(synchronize_session=False))
    return True


@dataclass(frozen=True)
class Filled:
    group_id: int
    leader_id: int
    leader_reward_points: int
    free_leader: bool = False


def seats_paid(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> list[Filled]:
    """These orders were paid: their seats are paid, once; groups whose every seat is
    now paid are filled (returned, for the leader's reward)."""
    seats = list(db.session.scalars(select(GroupSeat).where(GroupSeat.tenant_id == tenant_id,
                                                            GroupSeat.order_id.in_(order_ids))))
    filled = []
    for seat in seats:
        if not _move_seat(tenant_id, seat.id, SeatStatus.RESERVED, SeatStatus.PAID):
            continue
        db.session.execute(update(GroupBuy).where(GroupBuy.tenant_id == tenant_id, GroupBuy.id == seat.group_id)
                           .values(seats_paid=GroupBuy.seats_paid + 1).execution_options(synchronize_session=False))
        done = rowcount(db.session.execute(update(GroupBuy).where(
            GroupBuy.tenant_id == tenant_id, GroupBuy.id == seat.group_id, GroupBuy.status == GroupStatus.FORMING,
            GroupBuy.seats_paid >= GroupBuy.size).values(status=GroupStatus.FILLED, filled_at=now)
            .execution_options(synchronize_session=False)))
        if done:
            group = get_group(tenant_id=tenant_id, group_id=seat.group_id)
            c = get_campaign(tenant_id=tenant_id, campaign_id=group.campaign_id)
            if c.free_leader:  # owed from now on; the job refunds it (flows/group_buy.py)
                db.session.execute(update(GroupBuy).where(GroupBuy.tenant_id == tenant_id, GroupBuy.id == group.id)
                                   .values(leader_refund_due=True).execution_options(synchronize_session=False))
            filled.append(Filled(group.id, group.leader_id, c.leader_reward_points, c.free_leader))
    return filled


def leader_refunds_due(*, limit: int = 200) -> list[tuple[int, int]]:
    """(tenant, group) of filled groups whose free leader is still owed the refund."""
    return [(t, g) for t, g in db.session.execute(select(GroupBuy.tenant_id, GroupBuy.id).where(
        GroupBuy.leader_refund_due.is_(True)).order_by(GroupBuy.id).limit(limit))]


def claim_leader_refund(*, tenant_id: int, group_id: int, now: datetime) -> int | None:
    """The leader's order to refund for free, once: a guarded UPDATE clears what the
    group owes (the caller refunds in the same unit of work); None when already done."""
    done = rowcount(db.session.execute(update(GroupBuy).where(
        GroupBuy.tenant_id == tenant_id, GroupBuy.id == group_id, GroupBuy.leader_refund_due.is_(True))
        .values(leader_refund_due=None, leader_refunded_at=now).execution_options(synchronize_session=False)))
    if done != 1:
        return None
    return db.session.scalar(select(GroupSeat.order_id).where(
        GroupSeat.tenant_id == tenant_id, GroupSeat.group_id == group_id, GroupSeat.leader.is_(True)))


def may_ship(*, tenant_id: int, order_id: int) -> bool:
    """An order not in a group, or in a filled one."""
    seat = seat_of_order(tenant_id=tenant_id, order_id=order_id)
    if seat is None:
        return True
    return db.session.scalar(select(GroupBuy.status).where(GroupBuy.id == seat.group_id)) == "filled"


def fail_due_groups(*, now: datetime, limit: int = 200) -> list[tuple[int, int]]:
    """Groups whose time ran out are failed, each once; returns (tenant, group) of those."""
    due = db.session.execute(select(GroupBuy.tenant_id, GroupBuy.id).where(
        GroupBuy.status == GroupStatus.FORMING, GroupBuy.expires_at <= now).order_by(GroupBuy.id).limit(limit)).all()
    out = []
    for tenant_id, group_id in due:
        if rowcount(db.session.execute(update(GroupBuy).where(GroupBuy.id == group_id, GroupBuy.status == GroupStatus.FORMING,
                                                     GroupBuy.expires_at <= now)
                              .values(status=GroupStatus.FAILED, failed_at=now)
                              .execution_options(synchronize_session=False))):
            out.append((tenant_id, group_id))
    return out


def seats_to_unwind(*, limit: int = 500) -> list[tuple[int, int, int, str]]:
    """Seats of failed groups still holding an order: (tenant, seat, order, status)."""
    rows = db.session.execute(select(GroupSeat.tenant_id, GroupSeat.id, GroupSeat.order_id, GroupSeat.status)
                              .join(GroupBuy, GroupBuy.id == GroupSeat.group_id)
                              .where(GroupBuy.status == GroupStatus.FAILED, GroupSeat.status.in_((SeatStatus.RESERVED, SeatStatus.PAID)))
                              .order_by(GroupSeat.id).limit(limit)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def mark_refunded(*, tenant_id: int, seat_id: int) -> bool:
    """A failed group's paid seat: refunded, once (the caller opens the refund only when
    this returns True, in the same unit of work)."""
    return _move_seat(tenant_id, seat_id, SeatStatus.PAID, SeatStatus.REFUNDED)


def seats_of(*, tenant_id: int, group_ids: Sequence[int]) -> dict[int, list[GroupSeat]]:
    out: dict[int, list[GroupSeat]] = {g: [] for g in group_ids}
    if group_ids:
        for s in db.session.scalars(select(GroupSeat).where(GroupSeat.tenant_id == tenant_id,
                                                            GroupSeat.group_id.in_(group_ids)).order_by(GroupSeat.id)):
            out[s.group_id].append(s)
    return out


def list_groups(*, tenant_id: int, campaign_id: int, before_id: int | None = None, limit: int = 50) -> list[GroupBuy]:
    return newest_first(GroupBuy, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={GroupBuy.campaign_id: campaign_id})


def group_view(g: GroupBuy, seats: Sequence[GroupSeat], *, now: datetime, admin: bool = False) -> dict[str, Any]:
    holding = [s for s in seats if s.status in (SeatStatus.RESERVED, SeatStatus.PAID, SeatStatus.REFUNDED)]
    out: dict[str, Any] = {
        "id": g.id, "campaign_id": g.campaign_id, "leader_id": g.leader_id, "size": g.size,
        "seats_taken": g.seats_taken, "seats_paid": g.seats_paid, "seats_left": g.size - g.seats_taken,
        "status": g.status, "expires_at": g.expires_at.isoformat(),
        "leader_refunded_at": g.leader_refunded_at.isoformat() if g.leader_refunded_at else None,
        "seconds_left": max(0, int((g.expires_at - now).total_seconds())) if g.status == GroupStatus.FORMING else 0,
        "members": [{"member_id": s.member_id, "leader": s.leader, "paid": s.status in (SeatStatus.PAID, SeatStatus.REFUNDED)}
                    for s in holding]}
    if admin:
        out["seats"] = [{"member_id": s.member_id, "order_id": s.order_id, "status": s.status, "leader": s.leader}
                        for s in seats]
    return out


def campaign_stats(*, tenant_id: int, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Groups per state for each campaign."""
    out = {c: {"forming": 0, "filled": 0, "failed": 0} for c in campaign_ids}
    if campaign_ids:
        for cid, status, n in db.session.execute(select(GroupBuy.campaign_id, GroupBuy.status, func.count()).where(
                GroupBuy.tenant_id == tenant_id, GroupBuy.campaign_id.in_(campaign_ids))
                .group_by(GroupBuy.campaign_id, GroupBuy.status)):
            out[cid][status] = n
    return out
