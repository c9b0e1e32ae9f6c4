"""The agent channel's status values, shared by the services, the flows and the HTTP
edge (compared against these, never against string literals)."""

from __future__ import annotations

from enum import StrEnum


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PackageStatus(StrEnum):
    """An application's level package (its order of the orders domain)."""

    NONE = "none"  # applied without one
    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class AuthorizationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class CertificateStatus(StrEnum):
    """As stored; a verification also answers `expired` (past its validity) and
    `suspended` (its authorization is), which are read, not stored."""

    VALID = "valid"
    SUPERSEDED = "superseded"  # a newer certificate of the same authorization
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
