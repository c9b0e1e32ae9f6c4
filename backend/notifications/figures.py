"""The figures of a day, for every member of a tenant at once (set-based: a handful of
range queries per tenant and day, summed here, never one query per member).

Each source is read through the owning domain's service (no other domain's tables are
read here); this module only sums:
- new team members by level: members (bound_at and the three ancestor columns);
- team orders: orders paid in the window, attributed to the buyer's three ancestors;
- commission frozen / settled: ledger entries on members' frozen / available accounts;
- balance: the sum of the member_available account's balance shards (what
  backend.ledger.service.balances_by_member reports for that kind).

Results are sparse dicts keyed by member id: only members with something that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from backend.bulk import IN_BATCH, id_in, in_batches  # noqa: F401  (re-exported: notifications' IN lists)
from backend.ledger import service as ledger
from backend.ledger.types import AccountKind
from backend.members import service as members
from backend.orders import service as orders

# Ledger posting kinds whose member_available credits count as settled: settlements of
# frozen rewards, and bonuses credited straight to the withdrawable balance (finance).
SETTLE_POSTING_KINDS = ("reward_settle", "reward_bonus")


def new_team_counts(*, tenant_id: int, start: datetime, end: datetime,
                    member_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """{ancestor id: [level-1, level-2, level-3 new members]} for members bound in [start, end)."""
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p, g, gg in members.bound_between(tenant_id=tenant_id, start=start, end=end):
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
    buyers = orders.paid_by_buyer(tenant_id=tenant_id, start=start, end=end)
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for buyer, *ancestors in members.uplines_of(tenant_id=tenant_id, member_ids=buyers):
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
    rewards that moved from frozen to withdrawable in it (ledger postings of the window)."""
    wanted = None if member_ids is None else set(member_ids)
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for owner, account_kind, amount in ledger.member_credits_between(
            tenant_id=tenant_id, start=start, end=end, settle_kinds=SETTLE_POSTING_KINDS):
        if wanted is None or owner in wanted:
            out[owner][0 if account_kind == AccountKind.MEMBER_FROZEN else 1] += int(amount)
    return dict(out)


def available_balances(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, int]:
    """{member id: withdrawable balance fen} for the given members, the non-zero ones: the
    sum of their member_available account's balance shards (one query per IN batch)."""
    return ledger.balances_of_kind(tenant_id=tenant_id, kind=AccountKind.MEMBER_AVAILABLE, owner_ids=member_ids)


def tenant_order_totals(*, tenant_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    """(orders, paid fen) of the whole tenant paid in [start, end)."""
    sales = orders.sales_between(tenant_id=tenant_id, start=start, end=end)
    return sales["orders"], sales["paid_fen"]


def member_figures(*, tenant_id: int, member_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """One member's figures for [start, end) through the per-member indexes (the bot's
    "today"; also the benchmark's per-member baseline)."""
    out: dict[str, int] = {}
    for level, n in enumerate(members.new_team_of(tenant_id=tenant_id, member_id=member_id, start=start,
                                                  end=end), 1):
        out[f"new_l{level}"] = n
    team = [m for level_ids in members.team_ids(tenant_id=tenant_id, member_id=member_id) for m in level_ids]
    out["orders"], out["order_fen"] = orders.paid_by_buyers_between(tenant_id=tenant_id, member_ids=team,
                                                                    start=start, end=end)
    out["frozen_fen"] = out["settled_fen"] = 0
    for account_kind, posting_kind, total in ledger.owner_credits_between(
            tenant_id=tenant_id, owner_id=member_id, kinds=(AccountKind.MEMBER_FROZEN, AccountKind.MEMBER_AVAILABLE),
            start=start, end=end):
        if account_kind == AccountKind.MEMBER_FROZEN:
            out["frozen_fen"] += total
        elif posting_kind in SETTLE_POSTING_KINDS:
            out["settled_fen"] += total
    out["balance_fen"] = available_balances(tenant_id=tenant_id, member_ids=[member_id]).get(member_id, 0)
    return out
