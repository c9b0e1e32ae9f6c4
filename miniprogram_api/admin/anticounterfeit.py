"""Back-office anti-counterfeit (防伪): code batches per product, export for printing,
code ranges shipped to agents, 窜货 cases. Boss or operator; writes audited."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, Response, current_app
from pydantic import Field

from backend.anticounterfeit import service as ac
from backend.anticounterfeit.types import AlertStatus
from backend.auth.tokens import Principal
from backend.catalog import service as catalog
from backend.db import utcnow
from miniprogram_api.http import Body, Items, Query, route
from miniprogram_api.schemas.public import CodeBatchOut, CodeShipmentOut, DiversionCaseOut

bp = Blueprint("admin_anticounterfeit", __name__, url_prefix="/api/v1/admin/anticounterfeit")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
Seq = Annotated[int, Field(strict=True, ge=1, le=ac.MAX_BATCH)]


class BatchIn(Body):
    product_id: Id
    size: int = Field(strict=True, ge=1, le=ac.MAX_BATCH)
    label: str = Field("", max_length=100)


class ShipmentIn(Body):
    agent_id: Id
    batch_id: Id
    seq_from: Seq
    seq_to: Seq
    note: str = Field("", max_length=200)


class ExportQuery(Query):
    seq_from: int = Field(1, ge=1, le=ac.MAX_BATCH)
    seq_to: int | None = Field(None, ge=1, le=ac.MAX_BATCH)


class CasePage(Query):
    status: AlertStatus | None = None
    limit: int = Field(50, ge=1, le=100)


class CloseIn(Body):
    note: str = Field(min_length=1, max_length=200)


def scan_url_base() -> str:
    return current_app.config["SIYU_SETTINGS"].public_base_url.rstrip("/") + "/scan"


@route(bp, "/batches", method="POST", auth="staff", body=BatchIn, status=201,
       response=CodeBatchOut, errors=("product_not_found",))
def create_batch(principal: Principal, body: BatchIn) -> dict[str, Any]:
    """Generate a batch of unguessable codes for a product."""
    product = catalog.get_product(tenant_id=principal.tenant_id, product_id=body.product_id)
    return ac.batch_view(ac.create_batch(tenant_id=principal.tenant_id, product_id=product.id,
                                         product_name=product.name, size=body.size, label=body.label,
                                         actor=principal.actor, now=utcnow()))


@route(bp, "/batches", auth="staff", response=Items[CodeBatchOut])
def batches(principal: Principal) -> dict[str, Any]:
    """Batches, newest first."""
    return Items[CodeBatchOut](items=[ac.batch_view(b) for b in ac.list_batches(tenant_id=principal.tenant_id)])


@route(bp, "/batches/<int:batch_id>/export.zip", auth="staff", query=ExportQuery, raw=True,
       content="application/zip", errors=("batch_not_found",))
def export(principal: Principal, batch_id: int, query: ExportQuery) -> Response:
    """Codes for printing: codes.csv and one QR PNG per code (at most 5000 per zip)."""
    data = ac.export_zip(tenant_id=principal.tenant_id, batch_id=batch_id, scan_url_base=scan_url_base(),
                         seq_from=query.seq_from, seq_to=query.seq_to)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="codes-{batch_id}.zip"'})


@route(bp, "/shipments", method="POST", auth="staff", body=ShipmentIn, status=201,
       response=CodeShipmentOut, errors=("batch_not_found", "code_range_taken"))
def ship(principal: Principal, body: ShipmentIn) -> dict[str, Any]:
    """Assign a range of a batch's codes to an agent's shipment (all free, or nothing)."""
    return ac.shipment_view(ac.assign(tenant_id=principal.tenant_id, agent_id=body.agent_id, batch_id=body.batch_id,
                                      seq_from=body.seq_from, seq_to=body.seq_to, note=body.note,
                                      actor=principal.actor, now=utcnow()))


@route(bp, "/shipments", auth="staff", response=Items[CodeShipmentOut])
def shipments(principal: Principal) -> dict[str, Any]:
    """Shipments of codes, newest first."""
    return Items[CodeShipmentOut](items=[ac.shipment_view(s) for s in ac.list_shipments(tenant_id=principal.tenant_id)])


@route(bp, "/cases", auth="staff", query=CasePage, response=Items[DiversionCaseOut])
def cases(principal: Principal, query: CasePage) -> dict[str, Any]:
    """窜货 cases, latest scans first."""
    rows = ac.list_cases(tenant_id=principal.tenant_id, status=query.status, limit=query.limit)
    return Items[DiversionCaseOut](items=[ac.case_view(c) for c in rows])


@route(bp, "/cases/<int:case_id>/close", method="POST", auth="staff", body=CloseIn,
       response=DiversionCaseOut, errors=("case_not_found",))
def close(principal: Principal, case_id: int, body: CloseIn) -> dict[str, Any]:
    """Close a case with a note (audited)."""
    return ac.case_view(ac.close_case(tenant_id=principal.tenant_id, case_id=case_id, note=body.note,
                                      actor=principal.actor))
