"""Scheduled entry points of the members domain (listed by backend/jobs.py)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from backend.db import run_in_unit_of_work
from backend.extensions import db
from backend.members import bind_inbox, counters
from backend.members import service as members

# bind_requests: a quarter second keeps "a moment later" under a second while a surge's
# batches come out larger (each batch's fixed cost — the run's locks, the claim, a
# dozen set-based statements — spread over more bindings) and an idle inbox is polled
# less often.
INTERVALS = {"expire_lapsed_bindings": 300, "fold_team_counters": 1.0, "bind_requests": 0.25}


def expire_lapsed_bindings(*, now: datetime) -> int:
    """Unbind members whose binding lapsed without a purchase (tenants with expiring
    bindings); each member in its own unit of work; returns how many were unbound."""
    due = members.lapsed_bindings(now=now)
    db.session.rollback()
    return sum(run_in_unit_of_work(partial(members.expire_binding,
        tenant_id=t, member_id=m, now=now)) for t, m in due)


def fold_team_counters(*, now: datetime) -> int:
    """Fold the team-counter deltas bindings appended into the members' rows, a batch
    per unit of work while batches come back full (reads are exact either way: they add
    what is pending); returns how many deltas were folded."""
    total = 0
    while True:
        done = run_in_unit_of_work(members.fold_team_counters)
        total += done
        if done < counters.FOLD_BATCH:
            return total


def bind_requests(*, now: datetime) -> int:
    """Bind the mini-program binding requests waiting in the inbox (MP_BIND_INBOX=worker;
    with inline nothing waits), in batches, each request once; returns how many."""
    return bind_inbox.bind_requests()
