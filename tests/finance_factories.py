"""Builders for finance tests, through the real services (rewards plan and payouts,
finance verbs): a paid order's rewards, an available balance, ledger checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from types import SimpleNamespace
from typing import Any

from backend.db import unit_of_work
from backend.finance import service as finance
from backend.ledger.models import AccountKind as K
from backend.ledger.service import balances_of, check_ledger

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 12:00 in China
DECK_PLAN = {"name": "三级分销", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}

_ids = count(1000)


def next_id() -> int:
    return next(_ids)


def activate_plan(tenant: Any, document: dict[str, Any] = DECK_PLAN) -> None:
    from backend.rewards import service as rewards

    with unit_of_work():
        row = rewards.save_plan_version(tenant_id=tenant.id, document=document, actor="test")
        rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="test", now=T0)


def paid_order(tenant: Any, buyer: Any, lines: list[tuple[int, int]], *, now: datetime = T0,
               order_id: int | None = None) -> tuple[int, list[int], list[Any]]:
    """A paid order of `buyer` with lines (paid_fen, cost_fen): its rewards computed on
    the buyer's chain with the active plan and handed to finance, as the orders domain
    does. Returns (order id, order line ids, payouts)."""
    from backend.rewards import service as rewards
    from backend.rewards.engine import OrderLine
    from backend.rewards.service import OrderSnapshot

    order_id = order_id or next_id()
    line_ids = [next_id() for _ in lines]
    with unit_of_work():
        snap_buyer, chain = rewards.member_chain(tenant_id=tenant.id, member_id=buyer.id)
        snapshot = OrderSnapshot(order_id=order_id, buyer=snap_buyer, paid_at=now, lines=tuple(
            OrderLine(order_line_id=lid, product_id=7, paid_fen=paid, cost_fen=cost)
            for lid, (paid, cost) in zip(line_ids, lines, strict=True)))
        payouts = rewards.compute_and_record_payouts(tenant_id=tenant.id, order_snapshot=snapshot, chain=chain)
        finance.on_order_paid(tenant_id=tenant.id, order_id=order_id, paid_fen=sum(p for p, _ in lines),
                              payouts=payouts, now=now)
    return order_id, line_ids, payouts


def give_available(tenant: Any, member: Any, amount_fen: int, *, now: datetime = T0) -> None:
    """Credit a member's withdrawable balance as a bonus payout would."""
    with unit_of_work():
        finance.credit_bonuses(tenant_id=tenant.id, now=now, payouts=[
            SimpleNamespace(id=next_id(), beneficiary_id=member.id, amount_fen=amount_fen, order_line_id=None)])


def give_stored(tenant: Any, member: Any, amount_fen: int, *, now: datetime = T0) -> None:
    """Credit a member's stored value as a paid recharge would (no bonus)."""
    from backend.ledger.service import Leg, post, system
    from backend.ledger.service import member as member_account

    with unit_of_work():
        post(tenant_id=tenant.id, key=f"test:stored:{next_id()}", kind="recharge", now=now,
             legs=[Leg(system(K.WECHAT_CLEARING), -amount_fen),
                   Leg(member_account(K.MEMBER_STORED, member.id), amount_fen)])


def balances(tenant: Any, member: Any) -> dict[str, int]:
    """{"frozen", "available", "stored"} of a member, in fen."""
    with unit_of_work():
        b = balances_of(tenant_id=tenant.id, owner_id=member.id)
    return {"frozen": b.get(K.MEMBER_FROZEN, 0), "available": b.get(K.MEMBER_AVAILABLE, 0),
            "stored": b.get(K.MEMBER_STORED, 0)}


def assert_ledger_balanced(tenant: Any) -> Any:
    """The balances equal the rebuilt ledger, every posting and the tenant sum to zero."""
    with unit_of_work():
        report = check_ledger(tenant_id=tenant.id)
    assert report.ok, report.as_dict()
    return report


def rules(tenant: Any, **changes: Any) -> None:
    with unit_of_work():
        finance.update_rules(tenant_id=tenant.id, changes=changes, actor="test")


def days(n: float) -> timedelta:
    return timedelta(days=n)
