"""The tenants' public types: what other domains read of a tenant (tenants.service
returns rows that fit `TenantInfo`; read-only, so nobody writes a tenant but its
domain) and the values of its policy."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class BindOn(StrEnum):
    """When a visitor brought by a share is bound to its promoter."""

    VISIT = "visit"
    PURCHASE = "purchase"


class PromoterMode(StrEnum):
    """How a member becomes a promoter (推广员)."""

    AUTO = "auto"
    APPLY = "apply"
    CONDITION = "condition"


class TenantInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def mp_appid(self) -> str | None: ...
    @property
    def bind_on(self) -> str: ...
    @property
    def bind_expire_days(self) -> int | None: ...
    @property
    def allow_rebind(self) -> bool: ...
    @property
    def promoter_mode(self) -> str: ...
    @property
    def promoter_condition(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> datetime: ...
