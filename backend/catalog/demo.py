"""Demo products of the demo tenant: tea with two SKUs, an agents-only restock pack
with per-level prices (level keys of docs/examples/three_plus_three.json), a cup."""

from __future__ import annotations

from typing import Any

from backend.catalog.service import SkuSpec, create_product

AGENT_PRICES = {"l1": 6800, "l2": 7800, "l3": 8800}


def seed(tenant: Any) -> None:
    """Create the demo products (called once, inside the demo unit of work)."""
    create_product(tenant_id=tenant.id, name="明前龙井", subtitle="2026 春茶 · 西湖产区", on_shelf=True,
                   category="茶叶", actor="demo", skus=[
                       SkuSpec(name="250g 罐装", price_fen=12800, cost_fen=5000, stock=200,
                               level_prices=AGENT_PRICES),
                       SkuSpec(name="500g 礼盒", price_fen=23800, cost_fen=9000, stock=80)])
    create_product(tenant_id=tenant.id, name="代理进货装 · 龙井 10 罐", subtitle="仅限代理", on_shelf=True,
                   allowed_levels=sorted(AGENT_PRICES), category="代理专区", actor="demo", skus=[
                       SkuSpec(name="10 × 250g", price_fen=128000, cost_fen=50000, stock=50,
                               level_prices={k: v * 10 for k, v in AGENT_PRICES.items()})])
    create_product(tenant_id=tenant.id, name="紫砂品茗杯", subtitle="手工拉坯", on_shelf=True, category="茶具",
                   actor="demo",
                   skus=[SkuSpec(name="单只", price_fen=3900, cost_fen=1200, stock=500)])
