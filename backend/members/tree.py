"""Structural edits of the parent forest: attach a root under a parent, detach to root.

Both keep the three stored shapes (path, ancestor columns, counters) consistent in
set-based statements: the cost is one statement per shape, plus the size of the
moved member's own subtree (usually zero: almost every binding is a new member).
The upline's counters change through appended deltas (backend/members/counters.py),
never by updating the upline's rows. Callers hold an exclusive lock on the member and
shared locks on the parent and the parent's upline (no ancestor moves meanwhile;
binders under the same upline do not wait for each other), and pass the member's
exact team counts read under its lock.
"""

from __future__ import annotations

from sqlalchemy import func, literal, update
from sqlalchemy.orm import Session

from backend.members import counters
from backend.members.counters import Counts
from backend.members.models import Member


def _rewrite_subtree(session: Session, *, tenant_id: int, member: Member, team: Counts, new_path: str,
                     new_depth: int, upline: list[int]) -> None:
    """Move member's descendants along with it: path prefix, depth, ancestor columns."""
    if team.total == 0:
        return
    old_path = member.path
    session.execute(
        update(Member)
        .where(Member.tenant_id == tenant_id, Member.path.like(old_path + "%"),
               Member.id != member.id)
        .values(path=literal(new_path) + func.substr(Member.path, len(old_path) + 1),
                depth=Member.depth + (new_depth - member.depth))
        .execution_options(synchronize_session=False))
    session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.parent_id == member.id)
        .values(grandparent_id=upline[0] if upline else None,
                great_grandparent_id=upline[1] if len(upline) > 1 else None)
        .execution_options(synchronize_session=False))
    session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.grandparent_id == member.id)
        .values(great_grandparent_id=upline[0] if upline else None)
        .execution_options(synchronize_session=False))


def attach(session: Session, *, member: Member, parent: Member, team: Counts) -> None:
    """Put a root member (and its team, `team`) under parent."""
    assert member.parent_id is None
    upline = [parent.id, *parent.ancestor_ids()]
    new_path = f"{parent.path}{member.id}/"
    new_depth = parent.depth + 1
    counters.record(tenant_id=member.tenant_id, deltas=counters.move_deltas(upline, team, sign=1))
    _rewrite_subtree(session, tenant_id=member.tenant_id, member=member, team=team, new_path=new_path,
                     new_depth=new_depth, upline=upline)
    member.parent_id = upline[0]
    member.grandparent_id = upline[1] if len(upline) > 1 else None
    member.great_grandparent_id = upline[2] if len(upline) > 2 else None
    member.path = new_path
    member.depth = new_depth


def detach(session: Session, *, member: Member, team: Counts) -> None:
    """Make a bound member (and its team, `team`) a root again."""
    upline = member.ancestor_ids()
    counters.record(tenant_id=member.tenant_id, deltas=counters.move_deltas(upline, team, sign=-1))
    _rewrite_subtree(session, tenant_id=member.tenant_id, member=member, team=team,
                     new_path=f"/{member.id}/", new_depth=0, upline=[])
    member.parent_id = None
    member.grandparent_id = None
    member.great_grandparent_id = None
    member.path = f"/{member.id}/"
    member.depth = 0
