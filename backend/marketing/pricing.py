"""Pure pricing rules: what a coupon takes off an order, and how a discount is spread
over the order's lines to the fen. No database, no clock.

A line's amount is what it costs the buyer before this discount (fen). Every function
returns integer fen; percentages round down (in the merchant's favour, like rewards).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from backend.money import apply_rate, yuan

COUPON_KINDS = ("amount", "percent", "threshold", "shipping")
SCOPES = ("all", "products", "categories", "excluded")


@dataclass(frozen=True, slots=True)
class Line:
    key: int  # order line id (or position, for a quote)
    product_id: int
    category: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class CouponRule:
    kind: str  # amount | percent | threshold | shipping
    amount_off_fen: int = 0
    percent_off: Decimal | None = None  # 0.15 = 15% off (8.5 折)
    max_discount_fen: int | None = None  # ceiling of a percent-off coupon
    threshold_fen: int = 0  # the eligible lines must come to at least this (满 X)
    scope: str = "all"
    product_ids: frozenset[int] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class CouponResult:
    discount_fen: int  # 0 when unusable
    reason: str  # "" when usable, else why not (Chinese, for the buyer)
    lines: dict[int, int]  # line key -> fen taken off that line (goods coupons)
    freight_fen: int = 0  # taken off the freight (free-shipping coupons)


def eligible(rule: CouponRule, line: Line) -> bool:
    """Whether the coupon's scope covers this line."""
    if rule.scope == "products":
        return line.product_id in rule.product_ids
    if rule.scope == "categories":
        return bool(line.category) and line.category in rule.categories
    if rule.scope == "excluded":
        return line.product_id not in rule.product_ids
    return True


def coupon_discount(rule: CouponRule, lines: Sequence[Line], *, freight_fen: int = 0) -> CouponResult:
    """What the coupon takes off these lines (and freight), spread over its eligible lines."""
    covered = [ln for ln in lines if eligible(rule, ln) and ln.amount_fen > 0]
    base = sum(ln.amount_fen for ln in covered)
    if not covered:
        return CouponResult(0, "订单中没有适用此券的商品", {})
    if base < rule.threshold_fen:
        return CouponResult(0, f"适用商品满 {yuan(rule.threshold_fen)} 元可用", {})
    if rule.kind == "shipping":
        if freight_fen <= 0:
            return CouponResult(0, "本单无运费", {})
        return CouponResult(freight_fen, "", {}, freight_fen=freight_fen)
    if rule.kind == "percent":
        off = apply_rate(base, rule.percent_off or Decimal(0))
        if rule.max_discount_fen is not None:
            off = min(off, rule.max_discount_fen)
    else:  # amount, threshold (满减)
        off = rule.amount_off_fen
    off = min(off, base)
    if off <= 0:
        return CouponResult(0, "优惠金额为 0", {})
    shares = allocate(off, [ln.amount_fen for ln in covered])
    return CouponResult(off, "", {ln.key: s for ln, s in zip(covered, shares, strict=True) if s})


def allocate(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Split total_fen over lines in proportion to their amounts, rounded down to the
    fen, the remainder on the last line. No line takes more than its own amount: if
    the remainder would push the last line past it, the excess goes to the lines before
    it, last first. The shares always sum to total_fen (which may not exceed the sum of
    the weights)."""
    if total_fen < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts are never negative")
    whole = sum(weights)
    if total_fen > whole:
        raise ValueError("cannot take off more than the lines cost")
    if not weights:
        return []
    if whole == 0:
        return [0] * len(weights)
    shares = [total_fen * w // whole for w in weights[:-1]]
    shares.append(total_fen - sum(shares))
    excess = max(0, shares[-1] - weights[-1])
    shares[-1] -= excess
    for i in range(len(weights) - 2, -1, -1):
        if not excess:
            break
        moved = min(weights[i] - shares[i], excess)
        shares[i] += moved
        excess -= moved
    return shares


def points_cap_fen(*, remaining_fen: int, max_ratio: Decimal) -> int:
    """The most points may pay of an order: a share of what is left after the other
    discounts, and always 1 fen short of all of it (WeChat Pay takes no zero payment)."""
    return max(0, min(apply_rate(remaining_fen, max_ratio), remaining_fen - 1))
