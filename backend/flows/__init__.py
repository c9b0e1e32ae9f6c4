"""Flows: the one place where domains meet. Each module is a sequence that touches
several domains (checkout with coupons and points, an order paid or refunded and what
marketing and the suppliers do about it, the agent channel's restock, drop-ship and
certificates, a supplier's orders and after-sales). Importing this package registers
the flows' listeners for what lower domains announce (backend/events.py);
backend/app.py does so at start.
"""

from backend.flows import (
    agent_channel,
    checkout,
    group_buy,
    live_selling,
    marketing_events,
    materials,
    promoters,
    supplier_events,
    suppliers,
    upgrades,
)

__all__ = ["agent_channel", "checkout", "group_buy", "live_selling", "marketing_events", "materials",
           "promoters", "supplier_events", "suppliers", "upgrades"]
