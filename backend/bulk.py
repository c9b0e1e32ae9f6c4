"""Multi-row INSERTs for the paid-order follow-up's batches, rendered in one pass.

SQLAlchemy's executemany / insertmanyvalues hands PyMySQL one parameter per column per
row, and PyMySQL escapes each through a generic, pure-Python dispatch (about a
microsecond apiece): a batch of paid orders writes some 400 values per order, which
made parameter handling the largest single cost of the follow-up. Here the rows are
rendered straight into the VALUES list:

- every value first goes through its column's own bind processing (JSON encoding,
  UTC datetimes, …), and a Python-side column default fills a missing key, as
  SQLAlchemy would do;
- plain ints and None are written as digits and NULL (nothing to escape);
- everything else (strings, Decimals, datetimes, bytes) goes through the driver's own
  `escape` (the very function PyMySQL's parameter substitution uses), so quoting and
  the server's NO_BACKSLASH_ESCAPES mode are the driver's business, not ours;
- the statement runs without parameters (`no_parameters`), so a literal '%' or ':'
  in the data is data.

RETURNING rows come back through the columns' result processing. Only MariaDB takes
this path; elsewhere (SQLite) the same call is a normal SQLAlchemy insert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, insert

from backend.extensions import db

CHUNK_ROWS = 2000  # rows per statement: far below max_allowed_packet for these tables


def insert_rows(table: Table, rows: Sequence[Mapping[str, Any]], *, ignore: bool = False,
                keep_existing: bool = False, returning: Sequence[Column[Any]] = ()) -> list[tuple[Any, ...]]:
    """INSERT the rows (same keys in each) in the current unit of work; the RETURNING
    values of the rows inserted. `ignore`: INSERT IGNORE (rows colliding with a unique
    key are skipped, and not returned). `keep_existing` (MariaDB only): a colliding
    row is left as it is by ON DUPLICATE KEY UPDATE of the key to itself, which unlike
    IGNORE still fails on any other error."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "mysql":
        if keep_existing:
            raise ValueError("keep_existing is MariaDB's; use the dialect's own upsert elsewhere")
        stmt = insert(table)
        if ignore:
            stmt = stmt.prefix_with("OR IGNORE", dialect="sqlite")
        if returning:
            return [tuple(r) for r in db.session.execute(stmt.returning(*returning), list(rows))]
        db.session.execute(stmt, list(rows))
        return []
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    columns = [table.c[n] for n in names]
    defaults = {}
    for col in table.columns:
        if col.name not in rows[0] and col.default is not None and not col.primary_key:
            default: Any = col.default
            if default.is_scalar:
                defaults[col.name] = default.arg
            elif default.is_callable:  # once per batch: SQLAlchemy would call it per row
                defaults[col.name] = default.arg(None)
            else:
                raise ValueError(f"{table.name}.{col.name}: a SQL default cannot be rendered here")
    names += list(defaults)
    columns += [table.c[n] for n in defaults]
    processors = [col.type.bind_processor(dialect) for col in columns]
    # PyMySQL's Connection.escape: what its own parameter substitution calls per value.
    escape = connection.connection.dbapi_connection.escape  # type: ignore[union-attr]
    head = (f"INSERT {'IGNORE ' if ignore else ''}INTO {quote(table.name)} "
            f"({', '.join(quote(n) for n in names)}) VALUES ")
    key = quote(table.primary_key.columns[0].name)
    tail = f" ON DUPLICATE KEY UPDATE {key} = {key}" if keep_existing else ""
    if returning:
        tail += f" RETURNING {', '.join(quote(c.name) for c in returning)}"
    result_processors = [c.type.result_processor(dialect, None) for c in returning]
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        rendered = []
        for row in rows[start:start + CHUNK_ROWS]:
            values = [row[n] for n in names[:len(names) - len(defaults)]] + list(defaults.values())
            parts = []
            for value, process in zip(values, processors, strict=True):
                if process is not None:
                    value = process(value)
                kind = type(value)
                if value is None:
                    parts.append("NULL")
                elif kind is int:
                    parts.append(int.__repr__(value))
                elif kind is bool:
                    parts.append("1" if value else "0")
                else:
                    parts.append(escape(value))
            rendered.append("(" + ", ".join(parts) + ")")
        sql = head + ", ".join(rendered) + tail
        result = connection.exec_driver_sql(sql, execution_options={"no_parameters": True})
        if returning:
            for raw in result:
                out.append(tuple(p(v) if p is not None else v
                                 for v, p in zip(raw, result_processors, strict=True)))
    return out
