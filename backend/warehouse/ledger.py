"""The pieces ledger: post a balanced movement of pieces once per idempotency key,
never taking an agent's balance below zero, however many postings race.

    post(tenant_id=, key="transfer:12", kind="transfer", now=,
         legs=[Leg(agent(7), sku, -5), Leg(agent(9), sku, 5)])

1. the key is claimed with INSERT IGNORE on the unique (tenant, key): a replay (or a
   concurrent poster of the same key, once the first commits) finds the row and
   returns the first posting, touching nothing;
2. the balances are changed in ONE guarded UPDATE (`pieces = pieces + delta`, only
   where an agent's balance covers its debit), which locks its rows in the unique
   key's order, the same for every posting, so postings never wait in a circle; a row
   left unchanged means a missing balance (created then, INSERT IGNORE, and updated)
   or an uncovered debit: InsufficientPieces, and the caller's unit of work rolls the
   posting back;
3. the entries are written by one INSERT … SELECT from the balance rows.

Three statements for a posting whose balances exist (the common case).

Nothing here commits or reads the clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, literal, or_, select, update

from backend import bulk
from backend.bulk import insert_ignore
from backend.db import UTCDateTime
from backend.extensions import db
from backend.warehouse.errors import InsufficientPieces
from backend.warehouse.models import ACCOUNT_KINDS, StockBalance, StockEntry, StockPosting

_balances = StockBalance.__table__
_postings = StockPosting.__table__
_entries = StockEntry.__table__

Account = tuple[str, int]  # (kind, owner id)


def agent(member_id: int) -> Account:
    """An agent's cloud stock."""
    if member_id <= 0:
        raise ValueError("an agent is a member")
    return ("agent", member_id)


SUPPLY: Account = ("supply", 0)
HELD: Account = ("held", 0)
SHIPPED: Account = ("shipped", 0)

# The brand's accounts are spread over BRAND_SHARDS rows per SKU (owner id = the shard):
# every restock from an upline sets pieces aside in `held`, and with one row per SKU
# concurrent restocks (and the follow-up taking them out again) queued on its lock for
# their whole transaction. A document picks its shard by its id, and whatever later
# takes its pieces out finds that shard from its first posting (`shard_of`), so no
# shard of `held` or `shipped` goes below zero. An account's total is the sum of its
# shards (`balance`).
BRAND_SHARDS = 8


def brand(kind: str, document_id: int) -> Account:
    """The brand's account of this kind (supply, held, shipped) for a document's pieces."""
    if kind == "agent" or kind not in ACCOUNT_KINDS:
        raise ValueError(f"not a brand account: {kind}")
    return (kind, document_id % BRAND_SHARDS)


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    sku_id: int
    delta: int


@dataclass(frozen=True, slots=True)
class Posted:
    posting_id: int
    created: bool  # False for a replayed key


def _check(legs: Sequence[Leg]) -> None:
    if not legs:
        raise ValueError("a posting needs legs")
    per_sku: dict[int, int] = defaultdict(int)
    for leg in legs:
        if leg.account[0] not in ACCOUNT_KINDS or type(leg.account[1]) is not int or type(leg.sku_id) is not int:
            raise ValueError(f"not a pieces account: {leg.account} SKU {leg.sku_id!r}")
        if not isinstance(leg.delta, int) or isinstance(leg.delta, bool) or leg.delta == 0:
            raise ValueError("a leg moves a non-zero whole number of pieces")
        per_sku[leg.sku_id] += leg.delta
    if any(per_sku.values()):
        raise ValueError(f"unbalanced pieces posting: {dict(per_sku)}")


Key = tuple[str, int, int]  # (kind, owner id, SKU): one balance row
# Rows are found by their whole unique key, so InnoDB locks just those records. Left to
# itself MariaDB picks the (tenant, owner, kind) index, whose ranges also lock the next
# record: another agent's balance, and concurrent postings then queue on each other.
_BY_KEY = "FORCE INDEX (uq_stock_balances_tenant_id_kind_owner_id_sku_id)"


