"""Builders for notification and bot tests, through the real services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.db import unit_of_work


def link(tenant: Any, *, transport: str, contact_id: str, member: Any = None, staff: Any = None,
         name: str = "", now: datetime) -> Any:
    """Link a chat identity to a member or staff account with a one-time code."""
    from backend.notifications.contacts import issue_link_code, link_contact

    with unit_of_work():
        code = issue_link_code(tenant_id=tenant.id, member_id=member.id if member else None,
                               staff_id=staff.id if staff else None)
        return link_contact(tenant_id=tenant.id, transport=transport, contact_id=contact_id,
                            display_name=name or contact_id, code=code, now=now)


def freeze_reward(tenant: Any, member: Any, amount_fen: int, *, key: str, now: datetime) -> None:
    """Credit a member's frozen rewards in the ledger (as payment of an order does)."""
    from backend.ledger.models import AccountKind
    from backend.ledger.service import Leg, post, system
    from backend.ledger.service import member as member_account

    with unit_of_work():
        post(tenant_id=tenant.id, key=key, kind="reward_freeze", now=now, member_id=member.id,
             legs=[Leg(member_account(AccountKind.MEMBER_FROZEN, member.id), amount_fen),
                   Leg(system(AccountKind.MERCHANT), -amount_fen)])


def settle_reward(tenant: Any, member: Any, amount_fen: int, *, key: str, now: datetime) -> None:
    """Move frozen rewards to the member's withdrawable balance (as settlement does)."""
    from backend.ledger.models import AccountKind
    from backend.ledger.service import Leg, post
    from backend.ledger.service import member as member_account

    with unit_of_work():
        post(tenant_id=tenant.id, key=key, kind="reward_settle", now=now, member_id=member.id,
             legs=[Leg(member_account(AccountKind.MEMBER_FROZEN, member.id), -amount_fen),
                   Leg(member_account(AccountKind.MEMBER_AVAILABLE, member.id), amount_fen)])


def wecom_texts(sandbox: Any, tenant: Any, user_id: str) -> list[str]:
    """WeCom app texts the sandbox received for one staff user of the tenant's corp."""
    from backend.wechat.demo import demo_credentials

    corp = demo_credentials(tenant.slug, pay_notify_url="http://x").wecom.corp_id
    return [m["body"]["content"] for m in list(sandbox.wecom_messages)
            if m["corp_id"] == corp and user_id in m["touser"] and m["msgtype"] == "text"]
