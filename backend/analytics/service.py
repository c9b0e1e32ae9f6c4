"""The dashboard's figures: daily facts written from the lower domains' service figures,
and the period view with the previous period beside it.

A day's facts are recomputed whole (delete, insert) from indexed range sums over that
China-local day, so a refresh is idempotent and a late payment or refund is picked up
by the next run. Today's and yesterday's facts are refreshed by the scheduler
(backend/analytics/jobs.py); `flask analytics backfill` writes older days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, delete, func, select

from backend.agents import service as agents
from backend.analytics.errors import InvalidPeriod
from backend.analytics.models import DailyFact
from backend.audit.service import record_audit
from backend.extensions import db
from backend.finance import statements as finance
from backend.finance.types import WithdrawalStatus
from backend.members import promoters
from backend.members import service as members
from backend.members.types import BindSource
from backend.orders import service as orders
from backend.orders.types import OrderStatus, RefundStatus
from backend.payments import service as payments
from backend.rewards import service as rewards
from backend.suppliers import service as suppliers
from backend.tenants import service as tenants
from backend.tenants.types import TenantStatus
from backend.types import CHINA_TZ  # noqa: F401  (re-exported)

MAX_DAYS = 366
TOP_N = 20
# Facts kept only for the day they were taken on (a count of "now", not of a day's events).
SNAPSHOT_METRICS = ("bound_total",)
TOP_METRICS = ("top_product_fen", "top_promoter_fen")
TOTAL_METRICS = ("sales_fen", "orders", "new_members", "bindings", "commission_fen", "frozen_fen", "settled_fen",
                 "withdrawn_fen", "refunded_fen")
FLOW_METRICS = ("orders", "sales_fen", "refunded_fen", "new_members", "bindings", "commission_fen",
                "frozen_fen", "settled_fen", "withdrawn_fen", "top_product_fen", "top_promoter_fen")
COMMISSION_GROUPS = {"dist_l1": "distribution", "dist_l2": "distribution", "dist_l3": "distribution",
                     "agent_dividend": "agent", "peer_bonus": "bonus", "over_level_bonus": "bonus",
                     "referral_lower": "bonus", "referral_peer": "bonus", "referral_over": "bonus",
                     "team_performance": "bonus"}


def china_day(moment: datetime) -> date:
    """The China-local calendar day of an aware moment."""
    return moment.astimezone(CHINA_TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a China-local day, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


def _facts_of_day(tenant_id: int, day: date) -> list[tuple[str, str, str, int]]:
    start, end = day_bounds(day)
    out: list[tuple[str, str, str, int]] = []
    sales = orders.sales_between(tenant_id=tenant_id, start=start, end=end)
    out += [("orders", "", "", sales["orders"]), ("sales_fen", "", "", sales["paid_fen"]),
            ("refunded_fen", "", "", sales["refunded_fen"])]
    growth = members.growth_between(tenant_id=tenant_id, start=start, end=end)
    out.append(("new_members", "", "", growth["new_members"]))
    out += [("bindings", source, "", n) for source, n in growth["bindings"].items()]
    out += [("commission_fen", kind, "", fen) for kind, fen in rewards.payout_totals_between(
        tenant_id=tenant_id, start=start, end=end).items()]
    out += [(metric, "", "", fen) for metric, fen in finance.flows_between(
        tenant_id=tenant_id, start=start, end=end).items()]
    out += [("top_product_fen", str(p["product_id"]), p["name"][:100], p["paid_fen"])
            for p in orders.top_products_between(tenant_id=tenant_id, start=start, end=end, limit=TOP_N)]
    earners = rewards.top_earners_between(tenant_id=tenant_id, start=start, end=end, limit=TOP_N)
    names = members.nicknames(tenant_id=tenant_id, member_ids=[m for m, _ in earners])
    out += [("top_promoter_fen", str(m), names.get(m, "")[:100], fen) for m, fen in earners]
    return out


def refresh_day(*, tenant_id: int, day: date, now: datetime) -> int:
    """Recompute one tenant's facts of one China day (and the snapshot counts when the
    day is today); returns how many facts were written."""
    facts = [f for f in _facts_of_day(tenant_id, day) if f[3] != 0 or f[1] == ""]
    metrics: Sequence[str] = FLOW_METRICS
    if day == china_day(now):
        facts.append(("bound_total", "", "", members.bound_total(tenant_id=tenant_id)))
        metrics = FLOW_METRICS + SNAPSHOT_METRICS
    db.session.execute(delete(DailyFact).where(
        DailyFact.tenant_id == tenant_id, DailyFact.day == day, DailyFact.metric.in_(metrics)))
    db.session.add_all([DailyFact(tenant_id=tenant_id, day=day, metric=m, dim=d, label=lb, value=v,
                                  updated_at=now) for m, d, lb, v in facts])
    db.session.flush()
    return len(facts)


def active_tenant_ids() -> list[int]:
    """Every active tenant, in id order."""
    ids: list[int] = []
    after = 0
    while True:
        page = tenants.list_tenants(limit=500, after_id=after)
        if not page:
            return ids
        ids += [t.id for t in page if t.status == TenantStatus.ACTIVE]
        after = page[-1].id


def refresh_now(*, tenant_id: int, now: datetime, actor: str) -> dict[str, Any]:
    """A manager asks for today's (and yesterday's) figures now; audited."""
    today = china_day(now)
    written = refresh_day(tenant_id=tenant_id, day=today - timedelta(days=1), now=now)
    written += refresh_day(tenant_id=tenant_id, day=today, now=now)
    record_audit(tenant_id=tenant_id, actor=actor, action="analytics.refresh", target_type="tenant",
                 target_id=tenant_id, before=None, after={"facts": written})
    return {"facts": written, "refreshed_at": now.isoformat()}


# ------------------------------------------------------------------ the dashboard


def _check_period(start: date, end: date) -> None:
    if end < start or (end - start).days >= MAX_DAYS:
        raise InvalidPeriod(details=[{"field": "end", "message": InvalidPeriod.message}])


def _summed(metric: str, dims: Sequence[str] | None = None) -> Any:
    """One column of a day's pivot: the day's sum of a metric (of some of its dimensions),
    NULL when the day has no such fact. A whole integer on every database."""
    match = DailyFact.metric == metric
    if dims is not None:
        match = and_(match, DailyFact.dim.in_(dims))
    return cast(func.sum(case((match, DailyFact.value))), BigInteger)


# The pivot's columns after the day: one per series the dashboard draws. Commission kinds
# are summed into their groups in the database (bonus: whatever is neither distribution
# nor agent, as COMMISSION_GROUPS says of an unknown kind); bindings by their sources.
_DISTRIBUTION = tuple(k for k, g in COMMISSION_GROUPS.items() if g == "distribution")
_AGENT = tuple(k for k, g in COMMISSION_GROUPS.items() if g == "agent")
SOURCES = tuple(BindSource)
SERIES_METRICS = (*TOTAL_METRICS, "bound_total")
_PIVOT = (
    *((m, _summed(m)) for m in SERIES_METRICS),
    *((f"source:{s}", _summed("bindings", (s,))) for s in SOURCES),
    ("kind:distribution", _summed("commission_fen", _DISTRIBUTION)),
    ("kind:agent", _summed("commission_fen", _AGENT)),
)


def _days(tenant_id: int, start: date, end: date, columns: Sequence[tuple[str, Any]],
          with_updated: bool = False) -> list[Any]:
    """The period's facts pivoted to one row per day that has any (day, then the columns'
    sums, then the day's last refresh): one grouped range read through the (tenant, metric,
    day) index. A year is 365 rows of a few dozen integers, where it was ~25 rows a day,
    each decoded by the driver with its own timestamp (benchmarks/README.md, "Dashboard
    and team tree")."""
    cols = [DailyFact.day, *(c for _, c in columns)]
    if with_updated:
        cols.append(func.max(DailyFact.updated_at))
    return list(db.session.execute(
        select(*cols).where(DailyFact.tenant_id == tenant_id, DailyFact.metric.in_(SERIES_METRICS),
                            DailyFact.day >= start, DailyFact.day <= end).group_by(DailyFact.day)))


def _change(current: int, previous: int) -> str | None:
    """Relative change as a percentage text ("12.5"), None when there is no base."""
    if previous == 0:
        return None
    return f"{(current - previous) * 100 / previous:.1f}"


def _top(tenant_id: int, start: date, end: date, metric: str, limit: int = 10) -> list[dict[str, Any]]:
    """The period's leaders of a top list: summed per dimension in the database."""
    total = func.sum(DailyFact.value)
    rows = db.session.execute(
        select(DailyFact.dim, func.max(DailyFact.label), total).where(
            DailyFact.tenant_id == tenant_id, DailyFact.metric == metric, DailyFact.day >= start,
            DailyFact.day <= end).group_by(DailyFact.dim).order_by(total.desc(), DailyFact.dim).limit(limit))
    return [{"id": int(dim), "name": label or "", "fen": int(fen or 0)} for dim, label, fen in rows]


def dashboard(*, tenant_id: int, start: date, end: date) -> dict[str, Any]:
    """The period's daily series, totals against the previous period of the same length,
    top products and promoters, and what waits for a person now."""
    _check_period(start, end)
    span = (end - start).days + 1
    prev_start, prev_end = start - timedelta(days=span), start - timedelta(days=1)
    days = [start + timedelta(days=i) for i in range(span)]
    series: dict[str, list[int]] = {name: [0] * span for name, _ in _PIVOT}
    updated_at = None
    for day, *values, at in _days(tenant_id, start, end, _PIVOT, with_updated=True):
        i = (day - start).days
        updated_at = max(updated_at, at) if updated_at else at
        for (name, _), value in zip(_PIVOT, values, strict=True):
            if value:
                series[name][i] = int(value)
    # bindings by the sources that bound anyone in the period; commission by its groups
    bindings_by_source = {s: v for s in sorted(SOURCES) if any(v := series.pop(f"source:{s}"))}
    commission_by_kind = {"distribution": series.pop("kind:distribution"), "agent": series.pop("kind:agent")}
    commission_by_kind["bonus"] = [t - d - a for t, d, a in zip(
        series["commission_fen"], commission_by_kind["distribution"], commission_by_kind["agent"], strict=True)]
    # the bound-members line carries its last known value over days without a snapshot
    bound = series["bound_total"]
    for i in range(1, span):
        if bound[i] == 0:
            bound[i] = bound[i - 1]
    # the previous period day by day, aligned with this one (its first day beside this
    # period's first day): the charts' comparison lines, and the totals' base
    previous: dict[str, list[int]] = {k: [0] * span for k in TOTAL_METRICS}
    totals_only = [(name, col) for name, col in _PIVOT if name in TOTAL_METRICS]
    for day, *values in _days(tenant_id, prev_start, prev_end, totals_only):
        i = (day - prev_start).days
        for (name, _), value in zip(totals_only, values, strict=True):
            if value:
                previous[name][i] = int(value)
    cur = {k: sum(series[k]) for k in TOTAL_METRICS}
    prev = {k: sum(previous[k]) for k in TOTAL_METRICS}
    totals = {k: {"current": cur[k], "previous": prev[k], "change_pct": _change(cur[k], prev[k])}
              for k in TOTAL_METRICS}
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "previous": {"start": prev_start.isoformat(), "end": prev_end.isoformat()},
        "days": [d.isoformat() for d in days],
        "series": {k: series[k] for k in (*TOTAL_METRICS, "bound_total")},
        "previous_series": previous,
        "bindings_by_source": bindings_by_source,
        "commission_by_kind": commission_by_kind,
        "totals": totals,
        "top_products": _top(tenant_id, start, end, "top_product_fen"),
        "top_promoters": _top(tenant_id, start, end, "top_promoter_fen"),
        "pending": pending(tenant_id=tenant_id),
        "updated_at": updated_at.isoformat() if updated_at else None,
    }


