"""Finding the demo tenant's members by the sandbox login code they were seeded with
(`backend/demo.py` creates them; a code turns into the same openid every time)."""

from __future__ import annotations

from backend.db import utcnow
from backend.members.models import Member
from backend.members.service import upsert_member
from backend.wechat.sandbox import sandbox_openid
from backend.wechat.service import credentials


def demo_member(*, tenant_id: int, code: str) -> Member:
    """The member who logs in with sandbox code `code` (created if new)."""
    appid = credentials(tenant_id=tenant_id).mini_program.appid  # type: ignore[union-attr]
    return upsert_member(tenant_id=tenant_id, openid=sandbox_openid(appid, code), now=utcnow())
