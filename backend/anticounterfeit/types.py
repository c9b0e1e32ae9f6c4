"""Anti-counterfeit's public types: the values of a cross-region alert's status, shared
by the service and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class AlertStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # by an operator; new scans from the region open it again
