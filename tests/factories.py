"""Test data builders that go through the real services (never raw inserts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.auth.tokens import issue_token
from backend.db import unit_of_work, utcnow


class Factory:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def tenant(self, slug: str | None = None, **policy: Any) -> Any:
        from backend.tenants.service import create_tenant, update_policy
        from backend.wechat.demo import demo_credentials

        slug = slug or f"brand{self._next()}"
        with unit_of_work():
            tenant = create_tenant(slug=slug, name=f"品牌{slug}",
                                   credentials=demo_credentials(
                                       slug, pay_notify_url=f"http://127.0.0.1/api/v1/pay/notify/{slug}").to_flat(),
                                   actor="test")
            if policy:
                update_policy(tenant_id=tenant.id, changes=policy, actor="test")
        return tenant

    def member(self, tenant: Any, parent: Any = None, nickname: str | None = None,
               now: datetime | None = None) -> Any:
        from backend.members.service import bind_member, upsert_member

        now = now or utcnow()
        n = self._next()
        with unit_of_work():
            member = upsert_member(tenant_id=tenant.id, openid=f"openid-{tenant.id}-{n}",
                                   unionid=f"union-{tenant.id}-{n}", nickname=nickname or f"会员{n}",
                                   now=now)
            if parent is not None:
                bind_member(tenant_id=tenant.id, member_id=member.id, parent_id=parent.id,
                            source="share", scene=None, now=now)
        return member

    def chain(self, tenant: Any, length: int) -> list[Any]:
        """Members m0 → m1 → … (m0 brought m1), root first."""
        out: list[Any] = []
        for _ in range(length):
            out.append(self.member(tenant, parent=out[-1] if out else None))
        return out

    def staff(self, tenant: Any, role: str = "boss", member_id: int | None = None) -> Any:
        from backend.staff.service import create_staff

        with unit_of_work():
            return create_staff(tenant_id=tenant.id, username=f"{role}{self._next()}",
                                password="password123", display_name=role, role=role,
                                member_id=member_id, actor="test")

    def member_headers(self, member: Any) -> dict[str, str]:
        token = issue_token(kind="member", tenant_id=member.tenant_id, subject_id=member.id,
                            version=member.token_version)
        return {"Authorization": f"Bearer {token}"}

    def staff_headers(self, account: Any) -> dict[str, str]:
        token = issue_token(kind="staff", tenant_id=account.tenant_id, subject_id=account.id,
                            role=account.role, version=account.token_version)
        return {"Authorization": f"Bearer {token}"}
