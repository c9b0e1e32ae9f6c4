"""Scheduled flows (run by `python -m backend.jobs`)."""

from __future__ import annotations

from datetime import datetime

from backend.flows import (
    group_buy,
    paid_order,
    reconciliation,
    supplier_settlement,
    team_performance,
    upgrades,
)

# team performance: a month is recorded once; the job looks every 6 hours (the first
# run after a month ends records it)
INTERVALS = {"settle_supplier_income": 300, "reconcile_supplier_sharing": 120, "unwind_failed_groups": 30,
             "refund_free_leaders": 30,
             "reconcile_wechat_bills": 3600, "record_team_performance": 6 * 3600,
             "upgrade_marked_tenants": 30, "upgrade_all_tenants": 3600,
             "follow_up_paid_orders": 0.1}
# A job that moved here keeps the name operators type after --only / --once.
NAMES = {"follow_up_paid_orders": "orders.follow_up_paid_orders"}


def follow_up_paid_orders(*, now: datetime) -> int:
    """Drain the paid-order follow-up backlog (rewards, ledger, alerts) in batches: all
    of it under PAID_FOLLOWUP=worker, and any inline run a crash cut short; returns how
    many orders it followed up."""
    return paid_order.drain()


def settle_supplier_income(*, now: datetime) -> int:
    """Suppliers' income whose after-sales window has passed: into their balances, or
    split to their own WeChat Pay merchant accounts for orders paid with profit sharing."""
    return supplier_settlement.settle_due(now=now)


def reconcile_supplier_sharing(*, now: datetime) -> int:
    """Profit-sharing splits still waiting for WeChat Pay's result: queried (or re-sent)."""
    return supplier_settlement.reconcile_sharing(now=now)


def unwind_failed_groups(*, now: datetime) -> int:
    """Group-buys whose time ran out: failed, their unpaid orders cancelled and paid ones
    refunded, each seat exactly once."""
    return group_buy.unwind_failed_groups(now_fn=lambda: now)


def refund_free_leaders(*, now: datetime) -> int:
    """Filled group-buys of free-leader campaigns (团长免单): the leader's order refunded
    in full, each group once."""
    return group_buy.refund_free_leaders(now_fn=lambda: now)


def reconcile_wechat_bills(*, now: datetime) -> int:
    """Yesterday's WeChat Pay trade and fund-flow bills against the ledger, per tenant,
    once the bills are ready; differences listed for the operator."""
    return reconciliation.reconcile_yesterday(now=now)


def record_team_performance(*, now: datetime) -> int:
    """Last month's team performance bonuses (团队业绩奖), once per tenant and month."""
    return team_performance.record_all(now=now)


def upgrade_marked_tenants(*, now: datetime) -> int:
    """Level and tier upgrades for tenants where a payment, a recharge or a binding
    happened since the last run (SPEC §4.4); returns how many members moved."""
    return upgrades.upgrade_marked(now=now)


def upgrade_all_tenants(*, now: datetime) -> int:
    """The hourly upgrade pass over every tenant (what the marks might have missed)."""
    return upgrades.upgrade_all(now=now)
