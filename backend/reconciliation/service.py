"""Record a day's reconciliation and its differences; list and resolve them (audited).
The comparison itself (bills through backend/wechat, the ledger, orders) is the flow
backend/flows/reconciliation.py. Functions here never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.db import newest_first
from backend.extensions import db
from backend.reconciliation.errors import DifferenceNotFound, DifferenceResolved
from backend.reconciliation.models import ReconDifference, ReconRun
from backend.reconciliation.types import DifferenceStatus, RunStatus


@dataclass(frozen=True)
class Difference:
    kind: str  # missing_in_ledger | missing_in_bill | amount_mismatch | fund_flow_total
    ref: str
    bill_fen: int | None
    ledger_fen: int | None
    note: str


def record_run(*, tenant_id: int, bill_date: date, trade_rows: int, fund_rows: int, bill_net_fen: int,
               ledger_net_fen: int, differences: Sequence[Difference], now: datetime,
               error: str | None = None) -> ReconRun:
    """Store a day's result (a re-run updates it; a difference already listed, resolved
    or not, is not listed twice)."""
    run = db.session.scalar(select(ReconRun).where(ReconRun.tenant_id == tenant_id, ReconRun.bill_date == bill_date)
                            .with_for_update())
    if run is None:
        run = ReconRun(tenant_id=tenant_id, bill_date=bill_date, status=RunStatus.FAILED, created_at=now, updated_at=now)
        db.session.add(run)
        db.session.flush()
    run.status = RunStatus.FAILED if error else (RunStatus.DIFFERENCES if differences else RunStatus.MATCHED)
    run.trade_rows, run.fund_rows, run.differences = trade_rows, fund_rows, len(differences)
    run.bill_net_fen, run.ledger_net_fen, run.error, run.updated_at = bill_net_fen, ledger_net_fen, error, now
    if differences:
        db.session.execute(insert_ignore(ReconDifference.__table__), [
            {"tenant_id": tenant_id, "run_id": run.id, "bill_date": bill_date, "kind": d.kind, "ref": d.ref[:64],
             "bill_fen": d.bill_fen, "ledger_fen": d.ledger_fen, "note": d.note[:255], "status": DifferenceStatus.OPEN,
             "created_at": now} for d in differences])
    db.session.flush()
    return run


def reconciled(*, tenant_id: int, bill_date: date) -> bool:
    """Whether the day was compared already (matched or with differences listed)."""
    return db.session.scalar(select(ReconRun.id).where(
        ReconRun.tenant_id == tenant_id, ReconRun.bill_date == bill_date,
        ReconRun.status.in_((RunStatus.MATCHED, RunStatus.DIFFERENCES)))) is not None


def list_runs(*, tenant_id: int, before_id: int | None = None, limit: int = 31) -> list[ReconRun]:
    """Reconciled days, newest first."""
    return newest_first(ReconRun, tenant_id=tenant_id, before_id=before_id, limit=limit, where={})


def list_differences(*, tenant_id: int, status: str | None = DifferenceStatus.OPEN, before_id: int | None = None,
                     limit: int = 50) -> list[ReconDifference]:
    """Differences newest first (the open ones by default)."""
    return newest_first(ReconDifference, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={ReconDifference.status: status})


def resolve_difference(*, tenant_id: int, difference_id: int, actor: str, resolution: str,
                       now: datetime) -> ReconDifference:
    """The operator records how a difference was settled (audited)."""
    d = db.session.scalar(select(ReconDifference).where(ReconDifference.tenant_id == tenant_id,
                                                        ReconDifference.id == difference_id).with_for_update())
    if d is None:
        raise DifferenceNotFound()
    if d.status != DifferenceStatus.OPEN:
        raise DifferenceResolved()
    d.status, d.resolved_by, d.resolution, d.resolved_at = DifferenceStatus.RESOLVED, actor, resolution[:200], now
    record_audit(tenant_id=tenant_id, actor=actor, action="reconciliation.resolve", target_type="recon_difference",
                 target_id=d.id, before={"status": DifferenceStatus.OPEN}, after={"status": DifferenceStatus.RESOLVED, "resolution": resolution})
    return d


def run_view(r: ReconRun) -> dict[str, Any]:
    return {"id": r.id, "bill_date": r.bill_date.isoformat(), "status": r.status, "trade_rows": r.trade_rows,
            "fund_rows": r.fund_rows, "differences": r.differences, "bill_net_fen": r.bill_net_fen,
            "ledger_net_fen": r.ledger_net_fen, "error": r.error, "updated_at": r.updated_at.isoformat()}


def difference_view(d: ReconDifference) -> dict[str, Any]:
    return {"id": d.id, "bill_date": d.bill_date.isoformat(), "kind": d.kind, "ref": d.ref, "bill_fen": d.bill_fen,
            "ledger_fen": d.ledger_fen, "note": d.note, "status": d.status, "resolved_by": d.resolved_by,
            "resolution": d.resolution, "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None}
