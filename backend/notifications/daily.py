"""The daily summary: every active promoter's day in figures, queued to their channel.

Set-based: the day's activity is read once per tenant as sparse dicts (a few grouped
queries, see figures.py); promoters are then walked in id chunks, each chunk costing
one query for its ids plus, for the members with something to report, one for
balances and three for how to reach them. One chunk is one unit of work: its outbox
rows and the run's high-water mark commit together, so a crashed run resumes at the
next chunk and never queues a summary twice (the dedupe key backs that up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Member
from backend.notifications import figures
from backend.notifications.contacts import reach_of
from backend.notifications.messages import BrandDay, DaySummary, day_window
from backend.notifications.models import DailyRun
from backend.notifications.routing import choose_route
from backend.notifications.service import get_settings, insert_outbox_rows

CHUNK = 20000


@dataclass
class DayFigures:
    """A tenant's day, sparse: only members with activity appear."""

    day: date
    new: dict[int, list[int]] = field(default_factory=dict)  # member → [l1, l2, l3]
    orders: dict[int, list[int]] = field(default_factory=dict)  # member → [count, fen]
    commission: dict[int, list[int]] = field(default_factory=dict)  # member → [frozen, settled]

    def active_ids(self) -> set[int]:
        return set(self.new) | set(self.orders) | set(self.commission)


def day_figures(*, tenant_id: int, day: date, member_ids: list[int] | None = None) -> DayFigures:
    """The day's activity for the whole tenant (or only the given members)."""
    start, end = day_window(day)
    return DayFigures(
        day=day,
        new=figures.new_team_counts(tenant_id=tenant_id, start=start, end=end, member_ids=member_ids),
        orders=figures.team_order_figures(tenant_id=tenant_id, start=start, end=end, member_ids=member_ids),
        commission=figures.commission_figures(tenant_id=tenant_id, start=start, end=end,
                                              member_ids=member_ids))


def summarize(member_id: int, f: DayFigures, balance_fen: int) -> DaySummary:
    new = f.new.get(member_id) or (0, 0, 0)
    orders = f.orders.get(member_id) or (0, 0)
    commission = f.commission.get(member_id) or (0, 0)
    return DaySummary(member_id=member_id, day=f.day, new_l1=new[0], new_l2=new[1], new_l3=new[2],
                      orders=orders[0], order_fen=orders[1], frozen_fen=commission[0],
                      settled_fen=commission[1], balance_fen=balance_fen)


def member_day(*, tenant_id: int, member_id: int, day: date) -> DaySummary:
    """One member's day (the bot's "today"): the same figures through per-member indexes."""
    start, end = day_window(day)
    return DaySummary(member_id=member_id, day=day,
                      **figures.member_figures(tenant_id=tenant_id, member_id=member_id, start=start, end=end))


def start_run(*, tenant_id: int, day: date, now: datetime) -> DailyRun:
    """The tenant's run for a day, created on first use (unique per tenant and day)."""
    run = db.session.scalar(select(DailyRun).where(DailyRun.tenant_id == tenant_id, DailyRun.day == day)
                            .with_for_update())
    if run is None:
        run = DailyRun(tenant_id=tenant_id, day=day, last_member_id=0, built=0, enqueued=0, created_at=now)
        db.session.add(run)
        db.session.flush()
    return run


@dataclass
class ChunkResult:
    built: int  # summaries computed (active promoters walked)
    enqueued: int  # queued for sending
    quiet: int  # nothing happened: nothing sent
    unreachable: int  # opted out or no channel
    finished: bool


def build_chunk(*, tenant_id: int, day: date, f: DayFigures, due: datetime, now: datetime,
                chunk: int = CHUNK) -> ChunkResult:
    """Summaries for the next chunk of active promoters after the run's mark; queues
    those with news to their channel and moves the mark (one unit of work per call)."""
    run = start_run(tenant_id=tenant_id, day=day, now=now)
    if run.finished_at is not None:
        return ChunkResult(0, 0, 0, 0, True)
    ids = list(db.session.scalars(
        select(Member.id).where(Member.tenant_id == tenant_id, Member.promoter_status == "active",
                                Member.id > run.last_member_id).order_by(Member.id).limit(chunk)))
    active = f.active_ids()
    newsworthy = [m for m in ids if m in active]
    balances = figures.available_balances(tenant_id=tenant_id, member_ids=newsworthy) if newsworthy else {}
    settings = get_settings(tenant_id=tenant_id)
    reach = reach_of(tenant_id=tenant_id, member_ids=newsworthy)
    rows: list[dict[str, Any]] = []
    quiet = unreachable = 0
    for member_id in newsworthy:
        summary = summarize(member_id, f, balances.get(member_id, 0))
        if not summary.has_news():
            quiet += 1
            continue
        r = reach.get(member_id)
        route = choose_route(r, daily=True, daily_template=bool(settings.daily_template_id)) if r else None
        if route is None or route.channel is None:
            unreachable += 1
            continue
        rows.append({"tenant_id": tenant_id, "member_id": member_id, "kind": "daily_summary",
                     "dedupe_key": f"daily:{day.isoformat()}:{member_id}", "payload": summary.as_payload(),
                     "priority": 1, "status": "bot_pending" if route.channel == "bot" else "pending",
                     "channel": route.channel, "attempts": 0, "next_attempt_at": due, "created_at": now})
    insert_outbox_rows(rows)
    quiet += len(ids) - len(newsworthy)
    run.built += len(ids)
    run.enqueued += len(rows)
    if ids:
        run.last_member_id = ids[-1]
    finished = len(ids) < chunk
    if finished:
        run.finished_at = now
    return ChunkResult(len(ids), len(rows), quiet, unreachable, finished)


def brand_day(*, tenant_id: int, f: DayFigures, top: int = 5) -> BrandDay:
    """The brand's day for the staff group robot: totals and the top promoters."""
    start, end = day_window(f.day)
    new_members = db.session.scalar(select(func.count()).select_from(Member).where(
        Member.tenant_id == tenant_id, Member.created_at >= start, Member.created_at < end)) or 0
    orders, order_fen = figures.tenant_order_totals(tenant_id=tenant_id, start=start, end=end)
    commission = sum(v[0] for v in f.commission.values())
    best = sorted(((v[0], m) for m, v in f.commission.items() if v[0] > 0), reverse=True)[:top]
    names = {r[0]: r[1] for r in db.session.execute(select(Member.id, Member.nickname).where(
        Member.tenant_id == tenant_id, Member.id.in_([m for _, m in best])))} if best else {}
    return BrandDay(day=f.day, new_members=int(new_members), orders=orders, order_fen=order_fen,
                    commission_fen=commission,
                    top=tuple((names.get(m) or f"会员{m}", fen) for fen, m in best))
