"""An inbox drained by a batch worker: the shape a surge of events is absorbed in.

The endpoint verifies an event and writes it to its inbox table in ONE statement, then
answers at once. A scheduler job then drains the table in batches: it claims the
oldest pending rows (`FOR UPDATE SKIP LOCKED` on MariaDB, so several runners take
different ones), applies them, and clears `pending` on the claimed rows (optionally
recording each row's outcome) in the same unit of work. A crash between the claim and
the commit rolls back the effects and the mark together, and the next run takes the
events again: each event is applied exactly once, whichever process dies.

Used by the official account's follow events (backend/oa/inbox.py) and the
mini-program's binding requests (backend/members/bind_inbox.py). An inbox table has
`id`, `tenant_id`, `received_at` and `pending` (true while waiting, NULL after, so an
index on (pending, id) holds only the backlog's rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update

from backend.db import is_mysql, read_committed, run_in_unit_of_work, utcnow
from backend.extensions import db

log = logging.getLogger(__name__)

BATCH = 100  # events per unit of work in a worker

# (claimed rows, now) → None, or per row id the values to record with its mark
# (e.g. the outcome the member reads later).
Apply = Callable[[list[Any], datetime], Mapping[int, Mapping[str, Any]] | None]


class Inbox:
    """One inbox table: its claim, its mark, its backlog and its drain."""

    def __init__(self, table: Table, columns: Sequence[str], name: str) -> None:
        self.table = table
        self.name = name
        t = table
        self._claim = (select(t.c.id, *(t.c[c] for c in columns)).where(t.c.pending.is_(True))
                       .order_by(t.c.id).limit(bindparam("limit")))
        self._backlog = select(func.count(), func.min(t.c.received_at)).where(t.c.pending.is_(True))

    def _mark(self, ids: list[int], outcomes: Mapping[int, Mapping[str, Any]] | None) -> None:
        """Clear `pending` on the claimed rows (and record their outcomes), one UPDATE."""
        t = self.table
        values: dict[str, Any] = {"pending": None}
        if outcomes:
            columns = sorted({c for o in outcomes.values() for c in o})
            for column in columns:
                whens = [(t.c.id == i, o[column]) for i, o in outcomes.items() if column in o]
                values[column] = case(*whens, else_=t.c[column])
        db.session.execute(update(t).where(t.c.id.in_(ids)).values(**values))

    def process_batch(self, *, apply: Apply, now: datetime, limit: int = BATCH) -> int:
        """One batch in the caller's unit of work: claim (SKIP LOCKED on MariaDB), apply
        the events, mark them done. Returns how many it took."""
        stmt = self._claim.with_for_update(skip_locked=True) if is_mysql() else self._claim
        rows = list(db.session.execute(stmt, {"limit": limit}))
        if rows:
            outcomes = apply(rows, now)
            self._mark([r.id for r in rows], outcomes)
        return len(rows)

    def backlog_counts(self) -> tuple[int, datetime | None]:
        """(events waiting, received_at of the oldest): an index range."""
        count, oldest = db.session.execute(self._backlog).one()
        return int(count or 0), oldest

    def drain(self, *, apply: Apply, now_fn: Callable[[], datetime] = utcnow, limit: int = BATCH,
              max_batches: int | None = None) -> int:
        """Batches while they come back full; each its own unit of work. A batch failing
        for another reason than a deadlock is retried event by event, so one bad event
        holds up only itself (it stays pending, logged)."""
        total = batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            try:
                done = run_in_unit_of_work(lambda: _read_committed_then(
                    lambda: self.process_batch(apply=apply, now=now_fn(), limit=limit)))
            except Exception:
                log.exception("%s batch failed; retrying its events one by one", self.name)
                done = self._one_by_one(apply, now_fn, limit)
            total += done
            if done < limit:
                break
        return total

    def _one(self, apply: Apply, event_id: int, now_fn: Callable[[], datetime]) -> int:
        stmt = self._claim.where(self.table.c.id == event_id)
        rows = list(db.session.execute(stmt.with_for_update() if is_mysql() else stmt, {"limit": 1}))
        if rows:
            outcomes = apply(rows, now_fn())
            self._mark([r.id for r in rows], outcomes)
        return len(rows)

    def _one_by_one(self, apply: Apply, now_fn: Callable[[], datetime], limit: int) -> int:
        db.session.rollback()
        t = self.table
        ids = list(db.session.scalars(select(t.c.id).where(t.c.pending.is_(True)).order_by(t.c.id).limit(limit)))
        db.session.rollback()
        done = 0
        for event_id in ids:
            try:
                done += run_in_unit_of_work(partial(_read_committed_then, partial(self._one, apply, event_id, now_fn)))
            except Exception:
                log.exception("%s event %s failed", self.name, event_id)
        return done


def _read_committed_then(fn: Callable[[], int]) -> int:
    # Rows that do not exist yet (members, bindings) are checked under unique keys and
    # row locks, never gap locks between concurrent batches.
    read_committed()
    return fn()
