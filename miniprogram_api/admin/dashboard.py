"""Back-office dashboard (经营看板): the period's figures from the daily facts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint

from backend.analytics import service as analytics
from backend.auth.tokens import Principal
from backend.db import utcnow
from miniprogram_api.http import Query, route
from miniprogram_api.schemas.more import DashboardOut, RefreshedOut

bp = Blueprint("admin_dashboard", __name__, url_prefix="/api/v1/admin")



class PeriodQuery(Query):
    start: date | None = None
    end: date | None = None


@route(bp, "/dashboard", auth="staff", query=PeriodQuery, response=DashboardOut, errors=("invalid_period",))
def dashboard(principal: Principal, query: PeriodQuery) -> dict[str, Any]:
    """The period's daily sales, orders, members, bindings, commission and money flows,
    against the previous period (default: the last 30 China days), with what waits now."""
    end = query.end or analytics.china_day(utcnow())
    start = query.start or end - timedelta(days=29)
    return analytics.dashboard(tenant_id=principal.tenant_id, start=start, end=end)


@route(bp, "/dashboard/refresh", method="POST", auth="staff", response=RefreshedOut)
def refresh(principal: Principal) -> dict[str, Any]:
    """Recompute today's and yesterday's figures now (the scheduler does it every 5 minutes)."""
    return analytics.refresh_now(tenant_id=principal.tenant_id, now=utcnow(), actor=principal.actor)