def _match(tenant_id: int, keys: Sequence[Key]) -> Any:
    c = _balances.c
    return and_(c.tenant_id == tenant_id, or_(*[and_(c.kind == k, c.owner_id == o, c.sku_id == s)
                                               for k, o, s in keys]))


def _delta(net: dict[Key, int], keys: Sequence[Key]) -> Any:
    c = _balances.c
    return case(*[(and_(c.kind == k, c.owner_id == o, c.sku_id == s), net[(k, o, s)]) for k, o, s in keys],
                else_=0)


# On MariaDB the two hot statements are written out by hand and sent as they are
# (`exec_driver_sql`, no parameters): every value in them is a whole number or one of
# ACCOUNT_KINDS, checked before, so nothing needs escaping, and skipping SQLAlchemy's
# ORM execution and parameter handling takes about a millisecond of CPU off a posting.


def _match_sql(tenant_id: int, keys: Sequence[Key]) -> str:
    return f"tenant_id = {tenant_id:d} AND (" + " OR ".join(
        f"(kind = '{k}' AND owner_id = {o:d} AND sku_id = {s:d})" for k, o, s in keys) + ")"


def _delta_sql(net: dict[Key, int], keys: Sequence[Key]) -> str:
    return "CASE " + " ".join(f"WHEN kind = '{k}' AND owner_id = {o:d} AND sku_id = {s:d} THEN {net[(k, o, s)]:d}"
                              for k, o, s in keys) + " ELSE 0 END"


def _raw(sql: str) -> Any:
    return db.session.connection().exec_driver_sql(sql, execution_options={"no_parameters": True})


