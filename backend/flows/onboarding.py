"""A brand joins: the tenant, then its boss's back-office account (tenants and staff meet here)."""

from __future__ import annotations

from typing import Any

from backend.staff import service as staff
from backend.tenants import service as tenants


def open_tenant(*, slug: str, name: str, credentials: dict[str, Any] | None = None, actor: str = "platform",
                boss_username: str | None = None, boss_password: str | None = None) -> tenants.Tenant:
    """Create a brand with its credentials (secrets encrypted at rest) and, given a
    password, its boss account (both audited)."""
    tenant = tenants.create_tenant(slug=slug, name=name, credentials=credentials, actor=actor)
    if boss_password:
        staff.create_staff(tenant_id=tenant.id, username=boss_username or "boss", password=boss_password,
                           display_name="老板", role="boss", actor=actor)
    return tenant
