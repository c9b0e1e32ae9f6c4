"""INSERT … RETURNING, and running without it (MySQL 8, TiDB).

MariaDB ≥ 10.5 and SQLite ≥ 3.35 answer `INSERT … RETURNING`; MySQL 8.0 and TiDB do
not. Siyu's hot paths (ledger postings, reward lines and payouts, pieces postings)
insert many rows at once through `backend.bulk.insert_rows` and need the ids of the
rows they inserted (and, for INSERT IGNORE, which rows were new). With RETURNING that
is one statement; without it `bulk` takes a row-by-row path that reads each new id
from `cursor.lastrowid`, which every MySQL-protocol server gives.

`DB_RETURNING=off` makes an engine behave as on those servers: the dialect stops
offering RETURNING (so SQLAlchemy's ORM reads `lastrowid` too, as it does on MySQL 8)
and any statement that still carries a RETURNING clause is refused. CI runs the
hot-path tests on MariaDB with it (`./dev test`), which proves the fallback.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# What a dialect says it can do with RETURNING (SQLAlchemy 2 names); all off for MySQL 8.
_FLAGS = ("insert_returning", "update_returning", "delete_returning",
          "insert_executemany_returning", "insert_executemany_returning_sort_by_parameter_order",
          "update_executemany_returning", "delete_executemany_returning")

# A RETURNING clause ends the statement: `… RETURNING a, b` (identifiers only). Values
# that bulk renders inline are quoted strings, so a customer's text that says
# "returning" never matches.
_CLAUSE = re.compile(r"\sRETURNING\s+[`\"\w.]+(\s*,\s*[`\"\w.]+)*\s*$", re.IGNORECASE)


class ReturningForbidden(RuntimeError):
    """A statement carried RETURNING on an engine that must run without it."""


def supported(engine_or_dialect: Any) -> bool:
    """Whether INSERT … RETURNING may be sent on this engine (or dialect)."""
    dialect = getattr(engine_or_dialect, "dialect", engine_or_dialect)
    return bool(getattr(dialect, "insert_returning", False))


def forbid(engine: Engine) -> None:
    """Run this engine without RETURNING, as on MySQL 8 / TiDB (see the module doc)."""

    def _off(*_: Any) -> None:
        for flag in _FLAGS:
            if hasattr(engine.dialect, flag):
                setattr(engine.dialect, flag, False)

    _off()
    # The dialect reads the server's version (and turns RETURNING on for MariaDB) when
    # the first connection opens; this listener is added after SQLAlchemy's own, so it
    # runs after that and turns it off again.
    event.listen(engine, "connect", _off)

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "RETURNING" in statement.upper() and _CLAUSE.search(statement):
            raise ReturningForbidden(f"RETURNING sent with DB_RETURNING=off: {statement[:200]}")
