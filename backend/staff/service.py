"""Staff verbs: create accounts, log in (throttled), deactivate, change roles, log out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from backend.audit.service import record_audit
from backend.auth.lockout import throttled_login
from backend.auth.passwords import check_password, hash_password
from backend.auth.revocation import PrincipalState, forget_principal
from backend.db import after_commit
from backend.extensions import db
from backend.staff.errors import (
    BadCredentials,
    CannotChangeBoss,
    InvalidRole,
    StaffNotFound,
    UsernameTaken,
)
from backend.staff.models import ROLES, STATUSES, StaffAccount
from backend.staff.types import StaffStatus
from backend.tenants.errors import TenantNotFound
from backend.tenants.service import get_tenant_by_slug


def create_staff(*, tenant_id: int, username: str, password: str, display_name: str,
                 role: str = "sales", member_id: int | None = None, actor: str) -> StaffAccount:
    """Add a back-office account to a tenant, audited."""
    if role not in ROLES:
        raise InvalidRole()
    exists = db.session.scalar(select(StaffAccount.id).where(
        StaffAccount.tenant_id == tenant_id, StaffAccount.username == username))
    if exists is not None:
        raise UsernameTaken()
    account = StaffAccount(tenant_id=tenant_id, username=username, display_name=display_name,
                           password_hash=hash_password(password), role=role,
                           member_id=member_id)
    db.session.add(account)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="staff.create", target_type="staff",
                 target_id=account.id, before=None,
                 after={"username": username, "role": role})
    return account


def authenticate(*, tenant_id: int | None, username: str, password: str) -> StaffAccount:
    """The active account with these credentials, or BadCredentials (same cost either way)."""
    account = None if tenant_id is None else db.session.scalar(select(StaffAccount).where(
        StaffAccount.tenant_id == tenant_id, StaffAccount.username == username))
    ok = check_password(account.password_hash if account else None, password)
    if account is None or not ok or account.status != StaffStatus.ACTIVE:
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
    """Back-office log in by tenant slug; an unknown tenant reads as bad credentials.

    Failed attempts are counted per (tenant, username): when they reach the limit the
    account is locked for the rest of the window (429 with Retry-After, an audited
    `staff.login_locked`), whether or not the username or the tenant exists
    (backend/auth/lockout.py).
    """
    try:
        tenant_id: int | None = get_tenant_by_slug(slug=tenant_slug).id
    except TenantNotFound:
        tenant_id = None
    return throttled_login(kind="staff", tenant_id=tenant_id, tenant_slug=tenant_slug, username=username,
                           bad=BadCredentials,
                           attempt=lambda: authenticate(tenant_id=tenant_id, username=username, password=password))


def token_state(*, tenant_id: int | None, subject_id: int | None) -> PrincipalState | None:
    """What a staff token is checked against (None: no such account in this tenant)."""
    row = db.session.execute(select(StaffAccount.status, StaffAccount.token_version,
                                    StaffAccount.role).where(
        StaffAccount.id == subject_id, StaffAccount.tenant_id == tenant_id)).first()
    return None if row is None else PrincipalState(status=row[0], version=row[1], role=row[2])


def _revoke(account: StaffAccount) -> None:
    account.token_version += 1
    staff_id = account.id
    after_commit(lambda: forget_principal(kind="staff", subject_id=staff_id))


def find_staff(*, tenant_id: int, staff_id: int) -> StaffAccount | None:
    """One staff account of this tenant, or None."""
    account = db.session.get(StaffAccount, staff_id)
    return account if account is not None and account.tenant_id == tenant_id else None


def display_names(*, tenant_id: int, staff_ids: Iterable[int]) -> dict[int, str]:
    """{staff id: display name} of these accounts of the tenant (one query)."""
    wanted = sorted(set(staff_ids))
    if not wanted:
        return {}
    return {i: name for i, name in db.session.execute(select(StaffAccount.id, StaffAccount.display_name).where(
        StaffAccount.tenant_id == tenant_id, StaffAccount.id.in_(wanted)))}


def list_staff(*, tenant_id: int) -> list[StaffAccount]:
    """Every staff account of the tenant, oldest first."""
    return list(db.session.scalars(select(StaffAccount).where(
        StaffAccount.tenant_id == tenant_id).order_by(StaffAccount.id)))


def update_staff(*, tenant_id: int, staff_id: int, actor: str, role: str | None = None,
                 status: str | None = None) -> StaffAccount:
    """Change a staff account's role or status (audited); every token it holds stops
    working at once. The boss account keeps its role and stays active."""
    account = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    if role is not None and role not in ROLES:
        raise InvalidRole()
    if status is not None and status not in STATUSES:
        raise ValueError(status)
    changes = {k: v for k, v in (("role", role), ("status", status))
               if v is not None and getattr(account, k) != v}
    if not changes:
        return account
    if account.role == "boss" or changes.get("role") == "boss":
        raise CannotChangeBoss()
    before = {k: getattr(account, k) for k in changes}
    for key, value in changes.items():
        setattr(account, key, value)
    _revoke(account)
    record_audit(tenant_id=tenant_id, actor=actor, action="staff.update", target_type="staff",
                 target_id=account.id, before=before, after=changes)
    return account


def logout(*, tenant_id: int, staff_id: int) -> None:
    """End every session of this staff account (all its tokens)."""
    account = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    _revoke(account)
    record_audit(tenant_id=tenant_id, actor=f"staff:{staff_id}", action="staff.logout",
                 target_type="staff", target_id=staff_id, before=None, after=None)
