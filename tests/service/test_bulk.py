"""backend.bulk renders multi-row INSERTs itself on MariaDB: what it stores and returns
must be exactly what SQLAlchemy's own insert stores and returns, for every awkward value."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)

from backend import bulk
from backend.db import BigId, UTCDateTime, unit_of_work, utcnow
from backend.extensions import db

meta = MetaData()
probe = Table(
    "bulk_probe", meta,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch", String(8), nullable=False),
    Column("k", String(40), nullable=False),
    Column("text", String(255)),
    Column("n", BigId),
    Column("rate", Numeric(12, 8)),
    Column("flag", Boolean),
    Column("doc", JSON),
    Column("at", UTCDateTime),
    Column("status", String(12), default="pending", nullable=False),
    Column("created_at", UTCDateTime, default=utcnow, nullable=False),
    UniqueConstraint("batch", "k"),
)

AWKWARD = ["plain", "it's", 'say "hi"', "back\\slash", "100% off", "a:b :name %(x)s %s", "中文 🍵 emoji",
           "line\nbreak\ttab", "nul\x00byte", "", "'; DROP TABLE bulk_probe; --"]


def _rows(batch: str) -> list[dict[str, Any]]:
    at = datetime(2026, 11, 26, 3, 4, 5, tzinfo=UTC)
    return [{"batch": batch, "k": f"k{i}", "text": text, "n": [None, 0, -7, 2**62][i % 4],
             "rate": [Decimal("0.3"), None, Decimal("0.12345678"), Decimal("-1.5")][i % 4],
             "flag": [True, False, None][i % 3], "doc": [{"a": text, "n": i}, None, [1, "二"]][i % 3],
             "at": [at, None][i % 2]}
            for i, text in enumerate(AWKWARD)]


def _stored(batch: str) -> list[tuple[Any, ...]]:
    cols = [c for c in probe.c if c.name not in ("id", "batch", "created_at")]
    return [tuple(r) for r in db.session.execute(select(*cols).where(probe.c.batch == batch).order_by(probe.c.k))]


@pytest.fixture()
def table(app: Any) -> Any:
    with app.app_context():
        meta.create_all(db.engine)
        yield probe
        db.session.remove()  # its open snapshot would hold a metadata lock the DROP waits on
        meta.drop_all(db.engine)


def test_bulk_rows_are_stored_exactly_as_sqlalchemy_stores_them(table):
    with unit_of_work():
        db.session.execute(insert(table), _rows("orm"))
        returned = bulk.insert_rows(table, _rows("bulk"), returning=[table.c.k, table.c.rate, table.c.at,
                                                                      table.c.status])
    assert _stored("bulk") == _stored("orm")
    assert [r[0] for r in returned] == [f"k{i}" for i in range(len(AWKWARD))]
    # Returned values went through the columns' result processing (aware UTC, Decimal).
    assert returned[0][1] == Decimal("0.3") and returned[0][2] == datetime(2026, 11, 26, 3, 4, 5, tzinfo=UTC)
    assert {r[3] for r in returned} == {"pending"}  # the Python-side default filled in
    assert db.session.scalar(select(table.c.created_at).where(table.c.batch == "bulk")).tzinfo is not None


def test_ignore_skips_and_does_not_return_rows_that_collide(table):
    with unit_of_work():
        first = bulk.insert_rows(table, _rows("x")[:3], ignore=True, returning=[table.c.k])
        again = bulk.insert_rows(table, _rows("x")[:5], ignore=True, returning=[table.c.k])
    assert [r[0] for r in first] == ["k0", "k1", "k2"] and [r[0] for r in again] == ["k3", "k4"]
    assert len(_stored("x")) == 5


def test_keep_existing_leaves_a_colliding_row_as_it_was(table):
    if db.engine.dialect.name != "mysql":
        pytest.skip("ON DUPLICATE KEY UPDATE is MariaDB's")
    with unit_of_work():
        bulk.insert_rows(table, [{"batch": "y", "k": "k0", "text": "first"}])
        bulk.insert_rows(table, [{"batch": "y", "k": "k0", "text": "second"}, {"batch": "y", "k": "k1", "text": "new"}],
                         keep_existing=True)
    assert [(r[0], r[1]) for r in _stored("y")] == [("k0", "first"), ("k1", "new")]


def test_many_rows_go_in_chunks(table, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 4)
    rows = [{"batch": "z", "k": f"k{i:03d}", "text": str(i)} for i in range(10)]
    with unit_of_work():
        returned = bulk.insert_rows(table, rows, returning=[table.c.k])
    assert [r[0] for r in returned] == [r["k"] for r in rows] and len(_stored("z")) == 10


@pytest.fixture()
def without_returning(table: Any) -> Any:
    """The engine as on MySQL 8 / TiDB: no RETURNING (backend/returning.py)."""
    if db.engine.dialect.name != "mysql":
        pytest.skip("the row-by-row fallback is for MySQL-protocol servers")
    dialect = db.engine.dialect
    saved = dialect.insert_returning
    dialect.insert_returning = False
    yield table
    dialect.insert_returning = saved


def test_without_returning_rows_and_answers_are_the_same(without_returning):
    table = without_returning
    with unit_of_work():
        db.session.execute(insert(table), _rows("orm"))
        returned = bulk.insert_rows(table, _rows("bulk"), returning=[table.c.k, table.c.rate, table.c.status])
        first = bulk.insert_rows(table, _rows("x")[:3], ignore=True, returning=[table.c.id, table.c.k])
        again = bulk.insert_rows(table, _rows("x")[:5], ignore=True, returning=[table.c.id, table.c.k])
    assert _stored("bulk") == _stored("orm")
    assert [r[0] for r in returned] == [f"k{i}" for i in range(len(AWKWARD))]
    assert returned[0][1] == Decimal("0.3") and {r[2] for r in returned} == {"pending"}
    # Only the new rows come back, with their real ids, in insertion order.
    assert [r[1] for r in first] == ["k0", "k1", "k2"] and [r[1] for r in again] == ["k3", "k4"]
    ids = dict(db.session.execute(select(table.c.k, table.c.id).where(table.c.batch == "x")).all())
    assert [r[0] for r in first + again] == [ids[f"k{i}"] for i in range(5)]


def test_forbidden_returning_is_refused_and_data_saying_returning_is_not(table):
    if db.engine.dialect.name != "mysql":
        pytest.skip("DB_RETURNING=off is for MySQL-protocol servers")
    from sqlalchemy import create_engine

    from backend.returning import ReturningForbidden, forbid, supported

    engine = create_engine(db.engine.url)
    forbid(engine)
    try:
        with engine.begin() as conn:
            assert not supported(engine)  # after the first connect, too
            with pytest.raises(ReturningForbidden):
                conn.execute(insert(table).values(batch="r", k="k0").returning(table.c.id))
            conn.exec_driver_sql("INSERT INTO bulk_probe (batch, k, text, status, created_at) "
                                 "VALUES ('r', 'k1', 'say RETURNING id', 'pending', NOW())")
            # The ORM-style insert works as on MySQL 8: the new id from lastrowid.
            result = conn.execute(insert(table).values(batch="r", k="k2", status="pending", created_at=utcnow()))
            assert result.inserted_primary_key[0] > 0
    finally:
        engine.dispose()


def test_db_returning_off_turns_it_off_for_the_apps_engine(app):
    if db.engine.dialect.name != "mysql":
        pytest.skip("DB_RETURNING=off is for MySQL-protocol servers")
    from backend.app import create_app
    from backend.config import ConfigError, load_settings
    from backend.extensions import redis_holder
    from backend.returning import supported

    url = db.engine.url.render_as_string(hide_password=False)
    ours = supported(db.engine)
    saved = (redis_holder.client, redis_holder.is_real, redis_holder.url)  # create_app re-binds it
    try:
        other = create_app(load_settings({"DATABASE_URL": url, "DB_RETURNING": "off"}))
        with other.app_context():
            db.session.execute(select(1))  # the first connect, where MariaDB would turn it on
            assert not supported(db.engine)
            db.session.remove()
            db.engine.dispose()
    finally:
        redis_holder.client, redis_holder.is_real, redis_holder.url = saved
    # This app's engine is as its own settings made it (./dev test's third pass runs with it off).
    assert supported(db.engine) == ours == (os.environ.get("DB_RETURNING") != "off")
    with pytest.raises(ConfigError, match="DB_RETURNING"):
        load_settings({"DB_RETURNING": "sometimes"})


def test_insert_loaded_hands_back_persistent_rows_as_a_read_would_and_later_changes_update_them(app, factory):
    """bulk.insert_loaded: the new rows' ids in order, every column (the defaults too)
    present without a read, and the objects the session's own: a change flushes as an
    UPDATE of that row."""
    from sqlalchemy import event, inspect

    from backend.catalog.models import Product

    tenant = factory.tenant()
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    with app.app_context():
        engine = db.engine
    with unit_of_work():
        event.listen(engine, "before_cursor_execute", note)
        try:
            made = bulk.insert_loaded(Product, [dict(tenant_id=tenant.id, name="甲", on_shelf=True),
                                                dict(tenant_id=tenant.id, name="乙", category="茶")])
            seen = [(p.name, p.category, p.subtitle, p.on_shelf, p.created_at is not None) for p in made]
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert seen == [("甲", "", "", True, True), ("乙", "茶", "", False, True)]
        assert "SELECT" not in statements[statements.index("INSERT"):]  # nothing left to load
        assert all(inspect(p).persistent for p in made) and made[0].id < made[1].id
        made[1].name = "乙二"
    with unit_of_work():
        rows = db.session.execute(select(Product.id, Product.name, Product.category)
                                  .where(Product.tenant_id == tenant.id).order_by(Product.id)).all()
    assert [tuple(r) for r in rows] == [(made[0].id, "甲", ""), (made[1].id, "乙二", "茶")]
    with pytest.raises(ValueError, match="no such columns"), unit_of_work():
        bulk.insert_loaded(Product, [dict(tenant_id=tenant.id, name="丙", on_shelf=True, shelf=True)])
