"""The migrations build exactly the schema the models describe, on this database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from backend.db import Base
from backend.migrate import upgrade
from backend.models_registry import import_all_models
from tests.conftest import DATABASE_URL, IS_MYSQL, _fresh_mysql


def test_migrations_at_head_match_the_models(tmp_path):
    if IS_MYSQL:
        url = DATABASE_URL.rsplit("/", 1)[0] + "/siyu_migrations_check?charset=utf8mb4"
        _fresh_mysql(url)
    else:
        url = f"sqlite:///{tmp_path}/m.sqlite"
    upgrade(url)
    import_all_models()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: ./dev revision 'what changed'"
