"""Anti-counterfeit verbs: code batches (generated with 100 random bits each), export
for printing (CSV + QR PNGs in a zip), shipments of code ranges to agents, the public
scan, and 窜货 cases. Keyword-only, never commit; staff actions audited.

窜货 rule: a scan carrying a coarse location (province, city) of a code shipped to an
agent is "outside" when the place is not in the agent's authorized regions. When an
agent's codes gather CLUSTER_SCANS outside scans in one province within
CLUSTER_DAYS, a case is opened for the brand (one per agent and province, updated by
later scans) and recorded in the audit log.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend import bulk
from backend.agents import service as agents
from backend.anticounterfeit import ip_region
from backend.anticounterfeit.errors import (
    BatchNotFound,
    CaseNotFound,
    InvalidCodeInput,
    RangeTaken,
    UnknownCode,
)
from backend.anticounterfeit.models import Code, CodeBatch, DiversionCase, Scan, Shipment
from backend.anticounterfeit.types import AlertStatus
from backend.audit.service import record_audit
from backend.extensions import db

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 20  # 20 × 5 = 100 random bits
MAX_BATCH = 100_000
MAX_EXPORT = 5_000  # codes per zip (QR images); export a large batch in ranges
CLUSTER_SCANS = 3
CLUSTER_DAYS = 30
_codes = Code.__table__


def new_code() -> str:
    """A fresh code: 100 bits from the OS's CSPRNG, base32; no order, no pattern."""
    n = secrets.randbits(CODE_LENGTH * 5)
    return "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def normalize(code: str) -> str | None:
    """A code as typed or scanned, upper-cased (O→0, I/L→1 as Crockford reads them); None if malformed."""
    c = code.strip().upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    if len(c) != CODE_LENGTH or any(ch not in ALPHABET for ch in c):
        return None
    return c


# ------------------------------------------------------------------ batches


def create_batch(*, tenant_id: int, product_id: int, product_name: str, size: int, label: str, actor: str,
                 now: datetime) -> CodeBatch:
    """A batch of `size` codes for a product (audited)."""
    if not isinstance(size, int) or not 1 <= size <= MAX_BATCH:
        raise InvalidCodeInput(details=[{"field": "size", "message": f"每批 1–{MAX_BATCH} 个"}])
    batch = CodeBatch(tenant_id=tenant_id, product_id=product_id, product_name=product_name[:100], size=size,
                      label=label[:100], created_by=actor[:40], created_at=now)
    db.session.add(batch)
    db.session.flush()
    for start in range(0, size, 2000):
        rows = [{"tenant_id": tenant_id, "batch_id": batch.id, "seq": seq, "code": new_code(), "scan_count": 0}
                for seq in range(start + 1, min(start + 2000, size) + 1)]
        bulk.insert_rows(_codes, rows)
    record_audit(tenant_id=tenant_id, actor=actor, action="anticounterfeit.batch", target_type="ac_batch",
                 target_id=batch.id, before=None, after={"product_id": product_id, "size": size, "label": label})
    return batch


def get_batch(*, tenant_id: int, batch_id: int) -> CodeBatch:
    b = db.session.scalar(select(CodeBatch).where(CodeBatch.tenant_id == tenant_id, CodeBatch.id == batch_id))
    if b is None:
        raise BatchNotFound()
    return b


def list_batches(*, tenant_id: int, limit: int = 50) -> list[CodeBatch]:
    return list(db.session.scalars(select(CodeBatch).where(CodeBatch.tenant_id == tenant_id)
                                   .order_by(CodeBatch.id.desc()).limit(limit)))


def batch_view(b: CodeBatch) -> dict[str, Any]:
    return {"id": b.id, "product_id": b.product_id, "product_name": b.product_name, "size": b.size,
            "label": b.label, "created_at": b.created_at.isoformat()}


