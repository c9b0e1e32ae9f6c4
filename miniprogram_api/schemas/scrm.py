"""The sales assistant (SCRM) as the API shows it."""

from __future__ import annotations

from datetime import date
from typing import Any

from miniprogram_api.http import Out, Timestamp


class StaffCodeOut(Out):
    id: int
    staff_id: int
    kind: str
    channel: str
    state: str
    qr_url: str
    welcome_text: str
    active: bool


class MyCodeOut(Out):
    staff_id: int
    scene: str
    image: str


class TagOut(Out):
    id: int
    name: str
    group_id: int


class CustomerOut(Out):
    id: int
    name: str
    phone: str | None
    member_id: int | None
    external_userid: str | None
    source: str
    channel: str
    owner_staff_id: int | None
    owner_name: str | None
    owned_since: Timestamp | None
    last_followed_at: Timestamp | None
    created_at: Timestamp
    tags: list[TagOut]


class TagsOfGroup(Out):
    group: str
    tags: list[str]


class EventOut(Out):
    id: int
    kind: str
    staff_id: int | None
    content: str
    data: Any
    at: Timestamp


class ReminderOut(Out):
    id: int
    customer_id: int
    staff_id: int
    due_at: Timestamp
    note: str
    status: str
    done_at: Timestamp | None


class CustomerCardOut(CustomerOut):
    tag_groups: list[TagsOfGroup]
    remarks: list[EventOut]
    reminders: list[ReminderOut]


class CustomerTagsOut(Out):
    tags: list[TagOut]


class TagCount(Out):
    id: int
    name: str
    customers: int


class TagGroupOut(Out):
    id: int
    name: str
    exclusive: bool
    tags: list[TagCount]


class TagGroupHeadOut(Out):
    id: int
    name: str
    exclusive: bool


class TagsDeleted(Out):
    deleted: int
    customer_tags_removed: int


class TagRuleOut(Out):
    id: int
    tag_id: int
    kind: str
    params: dict[str, Any]
    active: bool


class WorkloadNumbers(Out):
    customers_added: int
    customers_tagged: int
    customers_followed_up: int
    customers_remarked: int
    orders: int
    sales_fen: int


class WorkloadDay(WorkloadNumbers):
    day: date


class StaffWorkload(Out):
    staff_id: int
    name: str
    role: str
    status: str
    customers_owned: int
    days: list[WorkloadDay]
    total: WorkloadNumbers


class WorkloadOut(Out):
    start: date
    end: date
    days: list[date]
    staff: list[StaffWorkload]


class WeComUserOut(Out):
    staff_id: int
    wecom_user_id: str | None


class HandOverOut(Out):
    moved: int


class OwnershipOut(Out):
    staff_id: int
    reason: str
    started_at: Timestamp
    ended_at: Timestamp | None
    end_reason: str | None


class ArrivalOut(Out):
    status: str
    bind_status: str | None


class PhoneOut(Out):
    phone: str
