"""SCRM's public types: the values of a follow-up reminder's status, shared by the
service and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class ReminderStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class ClaimOutcome(StrEnum):
    """What a staff member's claim on a customer did (an arrival's status)."""

    ASSIGNED = "assigned"
    KEPT = "kept"  # already theirs
    OTHER_OWNER = "other_owner"  # an active colleague owns them
    STAFF_INACTIVE = "staff_inactive"
