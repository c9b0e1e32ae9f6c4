"""Reconciliation's public types: the values of a day's run and of a difference found,
shared by the service and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """One bill day compared with WeChat Pay's statement."""

    MATCHED = "matched"
    DIFFERENCES = "differences"
    FAILED = "failed"  # the statement could not be read


class DifferenceStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the operator recorded how it was settled
