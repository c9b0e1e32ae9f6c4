"""Finance's public types: the statuses of a member's rewards, withdrawals and
recharges, shared by the services and the HTTP edge."""

from __future__ import annotations

from enum import StrEnum


class RewardStatus(StrEnum):
    """A reward accrual: frozen for the after-sales window, then settled; or undone."""

    FROZEN = "frozen"
    SETTLED = "settled"
    CANCELLED = "cancelled"  # while frozen (a refund)
    REVERSED = "reversed"  # after it settled


class WithdrawalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PAYING = "paying"
    PAID = "paid"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# Still holding the member's money; and the ends that give it back to the balance.
WITHDRAWAL_OPEN = (WithdrawalStatus.PENDING, WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING)
WITHDRAWAL_RETURNED = (WithdrawalStatus.FAILED, WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED)


class RechargeStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    CLOSED = "closed"
