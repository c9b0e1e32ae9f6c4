"""The demo tenant's finance rules: a 7-day after-sales window, small withdrawals paid
without review, balance transfers on, and recharge bonus tiers (充值送)."""

from __future__ import annotations

from typing import Any

from backend.finance.service import update_rules

DEMO_RULES = {
    "settle_after_days": 7,
    "withdraw_min_fen": 100,  # 1 yuan
    "withdraw_fee_rate": "0%",
    "withdraw_daily_limit_fen": 500_000,  # 5000 yuan a day
    "withdraw_daily_count": 3,
    "auto_approve_below_fen": 5_000,  # below 50 yuan paid without review
    "transfer_enabled": True,
    "recharge_bonus": [{"min_fen": 10_000, "bonus_fen": 500}, {"min_fen": 50_000, "bonus_fen": 5_000}],
}


def seed(tenant: Any) -> None:
    """Set the demo rules (called once, inside the demo unit of work)."""
    update_rules(tenant_id=tenant.id, changes=DEMO_RULES, actor="demo")
