"""Ledger verbs: resolve accounts, post a balanced movement exactly once, read balances
and entries, check and rebuild balances from the entries.

    post(tenant_id=, key=, kind=, legs=[Leg(member(AccountKind.MEMBER_FROZEN, 7), 3000),
                                        Leg(system(AccountKind.MERCHANT), -3000)], now=)

How `post` stays exactly-once and never overdraws, under any concurrency:
1. the key is claimed with INSERT IGNORE on the unique (tenant, key): a replay finds
   the row there and returns the first posting without touching any balance; a
   concurrent poster of the same key waits on the index lock until the first commits,
   then finds it and returns it (a rolled-back first lets the second proceed);
2. the balance shards it touches are locked in ascending (account id, shard) order in
   one statement — the UPDATE that increments them, or first a SELECT … FOR UPDATE
   when a debit must be covered (it locks all shards of that account and checks their
   sum; a one-shard account's covered debit, a stored-value payment, is checked by the
   UPDATE itself) — so two postings never wait on each other's balances in a circle;
3. the entries are inserted, in the caller's transaction; `post_many` does all this
   for a batch of postings with one update and one insert for all of them.

Services never commit: the caller's unit of work does. Nothing here reads the clock.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from backend import bulk
from backend.bulk import id_in, in_batches, insert_ignore
from backend.db import after_commit, in_unit_of_work, rowcount
from backend.extensions import db
from backend.ledger.errors import InsufficientBalance, UnbalancedPosting
from backend.ledger.models import (
    MAX_SHARDS,
    SHARDS,
    AccountKind,
    Entry,
    LedgerAccount,
    LedgerBalance,
    Posting,
    balance_row_id,
)
from backend.process_cache import ProcessCache

AccountRef = tuple[str, int]  # (kind, owner key): member id, −supplier id, or 0 for the tenant's own

_accounts = LedgerAccount.__table__
_balances = LedgerBalance.__table__
_postings = Posting.__table__
_entries = Entry.__table__
_random = random.Random()


def member(kind: str, member_id: int) -> AccountRef:
    """A member's account of one kind (frozen, available, stored value)."""
    if kind not in AccountKind.MEMBER or member_id <= 0:
        raise ValueError(f"not a member account: {kind} {member_id}")
    return (kind, member_id)


def supplier(kind: str, supplier_id: int) -> AccountRef:
    """A supplier's account of one kind (frozen, available); owner key −supplier id."""
    if kind not in AccountKind.SUPPLIER or supplier_id <= 0:
        raise ValueError(f"not a supplier account: {kind} {supplier_id}")
    return (kind, -supplier_id)


