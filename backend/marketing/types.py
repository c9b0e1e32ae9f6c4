"""Marketing's public types: the values of the statuses of coupons, held coupons,
points tasks, group-buy campaigns, groups and seats, and materials, shared by the
services, the flows and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class OfferStatus(StrEnum):
    """A coupon, a points task or a group-buy campaign: on offer, or stopped by an operator
    (coupons already held stay usable; a stopped campaign's forming groups run their course)."""

    ACTIVE = "active"
    STOPPED = "stopped"


class HeldCouponStatus(StrEnum):
    """A coupon a member holds."""

    UNUSED = "unused"
    USED = "used"


class GroupStatus(StrEnum):
    """One group of a group-buy campaign (拼团)."""

    FORMING = "forming"
    FILLED = "filled"
    FAILED = "failed"  # expired before it filled: every paid seat is refunded


class SeatStatus(StrEnum):
    """A member's seat in a group: held by an unpaid order, paid, then refunded (the group
    failed) or released (the order was cancelled, or a paid seat left a forming group)."""

    RESERVED = "reserved"
    PAID = "paid"
    REFUNDED = "refunded"
    RELEASED = "released"


class MaterialStatus(StrEnum):
    ACTIVE = "active"
    HIDDEN = "hidden"
