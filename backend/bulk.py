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
this path; elsewhere (SQLite) the same call is a normal SQLAlchemy insert. On a server
without RETURNING (MySQL 8, TiDB; `DB_RETURNING=off`, backend/returning.py) a call that
asks for it inserts row by row, takes each new row's id from `cursor.lastrowid`, and
reads the asked-for columns of those rows back in one SELECT.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, Table, bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import make_transient_to_detached

from backend import returning as returning_support
from backend.extensions import db

CHUNK_ROWS = 2000  # rows per statement: far below max_allowed_packet for these tables


def insert_ignore(table: Table) -> Any:
    """INSERT that skips rows colliding with a unique key (waiting for an uncommitted one)."""
    return insert(table).prefix_with("IGNORE", dialect="mysql").prefix_with("OR IGNORE", dialect="sqlite")


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
        stmt = insert_ignore(table) if ignore else insert(table)
        if returning:  # in the rows' order, as MariaDB's RETURNING gives them
            return [tuple(r) for r in db.session.execute(
                stmt.returning(*returning, sort_by_parameter_order=True), list(rows))]
        db.session.execute(stmt, list(rows))
        return []
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    # PyMySQL's Connection.escape: what its own parameter substitution calls per value.
    escape = connection.connection.dbapi_connection.escape  # type: ignore[union-attr]
    own = [(name, table.c[name].type.bind_processor(dialect)) for name in rows[0]]
    # Python-side defaults of the columns the rows leave out: one value for the whole
    # batch (SQLAlchemy would call a callable per row: the same instant here), rendered once.
    defaults: list[tuple[str, str]] = []
    for col in table.columns:
        if col.name in rows[0] or col.default is None or col.primary_key:
            continue
        default: Any = col.default
        if default.is_scalar:
            value = default.arg
        elif default.is_callable:
            value = default.arg(None)
        else:
            raise ValueError(f"{table.name}.{col.name}: a SQL default cannot be rendered here")
        defaults.append((col.name, _literal(value, col.type.bind_processor(dialect), escape)))
    defaults_sql = "".join(", " + sql for _, sql in defaults)
    names = [name for name, _ in own] + [name for name, _ in defaults]
    head = (f"INSERT {'IGNORE ' if ignore else ''}INTO {quote(table.name)} "
            f"({', '.join(quote(n) for n in names)}) VALUES ")
    key = quote(table.primary_key.columns[0].name)
    tail = f" ON DUPLICATE KEY UPDATE {key} = {key}" if keep_existing else ""
    if returning and not returning_support.supported(dialect):
        return _insert_each(connection, table, rows, own, defaults_sql, head, tail, escape, returning)
    pk = table.primary_key.columns[0]
    if len(rows) == 1 and list(returning) == [pk] and not keep_existing and pk.name not in rows[0]:
        # One row and only its new id: the OK packet's insert id says it, with no result
        # set to parse (a claim on the hot paths: a transfer, its posting). IGNOREd: rowcount 0.
        one = connection.exec_driver_sql(
            head + "(" + ", ".join([_literal(rows[0][name], process, escape) for name, process in own])
            + defaults_sql + ")", execution_options={"no_parameters": True})
        return [(int(one.lastrowid),)] if one.rowcount == 1 else []
    if returning:
        tail += f" RETURNING {', '.join(quote(c.name) for c in returning)}"
    result_processors = [c.type.result_processor(dialect, None) for c in returning]
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        rendered = ["(" + ", ".join([_literal(row[name], process, escape) for name, process in own])
                    + defaults_sql + ")" for row in rows[start:start + CHUNK_ROWS]]
        result = connection.exec_driver_sql(head + ", ".join(rendered) + tail,
                                            execution_options={"no_parameters": True})
        if returning:
            for raw in result:
                out.append(tuple(p(v) if p is not None else v
                                 for v, p in zip(raw, result_processors, strict=True)))
    return out


M = TypeVar("M")

# Per model: its table, primary key, and each other column as (attribute, column name,
# how its missing value is made); worked out once, not on every insert.
_LOADED_PLANS: dict[type, tuple[Table, Column[Any], str, list[tuple[str, str, Any]]]] = {}


def _loaded_plan(model: type) -> tuple[Table, Column[Any], str, list[tuple[str, str, Any]]]:
    plan = _LOADED_PLANS.get(model)
    if plan is None:
        mapper: Any = sa_inspect(model)
        table: Table = mapper.local_table  # type: ignore[assignment]
        pk = table.primary_key.columns[0]
        columns = []
        for attr in mapper.column_attrs:
            col = attr.columns[0]
            if col is pk:
                continue
            if col.default is not None and col.default.is_scalar:
                fill: Any = ("value", col.default.arg)
            elif col.default is not None and col.default.is_callable:
                fill = ("call", col.default.arg)
            elif col.server_default is not None:
                fill = ("refuse", None)
            else:
                fill = ("value", None)
            columns.append((attr.key, col.name, fill))
        plan = _LOADED_PLANS[model] = (table, pk, mapper.get_property_by_column(pk).key, columns)
    return plan


