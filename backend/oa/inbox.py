"""The official account's inbox (OA_INBOX=worker): a follower surge absorbed the way
the payments path absorbs a payment storm (backend/flows/paid_order.py).

The endpoint verifies the push (signature, safe mode, timestamp window, nonce replay:
backend/oa/service.py), writes the subscribe/SCAN event here in ONE statement and
answers WeChat at once. The statement is an INSERT IGNORE on the tenant + WeChat's
identity of the event (FromUserName + CreateTime + Event), so a WeChat retry of the
same push is a no-op.

The scheduler job `oa.bind_followers` (every 0.1 s) then claims the oldest pending
events in batches (`FOR UPDATE SKIP LOCKED` on MariaDB, so several runners take
different ones), creates or finds the batch's followers and binds them under the
promoters of their scenes a batch per statement (backend/members/batch.py), and
clears `pending` on the claimed rows in the same unit of work: a crash
between the claim and the commit rolls back the bindings and the mark together, and
the next run takes the events again. Exactly once, whichever process dies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select, update

from backend.bulk import insert_ignore
from backend.db import is_mysql, read_committed, run_in_unit_of_work, utcnow
from backend.extensions import db
from backend.oa.models import OaInboxEvent

log = logging.getLogger(__name__)

BATCH = 100  # events per unit of work in the worker

_inbox = OaInboxEvent.__table__
_ACCEPT = insert_ignore(_inbox)
_CLAIM = (select(_inbox.c.id, _inbox.c.tenant_id, _inbox.c.openid, _inbox.c.event, _inbox.c.scene)
          .where(_inbox.c.pending.is_(True)).order_by(_inbox.c.id).limit(bindparam("limit")))
_DONE = update(_inbox).where(_inbox.c.id.in_(bindparam("ids", expanding=True))).values(pending=None)
_BACKLOG = select(func.count(), func.min(_inbox.c.received_at)).where(_inbox.c.pending.is_(True))


def accept(*, tenant_id: int, openid: str, create_time: int, event: str, scene: str | None,
           now: datetime) -> None:
    """The endpoint's one statement: the event joins the inbox (a retry changes nothing)."""
    db.session.execute(_ACCEPT, {"tenant_id": tenant_id, "openid": openid, "create_time": create_time,
                                 "event": event, "scene": scene, "received_at": now, "pending": True})


def has_pending(*, tenant_id: int, openid: str) -> bool:
    """Whether an event of this follower still waits for the worker."""
    return db.session.scalar(select(_inbox.c.id).where(
        _inbox.c.tenant_id == tenant_id, _inbox.c.openid == openid, _inbox.c.pending.is_(True)).limit(1)) is not None


def backlog_counts() -> tuple[int, datetime | None]:
    """(events waiting, received_at of the oldest): an index range."""
    count, oldest = db.session.execute(_BACKLOG).one()
    return int(count or 0), oldest


Apply = Callable[[list[Any], datetime], None]  # (claimed rows, now): their bindings


def process_batch(*, apply: Apply, now: datetime, limit: int = BATCH) -> int:
    """One batch in the caller's unit of work: claim (SKIP LOCKED on MariaDB), apply
    the events, mark them done. Returns how many it took."""
    stmt = _CLAIM.with_for_update(skip_locked=True) if is_mysql() else _CLAIM
    rows = list(db.session.execute(stmt, {"limit": limit}))
    if rows:
        apply(rows, now)
        db.session.execute(_DONE, {"ids": [r.id for r in rows]})
    return len(rows)


def _take(ids: Sequence[int]) -> list[Any]:
    stmt = _CLAIM.where(_inbox.c.id.in_(ids))
    return list(db.session.execute(stmt.with_for_update() if is_mysql() else stmt, {"limit": len(ids)}))


def _one(apply: Apply, event_id: int, now_fn: Callable[[], datetime]) -> int:
    rows = _take([event_id])
    now = now_fn()
    if rows:
        apply(rows, now)
        db.session.execute(_DONE, {"ids": [row.id for row in rows]})
    return len(rows)


def _read_committed_then(fn: Callable[[], int]) -> int:
    # Rows that do not exist yet (followers, bindings) are checked under unique keys and
    # row locks, never gap locks between concurrent batches.
    read_committed()
    return fn()


def drain(*, apply: Apply, now_fn: Callable[[], datetime] = utcnow, limit: int = BATCH,
          max_batches: int | None = None) -> int:
    """Batches while they come back full; each its own unit of work. A batch failing
    for another reason than a deadlock is retried event by event, so one bad event
    holds up only itself (it stays pending, logged)."""
    total = batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        try:
            done = run_in_unit_of_work(lambda: _read_committed_then(
                lambda: process_batch(apply=apply, now=now_fn(), limit=limit)))
        except Exception:
            log.exception("OA inbox batch failed; retrying its events one by one")
            done = _one_by_one(apply, now_fn, limit)
        total += done
        if done < limit:
            break
    return total


def _one_by_one(apply: Apply, now_fn: Callable[[], datetime], limit: int) -> int:
    db.session.rollback()
    ids = list(db.session.scalars(select(_inbox.c.id).where(_inbox.c.pending.is_(True))
                                  .order_by(_inbox.c.id).limit(limit)))
    db.session.rollback()
    done = 0
    for event_id in ids:
        try:
            done += run_in_unit_of_work(partial(_read_committed_then, partial(_one, apply, event_id, now_fn)))
        except Exception:
            log.exception("OA inbox event %s failed", event_id)
    return done
