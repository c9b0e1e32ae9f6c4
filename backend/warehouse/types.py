"""The cloud warehouse's public types: what other domains read of a restock
(warehouse.service returns rows that fit `RestockInfo`; read-only, so only this domain
writes one) and the values of its documents' statuses, shared by the services, the
flows and the HTTP edge (compared against these, never against string literals)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class RestockStatus(StrEnum):
    CREATED = "created"  # its order awaits payment (an upline's pieces set aside)
    PAID = "paid"  # the pieces are in the buyer's cloud stock
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class TransferStatus(StrEnum):
    PENDING = "pending"  # awaiting the receiver's confirmation (pieces held)
    DONE = "done"
    REJECTED = "rejected"


class PickupStatus(StrEnum):
    REQUESTED = "requested"
    SHIPPED = "shipped"


class DropshipStatus(StrEnum):
    CONSUMED = "consumed"
    RETURNED = "returned"


class RestockInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def buyer_id(self) -> int: ...
    @property
    def supplier_id(self) -> int: ...  # the upline member; 0 = the platform
    @property
    def order_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def settlement_mode(self) -> str: ...  # platform | upline
    @property
    def lines(self) -> Any: ...  # [{"sku_id", "quantity", "unit_price_fen"}]
    @property
    def pieces(self) -> int: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def paid_via(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def paid_at(self) -> datetime | None: ...
