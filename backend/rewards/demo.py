"""The demo tenant's reward plan and levels: the 3+3 plan of docs/examples/three_plus_three.json
(three promoter tiers above the normal one, three agent levels with peer, over-level and
referral bonuses, a monthly team bonus), with its example product keys pointed at the demo
catalog (the cup is the fixed-commission "gift-box", the agents' restock pack the
"level-pack" that makes an agent and pays no distribution), activated; then promoter tiers
and agent levels for the demo team, set as an operator would (audited)."""

from __future__ import annotations

import json
from typing import Any

from backend.catalog.service import list_products
from backend.config import ROOT
from backend.db import utcnow
from backend.members.demo import demo_member
from backend.rewards import service as rewards

PLAN_FILE = ROOT / "docs" / "examples" / "three_plus_three.json"
# demo member login code -> (promoter tier, agent level or None)
DEMO_LEVELS: dict[str, tuple[str, str | None]] = {
    "demo-alice": ("gold", "l1"),
    "demo-bob": ("silver", "l2"),
    "demo-carol": ("bronze", "l3"),
    "demo-frank": ("silver", "l3"),
}


def demo_plan_document(*, product_ids: dict[str, int]) -> dict[str, Any]:
    """The example plan with its product keys replaced by the demo catalog's ids."""
    text = PLAN_FILE.read_text(encoding="utf-8")
    for key, product_id in product_ids.items():
        text = text.replace(f'"{key}"', f'"{product_id}"')
    plan: dict[str, Any] = json.loads(text)["plan"]
    plan["name"] = "3+3 渠道分销（演示）"
    return plan


def seed(tenant: Any) -> None:
    """Save and activate the demo plan, then level the demo team (inside the demo unit of work)."""
    by_name = {p.name: p.id for p in list_products(tenant_id=tenant.id, limit=200)}
    document = demo_plan_document(product_ids={"gift-box": by_name["紫砂品茗杯"],
                                               "level-pack": by_name["代理进货装 · 龙井 10 罐"]})
    row = rewards.save_plan_version(tenant_id=tenant.id, document=document, actor="demo")
    rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="demo", now=utcnow())
    for code, (tier, level) in DEMO_LEVELS.items():
        member = demo_member(tenant_id=tenant.id, code=code)
        rewards.set_member_level(tenant_id=tenant.id, member_id=member.id, actor="demo",
                                 agent_level=level, promoter_tier=tier)
