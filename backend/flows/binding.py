"""What a binding sets off beyond the members domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from backend.events import listen
from backend.members.types import Bound
from backend.notifications import service as notifications


@listen("members_bound")
def tell_the_parents(*, tenant_id: int, bindings: Sequence[Bound], now: datetime) -> None:
    """Each promoter hears of its new fan through the outbox (sent only if this commits):
    a batch of bindings in one read and one INSERT."""
    notifications.enqueue_team_member_alerts(tenant_id=tenant_id, bound=[(b.member_id, b.parent_id)
                                                                         for b in bindings], now=now)
