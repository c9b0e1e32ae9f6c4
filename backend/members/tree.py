"""Structural edits of the parent forest: attach a root under a parent, detach to root.

Both keep the three stored shapes (path, ancestor columns, counters) consistent in
set-based statements: the cost is one statement per shape, plus the size of the
moved member's own subtree (usually zero: almost every binding is a new member).
Callers hold row locks on the member, the parent and the parent's upline.
"""

from __future__ import annotations

from sqlalchemy import case, func, literal, update
from sqlalchemy.orm import Session

from backend.db import expire_loaded
from backend.members.models import Member


def _adjust_counters(session: Session, *, tenant_id: int, upline: list[int], member: Member,
                     sign: int) -> None:
    """Add (sign=1) or remove (sign=-1) member's subtree from every upline counter."""
    if not upline:
        return
    size = member.team_total + 1
    # One statement for every counter of every ancestor: the nearest three also move
    # their per-level counts (the member lands on their level 1, 2 or 3, and its own
    # level-1/2 fans one level further down).
    near = upline[:3]
    per_level = {
        "team_l1": {0: 1},
        "team_l2": {0: member.team_l1, 1: 1},
        "team_l3": {0: member.team_l2, 1: member.team_l1, 2: 1},
    }
    values: dict[str, object] = {"team_total": Member.team_total + sign * size}
    for column, by_distance in per_level.items():
        whens = [(Member.id == near[d], sign * n) for d, n in by_distance.items()
                 if d < len(near) and n]
        if whens:
            values[column] = getattr(Member, column) + case(*whens, else_=0)
    session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.id.in_(upline))
        .values(**values).execution_options(synchronize_session=False))
    expire_loaded(Member, upline)  # in-memory copies are stale now


def _rewrite_subtree(session: Session, *, tenant_id: int, member: Member, new_path: str,
                     new_depth: int, upline: list[int]) -> None:
    """Move member's descendants along with it: path prefix, depth, ancestor columns."""
    if member.team_total == 0:
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


def attach(session: Session, *, member: Member, parent: Member) -> None:
    """Put a root member (and its team) under parent."""
    assert member.parent_id is None
    upline = [parent.id, *parent.ancestor_ids()]
    new_path = f"{parent.path}{member.id}/"
    new_depth = parent.depth + 1
    _adjust_counters(session, tenant_id=member.tenant_id, upline=upline, member=member, sign=1)
    _rewrite_subtree(session, tenant_id=member.tenant_id, member=member, new_path=new_path,
                     new_depth=new_depth, upline=upline)
    member.parent_id = upline[0]
    member.grandparent_id = upline[1] if len(upline) > 1 else None
    member.great_grandparent_id = upline[2] if len(upline) > 2 else None
    member.path = new_path
    member.depth = new_depth


def detach(session: Session, *, member: Member) -> None:
    """Make a bound member (and its team) a root again."""
    upline = member.ancestor_ids()
    _adjust_counters(session, tenant_id=member.tenant_id, upline=upline, member=member, sign=-1)
    _rewrite_subtree(session, tenant_id=member.tenant_id, member=member,
                     new_path=f"/{member.id}/", new_depth=0, upline=[])
    member.parent_id = None
    member.grandparent_id = None
    member.great_grandparent_id = None
    member.path = f"/{member.id}/"
    member.depth = 0
