"""Builders for the agent channel's tests: a plan with three agent levels, products
with level prices, authorized agents in a chain, stock put into their cloud warehouse
through real restocks, stored value through the real ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.db import unit_of_work, utcnow

AGENT_PLAN = {"name": "代理方案", "agents": {"mode": "difference", "base": "paid", "levels": [
    {"key": "l3", "name": "三级代理", "rate": "5%"},
    {"key": "l2", "name": "二级代理", "rate": "7%"},
    {"key": "l1", "name": "一级代理", "rate": "10%"}]}}
LEVEL_PRICES = {"l1": 5000, "l2": 6000, "l3": 7000}
ZHEJIANG = [{"province": "浙江省"}]


class AgentsFactory:
    def __init__(self, app: Any, shop: Any, factory: Any) -> None:
        self.app = app
        self.shop = shop
        self.factory = factory

    def brand(self, **settings: Any) -> tuple[Any, int, int]:
        """A tenant with the agent plan and one product (retail 100.00, cost 30.00, level
        prices 50/60/70 yuan, 1000 pieces in the brand's stock); (tenant, product, sku)."""
        tenant = self.factory.tenant()
        self.shop.plan(tenant, AGENT_PLAN)
        product_id, sku_id = self.shop.product(tenant, price_fen=10000, cost_fen=3000, stock=1000,
                                               level_prices=LEVEL_PRICES)
        if settings:
            self.settings(tenant, **settings)
        return tenant, product_id, sku_id

    def settings(self, tenant: Any, **changes: Any) -> None:
        from backend.agents import service as agents

        with unit_of_work():
            agents.update_settings(tenant_id=tenant.id, changes=changes, actor="test", now=utcnow())

    def authorize(self, tenant: Any, member: Any, level: str, *, regions: Any = None,
                  product_ids: Any = None, categories: Any = None, days: int = 365) -> Any:
        from backend.flows import agent_channel as channel

        with unit_of_work():
            return channel.authorize(tenant_id=tenant.id, member_id=member.id, level=level, actor="test",
                                     now=utcnow(), regions=regions, product_ids=product_ids,
                                     categories=categories, valid_until=utcnow() + timedelta(days=days))

    def categorize(self, tenant: Any, product_id: int, category: str) -> None:
        """Put a product in a catalog category (商品分类)."""
        from backend.catalog import service as catalog

        with unit_of_work():
            catalog.update_product(tenant_id=tenant.id, product_id=product_id, changes={"category": category},
                                   actor="test", known_levels=None)

    def agents_chain(self, tenant: Any, levels: list[str]) -> list[Any]:
        """Members top first (levels[0] at the top), each authorized at its level."""
        chain = self.factory.chain(tenant, len(levels))
        for m, lv in zip(chain, levels, strict=True):
            self.authorize(tenant, m, lv)
        return chain

    def stored_value(self, tenant: Any, member: Any, amount_fen: int) -> None:
        """Stored value as a recharge leaves it (merchant → the member's stored value)."""
        from backend.ledger import service as ledger
        from backend.ledger.models import AccountKind as K

        with unit_of_work():
            ledger.post(tenant_id=tenant.id, key=f"test:recharge:{member.id}:{utcnow().timestamp()}",
                        kind="recharge", now=utcnow(), legs=[
                            ledger.Leg(ledger.system(K.WECHAT_CLEARING), -amount_fen),
                            ledger.Leg(ledger.member(K.MEMBER_STORED, member.id), amount_fen)])

    def stock(self, tenant: Any, member: Any, sku_id: int, pieces: int) -> None:
        """Pieces into an agent's cloud stock through a real platform restock paid from stored value."""
        from backend.flows import agent_channel as channel

        with unit_of_work():
            r, _ = channel.place_restock(tenant_id=tenant.id, member_id=member.id, items=[(sku_id, pieces)],
                                         source="platform", now=utcnow())
            rid, amount = r.id, r.amount_fen
        self.stored_value(tenant, member, amount)
        with unit_of_work():
            channel.pay_restock_with_stored_value(tenant_id=tenant.id, member_id=member.id, restock_id=rid,
                                                  now=utcnow())

    def pieces(self, tenant: Any, member: Any, sku_id: int) -> int:
        from backend.warehouse import service as warehouse

        with self.app.app_context():
            return warehouse.stock_of(tenant_id=tenant.id, member_id=member.id).get(sku_id, 0)

    def balances(self, tenant: Any, member: Any) -> dict[str, int]:
        from backend.ledger import service as ledger

        return ledger.balances_of(tenant_id=tenant.id, owner_id=member.id)
