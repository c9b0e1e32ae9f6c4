"""Reconciliation (对账) for the operator: each day's WeChat Pay trade and fund-flow bills
against the ledger, and the differences to look into. Boss, operator or finance; audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import reconciliation as reconcile_flow
from backend.reconciliation import service as recon
from backend.reconciliation.types import DifferenceStatus
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.more import ReconDifferenceOut, ReconRunOut, ReconStartedOut

bp = Blueprint("admin_reconciliation", __name__, url_prefix="/api/v1/admin/reconciliation")



class PageQuery(Query):
    before_id: int | None = Field(None, ge=1, le=2**53)
    limit: int = Field(50, ge=1, le=200)


class DifferencePage(PageQuery):
    status: DifferenceStatus | None = DifferenceStatus.OPEN


class RunIn(Body):
    bill_date: dt.date


class ResolveIn(Body):
    resolution: str = Field(min_length=1, max_length=200)


@route(bp, "/runs", auth="staff", query=PageQuery, response=Page[ReconRunOut])
def runs(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Reconciled days, newest first (matched, differences or failed)."""
    rows = recon.list_runs(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)
    return page_of(rows, recon.run_view, query.limit)


@route(bp, "/runs", method="POST", auth="staff", body=RunIn, response=ReconStartedOut)
def run(principal: Principal, body: RunIn) -> dict[str, Any]:
    """Reconcile one China day now (again, if it was): download both bills and compare."""
    status = reconcile_flow.reconcile_day(tenant_id=principal.tenant_id, day=body.bill_date, now=utcnow())
    return ReconStartedOut(bill_date=body.bill_date.isoformat(), status=status)


@route(bp, "/differences", auth="staff", query=DifferencePage, response=Page[ReconDifferenceOut])
def differences(principal: Principal, query: DifferencePage) -> dict[str, Any]:
    """Differences between the bills and the ledger (open ones by default)."""
    rows = recon.list_differences(tenant_id=principal.tenant_id, status=query.status, before_id=query.before_id,
                                  limit=query.limit)
    return page_of(rows, recon.difference_view, query.limit)


@route(bp, "/differences/<int:difference_id>/resolve", method="POST", auth="staff", body=ResolveIn,
       response=ReconDifferenceOut, errors=("difference_not_found", "difference_resolved"))
def resolve(principal: Principal, difference_id: int, body: ResolveIn) -> dict[str, Any]:
    """Record how a difference was settled."""
    return recon.difference_view(recon.resolve_difference(
        tenant_id=principal.tenant_id, difference_id=difference_id, actor=principal.actor,
        resolution=body.resolution, now=utcnow()))