def system(kind: str) -> AccountRef:
    """One of the tenant's own accounts (merchant, clearing, transit, fees)."""
    if kind not in AccountKind.SYSTEM:
        raise ValueError(f"not a system account: {kind}")
    return (kind, 0)


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a posting. `covered`: this debit may not take the account below zero."""

    account: AccountRef
    amount_fen: int
    payout_id: int | None = None
    covered: bool = False


@dataclass(frozen=True, slots=True)
class PostingResult:
    posting_id: int
    created: bool  # False when the key had been posted before (a replay)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    kind: str
    owner_key: int
    shards: int


# ------------------------------------------------------------------ accounts


_SELECT_ACCOUNTS = (
    select(_accounts.c.id, _accounts.c.kind, _accounts.c.owner_key, _accounts.c.shards)
    .where(_accounts.c.tenant_id == bindparam("tenant_id"), _accounts.c.owner_key.in_(bindparam("owners", expanding=True)),
           _accounts.c.kind.in_(bindparam("kinds", expanding=True))))
# A locking read sees rows other transactions committed after our snapshot.
_SELECT_ACCOUNTS_LOCKED = _SELECT_ACCOUNTS.with_for_update(read=True)


def _select_accounts(tenant_id: int, refs: Iterable[AccountRef], *, lock: bool = False
                     ) -> dict[AccountRef, AccountInfo]:
    wanted = set(refs)
    params = {"tenant_id": tenant_id, "owners": sorted({o for _, o in wanted}),
              "kinds": sorted({k for k, _ in wanted})}
    out = {}
    for row in db.session.execute(_SELECT_ACCOUNTS_LOCKED if lock else _SELECT_ACCOUNTS, params):
        ref = (row.kind, row.owner_key)
        if ref in wanted:
            out[ref] = AccountInfo(row.id, row.kind, row.owner_key, row.shards)
    return out


# An account never changes once created (its id, kind, owner and number of shards), and
# is never deleted: every posting read the same rows again, a round trip per posting.
# Accounts are kept per process once the unit of work that read or created them has
# committed (never before: a rolled-back creation must not be remembered). The TTL only
# bounds how long an unused entry stays; ProcessCache also bounds how many.
_KNOWN: ProcessCache[AccountInfo] = ProcessCache("ledger_accounts", ttl=3600)


def _remember(tenant_id: int, accounts: Iterable[AccountInfo]) -> None:
    known = [(tenant_id, a.kind, a.owner_key, a) for a in accounts]
    def keep() -> None:
        for t, k, o, a in known:
            _KNOWN.put((t, k, o), a)

    if known and in_unit_of_work():
        after_commit(keep)


def ensure_accounts(*, tenant_id: int, refs: Iterable[AccountRef], now: datetime
                    ) -> dict[AccountRef, AccountInfo]:
    """The accounts named, created (with their balance shards) when missing."""
    wanted = set(refs)
    found: dict[AccountRef, AccountInfo] = {}
    for ref in wanted:
        hit = _KNOWN.peek((tenant_id, *ref))
        if hit is not None:
            found[ref] = hit
    if len(found) == len(wanted):
        return found
    read = _select_accounts(tenant_id, wanted - found.keys())
    _remember(tenant_id, read.values())
    found.update(read)
    missing = wanted - found.keys()
    if not missing:
        return found
    db.session.execute(insert_ignore(_accounts), [
        {"tenant_id": tenant_id, "kind": k, "owner_key": o, "shards": SHARDS[k], "created_at": now}
        for k, o in sorted(missing)])
    created = _select_accounts(tenant_id, missing, lock=True)
    if created.keys() != missing:
        raise RuntimeError(f"ledger accounts not created: {sorted(missing - created.keys())}")
    db.session.execute(insert_ignore(_balances), [
        {"id": balance_row_id(a.id, s), "account_id": a.id, "shard": s, "balance_fen": 0}
        for a in sorted(created.values(), key=lambda a: a.id) for s in range(a.shards)])
    _remember(tenant_id, created.values())
    found.update(created)
    return found


def find_accounts(*, tenant_id: int, owner_id: int) -> dict[str, AccountInfo]:
    """The existing accounts of one owner (a member id, or 0 for the tenant's own), by kind."""
    rows = db.session.execute(select(_accounts.c.id, _accounts.c.kind, _accounts.c.owner_key,
                                     _accounts.c.shards)
                              .where(_accounts.c.tenant_id == tenant_id, _accounts.c.owner_key == owner_id))
    return {r.kind: AccountInfo(r.id, r.kind, r.owner_key, r.shards) for r in rows}


# ------------------------------------------------------------------ posting


def _check_legs(legs: Sequence[Leg]) -> None:
    if not legs:
        raise UnbalancedPosting("a posting needs entries")
    total = 0
    for leg in legs:
        if not isinstance(leg.amount_fen, int) or isinstance(leg.amount_fen, bool):
            raise TypeError("amounts are integer fen")
        if leg.amount_fen == 0:
            raise UnbalancedPosting("zero-amount entry")
        if leg.covered and leg.amount_fen > 0:
            raise UnbalancedPosting("only a debit can be covered")
        total += leg.amount_fen
    if total != 0:
        raise UnbalancedPosting(f"entries sum to {total}, not 0")


def find_posting(*, tenant_id: int, key: str, lock: bool = False) -> int | None:
    """The id of the posting with this idempotency key, if any."""
    stmt = select(_postings.c.id).where(_postings.c.tenant_id == tenant_id, _postings.c.idem_key == key)
    if lock:
        stmt = stmt.with_for_update(read=True)
    return db.session.scalar(stmt)


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One posting of a batch (post_many): its key, kind, legs and references."""

    key: str
    kind: str
    legs: Sequence[Leg]
    memo: str = ""
    member_id: int | None = None
    order_id: int | None = None
    order_line_id: int | None = None
    withdrawal_id: int | None = None
    reverses_id: int | None = None


def post(*, tenant_id: int, key: str, kind: str, legs: Sequence[Leg], now: datetime, memo: str = "",
         member_id: int | None = None, order_id: int | None = None, order_line_id: int | None = None,
         withdrawal_id: int | None = None, reverses_id: int | None = None) -> PostingResult:
    """Post one balanced movement once per idempotency key; a replay returns the first.

    Raises InsufficientBalance (409) when a covered debit would take its account below
    zero; the caller's unit of work then rolls everything back.
    """
    return post_many(tenant_id=tenant_id, now=now, postings=[PostingSpec(
        key=key, kind=kind, legs=legs, memo=memo, member_id=member_id, order_id=order_id,
        order_line_id=order_line_id, withdrawal_id=withdrawal_id, reverses_id=reverses_id)])[0]


_POSTING_KEY_ID = (_postings.c.idem_key, _postings.c.id)


def _posting_row(tenant_id: int, p: PostingSpec, now: datetime) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "idem_key": p.key, "kind": p.kind, "memo": p.memo[:255],
            "member_id": p.member_id, "order_id": p.order_id, "order_line_id": p.order_line_id,
            "withdrawal_id": p.withdrawal_id, "reverses_id": p.reverses_id, "created_at": now}


def post_many(*, tenant_id: int, postings: Sequence[PostingSpec], now: datetime,
              keys_owned: bool = False) -> list[PostingResult]:
    """Post several movements at once, each once per key (results in the same order).

    Same guarantees as `post`; the balances of all of them are locked in one statement
    (ascending), changed in one and their entries written in one, so a paid order's
    payment and its lines' rewards, or a settlement batch, cost a few round trips.

    keys_owned: the caller's row locks already make these keys its own — none was
    posted before and nobody can post one concurrently (the settlement job holding the
    accruals it settles). The postings are then inserted in one statement; a key that
    exists anyway is an IntegrityError, a bug, not a replay.
    """
    keys = [p.key for p in postings]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys in one batch")
    for p in postings:
        _check_legs(p.legs)
    if not postings:
        return []
    results: list[PostingResult] = []
    claimed: list[tuple[PostingSpec, int]] = []
    if keys_owned:
        ids = dict(bulk.insert_rows(_postings, [_posting_row(tenant_id, p, now) for p in postings],
                                    returning=_POSTING_KEY_ID))
        claimed = [(p, ids[p.key]) for p in postings]
        results = [PostingResult(ids[p.key], True) for p in postings]
    else:
        # One INSERT IGNORE for the batch (keys claimed in the batch's order, as one by
        # one): RETURNING names the rows it inserted; every other key was posted before.
        rows = [_posting_row(tenant_id, p, now) for p in postings]
        if len(rows) == 1:  # one claim (a payment, a restock): its id in the OK packet, no result set
            got = bulk.insert_rows(_postings, rows, ignore=True, returning=[_postings.c.id])
            inserted = {postings[0].key: got[0][0]} if got else {}
        else:
            inserted = dict(bulk.insert_rows(_postings, rows, ignore=True, returning=_POSTING_KEY_ID))
        for p in postings:
            posting_id = inserted.get(p.key)
            if posting_id is not None:
                claimed.append((p, posting_id))
                results.append(PostingResult(posting_id, True))
                continue
            first = find_posting(tenant_id=tenant_id, key=p.key, lock=True)
            if first is None:  # pragma: no cover - the ignored insert collided with a row that vanished
                raise RuntimeError(f"posting key {p.key!r} collided but is not there")
            results.append(PostingResult(first, False))
    if not claimed:
        return results
    legs = [leg for p, _ in claimed for leg in p.legs]
    accounts = ensure_accounts(tenant_id=tenant_id, refs={leg.account for leg in legs}, now=now)
    _apply_to_balances(accounts, legs)
    bulk.insert_rows(_entries, [
        {"tenant_id": tenant_id, "posting_id": posting_id, "account_id": accounts[leg.account].id,
         "amount_fen": leg.amount_fen, "payout_id": leg.payout_id} for p, posting_id in claimed for leg in p.legs])
    return results


_BALANCE_UPDATES: dict[tuple[int, bool], Any] = {}


def _balance_update(n: int, *, guarded: bool = False) -> Any:
    """UPDATE adding a delta to each of n shard rows (:i0… ids ascending, :d0… deltas),
    built once per (n, guarded): no statement to build or cache key to compute per
    posting. `guarded`: the row :g (one of the :i… ids, the one shard of an account with
    a covered debit) changes only if it stays at or above zero."""
    stmt = _BALANCE_UPDATES.get((n, guarded))
    if stmt is None:
        if len(_BALANCE_UPDATES) >= 256:
            _BALANCE_UPDATES.clear()
        ids = [bindparam(f"i{k}", type_=_balances.c.id.type) for k in range(n)]
        deltas = [bindparam(f"d{k}", type_=_balances.c.balance_fen.type) for k in range(n)]
        added = case(dict(zip(ids, deltas, strict=True)), value=_balances.c.id, else_=0)
        stmt = update(_balances).where(_balances.c.id.in_(ids))
        if guarded:
            stmt = stmt.where(~and_(_balances.c.id == bindparam("g", type_=_balances.c.id.type),
                                    _balances.c.balance_fen + added < 0))
        stmt = _BALANCE_UPDATES[(n, guarded)] = stmt.values(balance_fen=_balances.c.balance_fen + added)
    return stmt


def _update_params(changes: Mapping[int, int]) -> dict[str, int]:
    """_balance_update's parameters for these {shard row id: delta}, ids ascending."""
    ids = sorted(changes)
    params = {f"i{k}": row_id for k, row_id in enumerate(ids)}
    params.update((f"d{k}", changes[row_id]) for k, row_id in enumerate(ids))
    return params


def _apply_to_balances(accounts: dict[AccountRef, AccountInfo], legs: Sequence[Leg]) -> None:
    delta: dict[int, int] = defaultdict(int)
    covered: set[int] = set()
    info: dict[int, AccountInfo] = {}
    for leg in legs:
        a = accounts[leg.account]
        info[a.id] = a
        delta[a.id] += leg.amount_fen
        if leg.covered:
            covered.add(a.id)
    lock_ids: list[int] = []
    target: dict[int, int] = {}  # account id -> the shard row that takes its delta
    for account_id in sorted(info):
        a = info[account_id]
        if account_id in covered:
            rows = [balance_row_id(account_id, s) for s in range(a.shards)]
            lock_ids.extend(rows)
            target[account_id] = rows[0]
        else:
            row = balance_row_id(account_id, _random.randrange(a.shards))
            lock_ids.append(row)
            target[account_id] = row
    changes = {target[acc]: d for acc, d in delta.items() if d}
    if len(covered) == 1 and info[min(covered)].shards == 1 and delta[min(covered)] < 0:
        # The covered account (a member's stored value: one shard) is debited: one
        # UPDATE applies the batch and checks it (the shard is left unchanged when it
        # would go below zero, so the count falls short), walking the rows in ascending
        # id order as below. Short: InsufficientBalance, and the caller's unit of work
        # rolls back what the statement did change (as it rolls back the postings).
        (account_id,) = covered
        guarded = target[account_id]
        if rowcount(db.session.execute(_balance_update(len(changes), guarded=True),
                                       {**_update_params(changes), "g": guarded})) == len(changes):
            return
        have = db.session.scalar(select(_balances.c.balance_fen).where(_balances.c.id == guarded))
        if have is not None and have + changes[guarded] < 0:  # unchanged: short of money
            raise InsufficientBalance(details={"account": info[account_id].kind, "balance_fen": int(have),
                                               "needed_fen": -delta[account_id]})
        raise RuntimeError("ledger balance shards missing; run `flask ledger check --fix`")
    if covered:
        # Read (and lock) every shard first: the covered sums must hold until commit.
        locked = dict(db.session.execute(
            select(_balances.c.id, _balances.c.balance_fen).where(_balances.c.id.in_(lock_ids))
            .order_by(_balances.c.id).with_for_update()).all())
        if len(locked) != len(lock_ids):
            raise RuntimeError("ledger balance shards missing; run `flask ledger check --fix`")
        for account_id in sorted(covered):
            a = info[account_id]
            have = sum(locked[balance_row_id(account_id, s)] for s in range(a.shards))
            if have + delta[account_id] < 0:
                raise InsufficientBalance(details={"account": a.kind, "balance_fen": have,
                                                   "needed_fen": -delta[account_id]})
    if not changes:
        return
    # One statement for every shard the batch changes. Without a covered debit it is
    # also the lock: the UPDATE walks the primary key ascending, the same order as the
    # SELECT … FOR UPDATE above, so no two postings ever wait on each other in a circle.
    done = db.session.execute(_balance_update(len(changes)), _update_params(changes))
    if not covered and rowcount(done) != len(changes):
        raise RuntimeError("ledger balance shards missing; run `flask ledger check --fix`")


# ------------------------------------------------------------------ reading


def lock_balance(*, tenant_id: int, account: AccountRef) -> int:
    """Lock every shard of an account (FOR UPDATE) and return its balance; 0 when it has
    no account yet. Taken before checks that must hold until the caller commits."""
    found = _select_accounts(tenant_id, [account])
    a = found.get(account)
    if a is None:
        return 0
    rows = db.session.execute(
        select(_balances.c.balance_fen).where(_balances.c.id.in_(
            [balance_row_id(a.id, s) for s in range(a.shards)])).order_by(_balances.c.id).with_for_update())
    return int(sum(r[0] for r in rows))


def balances_of(*, tenant_id: int, owner_id: int) -> dict[str, int]:
    """An owner's balance per account kind (member id, or 0 for the tenant's accounts)."""
    rows = db.session.execute(
        select(_accounts.c.kind, func.coalesce(func.sum(_balances.c.balance_fen), 0))
        .join(_balances, _balances.c.account_id == _accounts.c.id)
        .where(_accounts.c.tenant_id == tenant_id, _accounts.c.owner_key == owner_id)
        .group_by(_accounts.c.kind))
    return {kind: int(total) for kind, total in rows}


def balances_by_member(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Balances of many members at once: {member id: {kind: fen}} (set-based, one query)."""
    out: dict[int, dict[str, int]] = {m: {} for m in member_ids}
    if not member_ids:
        return out
    rows = db.session.execute(
        select(_accounts.c.owner_key, _accounts.c.kind, func.sum(_balances.c.balance_fen))
        .join(_balances, _balances.c.account_id == _accounts.c.id)
        .where(_accounts.c.tenant_id == tenant_id, _accounts.c.owner_key.in_(list(member_ids)))
        .group_by(_accounts.c.owner_key, _accounts.c.kind))
    for owner, kind, total in rows:
        out.setdefault(owner, {})[kind] = int(total or 0)
    return out


def balances_by_kind(*, tenant_id: int) -> dict[str, int]:
    """The tenant's balances summed per account kind, every owner together."""
    rows = db.session.execute(
        select(_accounts.c.kind, func.sum(_balances.c.balance_fen))
        .join(_balances, _balances.c.account_id == _accounts.c.id)
        .where(_accounts.c.tenant_id == tenant_id).group_by(_accounts.c.kind))
    return {kind: int(total or 0) for kind, total in rows}


def member_credits_between(*, tenant_id: int, start: datetime, end: datetime,
                           settle_kinds: Sequence[str]) -> Iterator[tuple[int, str, int]]:
    """(member id, account kind, fen) of every credit posted in [start, end) to a
    member's frozen account, or to its available account by a posting of `settle_kinds`
    (rewards settled, bonuses): streamed from one range over the window's postings. Not
    grouped here: one group per member overflows MariaDB's in-memory temporary table and
    costs more than the rows themselves."""
    stmt = (select(LedgerAccount.owner_key, LedgerAccount.kind, Entry.amount_fen)
            .select_from(Posting)
            .join(Entry, Entry.posting_id == Posting.id)
            .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
            .where(Posting.tenant_id == tenant_id, Posting.created_at >= start, Posting.created_at < end,
                   Entry.amount_fen > 0,
                   or_(LedgerAccount.kind == AccountKind.MEMBER_FROZEN,
                       and_(LedgerAccount.kind == AccountKind.MEMBER_AVAILABLE,
                            Posting.kind.in_(list(settle_kinds))))))
    yield from db.session.execute(stmt).tuples()


def owner_credits_between(*, tenant_id: int, owner_id: int, kinds: Sequence[str], start: datetime,
                          end: datetime) -> list[tuple[str, str, int]]:
    """(account kind, posting kind, fen credited) of one owner's accounts of these kinds
    in [start, end), grouped (one owner's rows through its accounts' index)."""
    rows = db.session.execute(
        select(LedgerAccount.kind, Posting.kind, func.sum(Entry.amount_fen))
        .select_from(LedgerAccount)
        .join(Entry, Entry.account_id == LedgerAccount.id)
        .join(Posting, Posting.id == Entry.posting_id)
        .where(LedgerAccount.tenant_id == tenant_id, LedgerAccount.owner_key == owner_id,
               LedgerAccount.kind.in_(list(kinds)),
               Entry.amount_fen > 0, Posting.created_at >= start, Posting.created_at < end)
        .group_by(LedgerAccount.kind, Posting.kind))
    return [(account_kind, posting_kind, int(total or 0)) for account_kind, posting_kind, total in rows]


def balances_of_kind(*, tenant_id: int, kind: str, owner_ids: Iterable[int]) -> dict[int, int]:
    """{owner: balance fen} of these owners' accounts of one kind, the non-zero ones: the
    sum of each account's balance shards (one query per IN list of bulk.IN_BATCH ids)."""
    out: dict[int, int] = {}
    for ids in in_batches(owner_ids):
        for owner, total in db.session.execute(
                select(LedgerAccount.owner_key, func.sum(LedgerBalance.balance_fen))
                .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
                .where(LedgerAccount.tenant_id == tenant_id, id_in(LedgerAccount.owner_key, ids),
                       LedgerAccount.kind == kind)
                .group_by(LedgerAccount.owner_key)):
            if total:
                out[owner] = int(total)
    return out


def postings_page(*, tenant_id: int, before_id: int | None = None, limit: int = 50,
                  start: datetime | None = None, end: datetime | None = None,
                  order_id: int | None = None, member_id: int | None = None) -> list[Posting]:
    """The tenant's postings newest first, keyset-paged by id, optionally of a window,
    an order or a member."""
    stmt = select(Posting).where(Posting.tenant_id == tenant_id)
    if before_id is not None:
        stmt = stmt.where(Posting.id < before_id)
    if start is not None:
        stmt = stmt.where(Posting.created_at >= start)
    if end is not None:
        stmt = stmt.where(Posting.created_at < end)
    if order_id is not None:
        stmt = stmt.where(Posting.order_id == order_id)
    if member_id is not None:
        stmt = stmt.where(Posting.member_id == member_id)
    return list(db.session.scalars(stmt.order_by(Posting.id.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class EntryLine:
    """An entry with its posting, as statements list them."""

    entry_id: int
    account_kind: str
    owner_key: int
    amount_fen: int
    payout_id: int | None
    posting_id: int
    posting_kind: str
    idem_key: str
    memo: str
    member_id: int | None
    order_id: int | None
    order_line_id: int | None
    withdrawal_id: int | None
    reverses_id: int | None
    created_at: datetime


def _entry_lines_stmt(tenant_id: int) -> Any:
    return (select(_entries.c.id, _accounts.c.kind, _accounts.c.owner_key, _entries.c.amount_fen,
                   _entries.c.payout_id, _postings.c.id.label("posting_id"),
                   _postings.c.kind.label("posting_kind"), _postings.c.idem_key, _postings.c.memo,
                   _postings.c.member_id, _postings.c.order_id, _postings.c.order_line_id,
                   _postings.c.withdrawal_id, _postings.c.reverses_id, _postings.c.created_at)
            .join(_accounts, _accounts.c.id == _entries.c.account_id)
            .join(_postings, _postings.c.id == _entries.c.posting_id)
            .where(_entries.c.tenant_id == tenant_id))


def _entry_line(r: Any) -> EntryLine:
    return EntryLine(r.id, r.kind, r.owner_key, int(r.amount_fen), r.payout_id, r.posting_id, r.posting_kind,
                     r.idem_key, r.memo, r.member_id, r.order_id, r.order_line_id, r.withdrawal_id,
                     r.reverses_id, r.created_at)


def entries_of_owner(*, tenant_id: int, owner_id: int, before_id: int | None = None, limit: int = 50,
                     start: datetime | None = None, end: datetime | None = None,
                     kinds: Sequence[str] | None = None) -> list[EntryLine]:
    """Entries on one owner's accounts (a member's statement), newest first, keyset-paged."""
    accounts = find_accounts(tenant_id=tenant_id, owner_id=owner_id)
    ids = [a.id for k, a in accounts.items() if kinds is None or k in kinds]
    if not ids:
        return []
    stmt = _entry_lines_stmt(tenant_id).where(_entries.c.account_id.in_(ids))
    if before_id is not None:
        stmt = stmt.where(_entries.c.id < before_id)
    if start is not None:
        stmt = stmt.where(_postings.c.created_at >= start)
    if end is not None:
        stmt = stmt.where(_postings.c.created_at < end)
    return [_entry_line(r) for r in db.session.execute(stmt.order_by(_entries.c.id.desc()).limit(limit))]


def iter_entries(*, tenant_id: int, start: datetime | None = None, end: datetime | None = None,
                 owner_id: int | None = None, batch: int = 1000) -> Iterator[EntryLine]:
    """Every entry of a tenant (or of one owner) in posting order, streamed in batches."""
    ids: list[int] | None = None
    if owner_id is not None:
        ids = [a.id for a in find_accounts(tenant_id=tenant_id, owner_id=owner_id).values()]
        if not ids:
            return
    after = 0
    while True:
        stmt = _entry_lines_stmt(tenant_id).where(_entries.c.id > after)
        if ids is not None:
            stmt = stmt.where(_entries.c.account_id.in_(ids))
        if start is not None:
            stmt = stmt.where(_postings.c.created_at >= start)
        if end is not None:
            stmt = stmt.where(_postings.c.created_at < end)
        rows = [_entry_line(r) for r in db.session.execute(stmt.order_by(_entries.c.id).limit(batch))]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].entry_id


def posting_entries(*, tenant_id: int, posting_ids: Sequence[int]) -> dict[int, list[EntryLine]]:
    """The entries of some postings, by posting id, each in entry order."""
    out: dict[int, list[EntryLine]] = {pid: [] for pid in posting_ids}
    if not posting_ids:
        return out
    stmt = (_entry_lines_stmt(tenant_id).where(_entries.c.posting_id.in_(list(posting_ids)))
            .order_by(_entries.c.id))
    for r in db.session.execute(stmt):
        out[r.posting_id].append(_entry_line(r))
    return out


# ------------------------------------------------------------------ check and rebuild


@dataclass
class BalanceDifference:
    account_id: int
    kind: str
    owner_key: int
    balance_fen: int  # what the balances table says
    entries_fen: int  # what the entries add up to


@dataclass
class LedgerReport:
    tenant_id: int
    accounts: int = 0
    postings: int = 0
    entries: int = 0
    entries_total_fen: int = 0  # sum over every entry: must be 0
    balances_total_fen: int = 0  # sum over every balance shard: must be 0
    differences: list[BalanceDifference] = field(default_factory=list)
    unbalanced_postings: list[int] = field(default_factory=list)
    missing_shards: int = 0
    accounts_missing_shards: list[int] = field(default_factory=list)
    fixed: int = 0

    @property
    def ok(self) -> bool:
        return (not self.differences and not self.unbalanced_postings and self.missing_shards == 0
                and self.entries_total_fen == 0 and self.balances_total_fen == 0)

    def as_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "ok": self.ok, "accounts": self.accounts,
                "postings": self.postings, "entries": self.entries,
                "entries_total_fen": self.entries_total_fen, "balances_total_fen": self.balances_total_fen,
                "differences": [d.__dict__ for d in self.differences],
                "unbalanced_postings": self.unbalanced_postings, "missing_shards": self.missing_shards,
                "fixed": self.fixed}


def check_ledger(*, tenant_id: int) -> LedgerReport:
    """Rebuild every balance of a tenant from its entries and compare with the balances
    table; check that each posting and the whole tenant sum to zero. Reads only; run it
    in one transaction so both sides come from the same snapshot."""
    report = LedgerReport(tenant_id=tenant_id)
    accounts = {r.id: r for r in db.session.execute(
        select(_accounts.c.id, _accounts.c.kind, _accounts.c.owner_key, _accounts.c.shards)
        .where(_accounts.c.tenant_id == tenant_id))}
    report.accounts = len(accounts)
    from_entries: dict[int, int] = {}
    n_entries = 0
    for account_id, total, n in db.session.execute(
            select(_entries.c.account_id, func.sum(_entries.c.amount_fen), func.count())
            .where(_entries.c.tenant_id == tenant_id).group_by(_entries.c.account_id)):
        from_entries[account_id] = int(total or 0)
        n_entries += int(n)
    report.entries = n_entries
    report.entries_total_fen = sum(from_entries.values())
    from_balances: dict[int, int] = {}
    shard_rows = 0
    shard_counts: dict[int, int] = {}
    for account_id, total, n in db.session.execute(
            select(_balances.c.account_id, func.sum(_balances.c.balance_fen), func.count())
            .join(_accounts, _accounts.c.id == _balances.c.account_id)
            .where(_accounts.c.tenant_id == tenant_id).group_by(_balances.c.account_id)):
        from_balances[account_id] = int(total or 0)
        shard_rows += int(n)
        shard_counts[account_id] = int(n)
    report.balances_total_fen = sum(from_balances.values())
    report.missing_shards = sum(a.shards for a in accounts.values()) - shard_rows
    report.accounts_missing_shards = [i for i, a in sorted(accounts.items())
                                      if shard_counts.get(i, 0) < a.shards][:1000]
    for account_id in sorted(set(accounts) | set(from_entries) | set(from_balances)):
        have, should = from_balances.get(account_id, 0), from_entries.get(account_id, 0)
        if have != should:
            a = accounts.get(account_id)
            report.differences.append(BalanceDifference(
                account_id=account_id, kind=a.kind if a else "?", owner_key=a.owner_key if a else -1,
                balance_fen=have, entries_fen=should))
    report.postings = int(db.session.scalar(
        select(func.count()).select_from(_postings).where(_postings.c.tenant_id == tenant_id)) or 0)
    report.unbalanced_postings = [int(pid) for pid in db.session.scalars(
        select(_entries.c.posting_id).where(_entries.c.tenant_id == tenant_id)
        .group_by(_entries.c.posting_id).having(func.sum(_entries.c.amount_fen) != 0)
        .order_by(_entries.c.posting_id).limit(1000))]
    return report


def fix_account_balance(*, tenant_id: int, account_id: int) -> bool:
    """Make one account's balance equal the sum of its entries (shard 0 takes it all).

    Run it as the first statement of a fresh unit of work: the shards are locked first,
    so every posting on this account has committed or waits, and the sum that follows
    sees them all. Returns whether anything changed."""
    a = db.session.execute(select(_accounts.c.id, _accounts.c.shards).where(
        _accounts.c.tenant_id == tenant_id, _accounts.c.id == account_id)).first()
    if a is None:
        return False
    ids = [balance_row_id(a.id, s) for s in range(a.shards)]
    locked = dict(db.session.execute(select(_balances.c.id, _balances.c.balance_fen)
                                     .where(_balances.c.id.in_(ids)).order_by(_balances.c.id)
                                     .with_for_update()).all())
    should = int(db.session.scalar(select(func.coalesce(func.sum(_entries.c.amount_fen), 0))
                                   .where(_entries.c.account_id == a.id)) or 0)
    missing = [i for i in ids if i not in locked]
    if missing:
        db.session.execute(insert_ignore(_balances), [
            {"id": i, "account_id": a.id, "shard": i % MAX_SHARDS, "balance_fen": 0} for i in missing])
    if sum(locked.values()) == should and not missing:
        return False  # right in total; how it is spread over shards does not matter
    db.session.execute(update(_balances).where(_balances.c.id.in_(ids)).values(balance_fen=0))
    db.session.execute(update(_balances).where(_balances.c.id == ids[0]).values(balance_fen=should))
    return True
