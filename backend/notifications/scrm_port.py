"""The bot's calls into SCRM (customers, tags, remarks), behind three small functions so
the bot never depends on SCRM's internals. SCRM owns the rules: keyword tag rules,
who may see which customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.scrm.service import (
    customer_card,
    find_customer_by_contact,
    find_customers,
    upsert_contact_customer,
)
from backend.scrm.tags import apply_keyword_rules


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

    for kwargs in ({"im_contact_id": im_contact_id}, {"external_userid": external_userid},
                   {"member_id": member_id}):
        if next(iter(kwargs.values())):
            customer = find_customer_by_contact(tenant_id=tenant_id, **kwargs)  # type: ignore[arg-type]
            if customer is not None:
                return int(customer.id)
    return None


def befriend(*, tenant_id: int, staff_id: int, im_contact_id: str, name: str, now: datetime) -> int:
    """A personal-WeChat friend of a staff member's bot becomes (or stays) their customer."""

    return int(upsert_contact_customer(tenant_id=tenant_id, staff_id=staff_id, contact_id=im_contact_id,
                                       name=name, now=now).id)


def apply_keyword_tags(*, tenant_id: int, customer_id: int, text: str, now: datetime) -> list[str]:
    """Apply the tenant's keyword tag rules to a customer's message; the tag names added."""

    return [t.name for t in apply_keyword_rules(tenant_id=tenant_id, customer_id=customer_id, text=text,
                                                now=now)]


def find_customer_card(*, tenant_id: int, staff_id: int, query: str, remarks: int = 3) -> CustomerCard | None:
    """The first customer the staff member may see whose name or phone matches the query."""

    found = find_customers(tenant_id=tenant_id, staff_id=staff_id, text=query.strip(), limit=1)
    if not found:
        return None
    card = customer_card(tenant_id=tenant_id, staff_id=staff_id, customer_id=found[0].id, remarks=remarks)
    tags = tuple(name for group in card["tag_groups"] for name in group["tags"])
    notes = tuple((datetime.fromisoformat(r["at"]), r["content"]) for r in card["remarks"] if r["content"])
    return CustomerCard(customer_id=card["id"], name=card["name"], phone=card["phone"], tags=tags,
                        remarks=notes, owner=card["owner_name"])
