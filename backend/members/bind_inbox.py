"""Mini-program binding requests through an inbox (MP_BIND_INBOX=worker): a surge of
members opening shares absorbed the way the official account absorbs a follower surge
(backend/oa/inbox.py, backend/inbox.py).

`POST /mp/me/bind` checks up front what one indexed read can tell — the scene parses,
its invite code (or staff code) names a member, that member is not the caller, is an
active promoter and is not below the caller, and the caller is not already bound to
someone else (where the tenant forbids rebinding) — and answers those with the same
Chinese errors and codes as the in-request binding, changing nothing. A request that
passes is written to `member_bind_inbox` and answered `queued` with the promoter it
names; a caller already bound to that very promoter is answered `bound` with nothing
written. The common case (an invite code, the caller bound to nobody) is ONE
statement, an INSERT … SELECT from the promoter's row that inserts only when every
check passes there; a request it does not insert takes the read, which finds the
answer (a refusal, `bound`, or a rebinding the tenant allows, then the INSERT).

The job `members.bind_requests` (every 0.25 s) drains the inbox in batches through the
same batch binder as the official account's followers (backend/members/batch.py): the
policy is applied under the row locks, so what changed between the request and the
worker (the promoter frozen, the member bound meanwhile by a follow, a cycle) is
decided there, and each request's outcome (bound | pending | rebound | refused with
its error code) is stored on its row in the unit of work that applied it. The member
sees the request in `GET /mp/me` (`bind_request`): queued until the worker ran, then
its outcome, with the Chinese message of a refusal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, literal, select

from backend import returning
from backend.extensions import db
from backend.inbox import BATCH, Inbox
from backend.members import batch
from backend.members import service as members
from backend.members.errors import (
    AlreadyBound,
    BindingCycle,
    InvalidScene,
    InviteCodeUnknown,
    MemberNotFound,
    ParentNotPromoter,
    SelfBinding,
)
from backend.members.invite import normalise_invite_code
from backend.members.models import BindRequest, Member, parse_path
from backend.members.scene import parse_scene
from backend.members.types import BindOutcome, MemberStatus, PromoterStatus
from backend.tenants.service import get_tenant

_inbox = BindRequest.__table__
INBOX = Inbox(_inbox, ("tenant_id", "member_id", "parent_id", "source", "scene"), "binding inbox")
_ACCEPT = insert(_inbox)

_m = Member.__table__
_me = _m.alias("me")
_MY_PARENT = (select(_me.c.parent_id).where(_me.c.tenant_id == bindparam("tenant_id"),
                                            _me.c.id == bindparam("member_id")).scalar_subquery())
_PARENT = select(_m.c.id, _m.c.promoter_status, _m.c.path, _MY_PARENT.label("my_parent"))
_BY_CODE = _PARENT.where(_m.c.tenant_id == bindparam("tenant_id"), _m.c.invite_code == bindparam("code"))
_BY_ID = _PARENT.where(_m.c.tenant_id == bindparam("tenant_id"), _m.c.id == bindparam("parent_id"))
# The common case in one statement: the request joins the inbox straight from the
# promoter's row when every check the read below makes passes there (a promoter by
# this code, not the caller, active, the caller not in its path, the caller bound to
# nobody) and, in the same WHERE, the caller's token state: an active member at the
# token's version, what miniprogram_api/http.py would otherwise have read (from Redis,
# or from here on a miss) before the view ran. Anything else inserts nothing and takes
# the read, which tells which answer it is. The row's own parent_id comes back with
# RETURNING, or (MySQL 8, TiDB: backend/returning.py) by its id, a second statement.
def _typed(name: str) -> Any:
    return bindparam(name, type_=_inbox.c[name].type)


_FAST_FROM = (select(_typed("tenant_id"), _typed("member_id"), _m.c.id, _typed("source"), _typed("scene"),
                     _typed("received_at"), literal(True, _inbox.c.pending.type))
              .select_from(_m.join(_me, (_me.c.tenant_id == bindparam("tenant_id"))
                                   & (_me.c.id == bindparam("member_id"))))
              .where(_m.c.tenant_id == bindparam("tenant_id"), _m.c.invite_code == bindparam("code"),
                     _m.c.id != bindparam("member_id"), _m.c.promoter_status == PromoterStatus.ACTIVE,
                     ~_m.c.path.like(bindparam("in_path")), _me.c.parent_id.is_(None),
                     _me.c.status == MemberStatus.ACTIVE, _me.c.token_version == bindparam("token_version")))
_FAST = insert(_inbox).from_select(
    ["tenant_id", "member_id", "parent_id", "source", "scene", "received_at", "pending"], _FAST_FROM)
_FAST_RETURNING = _FAST.returning(_inbox.c.parent_id)
_PARENT_OF = select(_inbox.c.parent_id).where(_inbox.c.id == bindparam("id"))

_LATEST = (select(_inbox.c.id, _inbox.c.parent_id, _inbox.c.pending, _inbox.c.outcome, _inbox.c.code,
                  _inbox.c.received_at)
           .where(_inbox.c.tenant_id == bindparam("tenant_id"), _inbox.c.member_id == bindparam("member_id"))
           .order_by(_inbox.c.id.desc()).limit(1))

# What a refusal in the worker tells the member (the same words as in the request).
_REFUSALS = {e.code: e.message for e in (AlreadyBound, BindingCycle, InviteCodeUnknown, MemberNotFound,
                                          ParentNotPromoter, SelfBinding)}


def queued() -> bool:
    """Whether mini-program bindings go through the inbox (MP_BIND_INBOX=worker)."""
    return bool(current_app.config["SIYU_SETTINGS"].mp_bind_inbox == "worker")


def request_binding(*, tenant_id: int, member_id: int, source: str, scene: str | None,
                    invite_code: str | None, now: datetime, token_version: int | None = None) -> members.BindResult:
    """A binding asked for by the mini-program (exactly one of scene / invite code):
    bound in the request (MP_BIND_INBOX=inline), or checked and queued (worker).
    With `token_version` the one-statement queue also checks the caller is an active
    member at that version (the result says `token_checked`); the caller checks the
    token state itself whenever it does not say so."""
    if not queued():
        return members.bind_from_request(tenant_id=tenant_id, member_id=member_id, source=source, scene=scene,
                                         invite_code=invite_code, now=now)
    if (scene is None) == (invite_code is None):
        raise InvalidScene("请提供分享参数或邀请码之一")
    params: dict[str, Any] = {"tenant_id": tenant_id, "member_id": member_id}
    if invite_code is not None:
        source, stmt, params["code"] = "invite_code", _BY_CODE, _code(invite_code)
        scene = params["code"]  # as the in-request binding records it: the promoter's code
    else:
        parsed = parse_scene(scene or "")
        if parsed.invite_code:
            stmt, params["code"] = _BY_CODE, _code(parsed.invite_code)
        else:  # a staff code: its member through the staff record (rare)
            stmt, params["parent_id"] = _BY_ID, members.resolve_scene_parent(tenant_id=tenant_id, scene=scene or "")
    # Core statements on the connection: the ORM's statement path would double this
    # request's CPU, and a surge's rate is its CPU.
    conn = db.session.connection()
    if "code" in params and token_version is not None:
        parent_id = _queue_if_clear(conn, {**params, "source": source, "scene": scene, "received_at": now,
                                           "in_path": f"%/{member_id}/%", "token_version": token_version})
        if parent_id is not None:
            return members.BindResult(BindOutcome.QUEUED, member_id, parent_id, token_checked=True)
    row = conn.execute(stmt, params).first()
    if row is None:
        raise InviteCodeUnknown() if "code" in params else MemberNotFound()
    parent_id, status, path, my_parent = row
    # The in-request binding's checks, in its order, on what this one read saw.
    if parent_id == member_id:
        raise SelfBinding()
    if status != PromoterStatus.ACTIVE:
        raise ParentNotPromoter()
    if member_id in parse_path(path):
        raise BindingCycle()
    if my_parent == parent_id:
        return members.BindResult(BindOutcome.BOUND, member_id, parent_id)
    if my_parent is not None and not get_tenant(tenant_id=tenant_id).allow_rebind:
        raise AlreadyBound()
    conn.execute(_ACCEPT, {"tenant_id": tenant_id, "member_id": member_id, "parent_id": parent_id,
                                              "source": source, "scene": scene, "received_at": now, "pending": True})
    return members.BindResult(BindOutcome.QUEUED, member_id, parent_id)


def _queue_if_clear(conn: Any, params: dict[str, Any]) -> int | None:
    """The request queued in one statement when every check passes on the promoter's
    row (see _FAST); its promoter's id, or None with nothing written."""
    if returning.supported(conn):
        return conn.execute(_FAST_RETURNING, params).scalar()  # type: ignore[no-any-return]
    result = conn.execute(_FAST, params)
    if result.rowcount != 1:
        return None
    return conn.execute(_PARENT_OF, {"id": result.lastrowid}).scalar_one()  # type: ignore[no-any-return]


