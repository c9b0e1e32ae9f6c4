"""Builders for the SCRM tests; everything goes through the real services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db import unit_of_work, utcnow
from backend.extensions import db


def mp_code(tenant: Any, staff: Any, channel: str = "") -> Any:
    from backend.scrm import service as scrm

    with unit_of_work():
        return scrm.create_staff_code(tenant_id=tenant.id, staff_id=staff.id, kind="mp",
                                      channel=channel, actor="test")


def arrive(tenant: Any, member: Any, staff: Any, now: datetime | None = None) -> Any:
    from backend.scrm import service as scrm

    with unit_of_work():
        return scrm.arrive_by_scene(tenant_id=tenant.id, member_id=member.id,
                                    scene=f"s={staff.id}", now=now or utcnow())


def add_customer(tenant: Any, staff: Any, name: str = "张三", now: datetime | None = None,
                 **fields: Any) -> Any:
    from backend.scrm import service as scrm

    with unit_of_work():
        return scrm.add_customer(tenant_id=tenant.id, staff_id=staff.id, name=name,
                                 now=now or utcnow(), **fields)


def tag_group(tenant: Any, name: str, tags: Sequence[str], exclusive: bool = False) -> dict[str, int]:
    """Create a group; returns tag name → id."""
    from backend.scrm import tags as tagging
    from backend.scrm.models import Tag

    with unit_of_work():
        group = tagging.create_tag_group(tenant_id=tenant.id, name=name, tag_names=list(tags),
                                         exclusive=exclusive, actor="test")
    return {t.name: t.id for t in db.session.scalars(select(Tag).where(Tag.group_id == group.id))}


def rule(tenant: Any, tag_id: int, kind: str, params: dict[str, Any]) -> Any:
    from backend.scrm import tags as tagging

    with unit_of_work():
        return tagging.create_tag_rule(tenant_id=tenant.id, tag_id=tag_id, kind=kind,
                                       params=params, actor="test")


def tag_names(tenant: Any, customer_id: int) -> list[str]:
    from backend.scrm import tags as tagging

    return [t.name for t in tagging.customer_tags(tenant_id=tenant.id,
                                                  customer_ids=[customer_id])[customer_id]]


def events(customer_id: int, kind: str | None = None) -> list[Any]:
    from backend.scrm.models import CustomerEvent

    stmt = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
    if kind:
        stmt = stmt.where(CustomerEvent.kind == kind)
    return list(db.session.scalars(stmt.order_by(CustomerEvent.id)))


def fresh(model: Any, row_id: int) -> Any:
    return db.session.get(model, row_id, populate_existing=True)
