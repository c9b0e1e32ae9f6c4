"""Member (VIP) levels (会员等级, SPEC §2): the brand names its levels and gives each a
discount on retail prices; staff move members between levels by hand (audited,
members.service.adjust_member). Checkout and product pages ask `member_discount`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from backend.audit.service import record_audit
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.members.models import MemberLevel
from backend.money import rate_text

MIN_DISCOUNT = Decimal("0.10")  # 1折: below that a level is a typo, not a price


@dataclass(frozen=True)
class LevelSpec:
    level: int
    name: str
    discount_rate: Decimal


def list_member_levels(*, tenant_id: int) -> list[MemberLevel]:
    """The tenant's member levels, lowest first."""
    return list(db.session.scalars(select(MemberLevel).where(MemberLevel.tenant_id == tenant_id)
                                   .order_by(MemberLevel.level)))


def set_member_levels(*, tenant_id: int, levels: Sequence[LevelSpec], actor: str) -> list[MemberLevel]:
    """Replace the tenant's member levels (audited). Levels are distinct numbers 1–100,
    a discount is in [0.10, 1.00]; a member whose level is gone pays retail."""
    errors = []
    seen: set[int] = set()
    for i, spec in enumerate(levels):
        if spec.level in seen:
            errors.append({"field": f"levels[{i}].level", "message": "会员等级重复"})
        seen.add(spec.level)
        if not MIN_DISCOUNT <= spec.discount_rate <= Decimal(1):
            errors.append({"field": f"levels[{i}].discount_rate", "message": "折扣须在 0.10（1折）到 1.00（不打折）之间"})
    if errors:
        raise ValidationFailed(details=errors)
    before = [level_view(m) for m in list_member_levels(tenant_id=tenant_id)]
    db.session.execute(delete(MemberLevel).where(MemberLevel.tenant_id == tenant_id))
    rows = [MemberLevel(tenant_id=tenant_id, level=s.level, name=s.name, discount_rate=s.discount_rate)
            for s in sorted(levels, key=lambda s: s.level)]
    db.session.add_all(rows)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="member_levels.set", target_type="tenant",
                 target_id=tenant_id, before={"levels": before}, after={"levels": [level_view(m) for m in rows]})
    return rows


def member_discount(*, tenant_id: int, member_level: int) -> Decimal | None:
    """The discount of a member's level (None: no level, or no discount)."""
    if member_level <= 0:
        return None
    rate = db.session.scalar(select(MemberLevel.discount_rate).where(
        MemberLevel.tenant_id == tenant_id, MemberLevel.level == member_level))
    return None if rate is None or Decimal(rate) >= 1 else Decimal(rate)


def level_view(m: MemberLevel) -> dict[str, Any]:
    rate = Decimal(m.discount_rate)
    return {"level": m.level, "name": m.name, "discount_rate": str(rate.normalize()),
            "discount_text": "不打折" if rate >= 1 else f"{(rate * 10).normalize()}折（{rate_text(rate)}）"}