def _code(raw: str) -> str:
    code = normalise_invite_code(raw)
    if code is None:
        raise InviteCodeUnknown()
    return code


def latest_request(*, tenant_id: int, member_id: int) -> dict[str, Any] | None:
    """The member's latest queued binding request as `/mp/me` shows it (None if it never
    made one): queued until the worker ran, then its outcome; a refusal with its code
    and Chinese message. One read of the member's index range."""
    row = db.session.execute(_LATEST, {"tenant_id": tenant_id, "member_id": member_id}).first()
    if row is None:
        return None
    status = BindOutcome.QUEUED if row.pending else (row.outcome or BindOutcome.QUEUED)
    return {"id": row.id, "status": status, "parent_id": row.parent_id, "code": row.code,
            "message": _REFUSALS.get(row.code or "", "绑定未成功") if status == BindOutcome.REFUSED else None,
            "received_at": row.received_at.isoformat()}


def _apply(rows: list[Any], now: datetime) -> dict[int, dict[str, Any]]:
    """The worker's bindings of a batch of requests, per tenant through the batch binder;
    each request's outcome, recorded on its row with the mark."""
    by_tenant: dict[int, list[Any]] = {}
    for row in rows:
        by_tenant.setdefault(row.tenant_id, []).append(row)
    out: dict[int, dict[str, Any]] = {}
    for tenant_id, reqs in by_tenant.items():
        outcomes = batch.bind_many(tenant_id=tenant_id, now=now, wants=[
            batch.Want(r.member_id, r.parent_id, r.source, r.scene) for r in reqs])
        for r, o in zip(reqs, outcomes, strict=True):
            out[r.id] = {"outcome": o.status, "code": o.code}
    return out


def bind_requests(*, limit: int = BATCH) -> int:
    """Drain the binding inbox in batches (the job `members.bind_requests`); returns how
    many requests it applied."""
    return INBOX.drain(apply=_apply, limit=limit)


def backlog(*, now: datetime) -> tuple[int, float | None]:
    """(binding requests waiting for the worker, age in seconds of the oldest)."""
    count, oldest = INBOX.backlog_counts()
    return count, (now - oldest).total_seconds() if count and oldest is not None else None
