"""The unit of work (the models' base and column types are in backend/orm.py, re-exported here).

The unit of work owns the commit: services only add and flush. Side effects that
must not happen for a rolled-back change (messages, pushes, publishes) register
with `after_commit` and run only once the commit has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend import tenancy  # noqa: F401  (installs the tenant scope on every session)
from backend.extensions import db as _db
from backend.orm import (  # noqa: F401  (the models' vocabulary, re-exported)
    NAMING,
    Base,
    BigId,
    TenantScoped,
    Timestamps,
    UTCDateTime,
    utcnow,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# ---------------------------------------------------------------- unit of work

_DEPTH = "siyu_uow_depth"
_HOOKS = "siyu_after_commit"
_UNDO = "siyu_after_rollback"
EVENTS = "siyu_events"  # what backend.events recorded in this unit


def _session() -> Session:
    return _db.session()  # type: ignore[no-any-return]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Run a block as one transaction: commit on success, roll back on any exception.

    Nested use joins the outer unit; only the outermost commits.
    """
    session = _session()
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
            session.info.pop(_HOOKS, None)
            session.info.pop(EVENTS, None)
            for undo in session.info.pop(_UNDO, []):
                try:
                    undo()
                except Exception:  # a failed undo must not hide the unit's own error
                    log.exception("after-rollback hook failed")
        raise
    finally:
        session.info[_DEPTH] = depth
    if depth == 0:
        session.info.pop(EVENTS, None)
        session.info.pop(_UNDO, None)
        hooks = session.info.pop(_HOOKS, [])
        for hook in hooks:
            try:
                hook()
            except Exception:  # a failed side effect must not undo a committed change
                log.exception("after-commit hook failed")


def after_commit(fn: Callable[[], object]) -> None:
    """Run fn once the current unit of work commits; dropped if it rolls back."""
    session = _session()
    if session.info.get(_DEPTH, 0) == 0:
        raise RuntimeError("after_commit needs an open unit_of_work")
    session.info.setdefault(_HOOKS, []).append(fn)


def in_unit_of_work() -> bool:
    """Whether a unit of work is open (after_commit and after_rollback need one)."""
    return bool(_session().info.get(_DEPTH, 0))


def after_rollback(fn: Callable[[], None]) -> None:
    """Run fn if the current unit of work does not commit (an error, a failed commit, a
    deadlock about to be retried): to undo what it claimed outside the database."""
    session = _session()
    if session.info.get(_DEPTH, 0) == 0:
        raise RuntimeError("after_rollback needs an open unit_of_work")
    session.info.setdefault(_UNDO, []).append(fn)


def expire_loaded(model: Any, ids: Iterable[int], attrs: Iterable[str] | None = None) -> None:
    """After a Core UPDATE of these rows: the session's in-memory copies (if any) reload
    on their next access instead of showing the old values."""
    session = _session()
    names = None if attrs is None else list(attrs)
    for row_id in ids:
        obj = session.identity_map.get(session.identity_key(model, row_id))  # type: ignore[arg-type]
        if obj is not None:
            session.expire(obj, names)


def keep_written(obj: Any, **values: Any) -> None:
    """A loaded row takes the values a Core UPDATE just wrote to it, as committed state:
    no flush of its own, nothing to reload."""
    for name, value in values.items():
        set_committed_value(obj, name, value)


def rowcount(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE run by `session.execute` touched.

    SQLAlchemy types `Session.execute` as returning a `Result` whatever the statement;
    for DML it is a `CursorResult`, the one that carries `rowcount`."""
    return cast("CursorResult[Any]", result).rowcount


def is_mysql() -> bool:
    """Whether the bound database is MariaDB/MySQL (row locks are real there)."""
    return _session().get_bind().dialect.name == "mysql"


_READ_COMMITTED_NEXT = text("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def read_committed() -> None:
    """Run the rest of this unit of work at READ COMMITTED (MariaDB; call it first).

    For units whose exactly-once rests on row locks and unique keys, never on gap
    locks: at REPEATABLE READ, concurrent units that check for rows that do not exist
    yet (reward lines, issues, postings) take gap locks on the same index ranges and
    then deadlock inserting into them. Locking reads at READ COMMITTED also see what
    others committed after the unit began."""
    if is_mysql() and not _session().in_transaction():  # a caller's open transaction keeps its level
        # For this transaction only: one round trip, and the connection's own level
        # (which an execution option would set, and reset on return) stays as it is.
        _session().execute(_READ_COMMITTED_NEXT)


_RETRYABLE_MYSQL = {1213, 1205}  # deadlock found; lock wait timeout


def is_retryable(exc: BaseException) -> bool:
    """True when InnoDB chose this unit as a deadlock victim (or its lock wait timed out),
    also when that error is the cause or context of the one raised: a deadlock inside a
    SAVEPOINT (`begin_nested`) rolls back the whole transaction, so the ROLLBACK TO
    SAVEPOINT that follows fails with 1305 "SAVEPOINT does not exist", chained to it."""
    from sqlalchemy.exc import OperationalError

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OperationalError) and cur.orig is not None and cur.orig.args:
            if cur.orig.args[0] in _RETRYABLE_MYSQL:
                return True
        cur = cur.__cause__ or cur.__context__
    return False


def run_in_unit_of_work(fn: Callable[[], T], *, retries: int = 3) -> T:
    """Run fn in a fresh unit of work; retry it whole when InnoDB picks it as a deadlock victim.

    InnoDB rolls the entire transaction back on a deadlock, so the only correct retry
    is of the whole unit, from its first read.
    """
    attempt = 0
    while True:
        try:
            with unit_of_work():
                return fn()
        except Exception as exc:
            attempt += 1
            if attempt > retries or not is_retryable(exc):
                raise
            log.info("retrying unit of work after %s (attempt %d)", exc, attempt)


def newest_first(model: Any, *, tenant_id: int, before_id: int | None, limit: int,
                 where: Mapping[Any, Any] | None = None) -> list[Any]:
    """One keyset page of a tenant's rows, newest first. `where` maps a column to the
    value it must equal; a None value means no filter on that column."""
    from sqlalchemy import select

    stmt = select(model).where(model.tenant_id == tenant_id)
    for column, value in (where or {}).items():
        if value is not None:
            stmt = stmt.where(column == value)
    if before_id is not None:
        stmt = stmt.where(model.id < before_id)
    return list(_session().scalars(stmt.order_by(model.id.desc()).limit(limit)))
