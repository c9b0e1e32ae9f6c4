"""The demo tenant's agent channel: the demo team's agents authorized (with regions) and
holding certificates, opening cloud stock for the two top agents, a transfer down the
line, and a batch of anti-counterfeit codes with half shipped to 小波 (runs after the
rewards demo, which set their levels)."""

from __future__ import annotations

from typing import Any

from backend.agents import service as agents
from backend.anticounterfeit import service as ac
from backend.catalog.service import list_products, skus_of
from backend.db import utcnow
from backend.members.demo import demo_member
from backend.warehouse import ledger
from backend.warehouse import service as warehouse

# demo member login code -> authorized regions (None = nationwide)
DEMO_AGENTS: dict[str, list[dict[str, str]] | None] = {
    "demo-alice": None,
    "demo-bob": [{"province": "浙江省"}],
    "demo-carol": [{"province": "浙江省", "city": "杭州市"}],
    "demo-frank": [{"province": "江苏省"}],
}
OPENING = {"demo-alice": 200, "demo-bob": 50}


def seed(tenant: Any) -> None:
    """Authorize the demo agents and give them stock (inside the demo unit of work)."""
    now = utcnow()
    agents.update_settings(tenant_id=tenant.id, actor="demo", now=now,
                           changes={"dropship_shortage": "platform", "pickup_freight_fen": 1200})
    tea = next(p for p in list_products(tenant_id=tenant.id, limit=200) if p.name == "明前龙井")
    sku = skus_of(tenant_id=tenant.id, product_ids=[tea.id])[tea.id][0]
    ids = {}
    for code, regions in DEMO_AGENTS.items():
        member = demo_member(tenant_id=tenant.id, code=code)
        ids[code] = member.id
        if member.agent_level is None:
            continue
        auth, _ = agents.authorize(tenant_id=tenant.id, member_id=member.id, level=member.agent_level, actor="demo",
                                   now=now, regions=regions)
        agents.issue_certificate(tenant_id=tenant.id, authorization_id=auth.id, products_text="全部商品", now=now)
    for code, pieces in OPENING.items():
        ledger.post(tenant_id=tenant.id, key=f"demo:opening:{code}", kind="opening", now=now,
                    memo="演示期初库存", legs=[ledger.Leg(ledger.SUPPLY, sku.id, -pieces),
                                         ledger.Leg(ledger.agent(ids[code]), sku.id, pieces)])
    warehouse.transfer(tenant_id=tenant.id, from_id=ids["demo-bob"], to_id=ids["demo-carol"], sku_id=sku.id,
                       product_id=lambda: tea.id, pieces=10, client_token="demo-transfer-1", now=now,
                       note="演示转货")
    batch = ac.create_batch(tenant_id=tenant.id, product_id=tea.id, product_name=tea.name, size=100,
                            label="2026 春茶", actor="demo", now=now)
    ac.assign(tenant_id=tenant.id, agent_id=ids["demo-bob"], batch_id=batch.id, seq_from=1, seq_to=50,
              note="小波首批", actor="demo", now=now)
