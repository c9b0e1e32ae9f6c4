"""The staff accounts' public types: what other domains read of a staff account
(staff.service returns rows that fit `StaffInfo`; read-only) and the values of its
role and status, shared by the services and the HTTP edge. What each role may do is
backend/auth/policy.py."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class StaffRole(StrEnum):
    BOSS = "boss"
    OPERATOR = "operator"
    FINANCE = "finance"
    SALES = "sales"


class StaffStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class StaffInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def member_id(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
