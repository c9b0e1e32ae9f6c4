"""Deferred team counters: a binding appends deltas, a job folds them, reads add them.

Every binding changes the counters of its whole upline (team_total for all, team_l1..l3
for the nearest three). Updating those rows in place made concurrent bindings in one
big tree queue on the root's row for the length of their transactions (the issue
measured 97–99 bindings/s under one tree against 100–108/s under eight roots, and
4,685 row-lock waits). Instead:

- a binding appends one `member_team_deltas` row per upline member (one multi-row
  INSERT; a batch of bindings first sums its deltas per member): inserts of new rows
  take no lock another binder waits for;
- `fold` (the scheduler's `members.fold_team_counters`, every second) claims a batch
  of committed deltas (`FOR UPDATE SKIP LOCKED`: rows still being written are left for
  the next run), adds them to the members' columns and deletes them, in one unit of
  work at READ COMMITTED: a crash loses nothing and folds nothing twice;
- every read of the counters is the member's columns plus the sum of its pending
  deltas, in ONE statement, so it is exact whichever side of a fold it runs on (a
  covering index makes the sum an index range of at most a second's deltas).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, case, delete, func, select, update

from backend.bulk import insert_rows
from backend.db import expire_loaded, is_mysql
from backend.extensions import db
from backend.members.models import Member, TeamDelta

FOLD_BATCH = 5000  # deltas per fold transaction

_members = Member.__table__
_deltas = TeamDelta.__table__


class Counts(NamedTuple):
    """A member's team: everyone below, and how many on levels 1, 2 and 3."""

    total: int
    l1: int
    l2: int
    l3: int

    def view(self) -> dict[str, int]:
        return {"total": self.total, "level1": self.l1, "level2": self.l2, "level3": self.l3}


ZERO = Counts(0, 0, 0, 0)


def move_deltas(upline: Sequence[int], counts: Counts, *, sign: int) -> dict[int, Counts]:
    """What one member (with its team `counts`) joining (sign=1) or leaving (sign=-1)
    under `upline` (nearest first) changes for each upline member: its whole size for
    every one; on the nearest three, the level the member lands on and its own level-1/2
    fans one and two levels further down."""
    size = counts.total + 1
    out: dict[int, Counts] = {}
    for distance, ancestor in enumerate(upline):
        l1 = 1 if distance == 0 else 0
        l2 = {0: counts.l1, 1: 1}.get(distance, 0)
        l3 = {0: counts.l2, 1: counts.l1, 2: 1}.get(distance, 0)
        out[ancestor] = Counts(sign * size, sign * l1, sign * l2, sign * l3)
    return out


def add(into: dict[int, list[int]], deltas: Mapping[int, Counts]) -> None:
    """Sum per-member deltas into an accumulator (a batch of bindings: one row each)."""
    for member_id, c in deltas.items():
        acc = into.setdefault(member_id, [0, 0, 0, 0])
        acc[0] += c.total
        acc[1] += c.l1
        acc[2] += c.l2
        acc[3] += c.l3


def record(*, tenant_id: int, deltas: Mapping[int, Counts] | Mapping[int, list[int]]) -> None:
    """Append the deltas (one row per member, zero rows left out) in one statement."""
    rows = [{"tenant_id": tenant_id, "member_id": member_id, "total": c[0], "l1": c[1], "l2": c[2], "l3": c[3]}
            for member_id, c in sorted(deltas.items()) if any(c)]
    insert_rows(_deltas, rows)


_pending = (select(_deltas.c.member_id, func.sum(_deltas.c.total).label("total"), func.sum(_deltas.c.l1).label("l1"),
                   func.sum(_deltas.c.l2).label("l2"), func.sum(_deltas.c.l3).label("l3"))
            .where(_deltas.c.member_id.in_(bindparam("ids", expanding=True)))
            .group_by(_deltas.c.member_id).subquery())
_EFFECTIVE = (
    select(_members.c.id,
           _members.c.team_total + func.coalesce(_pending.c.total, 0),
           _members.c.team_l1 + func.coalesce(_pending.c.l1, 0),
           _members.c.team_l2 + func.coalesce(_pending.c.l2, 0),
           _members.c.team_l3 + func.coalesce(_pending.c.l3, 0))
    .select_from(_members.outerjoin(_pending, _pending.c.member_id == _members.c.id))
    .where(_members.c.tenant_id == bindparam("tenant_id"), _members.c.id.in_(bindparam("ids", expanding=True))))


def counts_of(*, tenant_id: int, member_ids: Iterable[int]) -> dict[int, Counts]:
    """Exact counters of these members (row + pending deltas, one statement); members
    not in the tenant are left out."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    rows = db.session.execute(_EFFECTIVE, {"tenant_id": tenant_id, "ids": ids})
    return {r[0]: Counts(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def locked_counts(member: Member) -> Counts:
    """Exact counters of a member whose row this unit locked and read afresh: the row's
    columns plus its deltas read by a locking read (the latest committed ones, whatever
    this unit's snapshot)."""
    pending = db.session.execute(
        select(_deltas.c.total, _deltas.c.l1, _deltas.c.l2, _deltas.c.l3)
        .where(_deltas.c.member_id == member.id).with_for_update(read=True)).all()
    return Counts(member.team_total + sum(r.total for r in pending), member.team_l1 + sum(r.l1 for r in pending),
                  member.team_l2 + sum(r.l2 for r in pending), member.team_l3 + sum(r.l3 for r in pending))


_CLAIM = (select(_deltas.c.id, _deltas.c.member_id, _deltas.c.total, _deltas.c.l1, _deltas.c.l2, _deltas.c.l3)
          .order_by(_deltas.c.id).limit(bindparam("limit")))


def fold(*, limit: int = FOLD_BATCH) -> int:
    """Fold one batch of committed deltas into the members' columns and delete them, in
    the caller's unit of work (at READ COMMITTED on MariaDB: no gap locks to stall the
    binders appending meanwhile); returns how many deltas it folded."""
    stmt = _CLAIM.with_for_update(skip_locked=True) if is_mysql() else _CLAIM
    rows = db.session.execute(stmt, {"limit": limit}).all()
    if not rows:
        return 0
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        acc = sums[r.member_id]
        acc[0] += r.total
        acc[1] += r.l1
        acc[2] += r.l2
        acc[3] += r.l3
    ids = sorted(sums)
    for start in range(0, len(ids), 500):  # ascending ids: one lock order with the binders
        chunk = ids[start:start + 500]
        values = {}
        for i, column in enumerate(("team_total", "team_l1", "team_l2", "team_l3")):
            whens = [(_members.c.id == m, sums[m][i]) for m in chunk if sums[m][i]]
            if whens:
                values[column] = _members.c[column] + case(*whens, else_=0)
        if values:
            db.session.execute(update(_members).where(_members.c.id.in_(chunk)).values(**values))
    db.session.execute(delete(_deltas).where(_deltas.c.id.in_([r.id for r in rows])))
    expire_loaded(Member, ids, ("team_total", "team_l1", "team_l2", "team_l3"))
    return len(rows)


def pending_count() -> int:
    """Deltas not yet folded (the fold's backlog)."""
    return int(db.session.scalar(select(func.count()).select_from(_deltas)) or 0)
