"""Flows: the one place where domains meet. Each module is a sequence that touches
several domains (checkout with coupons and points, an order paid or refunded and what
marketing and the suppliers do about it, the agent channel's restock, drop-ship and
certificates, a supplier's orders and after-sales). Importing this package registers
the flows' listeners for what lower domains announce (backend/events.py);
backend/app.py does so at start.
"""

# isort: off
# The money's listeners register first, so they run first: a refund's postings, a
# completion's settle clock, the follow-up and the alerts come before anything else
# reacts to the same announcement (as when orders called finance directly).
from backend.flows import order_money, binding, alerts
from backend.flows import (
    agent_channel,
    checkout,
    group_buy,
    level_packages,
    live_selling,
    marketing_events,
    materials,
    payment_methods,
    promoters,
    supplier_events,
    suppliers,
    upgrades,
)

# isort: on

__all__ = ["order_money", "binding", "alerts", "agent_channel", "checkout", "group_buy", "level_packages", "live_selling",
           "marketing_events", "materials", "payment_methods", "promoters", "supplier_events", "suppliers", "upgrades"]
