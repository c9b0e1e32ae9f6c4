"""The agent channel (authorizations, applications, certificates) and the cloud
warehouse (restocks, transfers, pickups) as the API shows them."""

from __future__ import annotations

from typing import Any

from miniprogram_api.http import Out, Timestamp
from miniprogram_api.schemas.orders import Receiver, RefundOut


class ChannelSettingsOut(Out):
    review_by: str
    settlement_mode: str
    dropship_shortage: str
    transfer_confirmation: bool
    pickup_freight_fen: int
    certificate_days: int
    restock_limits: dict[str, Any]
    package_payment: str
    restock_refund: str


class AuthorizationOut(Out):
    id: int
    member_id: int
    upline_id: int | None
    level: str
    holder_name: str
    product_ids: list[int] | None
    categories: list[str] | None
    regions: list[dict[str, Any]] | None
    valid_from: Timestamp
    valid_until: Timestamp
    status: str
    status_reason: str
    in_force: bool | None = None


class ApplicationOut(Out):
    id: int
    member_id: int
    level: str
    real_name: str
    phone: str
    province: str
    city: str | None
    images: list[str]
    categories: list[str] | None
    package_fen: int
    package_sku_id: int | None
    package_order_id: int | None
    package_status: str
    reviewer: str
    reviewer_id: int | None
    status: str
    reason: str
    created_at: Timestamp
    decided_at: Timestamp | None
    id_number: str


class CertificateOut(Out):
    id: int
    serial: str
    holder_name: str
    level: str
    level_name: str
    products: str
    region: str
    valid_from: Timestamp
    valid_until: Timestamp
    status: str
    issued_at: Timestamp


class DecisionOut(Out):
    application: ApplicationOut
    authorization: AuthorizationOut | None = None
    certificate: CertificateOut | None = None


class AuthorizedOut(Out):
    authorization: AuthorizationOut
    certificate: CertificateOut


class StockLine(Out):
    sku_id: int
    pieces: int


class LevelOut(Out):
    key: str
    name: str
    rank: int


class AgentMeOut(Out):
    authorization: AuthorizationOut | None
    stock: list[StockLine]
    certificates: list[CertificateOut]


class RestockOut(Out):
    id: int
    order_id: int | None
    buyer_id: int
    supplier: str
    supplier_id: int | None
    status: str
    settlement_mode: str
    lines: Any
    pieces: int
    amount_fen: int
    paid_via: str | None
    created_at: Timestamp
    paid_at: Timestamp | None


class RestockRefundOut(Out):
    restock: RestockOut
    refund: RefundOut


class RestockPlacedOut(RestockOut):
    order_no: str
    payable_fen: int


class TransferOut(Out):
    id: int
    from_id: int
    to_id: int
    sku_id: int
    pieces: int
    status: str
    note: str
    created_at: Timestamp
    decided_at: Timestamp | None


class PickupOut(Out):
    id: int
    member_id: int
    sku_id: int
    pieces: int
    freight_fen: int
    receiver: Receiver
    status: str
    logistics_company: str | None
    tracking_no: str | None
    created_at: Timestamp
    shipped_at: Timestamp | None


class WarehouseCheckOut(Out):
    ok: bool
    balances: int
    postings: int
    differences: list[dict[str, int]]
    unbalanced_postings: list[int]
    negative: list[int]
