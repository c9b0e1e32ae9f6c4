"""Bindings in batches: a surge's followers created and bound a batch per statement.

The binding worker (official-account follows, mini-program shares waiting in an
inbox) hands a batch of (member, parent) pairs here. The common case — a member
without a parent or a team, under an active promoter, on a tenant that binds at once —
is written set-based: one statement each for the shared locks on every upline, the
members' exclusive locks, the members' new place (path, ancestor columns, depth), the
binding records and the counter deltas of the whole batch (summed per upline member).
Anything else (a rebind, a member with a team, bind-on-purchase, a parent that is
itself bound in this batch) goes through `service.bind_member` one by one, after the
set-based part, so the policy lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, literal, select, update

from backend.bulk import insert_rows
from backend.db import expire_loaded, rowcount
from backend.errors import DomainError
from backend.events import announce
from backend.extensions import db
from backend.members import counters, service
from backend.members.invite import new_invite_code
from backend.members.models import Binding, Member, parse_path
from backend.members.types import BindOutcome, Bound, PromoterStatus
from backend.tenants.service import get_tenant
from backend.tenants.types import PromoterMode

_members = Member.__table__
_bindings = Binding.__table__


@dataclass(frozen=True)
class Want:
    """One binding asked for: this member under this parent."""

    member_id: int
    parent_id: int
    source: str
    scene: str | None


@dataclass(frozen=True)
class Outcome:
    member_id: int
    status: str  # bound | pending | rebound | refused
    parent_id: int | None
    code: str | None = None  # the DomainError's code when refused


# ------------------------------------------------------------------ followers

def upsert_oa_followers(*, tenant_id: int, followers: Sequence[tuple[str, str | None]],
                        now: datetime) -> dict[str, int]:
    """`service.upsert_oa_follower` for a batch of (official-account openid, unionid):
    the member id of each, the new ones created in one INSERT."""
    wanted = dict(followers)
    found: dict[str, int] = dict(db.session.execute(select(_members.c.oa_openid, _members.c.id).where(
        _members.c.tenant_id == tenant_id, _members.c.oa_openid.in_(list(wanted)))).all())
    rest = {o: u for o, u in wanted.items() if o not in found}
    unionids = {u: o for o, u in rest.items() if u}
    if unionids:  # the same person known from the mini-program: link it (rare: one by one)
        for member_id, unionid in db.session.execute(select(_members.c.id, _members.c.unionid).where(
                _members.c.tenant_id == tenant_id, _members.c.unionid.in_(list(unionids)))).tuples():
            openid = unionids[unionid]
            if openid in rest:
                db.session.execute(update(_members).where(_members.c.id == member_id).values(oa_openid=openid))
                found[openid] = member_id
                del rest[openid]
    if not rest:
        return found
    tenant = get_tenant(tenant_id=tenant_id)
    status = PromoterStatus.ACTIVE if tenant.promoter_mode == PromoterMode.AUTO else PromoterStatus.NONE
    codes = _free_invite_codes(tenant_id, len(rest))
    insert_rows(_members, [
        {"tenant_id": tenant_id, "openid": None, "unionid": unionid, "oa_openid": openid, "nickname": "",
         "invite_code": code, "promoter_status": status, "path": "", "created_at": now, "updated_at": now}
        for (openid, unionid), code in zip(rest.items(), codes, strict=True)])
    created = dict(db.session.execute(select(_members.c.oa_openid, _members.c.id).where(
        _members.c.tenant_id == tenant_id, _members.c.oa_openid.in_(list(rest)))).all())
    # A new member is its own root: "/<id>/".
    db.session.execute(update(_members).where(_members.c.id.in_(list(created.values())))
                       .values(path=literal("/") + cast(_members.c.id, String) + literal("/")))
    announce("members_created", tenant_id=tenant_id, member_ids=sorted(created.values()), now=now)
    found.update(created)
    return found


def _free_invite_codes(tenant_id: int, n: int) -> list[str]:
    """n invite codes no member of the tenant holds (the unique key catches a race)."""
    codes: set[str] = set()
    while len(codes) < n:
        fresh = {new_invite_code() for _ in range(n - len(codes))}
        taken = set(db.session.scalars(select(_members.c.invite_code).where(
            _members.c.tenant_id == tenant_id, _members.c.invite_code.in_(list(fresh)))))
        codes |= fresh - taken
    return sorted(codes)


def parents_by_invite_code(*, tenant_id: int, codes: Sequence[str]) -> dict[str, int]:
    """Member ids behind these (normalised) invite codes, one statement."""
    if not codes:
        return {}
    return dict(db.session.execute(select(_members.c.invite_code, _members.c.id).where(
        _members.c.tenant_id == tenant_id, _members.c.invite_code.in_(sorted(set(codes))))).all())


# ------------------------------------------------------------------ bindings

_SHARE = (select(_members.c.id, _members.c.path, _members.c.depth, _members.c.promoter_status, _members.c.had_team)
          .where(_members.c.tenant_id == bindparam("tenant_id"), _members.c.id.in_(bindparam("ids", expanding=True)))
          .order_by(_members.c.id).with_for_update(read=True))
_EXCLUSIVE = (select(_members.c.id, _members.c.parent_id, _members.c.had_team)
              .where(_members.c.tenant_id == bindparam("tenant_id"),
                     _members.c.id.in_(bindparam("ids", expanding=True)))
              .order_by(_members.c.id).with_for_update())


def bind_many(*, tenant_id: int, wants: Sequence[Want], now: datetime) -> list[Outcome]:
    """Apply the binding policy to a batch in the caller's unit of work (see the module);
    one outcome per want, in order."""
    tenant = get_tenant(tenant_id=tenant_id)
    simple: list[int] = []
    slow: list[int] = []
    seen: set[int] = set()
    bound_here = {w.member_id for w in wants}
    for i, w in enumerate(wants):
        if (w.member_id in seen or w.member_id == w.parent_id or w.parent_id in bound_here
                or tenant.bind_on == "purchase"):
            slow.append(i)
        else:
            simple.append(i)
        seen.add(w.member_id)
    outcomes: list[Outcome | None] = [None] * len(wants)
    if simple:
        probe = dict(db.session.execute(select(_members.c.id, _members.c.path).where(
            _members.c.tenant_id == tenant_id, _members.c.id.in_({wants[i].parent_id for i in simple}))).all())
        upline = {a for path in probe.values() for a in parse_path(path)}
        parents = {r.id: r for r in db.session.execute(_SHARE, {"tenant_id": tenant_id, "ids": sorted(upline)})}
        moved = {p for p, path in probe.items() if parents[p].path != path}
        if moved:  # a parent moved before its lock: hold its new upline too
            db.session.execute(_SHARE, {"tenant_id": tenant_id, "ids": sorted(
                {a for p in moved for a in parse_path(parents[p].path)})}).all()
        rows = {r.id: r for r in db.session.execute(
            _EXCLUSIVE, {"tenant_id": tenant_id, "ids": sorted(wants[i].member_id for i in simple)})}
        go: list[tuple[Want, Any]] = []
        for i in simple:
            w = wants[i]
            parent, member = parents.get(w.parent_id), rows.get(w.member_id)
            if (parent is None or member is None or parent.promoter_status != PromoterStatus.ACTIVE
                    or member.parent_id is not None or member.had_team
                    or w.member_id in parse_path(parent.path)):
                slow.append(i)  # refused or unusual: the one-by-one path says which
            else:
                go.append((w, parent))
                outcomes[i] = Outcome(w.member_id, "bound", w.parent_id)
        if go:
            _attach_many(tenant, go, now)
    for i in sorted(slow):
        w = wants[i]
        try:  # bind_member refuses before it writes anything
            r = service.bind_member(tenant_id=tenant_id, member_id=w.member_id, parent_id=w.parent_id,
                                    source=w.source, scene=w.scene, now=now)
            outcomes[i] = Outcome(r.member_id, r.status, r.parent_id)
        except DomainError as exc:
            outcomes[i] = Outcome(w.member_id, BindOutcome.REFUSED, None, exc.code)
    return [o for o in outcomes if o is not None]


# Roots put under one parent differ in their place only by their own id at the end of
# the path, which the database appends: one prebuilt UPDATE per parent, compiled once per
# process. (One UPDATE for the batch with five CASE expressions of a WHEN per member was
# compiled afresh for every batch, about two thirds of the binding worker's Python time,
# and the database parsed a statement that grew with the batch.)
_NOW = bindparam("b_now", type_=_members.c.bound_at.type)
_PLACE_UNDER_PARENT = (
    update(_members)
    .where(_members.c.tenant_id == bindparam("b_tenant"), _members.c.id.in_(bindparam("b_ids", expanding=True)),
           _members.c.parent_id.is_(None))
    .values(parent_id=bindparam("b_parent", type_=_members.c.parent_id.type),
            grandparent_id=bindparam("b_grandparent", type_=_members.c.grandparent_id.type),
            great_grandparent_id=bindparam("b_great", type_=_members.c.great_grandparent_id.type),
            depth=bindparam("b_depth", type_=_members.c.depth.type),
            path=bindparam("b_path", type_=String) + cast(_members.c.id, String) + literal("/"),
            bound_at=_NOW, bind_expires_at=bindparam("b_expires", type_=_members.c.bind_expires_at.type),
            pending_parent_id=None, pending_source=None, pending_scene=None, updated_at=_NOW))


def _attach_many(tenant: Any, go: list[tuple[Want, Any]], now: datetime) -> None:
    """Roots without a team put under locked active parents: one UPDATE per parent for
    their place (guarded on parent_id IS NULL), one INSERT for the records, one for the
    deltas."""
    ids = [w.member_id for w, _ in go]
    under: dict[int, tuple[Any, list[int]]] = {}  # parent id -> (parent, its new members)
    for w, parent in go:
        under.setdefault(parent.id, (parent, []))[1].append(w.member_id)
    deltas: dict[int, list[int]] = {}
    expires = service.bind_expiry(tenant, now)
    won = 0
    for parent, member_ids in under.values():
        up = [parent.id, *parse_path(parent.path)[:-1][::-1]]
        for _ in member_ids:
            counters.add(deltas, counters.move_deltas(up, counters.ZERO, sign=1))
        won += rowcount(db.session.execute(_PLACE_UNDER_PARENT, {
            "b_tenant": tenant.id, "b_ids": member_ids, "b_parent": up[0],
            "b_grandparent": up[1] if len(up) > 1 else None, "b_great": up[2] if len(up) > 2 else None,
            "b_depth": parent.depth + 1, "b_path": parent.path, "b_now": now, "b_expires": expires}))
    if won != len(ids):  # impossible under the exclusive locks; never half a batch
        raise RuntimeError(f"batch binding: {won} of {len(ids)} members were still roots")
    first = sorted({parent.id for _, parent in go if not parent.had_team})
    if first:  # their first members: set once
        db.session.execute(update(_members).where(_members.c.id.in_(first)).values(had_team=True))
    insert_rows(_bindings, [{"tenant_id": tenant.id, "member_id": w.member_id, "parent_id": w.parent_id,
                             "source": w.source, "scene": w.scene, "bound_at": now} for w, _ in go])
    counters.record(tenant_id=tenant.id, deltas=deltas)
    expire_loaded(Member, [*ids, *first])
    # One announcement for the batch: its listeners do a few statements for all of it.
    announce("members_bound", tenant_id=tenant.id,
             bindings=[Bound(w.member_id, w.parent_id, w.source, w.scene) for w, _ in go], now=now)
