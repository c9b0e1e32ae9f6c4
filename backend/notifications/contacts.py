"""Chat identities the bot talks to (personal-WeChat contacts, WeCom users), how they
are linked to members and staff, and how a member can be reached.

Linking uses a one-time code: the member (mini-program) or staff member (back-office)
asks for a 6-digit code, then sends "绑定 123456" to the bot. Codes live 10 minutes in
the database (the API issues them, the bot process consumes them); a chat identity gets
5 tries per 10 minutes (counted in Redis), so guessing one is hopeless.
Invite codes are public (they are printed on posters), so they never link anyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from backend.bulk import id_in, in_batches
from backend.db import rowcount, utcnow
from backend.extensions import db, get_redis
from backend.members import service as members
from backend.members.service import get_member
from backend.notifications.errors import LinkCodeInvalid, LinkCodeThrottled
from backend.notifications.models import TRANSPORTS, ChatContact, LinkCode, NotificationPreference
from backend.notifications.routing import Reach
from backend.staff.service import get_staff

LINK_TTL_SECONDS = 600
LINK_TRIES = 5


def issue_link_code(*, tenant_id: int, member_id: int | None = None, staff_id: int | None = None,
                    now: datetime | None = None) -> str:
    """A fresh 6-digit code that links the chat identity sending it to this member or
    staff account: stored in the database (any process may consume it), valid 10
    minutes, single use; issuing again replaces the account's earlier code."""
    if (member_id is None) == (staff_id is None):
        raise ValueError("exactly one of member_id / staff_id")
    now = now or utcnow()
    if member_id is not None:
        get_member(tenant_id=tenant_id, member_id=member_id)
        mine = LinkCode.member_id == member_id
    else:
        get_staff(tenant_id=tenant_id, staff_id=staff_id or 0)
        mine = LinkCode.staff_id == staff_id
    db.session.execute(delete(LinkCode).where(LinkCode.tenant_id == tenant_id,
                                              or_(LinkCode.expires_at < now, mine)))
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        try:
            with db.session.begin_nested():
                db.session.add(LinkCode(tenant_id=tenant_id, code=code, member_id=member_id, staff_id=staff_id,
                                        expires_at=now + timedelta(seconds=LINK_TTL_SECONDS), created_at=now))
            return code
        except IntegrityError:
            continue  # another live code of this tenant has these digits
    raise RuntimeError("no free link code")  # a million codes live: something is wrong


def _take_code(tenant_id: int, code: str, now: datetime) -> LinkCode | None:
    """The live code, deleted (single use: of two racing consumers one gets it)."""
    row = db.session.scalar(select(LinkCode).where(
        LinkCode.tenant_id == tenant_id, LinkCode.code == code, LinkCode.expires_at > now).with_for_update())
    if row is None:
        return None
    taken = rowcount(db.session.execute(delete(LinkCode).where(LinkCode.id == row.id)))
    return row if taken == 1 else None


def get_contact(*, tenant_id: int, transport: str, contact_id: str) -> ChatContact | None:
    """The stored chat identity, or None for a stranger."""
    return db.session.scalar(select(ChatContact).where(
        ChatContact.tenant_id == tenant_id, ChatContact.transport == transport,
        ChatContact.contact_id == contact_id))


def remember_contact(*, tenant_id: int, transport: str, contact_id: str, display_name: str,
                     now: datetime) -> ChatContact:
    """Record a chat identity the bot met (friend accepted, joined a room, wrote to it)."""
    if transport not in TRANSPORTS:
        raise ValueError(transport)
    contact = get_contact(tenant_id=tenant_id, transport=transport, contact_id=contact_id)
    if contact is None:
        contact = ChatContact(tenant_id=tenant_id, transport=transport, contact_id=contact_id[:128],
                              display_name=display_name[:64], created_at=now)
        db.session.add(contact)
        db.session.flush()
    elif display_name and contact.display_name != display_name[:64]:
        contact.display_name = display_name[:64]
    return contact


def link_contact(*, tenant_id: int, transport: str, contact_id: str, display_name: str, code: str,
                 now: datetime) -> ChatContact:
    """Link a chat identity to the member or staff member who was issued `code` (used up)."""
    redis = get_redis()
    tries_key = f"siyu:bot:link-tries:{tenant_id}:{transport}:{contact_id}"
    tries = redis.incr(tries_key)
    if tries == 1:
        redis.expire(tries_key, LINK_TTL_SECONDS)
    if tries > LINK_TRIES:
        raise LinkCodeThrottled()
    code = code.strip()
    taken = _take_code(tenant_id, code, now) if code.isdigit() and len(code) == 6 else None
    if taken is None:
        raise LinkCodeInvalid()
    contact = remember_contact(tenant_id=tenant_id, transport=transport, contact_id=contact_id,
                               display_name=display_name, now=now)
    if taken.member_id is not None:
        contact.member_id = taken.member_id
    else:
        staff = get_staff(tenant_id=tenant_id, staff_id=taken.staff_id or 0)
        contact.staff_id = staff.id
        if staff.member_id is not None and contact.member_id is None:
            contact.member_id = staff.member_id
    contact.linked_at = now
    redis.delete(tries_key)
    return contact


def unlink_contact(*, tenant_id: int, transport: str, contact_id: str) -> bool:
    """Forget who a chat identity is (e.g. "解绑"); returns whether it was linked."""
    contact = get_contact(tenant_id=tenant_id, transport=transport, contact_id=contact_id)
    if contact is None or (contact.member_id is None and contact.staff_id is None):
        return False
    contact.member_id = None
    contact.staff_id = None
    contact.linked_at = None
    return True


def reach_of(*, tenant_id: int, member_ids: Sequence[int],
             openids: Mapping[int, str | None] | None = None) -> dict[int, Reach]:
    """How each member can be reached, in three queries for the whole batch (two when the
    caller already read the members: `openids`, {member id: openid} of those that exist)."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    if openids is None:
        openids = members.openids_of(tenant_id=tenant_id, member_ids=ids)
    P = NotificationPreference  # noqa: N806
    prefs: dict[int, Any] = {}
    bots: dict[int, str] = {}
    wecoms: dict[int, str] = {}
    for batch in in_batches(ids):
        prefs.update((r[0], r[1:]) for r in db.session.execute(select(
            P.member_id, P.daily_enabled, P.alerts_enabled, P.channel, P.daily_credits, P.alert_credits)
            .where(P.tenant_id == tenant_id, id_in(P.member_id, batch))))
        for member_id, transport, contact_id in db.session.execute(
                select(ChatContact.member_id, ChatContact.transport, ChatContact.contact_id).where(
                    ChatContact.tenant_id == tenant_id, id_in(ChatContact.member_id, batch))
                .order_by(ChatContact.id)):  # the newest link of a member wins
            if member_id is None:  # never: the WHERE names members (a staff link has none)
                continue
            (bots if transport == "wechaty" else wecoms)[member_id] = contact_id
    out: dict[int, Reach] = {}
    for m in ids:
        if m not in openids:
            continue
        p = prefs.get(m)
        if p is None:
            out[m] = Reach(bot_contact=bots.get(m), wecom_user=wecoms.get(m), openid=openids[m])
        else:
            out[m] = Reach(daily_enabled=bool(p[0]), alerts_enabled=bool(p[1]), choice=p[2],
                           bot_contact=bots.get(m), wecom_user=wecoms.get(m), openid=openids[m],
                           daily_credits=p[3], alert_credits=p[4])
    return out