LOAD_METRICS = ("orders", "sales_fen", "new_members", "bindings")


def platform_load(*, day: date, limit: int = 50) -> dict[str, Any]:
    """The platform operator's view of one China day across tenants: the busiest tenants
    by orders, and the totals (one grouped read of the day's facts)."""
    rows = db.session.execute(
        select(DailyFact.tenant_id, DailyFact.metric, func.sum(DailyFact.value)).where(
            DailyFact.day == day, DailyFact.metric.in_(LOAD_METRICS))
        .group_by(DailyFact.tenant_id, DailyFact.metric))
    per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LOAD_METRICS, 0))
    for tenant_id, metric, value in rows:
        per[tenant_id][metric] = int(value or 0)
    ranked = sorted(per.items(), key=lambda kv: (-kv[1]["orders"], -kv[1]["sales_fen"], -kv[1]["new_members"], kv[0]))
    return {"day": day.isoformat(),
            "totals": {m: sum(v[m] for v in per.values()) for m in LOAD_METRICS},
            "active_tenants": sum(1 for v in per.values() if v["orders"] or v["new_members"]),
            "tenants": [{"tenant_id": t, **v} for t, v in ranked[:limit]]}


def pending(*, tenant_id: int) -> dict[str, int]:
    """What waits for a person now: withdrawals to review, refunds to decide, paid orders
    to ship, payment issues to resolve, and the review queues — agent applications
    headquarters decides, promoter applications, supplier applications, products and
    withdrawals. Each an index range count."""
    return {"withdrawals": finance.count_withdrawals(tenant_id=tenant_id, status=WithdrawalStatus.PENDING),
            "refunds": orders.count_refunds(tenant_id=tenant_id, status=RefundStatus.REQUESTED),
            "to_ship": orders.count_orders(tenant_id=tenant_id, status=OrderStatus.PAID),
            "payment_issues": payments.count_open_issues(tenant_id=tenant_id),
            "agent_applications": agents.count_applications_for_hq(tenant_id=tenant_id),
            "promoter_applications": promoters.count_pending_applications(tenant_id=tenant_id),
            **suppliers.pending_reviews(tenant_id=tenant_id)}
