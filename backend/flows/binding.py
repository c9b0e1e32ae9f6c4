"""What a binding sets off beyond the members domain."""

from __future__ import annotations

from datetime import datetime

from backend.events import listen
from backend.notifications import service as notifications


@listen("member_bound")
def tell_the_parent(*, tenant_id: int, member_id: int, parent_id: int, source: str, scene: str | None,
                    now: datetime) -> None:
    """The promoter hears of the new fan through the outbox (sent only if this commits)."""
    notifications.enqueue_team_member_alert(tenant_id=tenant_id, member_id=member_id, now=now)
