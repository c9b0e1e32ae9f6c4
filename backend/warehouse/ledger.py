"""The pieces ledger: post a balanced movement of pieces once per idempotency key,
never taking an agent's balance below zero, however many postings race.

    post(tenant_id=, key="transfer:12", kind="transfer", now=,
         legs=[Leg(agent(7), sku, -5), Leg(agent(9), sku, 5)])

1. the key is claimed with INSERT IGNORE on the unique (tenant, key): a replay (or a
   concurrent poster of the same key, once the first commits) finds the row and
   returns the first posting, touching nothing;
2. the balance rows are created when missing (INSERT IGNORE), then changed one
   guarded UPDATE each in ascending id order (`pieces = pieces - n WHERE pieces >= n`
   for a debit of an agent): two postings never wait on each other in a circle, and a
   debit that is not covered changes nothing and raises InsufficientPieces (the caller's
   unit of work rolls the posting back);
3. the entries are inserted in one statement.

Nothing here commits or reads the clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from backend import bulk
from backend.bulk import insert_ignore
from backend.extensions import db
from backend.warehouse.errors import InsufficientPieces
from backend.warehouse.models import StockBalance, StockEntry, StockPosting

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
        if not isinstance(leg.delta, int) or isinstance(leg.delta, bool) or leg.delta == 0:
            raise ValueError("a leg moves a non-zero whole number of pieces")
        per_sku[leg.sku_id] += leg.delta
    if any(per_sku.values()):
        raise ValueError(f"unbalanced pieces posting: {dict(per_sku)}")


def _balance_ids(tenant_id: int, keys: set[tuple[str, int, int]]) -> dict[tuple[str, int, int], int]:
    def read(lock: bool) -> dict[tuple[str, int, int], int]:
        stmt = (select(_balances.c.id, _balances.c.kind, _balances.c.owner_id, _balances.c.sku_id)
                .where(_balances.c.tenant_id == tenant_id, _balances.c.owner_id.in_({k[1] for k in keys}),
                       _balances.c.sku_id.in_({k[2] for k in keys})).order_by(_balances.c.id))
        # A locking read sees a row a concurrent poster created and committed after this
        # transaction's snapshot (the INSERT IGNORE below waited for it and skipped it).
        rows = db.session.execute(stmt.with_for_update() if lock else stmt)
        return {(r.kind, r.owner_id, r.sku_id): r.id for r in rows if (r.kind, r.owner_id, r.sku_id) in keys}

    found = read(False)
    missing = keys - found.keys()
    if missing:
        db.session.execute(insert_ignore(_balances), [
            {"tenant_id": tenant_id, "kind": k, "owner_id": o, "sku_id": s, "pieces": 0}
            for k, o, s in sorted(missing)])
        found = read(True)
        if found.keys() != keys:
            raise RuntimeError(f"stock balances not created: {sorted(keys - found.keys())}")
    return found


_DEBIT = (update(_balances).where(_balances.c.id == bindparam("b_id"), _balances.c.pieces >= bindparam("b_n"))
          .values(pieces=_balances.c.pieces - bindparam("b_n")))
_CHANGE = update(_balances).where(_balances.c.id == bindparam("b_id")).values(
    pieces=_balances.c.pieces + bindparam("b_n"))


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
    net: dict[tuple[str, int, int], int] = defaultdict(int)
    for leg in legs:
        net[(leg.account[0], leg.account[1], leg.sku_id)] += leg.delta
    ids = _balance_ids(tenant_id, set(net))
    for bkey in sorted(net, key=lambda k: ids[k]):
        n = net[bkey]
        if n == 0:
            continue
        if n < 0 and bkey[0] != "supply":
            if db.session.execute(_DEBIT, {"b_id": ids[bkey], "b_n": -n}).rowcount != 1:  # type: ignore[attr-defined]
                held = db.session.scalar(select(_balances.c.pieces).where(_balances.c.id == ids[bkey])) or 0
                raise InsufficientPieces(f"云仓库存不足：现有 {held} 件，需要 {-n} 件",
                                         details={"sku_id": bkey[2], "available": int(held), "wanted": -n})
        else:
            db.session.execute(_CHANGE, {"b_id": ids[bkey], "b_n": n})
    db.session.execute(_entries.insert(), [
        {"tenant_id": tenant_id, "posting_id": posting_id, "balance_id": ids[k], "delta": d, "created_at": now}
        for k, d in sorted(net.items(), key=lambda kv: ids[kv[0]]) if d])
    return Posted(posting_id, True)


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
    """One account's pieces of one SKU (0 when it never held any)."""
    return int(db.session.scalar(select(_balances.c.pieces).where(
        _balances.c.tenant_id == tenant_id, _balances.c.kind == account[0], _balances.c.owner_id == account[1],
        _balances.c.sku_id == sku_id)) or 0)


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
