"""The bot's calls into SCRM (customers, tags, remarks), behind three small functions so
the bot never depends on SCRM's internals. SCRM owns the rules: keyword tag rules,
who may see which customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from backend.extensions import db
from backend.members.invite import normalise_invite_code
from backend.members.models import Member


@dataclass(frozen=True)
class CustomerCard:
    """What a staff member sees of a customer in chat."""

    customer_id: int
    name: str
    phone: str | None
    tags: tuple[str, ...]
    remarks: tuple[tuple[datetime, str], ...]  # newest first
    owner: str | None


def customer_for_chat(*, tenant_id: int, im_contact_id: str | None = None, member_id: int | None = None,
                      external_userid: str | None = None) -> int | None:
    """The SCRM customer behind a chat identity, if SCRM knows them."""
    from backend.scrm.models import Customer

    conds = []
    if im_contact_id:
        conds.append(Customer.im_contact_id == im_contact_id)
    if member_id:
        conds.append(Customer.member_id == member_id)
    if external_userid:
        conds.append(Customer.external_userid == external_userid)
    if not conds:
        return None
    return db.session.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id, or_(*conds))
                             .order_by(Customer.id).limit(1))


def apply_keyword_tags(*, tenant_id: int, customer_id: int, text: str, now: datetime) -> list[str]:
    """Apply the tenant's keyword tag rules to a customer's message; the tag names added."""
    from backend.scrm.tags import apply_keyword_rules

    return [t.name for t in apply_keyword_rules(tenant_id=tenant_id, customer_id=customer_id, text=text,
                                                now=now)]


def find_customer_card(*, tenant_id: int, staff_id: int, query: str, remarks: int = 3) -> CustomerCard | None:
    """A customer the staff member may see, found by phone, invite code or name."""
    from backend.scrm.access import acting_staff, sees_all
    from backend.scrm.models import Customer, CustomerEvent
    from backend.scrm.tags import customer_tags
    from backend.staff.models import StaffAccount

    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    query = query.strip()[:64]
    if not query:
        return None
    conds = [Customer.phone == query, Customer.name == query]
    code = normalise_invite_code(query)
    if code:
        member_id = db.session.scalar(select(Member.id).where(Member.tenant_id == tenant_id,
                                                              Member.invite_code == code))
        if member_id is not None:
            conds.append(Customer.member_id == member_id)
    stmt = select(Customer).where(Customer.tenant_id == tenant_id, or_(*conds))
    if not sees_all(staff):
        stmt = stmt.where(Customer.owner_staff_id == staff.id)
    customer = db.session.scalar(stmt.order_by(Customer.id).limit(1))
    if customer is None:
        like = select(Customer).where(Customer.tenant_id == tenant_id, Customer.name.like(f"%{query}%"))
        if not sees_all(staff):
            like = like.where(Customer.owner_staff_id == staff.id)
        customer = db.session.scalar(like.order_by(Customer.id).limit(1))
    if customer is None:
        return None
    tags = customer_tags(tenant_id=tenant_id, customer_ids=[customer.id]).get(customer.id, [])
    notes = db.session.execute(select(CustomerEvent.at, CustomerEvent.content).where(
        CustomerEvent.tenant_id == tenant_id, CustomerEvent.customer_id == customer.id,
        CustomerEvent.kind == "remark").order_by(CustomerEvent.id.desc()).limit(remarks))
    owner = None
    if customer.owner_staff_id is not None:
        owner = db.session.scalar(select(StaffAccount.display_name).where(
            StaffAccount.id == customer.owner_staff_id))
    return CustomerCard(customer_id=customer.id, name=customer.name, phone=customer.phone,
                        tags=tuple(t.name for t in tags), remarks=tuple((at, text) for at, text in notes),
                        owner=owner)