def export_zip(*, tenant_id: int, batch_id: int, scan_url_base: str, seq_from: int = 1,
               seq_to: int | None = None) -> bytes:
    """The codes of a batch (a range of at most MAX_EXPORT) for printing: codes.csv
    (UTF-8 with BOM: seq, code, scan link) and qr/<seq>-<code>.png per code."""
    import qrcode

    b = get_batch(tenant_id=tenant_id, batch_id=batch_id)
    seq_to = min(seq_to or b.size, b.size)
    if not 1 <= seq_from <= seq_to or seq_to - seq_from + 1 > MAX_EXPORT:
        raise InvalidCodeInput(details=[{"field": "seq_to", "message": f"每次最多导出 {MAX_EXPORT} 个，且范围须在批次内"}])
    rows = db.session.execute(select(_codes.c.seq, _codes.c.code).where(
        _codes.c.batch_id == b.id, _codes.c.seq.between(seq_from, seq_to)).order_by(_codes.c.seq)).all()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        text = io.StringIO()
        w = csv.writer(text)
        w.writerow(["序号", "防伪码", "查询链接"])
        for seq, code in rows:
            w.writerow([seq, code, f"{scan_url_base}/{code}"])
        z.writestr("codes.csv", "\ufeff" + text.getvalue())
        for seq, code in rows:
            img = qrcode.make(f"{scan_url_base}/{code}", box_size=4, border=2)
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            z.writestr(f"qr/{seq:06d}-{code}.png", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


# ------------------------------------------------------------------ shipments


def assign(*, tenant_id: int, agent_id: int, batch_id: int, seq_from: int, seq_to: int, note: str, actor: str,
           now: datetime) -> Shipment:
    """Ship a range of a batch's codes to an agent: all of them free, or nothing (audited)."""
    b = get_batch(tenant_id=tenant_id, batch_id=batch_id)
    if not 1 <= seq_from <= seq_to <= b.size:
        raise InvalidCodeInput(details=[{"field": "seq_to", "message": f"范围须在 1–{b.size} 内"}])
    if agents.find_authorization(tenant_id=tenant_id, member_id=agent_id) is None:
        raise InvalidCodeInput("该会员不是授权代理", code="not_an_agent")
    s = Shipment(tenant_id=tenant_id, agent_id=agent_id, batch_id=b.id, seq_from=seq_from, seq_to=seq_to,
                 count=seq_to - seq_from + 1, note=note[:200], created_by=actor[:40], created_at=now)
    db.session.add(s)
    db.session.flush()
    done = db.session.execute(update(_codes).where(
        _codes.c.batch_id == b.id, _codes.c.seq.between(seq_from, seq_to), _codes.c.shipment_id.is_(None))
        .values(shipment_id=s.id, agent_id=agent_id)).rowcount  # type: ignore[attr-defined]
    if done != s.count:
        raise RangeTaken(details={"free": int(done), "asked": s.count})  # the unit of work rolls it all back
    record_audit(tenant_id=tenant_id, actor=actor, action="anticounterfeit.assign", target_type="ac_shipment",
                 target_id=s.id, before=None, after=shipment_view(s))
    return s


def shipment_view(s: Shipment) -> dict[str, Any]:
    return {"id": s.id, "agent_id": s.agent_id, "batch_id": s.batch_id, "seq_from": s.seq_from,
            "seq_to": s.seq_to, "count": s.count, "note": s.note, "created_at": s.created_at.isoformat()}


def list_shipments(*, tenant_id: int, agent_id: int | None = None, limit: int = 50) -> list[Shipment]:
    stmt = select(Shipment).where(Shipment.tenant_id == tenant_id)
    if agent_id is not None:
        stmt = stmt.where(Shipment.agent_id == agent_id)
    return list(db.session.scalars(stmt.order_by(Shipment.id.desc()).limit(limit)))


# ------------------------------------------------------------------ scans


def scan(*, code: str, now: datetime, province: str | None = None, city: str | None = None,
         ip: str | None = None) -> dict[str, Any]:
    """A public scan: authentic or not, the product, first-scan time and place, the scan
    count and a warning when it was scanned before. Records the scan; an unknown code
    raises UnknownCode and records nothing. The place is the coarse location the
    request brings; without one, the client's IP address looked up offline."""
    c = normalize(code)
    if c is None:
        raise UnknownCode()
    # The code and its product in one read, the code's row locked: the counter and the
    # first scan are then known without reading them back.
    b = CodeBatch.__table__
    row = db.session.execute(
        select(_codes.c.id, _codes.c.tenant_id, _codes.c.agent_id, _codes.c.scan_count, _codes.c.first_scan_at,
               _codes.c.first_province, _codes.c.first_city, b.c.product_name)
        .join(b, b.c.id == _codes.c.batch_id).where(_codes.c.code == c).with_for_update(of=_codes)).first()
    if row is None:
        raise UnknownCode()
    province = (province or "").strip()[:20] or None
    city = (city or "").strip()[:20] or None if province else None
    source = "client" if province else None
    if province is None:
        found = ip_region.place_of_ip(ip)
        if found is not None:
            (province, city), source = found, "ip"
    first = row.first_scan_at is None
    db.session.execute(update(_codes).where(_codes.c.id == row.id).values(
        scan_count=_codes.c.scan_count + 1,
        **({"first_scan_at": now, "first_province": province, "first_city": city} if first else {})))
    count = int(row.scan_count) + 1
    first_at = now if first else row.first_scan_at
    first_place = (province, city) if first else (row.first_province, row.first_city)
    outside = False
    if row.agent_id is not None and province is not None:
        auth = agents.find_authorization(tenant_id=row.tenant_id, member_id=row.agent_id)
        outside = auth is not None and not agents.region_matches(auth.regions, province, city)
    db.session.add(Scan(tenant_id=row.tenant_id, code_id=row.id, agent_id=row.agent_id, province=province,
                        city=city, outside=outside, scanned_at=now))
    if outside:
        db.session.flush()
        _maybe_case(row.tenant_id, row.agent_id, province, city, now)  # type: ignore[arg-type]
    place = "".join(p for p in first_place if p) or "未知地点"
    out: dict[str, Any] = {
        "authentic": True, "code": c, "product_name": row.product_name,
        "scan_count": count, "first_scan_at": first_at.isoformat(),
        "first_scan_place": place, "repeated": count > 1, "place_source": source,
        "message": "正品验证通过，本防伪码为首次查询" if count == 1 else
        f"正品验证通过，但本防伪码已被查询 {count} 次（首次：{first_at:%Y-%m-%d %H:%M} {place}），"
        "如非本人查询，请谨防假冒",
    }
    return out


def _maybe_case(tenant_id: int, agent_id: int, province: str, city: str | None, now: datetime) -> None:
    since = now - timedelta(days=CLUSTER_DAYS)
    n, codes = db.session.execute(select(func.count(), func.count(func.distinct(Scan.code_id))).where(
        Scan.tenant_id == tenant_id, Scan.agent_id == agent_id, Scan.province == province, Scan.outside.is_(True),
        Scan.scanned_at >= since)).one()
    if n < CLUSTER_SCANS:
        return
    cities = "、".join(sorted(c for c in db.session.scalars(select(func.distinct(Scan.city)).where(
        Scan.tenant_id == tenant_id, Scan.agent_id == agent_id, Scan.province == province, Scan.outside.is_(True),
        Scan.scanned_at >= since)) if c))[:255]
    found = db.session.scalar(select(DiversionCase).where(
        DiversionCase.tenant_id == tenant_id, DiversionCase.agent_id == agent_id,
        DiversionCase.province == province).with_for_update())
    if found is None:
        bulk.insert_rows(DiversionCase.__table__, [{
            "tenant_id": tenant_id, "agent_id": agent_id, "province": province, "cities": cities, "scans": n,
            "codes": codes, "status": AlertStatus.OPEN, "first_at": now, "last_at": now, "note": ""}], ignore=True)
        record_audit(tenant_id=tenant_id, actor="system:anticounterfeit", action="anticounterfeit.diversion_alert",
                     target_type="member", target_id=agent_id, before=None,
                     after={"province": province, "scans": int(n), "codes": int(codes)})
        return
    found.cities = cities
    found.scans, found.codes, found.last_at = int(n), int(codes), now
    if found.status == AlertStatus.CLOSED:
        found.status = AlertStatus.OPEN


def list_cases(*, tenant_id: int, status: str | None = None, limit: int = 50) -> list[DiversionCase]:
    stmt = select(DiversionCase).where(DiversionCase.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(DiversionCase.status == status)
    return list(db.session.scalars(stmt.order_by(DiversionCase.last_at.desc()).limit(limit)))


def close_case(*, tenant_id: int, case_id: int, note: str, actor: str) -> DiversionCase:
    """Close a 窜货 case with a note (audited); later outside scans reopen it."""
    found = db.session.scalar(select(DiversionCase).where(DiversionCase.tenant_id == tenant_id,
                                                          DiversionCase.id == case_id).with_for_update())
    if found is None:
        raise CaseNotFound()
    before = case_view(found)
    found.status = AlertStatus.CLOSED
    found.note = note[:200]
    record_audit(tenant_id=tenant_id, actor=actor, action="anticounterfeit.close_case", target_type="ac_case",
                 target_id=found.id, before=before, after=case_view(found))
    return found


def case_view(c: DiversionCase) -> dict[str, Any]:
    return {"id": c.id, "agent_id": c.agent_id, "province": c.province, "cities": c.cities, "scans": c.scans,
            "codes": c.codes, "status": c.status, "first_at": c.first_at.isoformat(),
            "last_at": c.last_at.isoformat(), "note": c.note}
