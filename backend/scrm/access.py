"""Who may touch which customer, the timeline writer, and the China-local day.

Managers (boss, operator) see every customer of their tenant; sales staff see the
customers they own. Every verb acting for a staff member goes through
`acting_staff` (the account must be this tenant's and active) and `customer_for`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.scrm.errors import CustomerNotFound, CustomerNotYours, StaffInactive
from backend.scrm.models import Customer, CustomerEvent
from backend.staff.service import get_staff
from backend.staff.types import StaffInfo, StaffStatus
from backend.types import CHINA_TZ, china_day, china_day_start  # noqa: F401  (re-exported)

MANAGER_ROLES = ("boss", "operator")


day_start = china_day_start  # the workload's days are China-local


def acting_staff(*, tenant_id: int, staff_id: int) -> StaffInfo:
    """The staff account acting, which must be this tenant's and active."""
    staff = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    if staff.status != StaffStatus.ACTIVE:
        raise StaffInactive()
    return staff


def sees_all(staff: StaffInfo) -> bool:
    return staff.role in MANAGER_ROLES


def load_customer(*, tenant_id: int, customer_id: int, lock: bool = False) -> Customer:
    """A customer of this tenant (no access check), or CustomerNotFound."""
    stmt = select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    customer = db.session.scalar(stmt)
    if customer is None:
        raise CustomerNotFound()
    return customer


def customer_for(*, tenant_id: int, staff: StaffInfo, customer_id: int,
                 lock: bool = False) -> Customer:
    """A customer the staff member may see and work on."""
    customer = load_customer(tenant_id=tenant_id, customer_id=customer_id, lock=lock)
    if not sees_all(staff) and customer.owner_staff_id != staff.id:
        raise CustomerNotYours()
    return customer


def record_event(*, customer: Customer, kind: str, staff_id: int | None, now: datetime,
                 content: str = "", data: Any = None) -> CustomerEvent:
    """Append one entry to a customer's timeline."""
    event = CustomerEvent(tenant_id=customer.tenant_id, customer_id=customer.id, staff_id=staff_id,
                          kind=kind, content=content, data=data, at=now, day=china_day(now))
    db.session.add(event)
    return event
