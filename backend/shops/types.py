"""Mini-shops' public types: the values of a shop's status, shared by the service and
the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class ShopStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # by its owner
    SUSPENDED = "suspended"  # by an operator; only an operator reopens it
