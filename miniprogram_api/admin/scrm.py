"""SCRM (销售助手) for staff: staff pages (my codes, my customers, tags, remarks,
reminders) and the boss's back-office (tags and rules, staff codes, workload, hand-over)."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any, Literal

from flask import Blueprint, Response
from pydantic import AwareDatetime, Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.posters import service as posters
from backend.scrm import service as scrm
from backend.scrm import tags as tagging
from backend.scrm import workload
from backend.scrm.types import ReminderStatus
from backend.staff.service import get_staff
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.common import Deleted
from miniprogram_api.schemas.scrm import (
    CustomerCardOut,
    CustomerOut,
    CustomerTagsOut,
    EventOut,
    HandOverOut,
    MyCodeOut,
    OwnershipOut,
    ReminderOut,
    StaffCodeOut,
    TagGroupHeadOut,
    TagGroupOut,
    TagOut,
    TagRuleOut,
    TagsDeleted,
    WeComUserOut,
    WorkloadOut,
)

bp = Blueprint("scrm", __name__, url_prefix="/api/v1")





Id = Field(ge=1, le=2**53)


class CustomerIn(Body):
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=20)
    channel: str = Field("", max_length=32)
    remark: str = Field("", max_length=1000)
    tag_ids: list[int] = Field(default_factory=list, max_length=50)


class CustomerPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=64)
    phone: str | None = Field(None, min_length=1, max_length=20)


class CustomerQuery(Query):
    after_id: int = Field(0, ge=0, le=2**53)
    limit: int = Field(50, ge=1, le=200)
    q: str | None = Field(None, max_length=64)
    tag_ids: str | None = Field(None, max_length=200, pattern=r"^\d{1,15}(,\d{1,15}){0,19}$",
                                description="comma-separated: customers carrying every one")
    owner_staff_id: int | None = Field(None, ge=1, le=2**53)
    unowned: bool = False


class TagsIn(Body):
    add: list[int] = Field(default_factory=list, max_length=50)
    remove: list[int] = Field(default_factory=list, max_length=50)


class TimelineQuery(Query):
    before_id: int | None = Field(None, ge=1, le=2**53)
    limit: int = Field(50, ge=1, le=200)


class RemarkIn(Body):
    content: str = Field(min_length=1, max_length=1000)
    follow_up: bool = False


class ReminderIn(Body):
    due_at: AwareDatetime
    note: str = Field("", max_length=200)


class ReminderQuery(Query):
    status: ReminderStatus = ReminderStatus.PENDING
    due_before: AwareDatetime | None = None
    after_id: int = Field(0, ge=0, le=2**53)
    limit: int = Field(50, ge=1, le=200)


class DoneIn(Body):
    note: str = Field("", max_length=1000)


class TagGroupIn(Body):
    name: str = Field(min_length=1, max_length=30)
    exclusive: bool = False
    tags: list[str] = Field(default_factory=list, max_length=100)


class TagGroupPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=30)
    exclusive: bool | None = None


class TagIn(Body):
    name: str = Field(min_length=1, max_length=30)


class RuleIn(Body):
    tag_id: int = Id
    kind: Literal["channel", "keyword", "purchase"]
    params: dict[str, Any]
    active: bool = True


class RulePatch(Body):
    params: dict[str, Any] | None = None
    active: bool | None = None


class WeComUserIn(Body):
    wecom_user_id: str | None = Field(None, max_length=64)


class CodeIn(Body):
    kind: Literal["mp", "wecom"]
    channel: str = Field("", max_length=32)
    welcome_text: str = Field("", max_length=500)


class ActiveIn(Body):
    active: bool


class WorkloadQuery(Query):
    start: date | None = None
    end: date | None = None


class HandoverIn(Body):
    from_staff_id: int = Id
    to_staff_id: int = Id
    customer_ids: list[int] | None = Field(None, min_length=1, max_length=10_000)


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.cache_control.private = True
    response.cache_control.max_age = 300
    return response


def _card(principal: Principal, customer_id: int) -> dict[str, Any]:
    return scrm.customer_card(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                              customer_id=customer_id)


@route(bp, "/scrm/me/codes", auth="staff", response=Items[StaffCodeOut])
def my_codes(principal: Principal) -> dict[str, Any]:
    """My staff codes (mini-program code and WeCom contact ways)."""
    rows = scrm.staff_codes(tenant_id=principal.tenant_id, staff_id=principal.subject_id)
    return Items[StaffCodeOut](items=[scrm.staff_code_view(c) for c in rows])


@route(bp, "/scrm/me/code", auth="staff", response=MyCodeOut)
def my_code(principal: Principal) -> dict[str, Any]:
    """My mini-program code: customers who scan it become mine (PNG as a data URL for <image>)."""
    png = scrm.staff_code_png(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                              viewer_id=principal.subject_id)
    return MyCodeOut(staff_id=principal.subject_id, scene=scrm.staff_scene(staff_id=principal.subject_id),
                     image="data:image/png;base64," + base64.b64encode(png).decode())


@route(bp, "/scrm/me/poster", auth="staff", limit="poster_staff", raw=True, content="image/png")
def my_poster(principal: Principal) -> Response:
    """My share poster: the brand's invite poster in force with my name and my own code,
    so customers who scan it become mine (any staff member; the template editor stays
    with the managers)."""
    code = scrm.staff_code_png(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                               viewer_id=principal.subject_id)
    me = get_staff(tenant_id=principal.tenant_id, staff_id=principal.subject_id)
    response = Response(posters.render_with_code(tenant_id=principal.tenant_id, kind="invite",
                                                 holder=me.display_name, code_png=code), mimetype="image/png")
    response.cache_control.no_store = True  # a template edit shows at once
    return response


@route(bp, "/scrm/customers", auth="staff", query=CustomerQuery, response=Page[CustomerOut])
def list_customers(principal: Principal, query: CustomerQuery) -> dict[str, Any]:
    """Customers (staff: mine; managers: all, one owner's, or unowned), by tags or name/phone."""
    tag_ids = [int(t) for t in query.tag_ids.split(",")] if query.tag_ids else []
    rows = scrm.list_customers(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                               owner_staff_id=query.owner_staff_id, unowned=query.unowned,
                               tag_ids=tag_ids, query=query.q, after_id=query.after_id,
                               limit=query.limit)
    views = iter(scrm.customer_views(tenant_id=principal.tenant_id, customers=rows))
    return page_of(rows, lambda _c: next(views), query.limit)


@route(bp, "/scrm/customers", method="POST", auth="staff", body=CustomerIn, status=201,
       response=CustomerCardOut, errors=("customer_exists", "invalid_customer_field", "tag_not_found"))
def add_customer(principal: Principal, body: CustomerIn) -> dict[str, Any]:
    """Add a customer by hand; I own them."""
    customer = scrm.add_customer(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                 name=body.name, phone=body.phone, channel=body.channel,
                                 remark=body.remark, tag_ids=body.tag_ids, now=utcnow())
    return _card(principal, customer.id)


@route(bp, "/scrm/customers/<int:customer_id>", auth="staff", response=CustomerCardOut,
       errors=("customer_not_found", "customer_not_yours"))
def customer_card(principal: Principal, customer_id: int) -> dict[str, Any]:
    """A customer: tags by group, latest remarks, pending reminders."""
    return _card(principal, customer_id)


@route(bp, "/scrm/customers/<int:customer_id>", method="PATCH", auth="staff", body=CustomerPatch,
       response=CustomerCardOut, errors=("customer_not_found",))
def update_customer(principal: Principal, body: CustomerPatch, customer_id: int) -> dict[str, Any]:
    """Correct a customer's name or phone."""
    scrm.update_customer(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                         customer_id=customer_id, now=utcnow(), name=body.name, phone=body.phone)
    return _card(principal, customer_id)


@route(bp, "/scrm/customers/<int:customer_id>/tags", method="PUT", auth="staff", body=TagsIn,
       response=CustomerTagsOut, errors=("customer_not_found", "customer_not_yours", "tag_not_found"))
def tag_customer(principal: Principal, body: TagsIn, customer_id: int) -> dict[str, Any]:
    """Add and remove tags on a customer."""
    tags = tagging.tag_customer(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                customer_id=customer_id, add=body.add, remove=body.remove,
                                now=utcnow())
    return CustomerTagsOut(tags=[tagging.tag_view(t) for t in tags])


@route(bp, "/scrm/customers/<int:customer_id>/timeline", auth="staff", query=TimelineQuery,
       response=Page[EventOut], errors=("customer_not_found", "customer_not_yours"))
def customer_timeline(principal: Principal, query: TimelineQuery, customer_id: int) -> dict[str, Any]:
    """The customer's timeline, newest first."""
    rows = scrm.timeline(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                         customer_id=customer_id, before_id=query.before_id, limit=query.limit)
    return page_of(rows, scrm.event_view, query.limit)


@route(bp, "/scrm/customers/<int:customer_id>/remarks", method="POST", auth="staff", body=RemarkIn,
       status=201, response=EventOut, errors=("customer_not_found", "customer_not_yours"))
def add_remark(principal: Principal, body: RemarkIn, customer_id: int) -> dict[str, Any]:
    """Write a remark; follow_up=true records a contact with the customer."""
    event = scrm.add_remark(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                            customer_id=customer_id, content=body.content,
                            follow_up=body.follow_up, now=utcnow())
    return scrm.event_view(event)


@route(bp, "/scrm/customers/<int:customer_id>/reminders", method="POST", auth="staff",
       body=ReminderIn, status=201, response=ReminderOut, errors=("customer_not_found", "invalid_reminder"))
def create_reminder(principal: Principal, body: ReminderIn, customer_id: int) -> dict[str, Any]:
    """Remind me to follow this customer up."""
    reminder = scrm.create_reminder(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                    customer_id=customer_id, due_at=body.due_at, note=body.note,
                                    now=utcnow())
    return scrm.reminder_view(reminder)


@route(bp, "/scrm/reminders", auth="staff", query=ReminderQuery, response=Page[ReminderOut])
def list_reminders(principal: Principal, query: ReminderQuery) -> dict[str, Any]:
    """My reminders (pending by default; due_before for what is due)."""
    rows = scrm.list_reminders(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                               status=query.status, due_before=query.due_before,
                               after_id=query.after_id, limit=query.limit)
    return page_of(rows, scrm.reminder_view, query.limit)


@route(bp, "/scrm/reminders/<int:reminder_id>/done", method="POST", auth="staff", body=DoneIn,
       response=ReminderOut, errors=("reminder_not_found",))
def complete_reminder(principal: Principal, body: DoneIn, reminder_id: int) -> dict[str, Any]:
    """I followed up: close the reminder (on the timeline as a follow-up)."""
    reminder = scrm.complete_reminder(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                      reminder_id=reminder_id, note=body.note, now=utcnow())
    return scrm.reminder_view(reminder)


@route(bp, "/scrm/reminders/<int:reminder_id>/cancel", method="POST", auth="staff", response=ReminderOut,
       errors=("reminder_not_found",))
def cancel_reminder(principal: Principal, reminder_id: int) -> dict[str, Any]:
    """Drop a reminder."""
    reminder = scrm.cancel_reminder(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                    reminder_id=reminder_id, now=utcnow())
    return scrm.reminder_view(reminder)


@route(bp, "/scrm/tag-groups", auth="staff", response=Items[TagGroupOut])
def list_tag_groups(principal: Principal) -> dict[str, Any]:
    """The brand's tag groups and tags, with how many customers carry each."""
    return Items[TagGroupOut](items=tagging.list_tag_groups(tenant_id=principal.tenant_id))


@route(bp, "/admin/scrm/tag-groups", method="POST", auth="staff", body=TagGroupIn,
       status=201, response=TagGroupOut, errors=("invalid_tag_field",))
def create_tag_group(principal: Principal, body: TagGroupIn) -> dict[str, Any]:
    """A tag group (exclusive: one tag of it per customer) with its first tags."""
    group = tagging.create_tag_group(tenant_id=principal.tenant_id, name=body.name,
                                     exclusive=body.exclusive, tag_names=body.tags,
                                     actor=principal.actor)
    return next(g for g in tagging.list_tag_groups(tenant_id=principal.tenant_id)
                if g["id"] == group.id)


@route(bp, "/admin/scrm/tag-groups/<int:group_id>", method="PATCH", auth="staff", body=TagGroupPatch,
       response=TagGroupHeadOut, errors=("tag_group_not_found",))
def update_tag_group(principal: Principal, body: TagGroupPatch, group_id: int) -> dict[str, Any]:
    """Rename a group or change whether it is exclusive."""
    group = tagging.update_tag_group(tenant_id=principal.tenant_id, group_id=group_id,
                                     name=body.name, exclusive=body.exclusive,
                                     actor=principal.actor)
    return group


@route(bp, "/admin/scrm/tag-groups/<int:group_id>", method="DELETE", auth="staff",
       response=TagsDeleted, errors=("tag_group_not_found",))
def delete_tag_group(principal: Principal, group_id: int) -> dict[str, Any]:
    """Delete a group with its tags (customers lose them)."""
    removed = tagging.delete_tag_group(tenant_id=principal.tenant_id, group_id=group_id,
                                       actor=principal.actor)
    return TagsDeleted(deleted=group_id, customer_tags_removed=removed)


@route(bp, "/admin/scrm/tag-groups/<int:group_id>/tags", method="POST", auth="staff",
       body=TagIn, status=201, response=TagOut, errors=("tag_group_not_found",))
def create_tag(principal: Principal, body: TagIn, group_id: int) -> dict[str, Any]:
    """Add a tag to a group."""
    return tagging.tag_view(tagging.create_tag(tenant_id=principal.tenant_id, group_id=group_id,
                                               name=body.name, actor=principal.actor))


@route(bp, "/admin/scrm/tags/<int:tag_id>", method="PATCH", auth="staff", body=TagIn,
       response=TagOut, errors=("tag_not_found",))
def rename_tag(principal: Principal, body: TagIn, tag_id: int) -> dict[str, Any]:
    """Rename a tag."""
    return tagging.tag_view(tagging.rename_tag(tenant_id=principal.tenant_id, tag_id=tag_id,
                                               name=body.name, actor=principal.actor))


@route(bp, "/admin/scrm/tags/<int:tag_id>", method="DELETE", auth="staff",
       response=TagsDeleted, errors=("tag_not_found",))
def delete_tag(principal: Principal, tag_id: int) -> dict[str, Any]:
    """Delete a tag (customers lose it)."""
    removed = tagging.delete_tag(tenant_id=principal.tenant_id, tag_id=tag_id,
                                 actor=principal.actor)
    return TagsDeleted(deleted=tag_id, customer_tags_removed=removed)


@route(bp, "/admin/scrm/tag-rules", auth="staff", response=Items[TagRuleOut])
def list_tag_rules(principal: Principal) -> dict[str, Any]:
    """Automatic tagging rules (channel, keyword, purchase)."""
    return Items[TagRuleOut](items=[tagging.rule_view(r) for r in tagging.list_tag_rules(
        tenant_id=principal.tenant_id)])


@route(bp, "/admin/scrm/tag-rules", method="POST", auth="staff", body=RuleIn,
       status=201, response=TagRuleOut, errors=("invalid_tag_rule", "tag_not_found"))
def create_tag_rule(principal: Principal, body: RuleIn) -> dict[str, Any]:
    """A rule: tag customers by arrival channel, message keywords, or purchases."""
    return tagging.rule_view(tagging.create_tag_rule(
        tenant_id=principal.tenant_id, tag_id=body.tag_id, kind=body.kind, params=body.params,
        active=body.active, actor=principal.actor))


@route(bp, "/admin/scrm/tag-rules/<int:rule_id>", method="PATCH", auth="staff", body=RulePatch,
       response=TagRuleOut, errors=("tag_rule_not_found",))
def update_tag_rule(principal: Principal, body: RulePatch, rule_id: int) -> dict[str, Any]:
    """Change a rule's parameters or switch it on/off."""
    return tagging.rule_view(tagging.update_tag_rule(
        tenant_id=principal.tenant_id, rule_id=rule_id, params=body.params, active=body.active,
        actor=principal.actor))


@route(bp, "/admin/scrm/tag-rules/<int:rule_id>", method="DELETE", auth="staff",
       response=Deleted, errors=("tag_rule_not_found",))
def delete_tag_rule(principal: Principal, rule_id: int) -> dict[str, Any]:
    """Delete a rule (tags it gave stay)."""
    tagging.delete_tag_rule(tenant_id=principal.tenant_id, rule_id=rule_id, actor=principal.actor)
    return Deleted(deleted=rule_id)


@route(bp, "/admin/scrm/staff/<int:staff_id>/wecom-user", method="PUT", auth="staff",
       body=WeComUserIn, response=WeComUserOut, errors=("staff_not_found",))
def set_wecom_user(principal: Principal, body: WeComUserIn, staff_id: int) -> dict[str, Any]:
    """Link a staff account to their WeCom user id (null unlinks)."""
    profile = scrm.set_staff_wecom_user(tenant_id=principal.tenant_id, staff_id=staff_id,
                                        wecom_user_id=body.wecom_user_id, actor=principal.actor)
    return profile


@route(bp, "/admin/scrm/staff/<int:staff_id>/codes", auth="staff",
       response=Items[StaffCodeOut], errors=("staff_not_found",))
def list_staff_codes(principal: Principal, staff_id: int) -> dict[str, Any]:
    """A staff member's codes."""
    rows = scrm.staff_codes(tenant_id=principal.tenant_id, staff_id=staff_id)
    return Items[StaffCodeOut](items=[scrm.staff_code_view(c) for c in rows])


@route(bp, "/admin/scrm/staff/<int:staff_id>/codes", method="POST", auth="staff", body=CodeIn, status=201,
       response=StaffCodeOut, errors=("staff_not_found", "wecom_user_missing"))
def create_staff_code(principal: Principal, body: CodeIn, staff_id: int) -> dict[str, Any]:
    """Give a staff member a code: their mini-program code, or a WeCom contact way per channel."""
    code = scrm.create_staff_code(tenant_id=principal.tenant_id, staff_id=staff_id, kind=body.kind,
                                  channel=body.channel, welcome_text=body.welcome_text,
                                  actor=principal.actor)
    return scrm.staff_code_view(code)


@route(bp, "/admin/scrm/staff/<int:staff_id>/code.png", auth="staff", raw=True,
       content="image/png", errors=("staff_not_found",))
def staff_code_png(principal: Principal, staff_id: int) -> Response:
    """A staff member's mini-program code (PNG)."""
    return _png(scrm.staff_code_png(tenant_id=principal.tenant_id, staff_id=staff_id,
                                    viewer_id=principal.subject_id))


@route(bp, "/admin/scrm/codes/<int:code_id>/active", method="PUT", auth="staff", body=ActiveIn,
       response=StaffCodeOut, errors=("staff_code_not_found",))
def set_code_active(principal: Principal, body: ActiveIn, code_id: int) -> dict[str, Any]:
    """Switch a staff code off or on."""
    return scrm.staff_code_view(scrm.set_staff_code_active(
        tenant_id=principal.tenant_id, code_id=code_id, active=body.active, actor=principal.actor))


@route(bp, "/admin/scrm/workload", auth="staff", query=WorkloadQuery,
       response=WorkloadOut, errors=("invalid_period",))
def staff_workload(principal: Principal, query: WorkloadQuery) -> dict[str, Any]:
    """Each staff member's day: customers added, tagged, followed up; orders and sales of
    their customers (China-local days; default today)."""
    today = workload.today(utcnow())
    end = query.end or query.start or today
    start = query.start or end
    return workload.staff_workload(tenant_id=principal.tenant_id, start=start, end=end)


@route(bp, "/admin/scrm/handover", method="POST", auth="staff", body=HandoverIn,
       response=HandOverOut, errors=("invalid_handover", "staff_not_found"))
def hand_over(principal: Principal, body: HandoverIn) -> dict[str, Any]:
    """Hand a (leaving) staff member's customers — all or some — to another."""
    moved = workload.hand_over_customers(
        tenant_id=principal.tenant_id, from_staff_id=body.from_staff_id,
        to_staff_id=body.to_staff_id, customer_ids=body.customer_ids, actor=principal.actor,
        now=utcnow())
    return HandOverOut(moved=moved)


@route(bp, "/admin/scrm/customers/<int:customer_id>/ownership", auth="staff",
       response=Items[OwnershipOut], errors=("customer_not_found",))
def ownership(principal: Principal, customer_id: int) -> dict[str, Any]:
    """Who owned the customer when, oldest first."""
    scrm.get_customer(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                      customer_id=customer_id)
    rows = workload.ownership_history(tenant_id=principal.tenant_id, customer_id=customer_id)
    return Items[OwnershipOut](items=[workload.ownership_view(o) for o in rows])