def insert_loaded(model: type[M], rows: Sequence[Mapping[str, Any]]) -> list[M]:
    """INSERT new rows of an ORM model through insert_rows and hand them back as the
    session's own persistent objects, as if just read: what `session.add` and a flush
    give, without the unit of work's per-object flush (the restock request's order, line
    and restock; benchmarks/README.md, "Session 7"). Every column gets
    its value or its Python-side default, so nothing is left to load later; later
    changes to the objects flush as UPDATEs as usual. Only for models without ORM
    insert events (none listens on these) and with a single-column primary key."""
    db.session.flush()  # what the session holds unwritten goes first (these rows may refer to it)
    table, pk, pk_key, columns = _loaded_plan(model)
    known = {key for key, _, _ in columns}
    full: list[dict[str, Any]] = []
    for values in rows:
        if not values.keys() <= known:  # a misspelt attribute would otherwise be dropped unseen
            raise ValueError(f"{table.name}: no such columns {sorted(set(values) - known)}")
        row = {}
        for key, name, (how, arg) in columns:
            if key in values:
                row[name] = values[key]
            elif how == "value":
                row[name] = arg
            elif how == "call":
                row[name] = arg(None)
            else:
                raise ValueError(f"{table.name}.{name}: give it (its default is the server's)")
        full.append(row)
    ids = [r[0] for r in insert_rows(table, full, returning=[pk])]
    out = []
    for row, new_id in zip(full, ids, strict=True):
        obj = model(**{key: row[name] for key, name, _ in columns})
        setattr(obj, pk_key, new_id)
        make_transient_to_detached(obj)  # its values are what the database holds now
        db.session.add(obj)
        out.append(obj)
    return out


def _insert_each(connection: Any, table: Table, rows: Sequence[Mapping[str, Any]], own: Any,
                 defaults_sql: str, head: str, tail: str, escape: Any,
                 returning: Sequence[Column[Any]]) -> list[tuple[Any, ...]]:
    """The RETURNING fallback: one INSERT per row; a row that went in (rowcount 1; an
    IGNOREd one reports 0) has its id in lastrowid, and the asked-for columns of the new
    rows come back in one SELECT, in insertion order, as RETURNING would give them."""
    pk = table.primary_key.columns[0]
    new_ids: list[Any] = []
    for row in rows:
        sql = head + "(" + ", ".join([_literal(row[name], process, escape) for name, process in own]) \
            + defaults_sql + ")" + tail
        result = connection.exec_driver_sql(sql, execution_options={"no_parameters": True})
        if result.rowcount == 1:  # ON DUPLICATE KEY UPDATE of the key to itself reports 0 too
            new_ids.append(row[pk.name] if pk.name in row else result.lastrowid)
    if not new_ids:
        return []
    if list(returning) == [pk]:  # only the ids: lastrowid said them
        return [(i,) for i in new_ids]
    found = {r[0]: tuple(r[1:]) for r in connection.execute(
        select(pk, *returning).where(pk.in_(new_ids)))}
    return [found[i] for i in new_ids]


def sql_value(column: Column[Any], value: Any) -> str:
    """One value of a column as MariaDB SQL text, rendered as insert_rows renders it
    (for hand-written statements on the hot paths; MariaDB only)."""
    connection = db.session.connection()
    return _literal(value, column.type.bind_processor(connection.dialect),
                    connection.connection.dbapi_connection.escape)  # type: ignore[union-attr]


def _literal(value: Any, process: Any, escape: Any) -> str:
    """One value as SQL: through its column's bind processing, then digits for ints,
    NULL for None, and the driver's escape for everything else."""
    if process is not None:
        value = process(value)
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "1" if value else "0"
    return str(escape(value))


# ---------------------------------------------------------------- long IN lists

# Ids per IN list: well under SQLite's bound-parameter limit, and small enough for
# MariaDB to walk its sorted list through the primary key.
IN_BATCH = 5000


def in_batches(ids: Iterable[int], size: int = IN_BATCH) -> Iterator[list[int]]:
    """Sorted ids in slices of `size` (one IN list each)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def id_in(column: Any, ids: Sequence[int]) -> Any:
    """`column IN (ids)` with the ids written into the SQL as integer literals: thousands
    of bound parameters cost more to process than the lookups they ask for."""
    return column.in_(bindparam(None, [int(i) for i in ids], literal_execute=True, expanding=True))
