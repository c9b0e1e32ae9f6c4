"""Alembic, driven from code so every entry point (CLI, tests, run script) agrees."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from backend.config import ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder a SQLite file URL points into (`instance/` on a fresh clone):
    SQLite creates the file but not its folder, and fails with "unable to open database
    file" otherwise. Relative paths are relative to the working directory, as SQLite
    reads them. Other URLs (and in-memory SQLite) are left alone."""
    if not database_url.startswith("sqlite"):
        return
    path = make_url(database_url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def autogenerate(database_url: str, message: str) -> None:
    """Write a new revision from the difference between models and the database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


def recreate_mysql_database(url: str) -> str:
    """Drop and create the MariaDB database a URL names (utf8mb4: nicknames carry emoji);
    for tests and benchmarks. Returns the URL with the charset set."""
    from sqlalchemy import create_engine, text

    base, _, rest = url.rpartition("/")
    name = rest.split("?")[0]
    admin = create_engine(base + "/?charset=utf8mb4")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    admin.dispose()
    return f"{base}/{name}?charset=utf8mb4"


def new_revision(message: str) -> None:
    """Autogenerate a revision against a scratch SQLite database brought to head."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/scratch.sqlite"
        upgrade(url)
        autogenerate(url, message)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        raise SystemExit('usage: python -m backend.migrate revision "message"')
    new_revision(sys.argv[2])
