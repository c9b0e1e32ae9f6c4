"""Staff verbs: create accounts, log in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from backend.audit.service import record_audit
from backend.extensions import db
from backend.staff.errors import BadCredentials, StaffNotFound, UsernameTaken
from backend.staff.models import ROLES, StaffAccount


def create_staff(*, tenant_id: int, username: str, password: str, display_name: str,
                 role: str = "staff", member_id: int | None = None, actor: str) -> StaffAccount:
    """Add a back-office account to a tenant, audited."""
    if role not in ROLES:
        raise ValueError(role)
    exists = db.session.scalar(select(StaffAccount.id).where(
        StaffAccount.tenant_id == tenant_id, StaffAccount.username == username))
    if exists is not None:
        raise UsernameTaken()
    account = StaffAccount(tenant_id=tenant_id, username=username, display_name=display_name,
                           password_hash=generate_password_hash(password), role=role,
                           member_id=member_id)
    db.session.add(account)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="staff.create", target_type="staff",
                 target_id=account.id, before=None,
                 after={"username": username, "role": role})
    return account


def authenticate(*, tenant_id: int, username: str, password: str) -> StaffAccount:
    """The active account with these credentials, or BadCredentials."""
    account = db.session.scalar(select(StaffAccount).where(
        StaffAccount.tenant_id == tenant_id, StaffAccount.username == username))
    if account is None or account.status != "active" or not check_password_hash(
            account.password_hash, password):
        raise BadCredentials()
    return account


def get_staff(*, tenant_id: int, staff_id: int) -> StaffAccount:
    """One staff account of this tenant, or StaffNotFound."""
    account = db.session.get(StaffAccount, staff_id)
    if account is None or account.tenant_id != tenant_id:
        raise StaffNotFound()
    return account


def staff_view(account: StaffAccount) -> dict[str, Any]:
    return {"id": account.id, "username": account.username, "display_name": account.display_name,
            "role": account.role, "status": account.status, "member_id": account.member_id}


def login(*, tenant_slug: str, username: str, password: str) -> StaffAccount:
    """Back-office log in by tenant slug; an unknown tenant reads as bad credentials."""
    from backend.tenants.errors import TenantNotFound
    from backend.tenants.service import get_tenant_by_slug

    try:
        tenant = get_tenant_by_slug(slug=tenant_slug)
    except TenantNotFound:
        raise BadCredentials() from None
    return authenticate(tenant_id=tenant.id, username=username, password=password)
