"""Shared fixtures: one app per session (per xdist worker) on SQLite (default) or
MariaDB (TEST_DATABASE_URL, a database per worker), schema built by the real Alembic
migrations, tables emptied after every test; Redis is real when REDIS_URL is set (a
db per worker), else fakeredis.

Markers: `mariadb` tests need real row locks and threads (MariaDB only); `redis`
tests need a real Redis server. Outside CI they skip with a message when the
server is absent; under CI=true the test command runs a MariaDB+Redis pass, and a
missing server fails the run instead of skipping. The MariaDB pass leaves out the pure
tests of tests/unit/ that never reach a database (no `app` fixture): the SQLite pass runs
them, and they would run the same.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from backend.db import Base

CI = os.environ.get("CI", "").lower() == "true"


# Under pytest-xdist (`pytest -n 2`, what ./dev test runs) every worker gets its own
# database and Redis db, so workers never see or empty each other's rows: SQLite is a
# file per process anyway; MariaDB gets `<name>_gw0`, `<name>_gw1`, …; Redis the db
# below the one given (15 → 15, 14, …). Subprocesses started by tests inherit them.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_index() -> int:
    return int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0


def _database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if WORKER and url.startswith("mysql"):
            base, _, rest = url.rpartition("/")
            name, sep, query = rest.partition("?")
            url = f"{base}/{name}_{WORKER}{sep}{query}"
            os.environ["TEST_DATABASE_URL"] = url
        return url
    # In memory-backed /dev/shm where there is one: the product's SQLite runs WAL with
    # full syncs, and on a disk each test's commits waited on fsync. Removed at exit.
    shm = "/dev/shm"
    folder = tempfile.mkdtemp(prefix="siyu-test-", dir=shm if os.access(shm, os.W_OK) else None)
    atexit.register(shutil.rmtree, folder, True)
    return f"sqlite:///{folder}/test.sqlite"


def _worker_redis() -> None:
    url = os.environ.get("REDIS_URL")
    if not (url and WORKER):
        return
    base, _, db = url.rpartition("/")
    number = int(db) if db.isdigit() else 0
    mine = number - _worker_index() if number - _worker_index() >= 0 else number + _worker_index()
    os.environ["REDIS_URL"] = f"{base}/{mine}"


_worker_redis()


DATABASE_URL = _database_url()
IS_MYSQL = DATABASE_URL.startswith("mysql")


def _fresh_mysql(url: str) -> None:
    from backend.migrate import recreate_mysql_database

    recreate_mysql_database(url)


UNIT_TESTS = Path(__file__).resolve().parent / "unit"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mariadb: needs MariaDB (real row locks, threads)")
    config.addinivalue_line("markers", "redis: needs a real Redis server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_redis = bool(os.environ.get("REDIS_URL"))
    keep, dropped = [], []
    for item in items:
        if (IS_MYSQL and UNIT_TESTS in item.path.parents and "app" not in item.fixturenames
                and not item.get_closest_marker("redis")):
            dropped.append(item)  # pure: the same on every database, the SQLite pass runs them
            continue
        needs_db = item.get_closest_marker("mariadb") and not IS_MYSQL
        needs_redis = item.get_closest_marker("redis") and not has_redis
        if CI and (needs_db or needs_redis):
            dropped.append(item)  # the CI's MariaDB+Redis pass runs these
            continue
        if needs_db:
            item.add_marker(pytest.mark.skip(
                reason="needs MariaDB: set TEST_DATABASE_URL=mysql+pymysql://root@127.0.0.1/siyu_test"))
        if needs_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15"))
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """The local WeChat emulator on a random port, shared by the whole session."""
    from backend.wechat.sandbox import start_sandbox

    server = start_sandbox(port=0)
    yield server
    server.stop()


def _create_unmigrated_tables(url: str) -> None:
    """Tables of models that have no migration yet (work in progress) are created
    directly; tests/test_migrations.py fails until a revision covers them."""
    from backend.models_registry import import_all_models

    import_all_models()
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    _TABLES[:] = list(Base.metadata.sorted_tables)
    _HOLDING_ROWS[:] = [] if os.environ.get("SIYU_TEST_FULL_CLEAN") else [
        _holding_rows_sql(_TABLES, engine.dialect)]
    engine.dispose()


# The tables that exist in the test database, in dependency order (emptied after tests).
_TABLES: list[Any] = []
# One statement naming the tables that hold any row: a test writes to a handful of the
# ~100 tables, and a DELETE per table per test was, on MariaDB, a round trip each (about
# 70 ms a test). SIYU_TEST_FULL_CLEAN=1 empties every table instead.
_HOLDING_ROWS: list[str] = []


def _holding_rows_sql(tables: list[Any], dialect: Any) -> str:
    # Plain SQL built once (the SQLAlchemy construct cost more to compile each time than
    # the deletes it saved); the table names are the models' own.
    quote = dialect.identifier_preparer.quote
    dual = " FROM DUAL" if dialect.name == "mysql" else ""
    return " UNION ALL ".join(f"SELECT '{t.name}'{dual} WHERE EXISTS (SELECT 1 FROM {quote(t.name)})"
                              for t in tables)


@pytest.fixture(scope="session")
def app(sandbox: Any) -> Iterator[Any]:
    from backend.config import load_settings
    from backend.migrate import upgrade
    from miniprogram_api import create_web_app

    if IS_MYSQL:
        _fresh_mysql(DATABASE_URL)
    upgrade(DATABASE_URL)
    _create_unmigrated_tables(DATABASE_URL)
    env = {"DATABASE_URL": DATABASE_URL, "WECHAT_MODE": "sandbox",
           "WECHAT_SANDBOX_URL": sandbox.url, "SECRET_KEY": "test-secret",
           "PLATFORM_ADMIN_TOKEN": "test-platform-token",
           # scrypt at 1/32 of werkzeug's cost: staff and suppliers are made by the
           # hundred here, and production's 0.1-0.3 s per hash took minutes of the suite.
           "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}
    for name in ("REDIS_URL", "DB_RETURNING"):  # DB_RETURNING=off: ./dev test's MySQL 8 pass
        if os.environ.get(name):
            env[name] = os.environ[name]
    application = create_web_app(load_settings(env))
    application.config["TESTING"] = True
    with application.app_context():
        yield application


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    from backend.extensions import db, get_redis

    db.session.rollback()
    db.session.remove()
    with db.engine.begin() as conn:
        held = ({row[0] for row in conn.exec_driver_sql(_HOLDING_ROWS[0])} if _HOLDING_ROWS
                else {t.name for t in _TABLES})
        if IS_MYSQL:
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(_TABLES):
            if table.name in held:
                conn.execute(table.delete())
        if IS_MYSQL:
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    get_redis().flushdb()
    from backend.process_cache import forget_process_caches
    from backend.wechat.service import forget_cached_credentials

    forget_cached_credentials()  # the next test's tenants reuse slugs (and, on SQLite, ids)
    forget_process_caches()


@pytest.fixture(autouse=True)
def _declared_error_codes(request: pytest.FixtureRequest) -> Iterator[None]:
    """A route that answers an error code its @route(errors=...) does not list fails the
    test that made it answer so: /openapi.json lists each route's codes from there."""
    yield
    if "app" not in request.fixturenames:
        return
    from miniprogram_api.http import UNDECLARED

    found = sorted({(doc.method, doc.rule, doc.where, code) for doc, code in UNDECLARED})
    UNDECLARED.clear()
    if os.environ.get("SIYU_RECORD_ERRORS"):
        with open(os.environ["SIYU_RECORD_ERRORS"] + f".{os.getpid()}", "a") as out:
            out.writelines(f"{where} {code}\n" for _, _, where, code in found)
        return
    if found:
        pytest.fail("routes answered error codes they do not declare:\n" + "\n".join(
            f"  {method} {rule} answered {code!r}: add {code!r} to errors=(...) in the @route of {where}"
            for method, rule, where, code in found), pytrace=False)


@pytest.fixture()
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture()
def factory(app: Any) -> Any:
    from tests.factories import Factory

    return Factory(app)
