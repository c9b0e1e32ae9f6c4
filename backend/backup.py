"""Online backup of the embedded SQLite database (`flask db backup`).

SQLite's backup API copies a live database page by page while the product keeps
writing: each step copies a few pages under a short read lock, and pages written
meanwhile are copied again, so the copy is a consistent snapshot of the moment it
finishes. The copy is checked (`PRAGMA integrity_check`) before it is called good.
MariaDB is backed up with mariadb-backup and binlogs instead (docs/operations.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path


class BackupError(Exception):
    pass


def sqlite_path(database_url: str) -> Path:
    """The file behind a sqlite:/// URL (refuses in-memory and non-SQLite URLs)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url in (prefix, "sqlite://"):
        raise BackupError("online backup here is for the SQLite file; MariaDB uses mariadb-backup "
                          "(docs/operations.md)")
    return Path(database_url[len(prefix):])


def backup_sqlite(source: Path, target: Path, *, pages_per_step: int = 256,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Copy a live SQLite database to `target` (written beside it, then renamed, so a
    failed copy never replaces a good one); returns the number of pages."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        def step(status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        src.backup(dst, pages=pages_per_step, progress=step)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
    finally:
        dst.close()
        src.close()
    partial.replace(target)
    return int(pages)
