"""Member verbs: log in, bind to a parent, read the team, change attributes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, or_, select, update

from backend.audit.service import record_audit
from backend.auth.revocation import PrincipalState, forget_principal, remember_principal
from backend.bulk import id_in, in_batches
from backend.db import after_commit, expire_loaded, read_committed, rowcount
from backend.events import announce
from backend.extensions import db
from backend.members import counters, tree
from backend.members.errors import (
    AlreadyBound,
    BindingCycle,
    InviteCodeUnknown,
    MemberFrozen,
    MemberNotFound,
    ParentNotPromoter,
    SelfBinding,
)
from backend.members.invite import new_invite_code, normalise_invite_code
from backend.members.models import (
    BIND_SOURCES,
    MEMBER_STATUSES,
    PROMOTER_STATUSES,
    Binding,
    Member,
    parse_path,
)
from backend.members.scene import parse_scene
from backend.members.types import BindOutcome, Bound, MemberStatus, PromoterStatus
from backend.staff.service import get_staff
from backend.tenants.service import get_tenant, get_tenant_by_slug
from backend.tenants.types import BindOn, PromoterMode, TenantInfo
from backend.wechat.service import code_to_session

# ------------------------------------------------------------------ accounts

def upsert_member(*, tenant_id: int, openid: str, unionid: str | None = None,
                  nickname: str = "", now: datetime) -> Member:
    """Find the member by mini-program openid or create it (with an invite code)."""
    member = db.session.scalar(select(Member).where(
        Member.tenant_id == tenant_id, Member.openid == openid))
    if member is None and unionid:
        # Known from the official account already: same person, now in the mini-program.
        member = db.session.scalar(select(Member).where(
            Member.tenant_id == tenant_id, Member.unionid == unionid, Member.openid.is_(None)))
        if member is not None:
            member.openid = openid
    if member is None:
        member = _create_member(tenant_id=tenant_id, openid=openid, unionid=unionid,
                                nickname=nickname, now=now)
    elif unionid and not member.unionid:
        member.unionid = unionid
    return member


def upsert_oa_follower(*, tenant_id: int, oa_openid: str, unionid: str | None,
                       now: datetime) -> Member:
    """Find the member behind an official-account openid (via unionid) or create one."""
    member = db.session.scalar(select(Member).where(
        Member.tenant_id == tenant_id, Member.oa_openid == oa_openid))
    if member is None and unionid:
        member = db.session.scalar(select(Member).where(
            Member.tenant_id == tenant_id, Member.unionid == unionid))
        if member is not None:
            member.oa_openid = oa_openid
    if member is None:
        member = _create_member(tenant_id=tenant_id, openid=None, unionid=unionid, nickname="",
                                now=now, oa_openid=oa_openid)
    return member


def _create_member(*, tenant_id: int, openid: str | None, unionid: str | None, nickname: str,
                   now: datetime, oa_openid: str | None = None) -> Member:
    tenant = get_tenant(tenant_id=tenant_id)
    status = PromoterStatus.ACTIVE if tenant.promoter_mode == PromoterMode.AUTO else PromoterStatus.NONE
    for _ in range(8):
        code = new_invite_code()
        taken = db.session.scalar(select(Member.id).where(
            Member.tenant_id == tenant_id, Member.invite_code == code))
        if taken is None:
            break
    member = Member(tenant_id=tenant_id, openid=openid, unionid=unionid, oa_openid=oa_openid,
                    nickname=nickname, invite_code=code, promoter_status=status,
                    created_at=now, updated_at=now)
    db.session.add(member)
    db.session.flush()
    member.path = f"/{member.id}/"
    announce("members_created", tenant_id=tenant_id, member_ids=[member.id], now=now)
    return member


def get_member(*, tenant_id: int, member_id: int) -> Member:
    """One member of this tenant, or MemberNotFound (never another tenant's)."""
    member = db.session.get(Member, member_id)
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound()
    return member


def update_profile(*, tenant_id: int, member_id: int, nickname: str | None = None,
                   avatar_url: str | None = None) -> Member:
    """Change what others see of a member; bumps the profile version (poster caches)."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    changed = False
    if nickname is not None and nickname != member.nickname:
        member.nickname = nickname
        changed = True
    if avatar_url is not None and avatar_url != member.avatar_url:
        member.avatar_url = avatar_url
        changed = True
    if changed:
        member.profile_version += 1
    return member


def find_by_invite_code(*, tenant_id: int, code: str) -> Member:
    """The member owning an invite code (case-insensitive), or InviteCodeUnknown."""
    normal = normalise_invite_code(code)
    member = None if normal is None else db.session.scalar(select(Member).where(
        Member.tenant_id == tenant_id, Member.invite_code == normal))
    if member is None:
        raise InviteCodeUnknown()
    return member


def members_by_ids(*, tenant_id: int, member_ids: Iterable[int], lock: bool = False) -> dict[int, Member]:
    """These members of the tenant by id (missing ids left out); with `lock`, under their
    row locks, taken in id order and read fresh."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    stmt = select(Member).where(Member.tenant_id == tenant_id, Member.id.in_(ids)).order_by(Member.id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return {m.id: m for m in db.session.scalars(stmt)}


def lock_member(*, tenant_id: int, member_id: int) -> Member:
    """One member under its row lock, read fresh, or MemberNotFound."""
    member = members_by_ids(tenant_id=tenant_id, member_ids=[member_id], lock=True).get(member_id)
    if member is None:
        raise MemberNotFound()
    return member


RANKS = ("agent_level", "promoter_tier")


def set_rank(*, tenant_id: int, member_id: int, field: str, value: str | None) -> None:
    """Set a member's agent level or promoter tier (rewards decides, records the history
    and pays the bonuses; the caller holds the member's row lock)."""
    if field not in RANKS or (field == "promoter_tier" and value is None):
        raise ValueError(field)
    setattr(get_member(tenant_id=tenant_id, member_id=member_id), field, value)


def referral_groups(*, tenant_id: int, member_ids: Sequence[int],
                    generation: int) -> list[tuple[int, str | None, str, str, int]]:
    """(referrer, agent level, promoter status, promoter tier, how many) of the members
    whose parent (generation 1) or grandparent (2) is one of member_ids, grouped."""
    column = {1: Member.parent_id, 2: Member.grandparent_id}[generation]
    rows = db.session.execute(
        select(column, Member.agent_level, Member.promoter_status, Member.promoter_tier, func.count())
        .where(Member.tenant_id == tenant_id, column.in_(list(member_ids)))
        .group_by(column, Member.agent_level, Member.promoter_status, Member.promoter_tier))
    return [(owner, level, status, tier, int(n)) for owner, level, status, tier, n in rows if owner is not None]


def first_root_promoter(*, tenant_id: int) -> Member | None:
    """The oldest active promoter at the top of a team (no parent), or None."""
    return db.session.scalar(select(Member).where(
        Member.tenant_id == tenant_id, Member.parent_id.is_(None), Member.promoter_status == PromoterStatus.ACTIVE)
        .order_by(Member.id).limit(1))


def find_by_unionid(*, tenant_id: int, unionid: str) -> Member | None:
    """A member of the tenant known by this WeChat unionid (the oldest, if several), or None."""
    return db.session.scalar(select(Member).where(
        Member.tenant_id == tenant_id, Member.unionid == unionid).order_by(Member.id).limit(1))


# ------------------------------------------------------------------ binding

@dataclass(frozen=True)
class BindResult:
    status: BindOutcome
    member_id: int
    parent_id: int
    # The caller's token state (active, this token version) was checked by the very
    # statement that queued the request (bind_inbox.request_binding's token_version).
    token_checked: bool = False


def resolve_scene_parent(*, tenant_id: int, scene: str) -> int:
    """The promoter a share scene names (by invite code or staff code)."""
    parsed = parse_scene(scene)
    if parsed.invite_code:
        return find_by_invite_code(tenant_id=tenant_id, code=parsed.invite_code).id

    staff = get_staff(tenant_id=tenant_id, staff_id=parsed.staff_id or 0)
    if staff.member_id is None:
        raise ParentNotPromoter("该员工尚未关联会员账号")
    return staff.member_id


def bind_by_scene(*, tenant_id: int, member_id: int, scene: str, source: str,
                  now: datetime) -> BindResult:
    """Bind after opening a share link, QR, poster, staff code or live-room share."""
    parent_id = resolve_scene_parent(tenant_id=tenant_id, scene=scene)
    return bind_member(tenant_id=tenant_id, member_id=member_id, parent_id=parent_id,
                       source=source, scene=scene, now=now)


def bind_by_invite_code(*, tenant_id: int, member_id: int, code: str, now: datetime) -> BindResult:
    """Bind after typing a promoter's invite code."""
    parent = find_by_invite_code(tenant_id=tenant_id, code=code)
    return bind_member(tenant_id=tenant_id, member_id=member_id, parent_id=parent.id,
                       source="invite_code", scene=parent.invite_code, now=now)


_members = Member.__table__
_SHARE_IDS = (select(_members.c.id)
              .where(_members.c.tenant_id == bindparam("tenant_id"), _members.c.id.in_(bindparam("ids", expanding=True)))
              .order_by(_members.c.id).with_for_update(read=True))


def _share_upline(tenant_id: int, ids: set[int]) -> None:
    """Shared locks on an upline, ascending ids, through the ids alone: no ancestor
    moves (a move locks its member exclusively) until this unit ends, while every other
    binder under the same upline takes the same shared locks without waiting. Nothing
    here writes the upline's rows: its counters change through appended deltas."""
    if ids:
        db.session.execute(_SHARE_IDS, {"tenant_id": tenant_id, "ids": sorted(ids)}).all()


def _fresh(tenant_id: int, member_id: int, *, exclusive: bool) -> Member | None:
    """The member's row read again under a lock (shared or exclusive), not from the
    identity map: what others committed before the lock was granted."""
    return db.session.scalar(
        select(Member).where(Member.tenant_id == tenant_id, Member.id == member_id)
        .with_for_update(read=not exclusive).execution_options(populate_existing=True))


def _team_now(member: Member) -> counters.Counts:
    """The exact team of a member this unit holds exclusively (about to move it).

    Binders below it hold a shared lock on it until they commit, so once the exclusive
    lock is granted every delta for it is committed. A member that never had a team
    (the row read under the lock says so) has none; otherwise its pending deltas are
    summed by a locking read, which sees them whatever this unit's snapshot (rare: a
    move of a member with a team)."""
    if not member.had_team:
        return counters.ZERO
    return counters.locked_counts(member)


def bind_member(*, tenant_id: int, member_id: int, parent_id: int, source: str,
                scene: str | None, now: datetime) -> BindResult:
    """Apply the tenant's binding policy to one attempt; the first valid binding wins."""
    if source not in BIND_SOURCES:
        raise ValueError(source)
    if member_id == parent_id:
        raise SelfBinding()
    tenant = get_tenant(tenant_id=tenant_id)
    probe = get_member(tenant_id=tenant_id, member_id=parent_id)
    _share_upline(tenant_id, {parent_id, *probe.ancestor_ids()})
    parent = _fresh(tenant_id, parent_id, exclusive=False)
    member = _fresh(tenant_id, member_id, exclusive=True)
    if member is None or parent is None:
        raise MemberNotFound()
    if parent.path != probe.path:  # the parent moved while we locked: hold its new upline
        _share_upline(tenant_id, set(parent.ancestor_ids()))
    if parent.promoter_status != PromoterStatus.ACTIVE:
        raise ParentNotPromoter()
    if member.id in parse_path(parent.path):
        raise BindingCycle()

    if member.parent_id is not None:
        if member.parent_id == parent.id:
            return BindResult(BindOutcome.BOUND, member.id, parent.id)
        if not tenant.allow_rebind:
            raise AlreadyBound()
        team = _team_now(member)
        _share_upline(tenant_id, set(member.ancestor_ids()))
        _end_binding(tenant_id=tenant_id, member=member, now=now, reason="rebind")
        tree.detach(db.session(), member=member, team=team)
        member_id, parent_id = member.id, parent.id
        _attach(tenant, member, parent, source, scene, now, team)
        return BindResult(BindOutcome.REBOUND, member_id, parent_id)

    if tenant.bind_on == BindOn.PURCHASE and member.last_purchase_at is None:
        if member.pending_parent_id is None:  # first valid share wins until the purchase
            member.pending_parent_id = parent.id
            member.pending_source = source
            member.pending_scene = scene
        return BindResult(BindOutcome.PENDING, member.id, member.pending_parent_id)

    member_id, parent_id = member.id, parent.id
    _attach(tenant, member, parent, source, scene, now, _team_now(member))
    return BindResult(BindOutcome.BOUND, member_id, parent_id)


def bind_expiry(tenant: TenantInfo, now: datetime) -> datetime | None:
    """When a binding made or renewed (by a purchase) at `now` lapses: never, unless the
    tenant sets bind_expire_days."""
    return now + timedelta(days=tenant.bind_expire_days) if tenant.bind_expire_days else None


def _attach(tenant: TenantInfo, member: Member, parent: Member, source: str, scene: str | None,
            now: datetime, team: counters.Counts) -> None:
    # The guard on parent_id makes a racing second binder fail even without row locks
    # (SQLite), so a member can never end with two parents.
    won = rowcount(db.session.execute(
        update(Member).where(Member.id == member.id, Member.parent_id.is_(None))
        .values(parent_id=parent.id).execution_options(synchronize_session=False)))
    if won != 1:
        raise AlreadyBound()
    tenant_id, member_id, parent_id = tenant.id, member.id, parent.id
    if not parent.had_team:  # its first member: set once (read under the shared lock)
        db.session.execute(update(Member).where(Member.id == parent_id).values(had_team=True)
                           .execution_options(synchronize_session=False))
    member.parent_id = None  # the row says parent.id; tree.attach sets it again with the rest
    tree.attach(db.session(), member=member, parent=parent, team=team)
    member.bound_at = now
    member.bind_expires_at = bind_expiry(tenant, now)
    member.pending_parent_id = None
    member.pending_source = None
    member.pending_scene = None
    db.session.add(Binding(tenant_id=tenant_id, member_id=member_id, parent_id=parent_id,
                           source=source, scene=scene, bound_at=now))
    # What a binding sets off (the promoter hears of the new fan through the outbox, i.e.
    # only if this commits; a marketing gift) is the flows': backend/flows/binding.py …
    announce("members_bound", tenant_id=tenant_id, bindings=[Bound(member_id, parent_id, source, scene)], now=now)


def _end_binding(*, tenant_id: int, member: Member, now: datetime, reason: str) -> None:
    db.session.execute(
        update(Binding).where(Binding.tenant_id == tenant_id, Binding.member_id == member.id,
                              Binding.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False))


def record_purchase(*, tenant_id: int, member_id: int, now: datetime) -> Member:
    """A member paid an order: confirm a pending binding and extend an expiring one."""
    tenant = get_tenant(tenant_id=tenant_id)
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    member.last_purchase_at = now
    if member.parent_id is None and member.pending_parent_id is not None:
        try:
            bind_member(tenant_id=tenant_id, member_id=member.id,
                        parent_id=member.pending_parent_id,
                        source=member.pending_source or "share", scene=member.pending_scene,
                        now=now)
        except (BindingCycle, ParentNotPromoter):
            member.pending_parent_id = None  # the parked share is no longer valid
    elif member.parent_id is not None and tenant.bind_expire_days:
        member.bind_expires_at = bind_expiry(tenant, now)
    return member


# A buyer's purchase stamp (last_purchase_at, and the binding's expiry it renews) moves
# only when it is at least this old. The paid-order follow-up stamps a whole batch's
# buyers, and the UPDATE would hold their member rows' locks until the batch commits,
# while every new order of the same buyers waits for them (an order's INSERT takes a
# shared lock on its buyer's row: the foreign key). An agent restocking several times a
# minute then queued behind every batch. A buyer stamped within the grain is not
# written, so its row is not locked (the flows' paid_order.stamp_next_buyers stamps the
# next batch's buyers in a short transaction of its own just before it); the stamp, and
# so a binding's expiry after bind_expire_days, is exact to this grain.
PURCHASE_STAMP_GRAIN = timedelta(minutes=1)


def record_purchases(*, tenant_id: int, member_ids: Sequence[int], now: datetime) -> None:
    """record_purchase for a batch of buyers (the paid-order follow-up): parked bindings
    confirmed one by one (rare), everyone else stamped in one UPDATE (to the minute:
    PURCHASE_STAMP_GRAIN)."""
    ids = sorted(set(member_ids))
    if not ids:
        return
    # One plain read says who is parked and who is due a stamp; only those are written.
    # (An UPDATE that merely failed its WHERE on a row would still have locked it, and
    # keeps the lock when it had to wait for it.)
    stale = or_(Member.last_purchase_at.is_(None), Member.last_purchase_at <= now - PURCHASE_STAMP_GRAIN)
    rows = db.session.execute(select(
        Member.id, and_(Member.parent_id.is_(None), Member.pending_parent_id.is_not(None)), stale)
        .where(Member.tenant_id == tenant_id, Member.id.in_(ids))).all()
    parked = sorted(r[0] for r in rows if r[1])
    for member_id in parked:
        record_purchase(tenant_id=tenant_id, member_id=member_id, now=now)
    due = sorted(r[0] for r in rows if r[2] and not r[1])
    if not due:
        return
    values: dict[str, Any] = {"last_purchase_at": now}
    expires = bind_expiry(get_tenant(tenant_id=tenant_id), now)
    if expires is not None:
        values["bind_expires_at"] = case((Member.parent_id.is_not(None), expires), else_=Member.bind_expires_at)
    db.session.execute(update(Member).where(Member.tenant_id == tenant_id, Member.id.in_(due), stale)
                       .values(**values).execution_options(synchronize_session=False))
    expire_loaded(Member, due, values)


_members = Member.__table__
_REWARD_PROFILES = (
    select(_members.c.id, _members.c.path, _members.c.promoter_status, _members.c.promoter_tier,
           _members.c.agent_level)
    .where(_members.c.tenant_id == bindparam("tenant_id"), _members.c.id.in_(bindparam("ids", expanding=True))))


def reward_profiles(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, Any]:
    """What rewards need of these members, as plain rows (id, path, promoter_status,
    promoter_tier, agent_level) by id, one statement."""
    if not member_ids:
        return {}
    return {m.id: m for m in db.session.execute(_REWARD_PROFILES, {"tenant_id": tenant_id,
                                                                    "ids": sorted(set(member_ids))})}


def path_of(*, tenant_id: int | ColumnElement[Any], member_id: int | ColumnElement[Any]) -> Any:
    """A member's materialized path as a scalar subquery (NULL for no such member of the
    tenant), for a caller folding it into its own read."""
    m = Member.__table__
    return select(m.c.path).where(m.c.tenant_id == tenant_id, m.c.id == member_id).scalar_subquery()


def buyer_facts_of(*, tenant_id: int | ColumnElement[Any], member_id: int | ColumnElement[Any]) -> list[Any]:
    """What placing an order needs of its buyer — the materialized path, the agent level
    (prices) and the member level (discount) — as labelled scalar subqueries (NULL for
    no such member of the tenant), for a caller folding them into its own read."""
    m = Member.__table__
    found = (m.c.tenant_id == tenant_id, m.c.id == member_id)
    return [select(m.c.path).where(*found).scalar_subquery().label("buyer_path"),
            select(m.c.agent_level).where(*found).scalar_subquery().label("buyer_agent_level"),
            select(m.c.member_level).where(*found).scalar_subquery().label("buyer_member_level")]


def upline_ids(path: str) -> list[int]:
    """The upline of a member with this materialized path, nearest first."""
    return parse_path(path)[:-1][::-1]


def expire_binding(*, tenant_id: int, member_id: int, now: datetime) -> bool:
    """Unbind one member whose binding lapsed without a purchase (re-checked under the
    locks); True when it was unbound."""
    probe = get_member(tenant_id=tenant_id, member_id=member_id)
    _share_upline(tenant_id, set(probe.ancestor_ids()))
    member = _fresh(tenant_id, member_id, exclusive=True)
    if member is None or member.parent_id is None or member.bind_expires_at is None or member.bind_expires_at >= now:
        return False
    if member.path != probe.path:
        _share_upline(tenant_id, set(member.ancestor_ids()))
    _end_binding(tenant_id=tenant_id, member=member, now=now, reason="expired")
    tree.detach(db.session(), member=member, team=_team_now(member))
    member.bind_expires_at = None
    return True


def lapsed_bindings(*, now: datetime, limit: int = 500) -> list[tuple[int, int]]:
    """(tenant id, member id) of bindings past their expiry, oldest first, all tenants."""
    return [(t, m) for t, m in db.session.execute(
        select(Member.tenant_id, Member.id).where(Member.bind_expires_at < now)
        .order_by(Member.bind_expires_at).limit(limit))]


# ------------------------------------------------------------------ team views

def upline(*, tenant_id: int, member_id: int, limit: int = 30) -> list[Member]:
    """The member's upline, nearest first: one indexed read of at most `limit` rows."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    ids = member.ancestor_ids()[:limit]
    if not ids:
        return []
    rows = {m.id: m for m in db.session.scalars(
        select(Member).where(Member.tenant_id == tenant_id, Member.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def team_summary(*, tenant_id: int, member_id: int) -> dict[str, int]:
    """Team size in total and per level 1/2/3: the maintained counters plus their pending
    deltas, one statement (backend/members/counters.py)."""
    found = counters.counts_of(tenant_id=tenant_id, member_ids=[member_id]).get(member_id)
    if found is None:
        raise MemberNotFound()
    return found.view()


_LEVEL_COLUMN = {1: Member.parent_id, 2: Member.grandparent_id, 3: Member.great_grandparent_id}


def team_page(*, tenant_id: int, member_id: int, level: int | None, after_id: int = 0,
              limit: int = 20) -> list[Member]:
    """One page of the team: a given level (1/2/3) by id, or everyone below (level None)."""
    me = get_member(tenant_id=tenant_id, member_id=member_id)
    if level is None:
        # Whole team: a range scan on the path prefix, keyset-paged by id.
        cond = and_(Member.path.like(me.path + "%"), Member.id != me.id)
    else:
        cond = _LEVEL_COLUMN[level] == me.id
    stmt = (select(Member).where(Member.tenant_id == tenant_id, cond, Member.id > after_id)
            .order_by(Member.id).limit(limit))
    return list(db.session.scalars(stmt))


# ------------------------------------------------------------------ operator changes

# Agent level and promoter tier are rewards-plan facts: they change through
# backend.rewards.service.set_member_level (plan check, history, referral bonuses).
ADJUSTABLE = ("member_level", "promoter_status", "status")


def adjust_member(*, tenant_id: int, member_id: int, changes: dict[str, Any],
                  actor: str) -> Member:
    """An operator sets the member level or promoter status by hand; audited."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    if "promoter_status" in changes and changes["promoter_status"] not in PROMOTER_STATUSES:
        raise ValueError("promoter_status")
    if "status" in changes and changes["status"] not in MEMBER_STATUSES:
        raise ValueError("status")
    if "status" in changes and changes["status"] != member.status:
        _revoke_tokens(member)  # a freeze ends every session now
    before = {k: getattr(member, k) for k in changes}
    for key, value in changes.items():
        if key not in ADJUSTABLE:
            raise ValueError(key)
        setattr(member, key, value)
    record_audit(tenant_id=tenant_id, actor=actor, action="member.adjust", target_type="member",
                 target_id=member.id, before=before, after=dict(changes))
    return member


def list_members(*, tenant_id: int, after_id: int = 0, limit: int = 50,
                 query: str | None = None) -> list[Member]:
    """Members of a tenant for the back-office, keyset-paged, optional nickname/code search."""
    stmt = select(Member).where(Member.tenant_id == tenant_id, Member.id > after_id)
    if query:
        code = normalise_invite_code(query)
        stmt = stmt.where(Member.invite_code == code) if code else stmt.where(
            Member.nickname.like(f"%{query}%"))
    return list(db.session.scalars(stmt.order_by(Member.id).limit(limit)))


def member_view(member: Member, *, private: bool = False) -> dict[str, Any]:
    """A member as an API shows it; private adds what only the member or an operator sees."""
    out: dict[str, Any] = {"id": member.id, "nickname": member.nickname,
                           "avatar_url": member.avatar_url, "invite_code": member.invite_code,
                           "promoter_status": member.promoter_status,
                           "promoter_tier": member.promoter_tier,
                           "agent_level": member.agent_level, "member_level": member.member_level,
                           "depth": member.depth}
    if private:
        out.update(parent_id=member.parent_id,
                   bound_at=member.bound_at.isoformat() if member.bound_at else None,
                   pending_parent_id=member.pending_parent_id, phone=member.phone,
                   status=member.status,
                   team=team_counts(member))
    return out


def binding_history(*, tenant_id: int, member_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A member's bindings, newest first: parent, source, scene, when, and how each ended."""
    rows = db.session.scalars(
        select(Binding).where(Binding.tenant_id == tenant_id, Binding.member_id == member_id)
        .order_by(Binding.id.desc()).limit(limit))
    return [{"id": b.id, "parent_id": b.parent_id, "source": b.source, "scene": b.scene,
             "bound_at": b.bound_at.isoformat(), "ended_at": b.ended_at.isoformat() if b.ended_at else None,
             "end_reason": b.end_reason} for b in rows]


def nicknames(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, str]:
    """Nicknames of the given members (missing ids are left out)."""
    if not member_ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.nickname).where(
        Member.tenant_id == tenant_id, Member.id.in_(list(member_ids)))).all())


