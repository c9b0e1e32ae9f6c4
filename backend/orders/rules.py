"""Pure freight rules (运费): what a retail order's delivery costs the buyer, and how much
of it a refund gives back. No database, no clock.

The rule is the tenant's, in the shape most Chinese mini-program shops (CRMEB and the
like) give a brand: one flat fee per order (统一运费), a different fee for named
provinces (偏远地区, matched on the start of the delivery address), and free delivery
from a goods amount up (满额包邮). The amount that decides 满额包邮 is what the goods
cost before coupons and points (after an activity price such as a group price), so a
coupon never makes an order lose its free delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FREIGHT_REFUND_RULES = ("unshipped", "always", "never")
MAX_FREIGHT_FEN = 100_000  # 1,000 yuan: a fee beyond is a typo, not a freight
MAX_REGIONS = 40  # mainland China has 34 provincial divisions


@dataclass(frozen=True, slots=True)
class FreightRule:
    freight_fen: int = 0  # per order, 0 = free delivery
    free_over_fen: int | None = None  # goods of at least this much ship free
    by_region: Mapping[str, int] = field(default_factory=dict)  # province prefix -> fee instead of freight_fen
    refund: str = "unshipped"  # unshipped | always | never


def region_of(rule: FreightRule, address: str) -> str | None:
    """The province of the rule this address starts with (the longest that matches)."""
    text = address.strip()
    hits = [r for r in rule.by_region if r and text.startswith(r)]
    return max(hits, key=len) if hits else None


def freight_for(rule: FreightRule, *, goods_fen: int, address: str) -> int:
    """The order's freight in fen: free from the threshold up, else the province's fee
    when the address is in one the rule names, else the flat fee."""
    if goods_fen < 0:
        raise ValueError("goods never cost less than nothing")
    if rule.free_over_fen is not None and goods_fen >= rule.free_over_fen:
        return 0
    region = region_of(rule, address)
    return rule.by_region[region] if region is not None else rule.freight_fen


def freight_refund_fen(rule: FreightRule, *, freight_paid_fen: int, last_goods: bool, shipped: bool,
                       already_refunded: bool) -> int:
    """The freight a refund gives back: all of what was paid for it, with the refund that
    leaves no goods behind, once, when the tenant's rule allows (unshipped: only while
    nothing was sent; always; never)."""
    if freight_paid_fen <= 0 or not last_goods or already_refunded:
        return 0
    if rule.refund == "never" or (rule.refund == "unshipped" and shipped):
        return 0
    return freight_paid_fen


def rule_errors(*, freight_fen: int | None = None, free_over_fen: int | None = None,
                by_region: Mapping[str, int] | None = None, refund: str | None = None) -> list[dict[str, str]]:
    """What is wrong with a freight rule's fields (Chinese, per field); [] when fine."""
    errors = []
    if freight_fen is not None and not 0 <= freight_fen <= MAX_FREIGHT_FEN:
        errors.append({"field": "freight_fen", "message": f"运费须为 0–{MAX_FREIGHT_FEN} 分"})
    if free_over_fen is not None and not 1 <= free_over_fen <= 10**9:
        errors.append({"field": "free_freight_over_fen", "message": "包邮门槛须为 1 分到 1000 万元"})
    if by_region is not None:
        if len(by_region) > MAX_REGIONS:
            errors.append({"field": "freight_by_region", "message": f"最多设置 {MAX_REGIONS} 个地区"})
        for name, fee in by_region.items():
            if not 2 <= len(name.strip()) <= 10 or name != name.strip():
                errors.append({"field": f"freight_by_region.{name}", "message": "地区须为 2–10 个字的省份名，如 新疆"})
            elif not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= MAX_FREIGHT_FEN:
                errors.append({"field": f"freight_by_region.{name}", "message": f"运费须为 0–{MAX_FREIGHT_FEN} 分"})
    if refund is not None and refund not in FREIGHT_REFUND_RULES:
        errors.append({"field": "freight_refund", "message": "须为 unshipped、always 或 never"})
    return errors
