"""Platform operator: the load across tenants on one day, from the dashboard's facts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.analytics import service as analytics
from backend.auth.tokens import Principal
from backend.db import utcnow
from miniprogram_api.http import Query, route
from miniprogram_api.schemas.more import PlatformLoadOut

bp = Blueprint("platform_load", __name__, url_prefix="/api/v1/platform")


class LoadQuery(Query):
    day: date | None = None
    limit: int = Field(50, ge=1, le=500)


@route(bp, "/load", auth="platform", query=LoadQuery, response=PlatformLoadOut)
def load(principal: Principal, query: LoadQuery) -> dict[str, Any]:
    """Orders, sales, new members and bindings per tenant on a China day (default today),
    busiest first, with the platform's totals."""
    return analytics.platform_load(day=query.day or analytics.china_day(utcnow()), limit=query.limit)