def created_between(*, tenant_id: int, start: datetime, end: datetime) -> int:
    """How many members were created in [start, end) (an indexed range count)."""
    return int(db.session.scalar(select(func.count()).select_from(Member).where(
        Member.tenant_id == tenant_id, Member.created_at >= start, Member.created_at < end)) or 0)


def bound_between(*, tenant_id: int, start: datetime,
                  end: datetime) -> Iterator[tuple[int | None, int | None, int | None]]:
    """(parent, grandparent, great-grandparent) of each member bound in [start, end),
    streamed from one range on (tenant_id, bound_at)."""
    yield from db.session.execute(
        select(Member.parent_id, Member.grandparent_id, Member.great_grandparent_id).where(
            Member.tenant_id == tenant_id, Member.bound_at >= start, Member.bound_at < end,
            Member.parent_id.is_not(None))).tuples()


def uplines_of(*, tenant_id: int,
               member_ids: Iterable[int]) -> Iterator[tuple[int, int | None, int | None, int | None]]:
    """(member, parent, grandparent, great-grandparent) of those of these members who are
    bound, read in id order through the primary key (IN lists of bulk.IN_BATCH ids)."""
    for ids in in_batches(member_ids):
        yield from db.session.execute(
            select(Member.id, Member.parent_id, Member.grandparent_id, Member.great_grandparent_id)
            .where(Member.tenant_id == tenant_id, id_in(Member.id, ids), Member.parent_id.is_not(None))).tuples()


