"""What anyone may look up: agent certificates and anti-counterfeit codes."""

from __future__ import annotations

from datetime import date

from miniprogram_api.http import Out, Timestamp


class CertificatePublicOut(Out):
    serial: str
    holder_name: str
    level: str
    level_name: str
    products: str
    region: str
    valid_from: date
    valid_until: date
    status: str
    status_text: str
    issued_at: Timestamp


class ScanOut(Out):
    authentic: bool
    code: str
    product_name: str
    scan_count: int
    first_scan_at: Timestamp | None
    first_scan_place: str
    repeated: bool
    place_source: str | None = None  # where this scan's place came from: client (sent), ip (looked up), none
    message: str


class CodeBatchOut(Out):
    id: int
    product_id: int
    product_name: str
    size: int
    label: str
    created_at: Timestamp


class CodeShipmentOut(Out):
    id: int
    agent_id: int
    batch_id: int
    seq_from: int
    seq_to: int
    count: int
    note: str
    created_at: Timestamp


class DiversionCaseOut(Out):
    id: int
    agent_id: int
    province: str
    cities: str
    scans: int
    codes: int
    status: str
    first_at: Timestamp
    last_at: Timestamp
    note: str
