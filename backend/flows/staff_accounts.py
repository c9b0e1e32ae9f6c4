"""A back-office account linked to a member: the staff domain stores the link, the
members domain says whether the member exists in this tenant (a foreign key checked
here, not left to the database: a missing member is a clear 404, another tenant's
member is never linked)."""

from __future__ import annotations

from backend.members import service as members
from backend.staff import service as staff
from backend.staff.types import StaffInfo


def create_staff(*, tenant_id: int, username: str, password: str, display_name: str,
                 role: str, member_id: int | None, actor: str) -> StaffInfo:
    """Add a staff account (audited); `member_id` must be a member of this tenant."""
    if member_id is not None:
        members.get_member(tenant_id=tenant_id, member_id=member_id)  # MemberNotFound
    return staff.create_staff(tenant_id=tenant_id, username=username, password=password,
                              display_name=display_name, role=role, member_id=member_id,
                              actor=actor)