def team_ids(*, tenant_id: int, member_id: int) -> list[list[int]]:
    """The member's team by level: [level-1 ids, level-2 ids, level-3 ids] (one index
    range each, on the parent, grandparent and great-grandparent columns)."""
    return [list(db.session.scalars(select(Member.id).where(Member.tenant_id == tenant_id, column == member_id)))
            for column in (Member.parent_id, Member.grandparent_id, Member.great_grandparent_id)]


def new_team_of(*, tenant_id: int, member_id: int, start: datetime, end: datetime) -> list[int]:
    """How many members were bound in [start, end) at each of the member's levels 1–3."""
    return [int(db.session.scalar(select(func.count()).select_from(Member).where(
        Member.tenant_id == tenant_id, column == member_id, Member.bound_at >= start,
        Member.bound_at < end)) or 0)
        for column in (Member.parent_id, Member.grandparent_id, Member.great_grandparent_id)]


def active_promoters_in_range(*, tenant_id: int, after: int, upto: int | None,
                              batch: Sequence[int]) -> tuple[int, int | None, list[int]]:
    """The active promoters in the id range (after, upto], which holds `batch`: how many,
    the highest id, and which of `batch` are among them. One range scan: the others are
    only counted, and the common case (every member of `batch` is an active promoter)
    reads no rows."""
    where = [Member.tenant_id == tenant_id, Member.promoter_status == PromoterStatus.ACTIVE, Member.id > after]
    if upto is not None:
        where.append(Member.id <= upto)
    in_batch = func.count(case((id_in(Member.id, batch), 1))) if batch else literal(0)
    count, top, hits = db.session.execute(select(func.count(), func.max(Member.id), in_batch).where(*where)).one()
    if hits == len(batch):
        return int(count or 0), top, list(batch)
    active = [m for ids in in_batches(batch) for m in db.session.scalars(
        select(Member.id).where(*where, id_in(Member.id, ids)).order_by(Member.id))]
    return int(count or 0), top, active


