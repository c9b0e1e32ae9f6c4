"""The figures of a day, for every member of a tenant at once (set-based: a handful of
range queries per tenant and day, summed here, never one query per member).

Each source sits behind one small function reading the owning domain's tables or
calling its service, so a change there touches one function here:
- new team members by level: members (bound_at and the three ancestor columns);
- team orders: orders paid in the window, attributed to the buyer's three ancestors;
- commission frozen / settled: ledger entries on members' frozen / available accounts;
- balance: the sum of the member_available account's balance shards (what
  backend.ledger.service.balances_by_member reports for that kind).

Results are sparse dicts keyed by member id: only members with something that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select

from backend.extensions import db
from backend.ledger.models import AccountKind, Entry, LedgerAccount, LedgerBalance, Posting
from backend.members.models import Member
from backend.orders.models import Order

# Ledger posting kinds whose member_available credits count as settled: settlements of
# frozen rewards, and bonuses credited straight to the withdrawable balance (finance).
SETTLE_POSTING_KINDS = ("reward_settle", "reward_bonus")


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


def new_team_counts(*, tenant_id: int, start: datetime, end: datetime,
                    member_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """{ancestor id: [level-1, level-2, level-3 new members]} for members bound in [start, end)."""
    stmt = select(Member.parent_id, Member.grandparent_id, Member.great_grandparent_id).where(
        Member.tenant_id == tenant_id, Member.bound_at >= start, Member.bound_at < end,
        Member.parent_id.is_not(None))
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p, g, gg in db.session.execute(stmt):
        for level, a in enumerate((p, g, gg)):
            if a is not None and (wanted is None or a in wanted):
                out[a][level] += 1
    return dict(out)


def team_order_figures(*, tenant_id: int, start: datetime, end: datetime,
                       member_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """{ancestor id: [orders, paid fen]} for orders paid in [start, end) by the ancestor's
    team members at levels 1–3 (the buyer's current upline).

    Two steps rather than one join: the window's orders summed per buyer (a range on
    orders (tenant_id, paid_at)), then the buyers' uplines read in id order through the
    primary key. A join would look the buyers up in order of payment, one random page
    of a table far bigger than the buffer pool at a time."""
    buyers: dict[int, list[int]] = {}
    for buyer, paid in db.session.execute(select(Order.member_id, Order.paid_fen).where(
            Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end)):
        b = buyers.get(buyer)
        if b is None:
            buyers[buyer] = [1, int(paid or 0)]
        else:
            b[0] += 1
            b[1] += int(paid or 0)
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for ids in in_batches(list(buyers)):
        for buyer, *ancestors in db.session.execute(
                select(Member.id, Member.parent_id, Member.grandparent_id, Member.great_grandparent_id)
                .where(Member.tenant_id == tenant_id, id_in(Member.id, ids), Member.parent_id.is_not(None))):
            count, paid = buyers[buyer]
            for a in ancestors:
                if a is not None and (wanted is None or a in wanted):
                    figures = out[a]
                    figures[0] += count
                    figures[1] += paid
    return dict(out)


def commission_figures(*, tenant_id: int, start: datetime, end: datetime,
                       member_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """{member id: [frozen fen, settled fen]}: rewards credited frozen in [start, end), and
    rewards that moved from frozen to withdrawable in it (ledger postings of the window).

    The credits are summed here, not by a GROUP BY: one group per member overflows
    MariaDB's in-memory temporary table and costs more than the rows themselves."""

    stmt = (select(LedgerAccount.owner_key, LedgerAccount.kind, Posting.kind, Entry.amount_fen)
            .select_from(Posting)
            .join(Entry, Entry.posting_id == Posting.id)
            .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
            .where(Posting.tenant_id == tenant_id, Posting.created_at >= start, Posting.created_at < end,
                   Entry.amount_fen > 0,
                   or_(LedgerAccount.kind == AccountKind.MEMBER_FROZEN,
                       and_(LedgerAccount.kind == AccountKind.MEMBER_AVAILABLE,
                            Posting.kind.in_(SETTLE_POSTING_KINDS)))))
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for owner, account_kind, _, amount in db.session.execute(stmt):
        if wanted is None or owner in wanted:
            out[owner][0 if account_kind == AccountKind.MEMBER_FROZEN else 1] += int(amount)
    return dict(out)


def available_balances(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, int]:
    """{member id: withdrawable balance fen} for the given members, the non-zero ones: the
    sum of their member_available account's balance shards (one query per IN batch)."""
    out: dict[int, int] = {}
    for ids in in_batches(member_ids):
        for owner, total in db.session.execute(
                select(LedgerAccount.owner_key, func.sum(LedgerBalance.balance_fen))
                .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
                .where(LedgerAccount.tenant_id == tenant_id, id_in(LedgerAccount.owner_key, ids),
                       LedgerAccount.kind == AccountKind.MEMBER_AVAILABLE)
                .group_by(LedgerAccount.owner_key)):
            if total:
                out[owner] = int(total)
    return out


def tenant_order_totals(*, tenant_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    """(orders, paid fen) of the whole tenant paid in [start, end)."""
    count, total = db.session.execute(select(func.count(), func.coalesce(func.sum(Order.paid_fen), 0)).where(
        Order.tenant_id == tenant_id, Order.paid_at >= start, Order.paid_at < end)).one()
    return int(count or 0), int(total or 0)


_LEVELS = (Member.parent_id, Member.grandparent_id, Member.great_grandparent_id)


def member_figures(*, tenant_id: int, member_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """One member's figures for [start, end) through the per-member indexes (the bot's
    "today"; also the benchmark's per-member baseline)."""
    out: dict[str, int] = {}
    for level, column in enumerate(_LEVELS, 1):
        out[f"new_l{level}"] = int(db.session.scalar(select(func.count()).select_from(Member).where(
            Member.tenant_id == tenant_id, column == member_id, Member.bound_at >= start,
            Member.bound_at < end)) or 0)
    out["orders"] = out["order_fen"] = 0
    for column in _LEVELS:
        count, paid = db.session.execute(
            select(func.count(), func.coalesce(func.sum(Order.paid_fen), 0))
            .select_from(Member)
            .join(Order, and_(Order.member_id == Member.id, Order.tenant_id == Member.tenant_id))
            .where(Member.tenant_id == tenant_id, column == member_id, Order.paid_at >= start,
                   Order.paid_at < end)).one()
        out["orders"] += int(count or 0)
        out["order_fen"] += int(paid or 0)

    out["frozen_fen"] = out["settled_fen"] = 0
    rows = db.session.execute(
        select(LedgerAccount.kind, Posting.kind, func.sum(Entry.amount_fen))
        .select_from(LedgerAccount)
        .join(Entry, Entry.account_id == LedgerAccount.id)
        .join(Posting, Posting.id == Entry.posting_id)
        .where(LedgerAccount.tenant_id == tenant_id, LedgerAccount.owner_key == member_id,
               LedgerAccount.kind.in_((AccountKind.MEMBER_FROZEN, AccountKind.MEMBER_AVAILABLE)),
               Entry.amount_fen > 0, Posting.created_at >= start, Posting.created_at < end)
        .group_by(LedgerAccount.kind, Posting.kind))
    for account_kind, posting_kind, total in rows:
        if account_kind == AccountKind.MEMBER_FROZEN:
            out["frozen_fen"] += int(total or 0)
        elif posting_kind in SETTLE_POSTING_KINDS:
            out["settled_fen"] += int(total or 0)
    out["balance_fen"] = available_balances(tenant_id=tenant_id, member_ids=[member_id]).get(member_id, 0)
    return out
