"""The daily summary: every active promoter's day in figures, queued to their channel.

Set-based: the day's activity is read once per tenant as sparse dicts (a few range
queries, see figures.py), which also names the promoters with news. Those are then
walked in id chunks: per chunk one query counts the active promoters in its id range
(the quiet ones, who are sent nothing), one reads the chunk's members, two say how to
reach them and one reads the balances of those who will be sent a summary. One chunk
is one unit of work: its outbox rows and the run's high-water mark commit together,
so a crashed run resumes at the next chunk and never queues a summary twice (the
dedupe key backs that up).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.members import service as members
from backend.notifications import figures
from backend.notifications.contacts import reach_of
from backend.notifications.messages import BrandDay, DaySummary, day_window
from backend.notifications.models import DailyRun
from backend.notifications.routing import choose_route
from backend.notifications.service import get_settings, insert_outbox_rows
from backend.notifications.types import OutboxStatus

CHUNK = 20000


@dataclass
class DayFigures:
    """A tenant's day, sparse: only members with activity appear."""

    day: date
    new: dict[int, list[int]] = field(default_factory=dict)  # member → [l1, l2, l3]
    orders: dict[int, list[int]] = field(default_factory=dict)  # member → [count, fen]
    commission: dict[int, list[int]] = field(default_factory=dict)  # member → [frozen, settled]
    _sorted: list[int] | None = field(default=None, repr=False, compare=False)

    def active_ids(self) -> set[int]:
        return set(self.new) | set(self.orders) | set(self.commission)

    def sorted_active_ids(self) -> list[int]:
        """The members with news, in id order (computed once)."""
        if self._sorted is None:
            self._sorted = sorted(self.active_ids())
        return self._sorted


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
    built: int  # active promoters walked (quiet ones included)
    enqueued: int  # queued for sending
    quiet: int  # nothing happened: nothing sent
    unreachable: int  # opted out or no channel
    finished: bool


def build_chunk(*, tenant_id: int, day: date, f: DayFigures, due: datetime, now: datetime,
                chunk: int = CHUNK) -> ChunkResult:
    """Summaries for the next `chunk` promoters with news after the run's mark; queues
    them to their channel, counts the quiet promoters in between and moves the mark (one
    unit of work per call).

    Only members with news are looked at one by one (their preferences and contacts):
    the others have nothing to say, so the id range up to the chunk's last member is
    only counted. Balances are read for those who will be sent a summary."""
    run = start_run(tenant_id=tenant_id, day=day, now=now)
    if run.finished_at is not None:
        return ChunkResult(0, 0, 0, 0, True)
    candidates = f.sorted_active_ids()
    first = bisect_right(candidates, run.last_member_id)
    batch = candidates[first:first + chunk]
    finished = first + chunk >= len(candidates)
    built, top, active = members.active_promoters_in_range(
        tenant_id=tenant_id, after=run.last_member_id, upto=None if finished else batch[-1], batch=batch)
    daily_template = bool(get_settings(tenant_id=tenant_id).daily_template_id)
    # Openids only matter for subscribe messages: without a template there are none to read.
    reach = reach_of(tenant_id=tenant_id, member_ids=active,
                     openids=None if daily_template else dict.fromkeys(active))
    summaries: list[tuple[DaySummary, str]] = []
    quiet = built - len(active)
    unreachable = 0
    for member_id in active:
        summary = summarize(member_id, f, 0)
        if not summary.has_news():
            quiet += 1
            continue
        r = reach.get(member_id)
        route = choose_route(r, daily=True, daily_template=daily_template) if r else None
        if route is None or route.channel is None:
            unreachable += 1
            continue
        summaries.append((summary, route.channel))
    balances = figures.available_balances(tenant_id=tenant_id, member_ids=[s.member_id for s, _ in summaries])
    key = f"daily:{day.isoformat()}:"
    rows: list[dict[str, Any]] = [
        {"tenant_id": tenant_id, "member_id": s.member_id, "kind": "daily_summary",
         "dedupe_key": f"{key}{s.member_id}",
         "payload": replace(s, balance_fen=balances.get(s.member_id, 0)).as_payload(),
         "priority": 1, "status": OutboxStatus.BOT_PENDING if channel == "bot" else OutboxStatus.PENDING, "channel": channel,
         "attempts": 0, "next_attempt_at": due, "created_at": now}
        for s, channel in summaries]
    insert_outbox_rows(rows)
    run.built += built
    run.enqueued += len(rows)
    if finished:
        if top is not None:
            run.last_member_id = max(run.last_member_id, top)
        run.finished_at = now
    elif batch:
        run.last_member_id = batch[-1]
    return ChunkResult(built, len(rows), quiet, unreachable, finished)


def brand_day(*, tenant_id: int, f: DayFigures, top: int = 5) -> BrandDay:
    """The brand's day for the staff group robot: totals and the top promoters."""
    start, end = day_window(f.day)
    new_members = members.created_between(tenant_id=tenant_id, start=start, end=end)
    orders, order_fen = figures.tenant_order_totals(tenant_id=tenant_id, start=start, end=end)
    commission = sum(v[0] for v in f.commission.values())
    best = sorted(((v[0], m) for m, v in f.commission.items() if v[0] > 0), reverse=True)[:top]
    names = members.nicknames(tenant_id=tenant_id, member_ids=[m for _, m in best])
    return BrandDay(day=f.day, new_members=int(new_members), orders=orders, order_fen=order_fen,
                    commission_fen=commission,
                    top=tuple((names.get(m) or f"会员{m}", fen) for fen, m in best))