def openids_of(*, tenant_id: int, member_ids: Iterable[int]) -> dict[int, str | None]:
    """{member id: mini-program openid} of these members (IN lists of bulk.IN_BATCH ids)."""
    return {i: openid for ids in in_batches(member_ids) for i, openid in db.session.execute(
        select(Member.id, Member.openid).where(Member.tenant_id == tenant_id, id_in(Member.id, ids)))}


def growth_between(*, tenant_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Members created and bindings made in [start, end), the bindings per source; two
    indexed range counts."""
    new = created_between(tenant_id=tenant_id, start=start, end=end)
    by_source = db.session.execute(
        select(Binding.source, func.count()).where(
            Binding.tenant_id == tenant_id, Binding.bound_at >= start, Binding.bound_at < end)
        .group_by(Binding.source)).all()
    return {"new_members": int(new or 0), "bindings": {src: int(n) for src, n in by_source}}


def bound_total(*, tenant_id: int) -> int:
    """How many members have a parent now (an index range count)."""
    return int(db.session.scalar(select(func.count()).select_from(Member).where(
        Member.tenant_id == tenant_id, Member.parent_id.is_not(None))) or 0)


def team_counts(member: Member) -> dict[str, int]:
    """The member's exact team counts (row + pending deltas, one statement)."""
    return counters.counts_of(tenant_id=member.tenant_id, member_ids=[member.id]).get(
        member.id, counters.ZERO).view()


def counter_deltas_pending() -> int:
    """Team-counter deltas not folded yet (the fold job's backlog, for /metrics)."""
    return counters.pending_count()


def fold_team_counters() -> int:
    """Fold one batch of pending counter deltas into the members' rows (the job)."""
    read_committed()
    return counters.fold()



def bind_from_request(*, tenant_id: int, member_id: int, source: str, scene: str | None,
                      invite_code: str | None, now: datetime) -> BindResult:
    """A binding asked for by the mini-program: exactly one of scene / invite code."""
    from backend.members.errors import InvalidScene

    if (scene is None) == (invite_code is None):
        raise InvalidScene("请提供分享参数或邀请码之一")
    if invite_code is not None:
        return bind_by_invite_code(tenant_id=tenant_id, member_id=member_id, code=invite_code,
                                   now=now)
    return bind_by_scene(tenant_id=tenant_id, member_id=member_id, scene=scene or "",
                         source=source, now=now)


def login_with_code(*, tenant_slug: str, code: str, now: datetime) -> Member:
    """Mini-program login: code2session through the WeChat edge, then upsert the member."""

    tenant = get_tenant_by_slug(slug=tenant_slug)
    session = code_to_session(tenant_id=tenant.id, js_code=code)
    member = upsert_member(tenant_id=tenant.id, openid=session.openid, unionid=session.unionid,
                           now=now)
    if member.status != MemberStatus.ACTIVE:
        raise MemberFrozen()
    state, tenant_id, member_id = PrincipalState(status=member.status, version=member.token_version), tenant.id, member.id
    # The token this log-in returns is used at once (a new member's next request binds
    # it to whoever shared): its state goes into the cache with the commit.
    after_commit(lambda: remember_principal(kind="member", tenant_id=tenant_id, subject_id=member_id, state=state))
    return member


_PRICING = select(_members.c.agent_level, _members.c.member_level).where(
    _members.c.id == bindparam("id"), _members.c.tenant_id == bindparam("tenant_id"))


def pricing_facts(*, tenant_id: int, member_id: int) -> tuple[str | None, int]:
    """(agent level, member level): what a member's prices depend on, two columns of one
    primary-key read (the product list asks on every request, so it is a Core read on
    the connection: the ORM's statement path cost about three times its CPU)."""
    row = db.session.connection().execute(_PRICING, {"id": member_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise MemberNotFound()
    return row[0], int(row[1])


_TOKEN_STATE = select(_members.c.status, _members.c.token_version).where(
    _members.c.id == bindparam("id"), _members.c.tenant_id == bindparam("tenant_id"))


def token_state(*, tenant_id: int | None, subject_id: int | None) -> PrincipalState | None:
    """What a member token is checked against (None: no such member in this tenant).
    A Core read on the connection: it runs whenever the cached state is missing, i.e.
    on a member's first request after a while (every request of a surge of new members),
    and the ORM's statement path cost about three times its CPU."""
    row = db.session.connection().execute(_TOKEN_STATE, {"id": subject_id, "tenant_id": tenant_id}).first()
    return None if row is None else PrincipalState(status=row[0], version=row[1])


def _revoke_tokens(member: Member) -> None:
    member.token_version += 1
    member_id = member.id
    after_commit(lambda: forget_principal(kind="member", subject_id=member_id))


def logout(*, tenant_id: int, member_id: int) -> None:
    """End every session of this member (all its tokens)."""
    _revoke_tokens(get_member(tenant_id=tenant_id, member_id=member_id))


@dataclass(frozen=True)
class AgentRow:
    id: int
    path: str
    agent_level: str
    promoter_active: bool


def agents_of(*, tenant_id: int) -> list[AgentRow]:
    """Every member holding an agent level (代理), with its path: the team-performance
    period's roll-up reads them once."""
    rows = db.session.execute(select(Member.id, Member.path, Member.agent_level, Member.promoter_status).where(
        Member.tenant_id == tenant_id, Member.agent_level.is_not(None)).order_by(Member.id))
    return [AgentRow(i, p, lvl, st == "active") for i, p, lvl, st in rows if lvl is not None]


def paths_of(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, str]:
    """Materialized paths of these members ("/1/5/9/", root first), in batches of 1000."""
    ids = sorted(set(member_ids))
    out: dict[int, str] = {}
    for i in range(0, len(ids), 1000):
        for member_id, path in db.session.execute(select(Member.id, Member.path).where(
                Member.tenant_id == tenant_id, Member.id.in_(ids[i:i + 1000]))):
            out[member_id] = path
    return out


class TreeRow(NamedTuple):
    """One member as the upgrade pass reads it: place in the tree, level, tier, status
    (a named tuple: a million of them are built per pass)."""

    id: int
    path: str
    parent_id: int | None
    grandparent_id: int | None
    agent_level: str | None
    promoter_tier: str
    active_promoter: bool


def tree_rows(*, tenant_id: int, after_id: int = 0, limit: int = 50_000) -> list[TreeRow]:
    """Members of a tenant in id order, keyset-paged, with what level upgrades read."""
    rows = db.session.execute(
        select(Member.id, Member.path, Member.parent_id, Member.grandparent_id, Member.agent_level,
               Member.promoter_tier, Member.promoter_status)
        .where(Member.tenant_id == tenant_id, Member.id > after_id).order_by(Member.id).limit(limit))
    return [TreeRow(i, p, par, gp, lvl, tier, st == "active") for i, p, par, gp, lvl, tier, st in rows.tuples()]
