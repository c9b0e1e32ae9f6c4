"""A unit of work that InnoDB picks as a deadlock victim is retried whole, also when the
deadlock struck inside a SAVEPOINT (`begin_nested`, as an automatic coupon gift uses):
the whole transaction is gone then, and the ROLLBACK TO SAVEPOINT that follows fails
with an error of its own, chained to the deadlock. The crash drill once answered a 500
for exactly that."""

from __future__ import annotations

import threading

import pytest
from pymysql.err import OperationalError as MySQLOperationalError
from sqlalchemy import select
from sqlalchemy.exc import InternalError, OperationalError

from backend.db import is_retryable
from backend.extensions import db
from backend.members.models import Member
from tests.concurrency import race


def _mysql(cls: type, code: int) -> Exception:
    return cls("SELECT 1", {}, MySQLOperationalError(code, "x"))


def test_a_deadlock_is_retryable_when_it_is_the_cause_of_the_error_raised() -> None:
    deadlock = _mysql(OperationalError, 1213)
    try:
        try:
            raise deadlock
        except OperationalError:
            raise _mysql(InternalError, 1305) from None  # the savepoint is gone
    except InternalError as exc:
        gone = exc
    assert gone.__context__ is deadlock and is_retryable(gone)
    assert is_retryable(_mysql(OperationalError, 1205))
    assert not is_retryable(_mysql(InternalError, 1305)) and not is_retryable(ValueError("x"))


@pytest.mark.mariadb
def test_a_deadlock_inside_a_savepoint_is_retried_whole(app, factory) -> None:
    tenant = factory.tenant()
    a, b = factory.member(tenant).id, factory.member(tenant).id
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts: list[str] = []

    def lock_then_nested(first: int, second: int, name: str) -> str:
        attempts.append(name)
        db.session.scalar(select(Member.id).where(Member.id == first).with_for_update())
        if attempts.count(name) == 1:  # only the first attempts meet: the retry runs alone
            both_hold_one.wait()
        with db.session.begin_nested():
            db.session.scalar(select(Member.id).where(Member.id == second).with_for_update())
        return name

    outcomes = race(app, [lambda: lock_then_nested(a, b, "ab"), lambda: lock_then_nested(b, a, "ba")])
    assert outcomes == ["ab", "ba"], outcomes
    assert len(attempts) == 3, attempts  # one of them was the victim, and ran again
