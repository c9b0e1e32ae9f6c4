"""The official account's inbox (OA_INBOX=worker): a follower surge absorbed the way
the payments path absorbs a payment storm (backend/flows/paid_order.py).

The endpoint verifies the push (signature, safe mode, timestamp window, nonce replay:
backend/oa/service.py), writes the subscribe/SCAN event here in ONE statement and
answers WeChat at once. The statement is an INSERT IGNORE on the tenant + WeChat's
identity of the event (FromUserName + CreateTime + Event), so a WeChat retry of the
same push is a no-op.

The scheduler job `oa.bind_followers` (every 0.1 s) then drains it through
backend/inbox.py (claimed in batches, SKIP LOCKED; applied and marked in one unit of
work: exactly once, whichever process dies): it creates or finds the batch's
followers and binds them under the promoters of their scenes a batch per statement
(backend/members/batch.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.bulk import insert_ignore
from backend.extensions import db
from backend.inbox import BATCH, Apply, Inbox
from backend.oa.models import OaInboxEvent

__all__ = ["BATCH", "Apply", "accept", "backlog_counts", "drain", "has_pending", "process_batch"]

_inbox = OaInboxEvent.__table__
_ACCEPT = insert_ignore(_inbox)
INBOX = Inbox(_inbox, ("tenant_id", "openid", "event", "scene"), "OA inbox")


def accept(*, tenant_id: int, openid: str, create_time: int, event: str, scene: str | None,
           now: datetime) -> None:
    """The endpoint's one statement: the event joins the inbox (a retry changes nothing).
    Core on the connection: the session's statement path costs more CPU than the INSERT."""
    db.session.connection().execute(_ACCEPT, {"tenant_id": tenant_id, "openid": openid, "create_time": create_time,
                                              "event": event, "scene": scene, "received_at": now, "pending": True})


def has_pending(*, tenant_id: int, openid: str) -> bool:
    """Whether an event of this follower still waits for the worker."""
    return db.session.scalar(select(_inbox.c.id).where(
        _inbox.c.tenant_id == tenant_id, _inbox.c.openid == openid, _inbox.c.pending.is_(True)).limit(1)) is not None


backlog_counts = INBOX.backlog_counts
process_batch = INBOX.process_batch
drain = INBOX.drain
