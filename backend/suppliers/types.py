"""The suppliers' public types: the values of the statuses of a supplier, its logins,
its products' reviews, its sub-orders, its income, the profit-sharing orders and its
withdrawals, shared by the services and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class SupplierStatus(StrEnum):
    PENDING = "pending"  # applied, waiting for the operator
    ACTIVE = "active"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class SupplierUserStatus(StrEnum):
    ACTIVE = "active"  # the only status a login is given today; no other lets a token in


class ReviewStatus(StrEnum):
    """A supplier product's review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SubOrderStatus(StrEnum):
    OPEN = "open"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class IncomeStatus(StrEnum):
    """A supplier's income from one order line: frozen for the after-sales window, then
    shared out through WeChat Pay (sharing) or settled to its balance; or undone."""

    FROZEN = "frozen"
    SHARING = "sharing"
    SETTLED = "settled"
    CANCELLED = "cancelled"  # while frozen (a refund)
    REVERSED = "reversed"  # after it settled


class SharingStatus(StrEnum):
    """A profit-sharing order at WeChat Pay (分账), or the unfreeze of what is left."""

    REQUESTED = "requested"
    FINISHED = "finished"
    FAILED = "failed"
    UNFREEZING = "unfreezing"
    UNFROZEN = "unfrozen"


# Not finance's WithdrawalStatus: a member may cancel a pending withdrawal (`cancelled`),
# a supplier may not (suppliers.withdrawals has no such verb), so the admin and supplier
# filters, which take this enum, would accept a value no supplier withdrawal can hold.
class SupplierWithdrawalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PAYING = "paying"
    PAID = "paid"
    FAILED = "failed"
    REJECTED = "rejected"
