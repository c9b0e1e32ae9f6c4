"""`flask db backup`: a consistent copy of the live SQLite file while writers keep writing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from backend.backup import BackupError, backup_sqlite, sqlite_path


def _db(path: Path, rows: int) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE postings (id INTEGER PRIMARY KEY, amount_fen INTEGER NOT NULL, "
                "note TEXT NOT NULL)")
    con.executemany("INSERT INTO postings (amount_fen, note) VALUES (?, ?)",
                    [(i, "付款" * 50) for i in range(rows)])
    con.commit()
    con.close()


def test_a_backup_taken_while_writes_go_on_is_a_consistent_snapshot(tmp_path: Path) -> None:
    live, copy = tmp_path / "siyu.sqlite", tmp_path / "backups" / "siyu-1.sqlite"
    _db(live, 20_000)
    stop = threading.Event()
    written = []

    def writer() -> None:
        con = sqlite3.connect(live, timeout=30)
        n = 0
        while not stop.is_set():
            # each transaction writes a pair that sums to zero, like a balanced posting
            con.execute("INSERT INTO postings (amount_fen, note) VALUES (100, 'pair'), (-100, 'pair')")
            con.commit()
            n += 1
        written.append(n)
        con.close()

    seen = []
    t = threading.Thread(target=writer)
    t.start()
    try:
        pages = backup_sqlite(live, copy, pages_per_step=8, progress=lambda done, total: seen.append(done))
    finally:
        stop.set()
        t.join()
    assert pages > 100 and seen and seen[-1] == max(seen)
    con = sqlite3.connect(copy)
    count, total = con.execute(
        "SELECT COUNT(*), SUM(amount_fen) FROM postings WHERE note = 'pair'").fetchone()
    assert count % 2 == 0 and (total or 0) == 0  # never half a transaction
    assert con.execute("SELECT COUNT(*) FROM postings WHERE note != 'pair'").fetchone()[0] == 20_000
    assert not copy.with_name(copy.name + ".partial").exists()


def test_only_a_sqlite_file_can_be_backed_up_this_way(tmp_path: Path) -> None:
    with pytest.raises(BackupError):
        sqlite_path("mysql+pymysql://root@127.0.0.1/siyu")
    with pytest.raises(BackupError):
        sqlite_path("sqlite://")
    with pytest.raises(BackupError):
        backup_sqlite(tmp_path / "missing.sqlite", tmp_path / "out.sqlite")


def test_the_cli_backs_up_the_apps_database(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "app.sqlite"
    _db(live, 100)
    # the command reads the app's database URL; point it at this file (either test pass)
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", f"sqlite:///{live}")
    out = app.test_cli_runner().invoke(args=["db", "backup", str(tmp_path / "copy.sqlite")])
    assert out.exit_code == 0, out.output
    assert "integrity ok" in out.output
    assert sqlite3.connect(tmp_path / "copy.sqlite").execute("SELECT COUNT(*) FROM postings").fetchone()[0] == 100