def _apply(tenant_id: int, net: dict[Key, int], keys: Sequence[Key]) -> int:
    """One guarded UPDATE of these balances; how many rows it changed (a missing row, or
    an agent's debit its balance does not cover, is not changed)."""
    if db.session.connection().dialect.name == "mysql":
        delta_sql = _delta_sql(net, keys)
        return int(_raw(f"UPDATE stock_balances {_BY_KEY} SET pieces = pieces + {delta_sql} "
                        f"WHERE {_match_sql(tenant_id, keys)} AND (kind = 'supply' OR pieces + {delta_sql} >= 0)")
                   .rowcount)
    c = _balances.c
    delta = _delta(net, keys)
    stmt = (update(_balances).where(_match(tenant_id, keys), or_(c.kind == "supply", c.pieces + delta >= 0))
            .values(pieces=c.pieces + delta).with_hint(_BY_KEY, dialect_name="mysql")
            .execution_options(synchronize_session=False))
    return int(db.session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _existing(tenant_id: int, keys: Sequence[Key], *, lock: bool) -> dict[Key, int]:
    c = _balances.c
    stmt = (select(c.kind, c.owner_id, c.sku_id, c.pieces).where(_match(tenant_id, keys))
            .with_hint(_balances, _BY_KEY, dialect_name="mysql"))
    rows = db.session.execute(stmt.with_for_update() if lock else stmt)
    return {(r.kind, r.owner_id, r.sku_id): int(r.pieces) for r in rows}


def _short(tenant_id: int, net: dict[Key, int], keys: Sequence[Key]) -> InsufficientPieces:
    held = _existing(tenant_id, keys, lock=False)
    for k in keys:
        if k[0] != "supply" and net[k] < 0 and held.get(k, 0) + net[k] < 0:
            return InsufficientPieces(f"云仓库存不足：现有 {held.get(k, 0)} 件，需要 {-net[k]} 件",
                                      details={"sku_id": k[2], "available": held.get(k, 0), "wanted": -net[k]})
    return InsufficientPieces()


def post(*, tenant_id: int, key: str, kind: str, legs: Sequence[Leg], now: object, ref_type: str | None = None,
         ref_id: int | None = None, memo: str = "") -> Posted:
    """Post one balanced movement of pieces once per key; InsufficientPieces (409) when
    an agent's debit is not covered (nothing changes then)."""
    _check(legs)
    claimed = bulk.insert_rows(_postings, [{
        "tenant_id": tenant_id, "idem_key": key, "kind": kind, "ref_type": ref_type, "ref_id": ref_id,
        "memo": memo[:200], "created_at": now}], ignore=True, returning=(_postings.c.id,))
    if not claimed:
        first = db.session.scalar(select(_postings.c.id).where(
            _postings.c.tenant_id == tenant_id, _postings.c.idem_key == key).with_for_update(read=True))
        if first is None:  # the first poster rolled back between our INSERT and SELECT
            return post(tenant_id=tenant_id, key=key, kind=kind, legs=legs, now=now, ref_type=ref_type,
                        ref_id=ref_id, memo=memo)
        return Posted(int(first), False)
    posting_id = int(claimed[0][0])
    net: dict[Key, int] = defaultdict(int)
    for leg in legs:
        net[(leg.account[0], leg.account[1], leg.sku_id)] += leg.delta
    _apply_net(tenant_id, net)
    keys = sorted(k for k, d in net.items() if d)
    c = _balances.c
    # The entries in one INSERT … SELECT: each balance's id and delta from its own row.
    if db.session.connection().dialect.name == "mysql":
        _raw(f"INSERT INTO stock_entries (tenant_id, posting_id, balance_id, delta, created_at) "
             f"SELECT tenant_id, {posting_id:d}, id, {_delta_sql(net, keys)}, {bulk.sql_value(_entries.c.created_at, now)} "
             f"FROM stock_balances {_BY_KEY} WHERE {_match_sql(tenant_id, keys)}")
        return Posted(posting_id, True)
    db.session.execute(_entries.insert().from_select(
        ["tenant_id", "posting_id", "balance_id", "delta", "created_at"],
        select(c.tenant_id, literal(posting_id, BigInteger()), c.id, _delta(net, keys),
               literal(now, UTCDateTime())).where(_match(tenant_id, keys))
        .with_hint(_balances, _BY_KEY, dialect_name="mysql")))
    return Posted(posting_id, True)


@dataclass(frozen=True, slots=True)
class Spec:
    """One posting of a batch (`post_many`)."""

    key: str
    kind: str
    legs: Sequence[Leg]
    ref_type: str | None = None
    ref_id: int | None = None
    memo: str = ""


def post_many(*, tenant_id: int, postings: Sequence[Spec], now: object) -> list[Posted]:
    """Post several movements at once, each once per key (results in the same order):
    the paid-order follow-up books a whole batch of restocks this way, in five
    statements instead of three or four per restock (and so holds its balance locks
    for far less time).

    1. the keys claimed with one INSERT IGNORE (RETURNING names those it inserted;
       every other key was posted before and is a replay, touching nothing);
    2. the balances changed by the claimed postings' NET change, in one guarded UPDATE
       (missing balances created as `post` does). The guard is on the net change: the
       batch commits as one, so no balance is ever seen below zero, which is the rule;
       a caller whose postings each debit what was set aside for them (a restock's
       held pieces) meets the per-posting rule as well;
    3. the balance ids read once, and every posting's entries written in one INSERT.

    InsufficientPieces when a net debit is not covered; the caller's unit of work then
    rolls the batch back."""
    keys_seen = [p.key for p in postings]
    if len(set(keys_seen)) != len(keys_seen):
        raise ValueError("duplicate keys in one batch")
    for p in postings:
        _check(p.legs)
    if not postings:
        return []
    claimed = dict(bulk.insert_rows(_postings, [{
        "tenant_id": tenant_id, "idem_key": p.key, "kind": p.kind, "ref_type": p.ref_type, "ref_id": p.ref_id,
        "memo": p.memo[:200], "created_at": now} for p in postings], ignore=True,
        returning=(_postings.c.idem_key, _postings.c.id)))
    replayed = [p.key for p in postings if p.key not in claimed]
    first: dict[str, int] = {}
    if replayed:
        first = dict(db.session.execute(select(_postings.c.idem_key, _postings.c.id).where(
            _postings.c.tenant_id == tenant_id, _postings.c.idem_key.in_(replayed)).with_for_update(read=True))
            .tuples().all())
        if len(first) != len(replayed):  # a first poster rolled back between our INSERT and SELECT: again
            return post_many(tenant_id=tenant_id, postings=postings, now=now)
    mine = [p for p in postings if p.key in claimed]
    per_posting: list[tuple[int, dict[Key, int]]] = []
    net: dict[Key, int] = defaultdict(int)
    for p in mine:
        own: dict[Key, int] = defaultdict(int)
        for leg in p.legs:
            own[(leg.account[0], leg.account[1], leg.sku_id)] += leg.delta
        per_posting.append((int(claimed[p.key]), own))
        for k, d in own.items():
            net[k] += d
    if mine:
        _apply_net(tenant_id, net)
        touched = sorted({k for _, own in per_posting for k, d in own.items() if d})
        ids = _ids(tenant_id, touched)
        if len(ids) != len(touched):  # moved in and out within the batch, never held before: net zero
            db.session.execute(insert_ignore(_balances), [
                {"tenant_id": tenant_id, "kind": k, "owner_id": o, "sku_id": sk, "pieces": 0}
                for k, o, sk in touched if (k, o, sk) not in ids])
            ids = _ids(tenant_id, touched)
        bulk.insert_rows(_entries, [
            {"tenant_id": tenant_id, "posting_id": pid, "balance_id": ids[k], "delta": d, "created_at": now}
            for pid, own in per_posting for k, d in sorted(own.items()) if d])
    return [Posted(int(claimed[p.key]), True) if p.key in claimed else Posted(first[p.key], False)
            for p in postings]


def _ids(tenant_id: int, keys: Sequence[Key]) -> dict[Key, int]:
    c = _balances.c
    return {(r.kind, r.owner_id, r.sku_id): int(r.id) for r in db.session.execute(
        select(c.id, c.kind, c.owner_id, c.sku_id).where(_match(tenant_id, keys))
        .with_hint(_balances, _BY_KEY, dialect_name="mysql"))}


def _apply_net(tenant_id: int, net: dict[Key, int]) -> None:
    """The guarded UPDATE of a net change of pieces, for one posting (`post`) or several
    (`post_many`); balances with a zero net change are left alone: nothing to guard,
    nothing to lock. InsufficientPieces when a debit is not covered."""
    keys = sorted(k for k, d in net.items() if d)
    if not keys:
        return
    # Fast path: every balance exists and covers its debit: one UPDATE.
    changed = _apply(tenant_id, net, keys)
    if changed == len(keys):
        return
    # Some rows are missing (an account's first movement of a SKU) or a debit is not
    # covered. A locking read sees rows created and committed meanwhile; the rows there
    # were all changed by the UPDATE unless a debit failed.
    there = _existing(tenant_id, keys, lock=True)
    missing = [k for k in keys if k not in there]
    if changed != len(keys) - len(missing):
        raise _short(tenant_id, net, keys)
    db.session.execute(insert_ignore(_balances), [
        {"tenant_id": tenant_id, "kind": k, "owner_id": o, "sku_id": sk, "pieces": 0} for k, o, sk in missing])
    if _apply(tenant_id, net, missing) != len(missing):
        raise _short(tenant_id, net, keys)


def posting_exists(*, tenant_id: int, key: str) -> bool:
    """Whether a posting with this key was made."""
    return db.session.scalar(select(_postings.c.id).where(
        _postings.c.tenant_id == tenant_id, _postings.c.idem_key == key)) is not None


def pieces_of(*, tenant_id: int, member_id: int) -> dict[int, int]:
    """An agent's cloud stock: pieces per SKU (SKUs ever held)."""
    return {int(s): int(p) for s, p in db.session.execute(
        select(_balances.c.sku_id, _balances.c.pieces).where(
            _balances.c.tenant_id == tenant_id, _balances.c.kind == "agent", _balances.c.owner_id == member_id)
        .order_by(_balances.c.sku_id))}


def balance(*, tenant_id: int, account: Account, sku_id: int) -> int:
    """One account's pieces of one SKU (0 when it never held any); a brand account's
    (supply, held, shipped) over all its shards."""
    c = _balances.c
    owner = [c.owner_id == account[1]] if account[0] == "agent" else []
    return int(db.session.scalar(select(func.sum(c.pieces)).where(
        c.tenant_id == tenant_id, c.kind == account[0], c.sku_id == sku_id, *owner)) or 0)


def shards_of(*, tenant_id: int, keys: Sequence[str], kind: str) -> dict[str, Account]:
    """`shard_of` for several postings' keys in one read."""
    if not keys:
        return {}
    p, e, b = _postings.c, _entries.c, _balances.c
    found = dict(db.session.execute(
        select(p.idem_key, func.min(b.owner_id)).select_from(
            _postings.join(_entries, e.posting_id == p.id).join(_balances, _balances.c.id == e.balance_id))
        .where(p.tenant_id == tenant_id, p.idem_key.in_(list(keys)), b.kind == kind).group_by(p.idem_key))
        .tuples().all())
    return {k: (kind, int(found.get(k) or 0)) for k in keys}


def shard_of(*, tenant_id: int, key: str, kind: str) -> Account:
    """The brand account of this kind that the posting with this key moved pieces into
    (shard 0 when it moved none there: postings from before the shards)."""
    p, e, b = _postings.c, _entries.c, _balances.c
    owner = db.session.scalar(
        select(b.owner_id).select_from(_postings.join(_entries, e.posting_id == p.id)
                                       .join(_balances, _balances.c.id == e.balance_id))
        .where(p.tenant_id == tenant_id, p.idem_key == key, b.kind == kind).limit(1))
    return (kind, int(owner or 0))


@dataclass(frozen=True)
class CheckReport:
    tenant_id: int
    balances: int
    postings: int
    differences: list[dict[str, int]]  # balances that differ from the sum of their entries
    unbalanced_postings: list[int]  # postings whose entries do not sum to zero per SKU
    negative: list[int]  # agent balances below zero

    @property
    def ok(self) -> bool:
        return not (self.differences or self.unbalanced_postings or self.negative)


def check(*, tenant_id: int) -> CheckReport:
    """Rebuild every balance from the entries and compare; check every posting sums to zero."""
    sums = dict(db.session.execute(
        select(_entries.c.balance_id, func.sum(_entries.c.delta)).where(_entries.c.tenant_id == tenant_id)
        .group_by(_entries.c.balance_id)).tuples().all())
    rows = db.session.execute(select(_balances.c.id, _balances.c.kind, _balances.c.pieces)
                              .where(_balances.c.tenant_id == tenant_id)).all()
    differences = [{"balance_id": r.id, "balance": int(r.pieces), "entries": int(sums.get(r.id) or 0)}
                   for r in rows if int(r.pieces) != int(sums.get(r.id) or 0)]
    known = {r.id for r in rows}
    differences += [{"balance_id": int(b), "balance": 0, "entries": int(s)} for b, s in sums.items()
                    if b not in known]
    sku_of = dict(db.session.execute(select(_balances.c.id, _balances.c.sku_id)
                                     .where(_balances.c.tenant_id == tenant_id)).tuples().all())
    per_posting: dict[tuple[int, int], int] = defaultdict(int)
    for posting_id, balance_id, delta in db.session.execute(
            select(_entries.c.posting_id, _entries.c.balance_id, _entries.c.delta)
            .where(_entries.c.tenant_id == tenant_id)):
        per_posting[(posting_id, sku_of.get(balance_id, -1))] += delta
    unbalanced = sorted({p for (p, _), total in per_posting.items() if total})
    postings = db.session.scalar(select(func.count()).select_from(_postings)
                                 .where(_postings.c.tenant_id == tenant_id)) or 0
    negative = [r.id for r in rows if r.kind != "supply" and r.pieces < 0]
    return CheckReport(tenant_id, len(rows), int(postings), differences, unbalanced, negative)
