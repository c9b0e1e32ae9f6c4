"""SCRM verbs: staff codes, customers arriving through them (mini-program scene, WeCom
contact way, bot friend, by hand), ownership, remarks and follow-ups, reminders,
phone capture.

For the bot (no SQL in bot/; every call inside a unit of work for writes):
  upsert_contact_customer(tenant_id=, staff_id=, contact_id=, name=, now=) -> Customer
  find_customer_by_contact(tenant_id=, external_userid=|im_contact_id=|member_id=) -> Customer | None
  find_customers(tenant_id=, staff_id=, text=, limit=5) -> list[Customer]
  customer_card(tenant_id=, staff_id=, customer_id=) -> dict  (tags by group, latest remarks,
                                                                pending reminders)
  add_remark(tenant_id=, staff_id=, customer_id=, content=, now=, follow_up=False) -> CustomerEvent
  backend.scrm.tags: tag_customer(...), tag_customer_by_names(...), apply_keyword_rules(...)

Ownership policy: the first staff member whose code brings a customer owns them; a
later scan of another staff member's code changes nothing (WeCom callbacks retried
or repeated are no-ops too), unless the owner's account is no longer active, in which
case the new staff member takes over. Only the boss moves customers between staff
(backend.scrm.handover).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, or_, select, update

from backend.audit.service import record_audit
from backend.db import after_commit, after_rollback
from backend.errors import DomainError
from backend.extensions import db, get_redis
from backend.members.errors import (
    AlreadyBound,
    BindingCycle,
    InvalidScene,
    InviteCodeUnknown,
    ParentNotPromoter,
    SelfBinding,
)
from backend.members.invite import normalise_invite_code
from backend.members.scene import Scene, parse_scene
from backend.members.service import bind_by_scene, find_by_invite_code, find_by_unionid, get_member
from backend.members.types import BindOutcome, MemberInfo
from backend.posters.service import share_link
from backend.scrm import tags as tagging
from backend.scrm.access import (
    acting_staff,
    customer_for,
    load_customer,
    record_event,
    sees_all,
)
from backend.scrm.errors import (
    CustomerExists,
    InvalidCustomerField,
    InvalidReminder,
    ReminderClosed,
    ReminderNotFound,
    StaffCodeExists,
    StaffCodeNotFound,
    WeComUserMissing,
    WeComUserTaken,
)
from backend.scrm.models import (
    Customer,
    CustomerEvent,
    Ownership,
    Reminder,
    StaffCode,
    StaffProfile,
)
from backend.scrm.types import ClaimOutcome, ReminderStatus
from backend.staff import service as staff_accounts
from backend.staff.errors import StaffNotFound
from backend.staff.service import get_staff
from backend.staff.types import StaffInfo, StaffStatus
from backend.tenants.service import get_tenant, get_tenant_by_slug
from backend.wechat.push_guard import check_fresh, claim_nonce, release_nonce
from backend.wechat.service import credentials, gateway, mini_program_credentials, wecom_credentials
from backend.wechat.wecom import parse_wecom_callback
from backend.wechat.wecom import verify_wecom_url as verify

log = logging.getLogger(__name__)

STAFF_CODE_PAGE = "pages/index/index"
QR_CACHE_SECONDS = 30 * 86400
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_NOT_BINDABLE = (AlreadyBound, BindingCycle, ParentNotPromoter, SelfBinding, InviteCodeUnknown,
                 StaffNotFound)


# ------------------------------------------------------------------ field checks

def _text(field: str, value: str | None, *, max_len: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidCustomerField(details=[{"field": field, "message": "不能为空"}])
    if len(value) > max_len or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidCustomerField(details=[{"field": field, "message": f"须为不超过 {max_len} 个字的文字"}])
    return value


def normalise_phone(phone: str) -> str:
    """A mainland mobile number as 11 digits ("+86 138-0013-8000" → "13800138000")."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE.match(digits):
        raise InvalidCustomerField(details=[{"field": "phone", "message": "手机号格式不正确"}])
    return digits


# ------------------------------------------------------------------ staff and codes

def set_staff_wecom_user(*, tenant_id: int, staff_id: int, wecom_user_id: str | None,
                         actor: str) -> StaffProfile:
    """Link a staff account to their WeCom user id (or unlink with None), audited."""
    staff = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    value = (wecom_user_id or "").strip() or None
    if value is not None and (len(value) > 64 or not re.fullmatch(r"[A-Za-z0-9_.@\-]+", value)):
        raise InvalidCustomerField(details=[{"field": "wecom_user_id", "message": "企业微信账号格式不正确"}])
    profile = _profile(tenant_id, staff.id)
    if value is not None:
        taken = db.session.scalar(select(StaffProfile.staff_id).where(
            StaffProfile.tenant_id == tenant_id, StaffProfile.wecom_user_id == value))
        if taken is not None and taken != staff.id:
            raise WeComUserTaken()
    before = profile.wecom_user_id
    profile.wecom_user_id = value
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.staff.wecom_user",
                 target_type="staff", target_id=staff.id, before={"wecom_user_id": before},
                 after={"wecom_user_id": value})
    return profile


def _profile(tenant_id: int, staff_id: int) -> StaffProfile:
    profile = db.session.scalar(select(StaffProfile).where(StaffProfile.staff_id == staff_id))
    if profile is None:
        profile = StaffProfile(tenant_id=tenant_id, staff_id=staff_id)
        db.session.add(profile)
        db.session.flush()
    return profile


def wecom_user_of(*, tenant_id: int, staff_id: int) -> str | None:
    """The staff member's WeCom user id, if linked."""
    return db.session.scalar(select(StaffProfile.wecom_user_id).where(
        StaffProfile.tenant_id == tenant_id, StaffProfile.staff_id == staff_id))


def staff_by_wecom_user(*, tenant_id: int, wecom_user_id: str) -> StaffInfo | None:
    """The staff account linked to a WeCom user id, if any."""
    staff_id = db.session.scalar(select(StaffProfile.staff_id).where(
        StaffProfile.tenant_id == tenant_id, StaffProfile.wecom_user_id == wecom_user_id))
    return None if staff_id is None else staff_accounts.find_staff(tenant_id=tenant_id, staff_id=staff_id)


def create_staff_code(*, tenant_id: int, staff_id: int, kind: str, actor: str, channel: str = "",
                      welcome_text: str = "") -> StaffCode:
    """A staff code: "mp" — the staff member's mini-program code (scene `s=<staff id>`, one
    per staff member); "wecom" — a WeCom contact way whose `state` names this code (one per
    channel, as many as wanted). Audited."""
    if kind not in ("mp", "wecom"):
        raise InvalidCustomerField(details=[{"field": "kind", "message": "须为 mp 或 wecom"}])
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    channel = _text("channel", channel, max_len=32)
    welcome_text = _text("welcome_text", welcome_text, max_len=500)
    if kind == "mp":
        state = Scene(staff_id=staff.id).encode()
        if db.session.scalar(select(StaffCode.id).where(StaffCode.tenant_id == tenant_id,
                                                        StaffCode.state == state)) is not None:
            raise StaffCodeExists()
        code = StaffCode(tenant_id=tenant_id, staff_id=staff.id, kind=kind, channel=channel,
                         state=state, welcome_text=welcome_text)
        db.session.add(code)
        db.session.flush()
    else:
        user_id = wecom_user_of(tenant_id=tenant_id, staff_id=staff.id)
        if not user_id:
            raise WeComUserMissing()
        creds = wecom_credentials(tenant_id=tenant_id)
        code = StaffCode(tenant_id=tenant_id, staff_id=staff.id, kind=kind, channel=channel,
                         state=f"tmp{secrets.token_hex(8)}",
                         welcome_text=welcome_text)
        db.session.add(code)
        db.session.flush()
        code.state = f"sc{code.id}"  # ≤ 30 characters: WeCom's limit for state
        way = gateway().wecom(creds).add_contact_way(user_id=user_id, state=code.state,
                                                     remark=f"{staff.display_name}·{channel}"[:30])
        code.config_id, code.qr_url = way.config_id, way.qr_code
        db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.staff_code.create",
                 target_type="scrm_staff_code", target_id=code.id, before=None,
                 after={"staff_id": staff.id, "kind": kind, "channel": channel, "state": code.state})
    return code


def staff_codes(*, tenant_id: int, staff_id: int | None = None) -> list[StaffCode]:
    """A staff member's codes (or every code of the tenant)."""
    stmt = select(StaffCode).where(StaffCode.tenant_id == tenant_id)
    if staff_id is not None:
        get_staff(tenant_id=tenant_id, staff_id=staff_id)
        stmt = stmt.where(StaffCode.staff_id == staff_id)
    return list(db.session.scalars(stmt.order_by(StaffCode.id)))


def get_staff_code(*, tenant_id: int, code_id: int) -> StaffCode:
    code = db.session.get(StaffCode, code_id)
    if code is None or code.tenant_id != tenant_id:
        raise StaffCodeNotFound()
    return code


def set_staff_code_active(*, tenant_id: int, code_id: int, active: bool, actor: str) -> StaffCode:
    """Switch a code off (customers arriving through it are then not assigned) or on; audited."""
    code = get_staff_code(tenant_id=tenant_id, code_id=code_id)
    before = code.active
    code.active = active
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.staff_code.active",
                 target_type="scrm_staff_code", target_id=code.id, before={"active": before},
                 after={"active": active})
    return code


def staff_code_view(code: StaffCode) -> dict[str, Any]:
    return {"id": code.id, "staff_id": code.staff_id, "kind": code.kind, "channel": code.channel,
            "state": code.state, "qr_url": code.qr_url, "welcome_text": code.welcome_text,
            "active": code.active}


def staff_scene(*, staff_id: int) -> str:
    """The scene a staff member's mini-program code carries."""
    return Scene(staff_id=staff_id).encode()


def staff_code_png(*, tenant_id: int, staff_id: int, viewer_id: int) -> bytes:
    """The staff member's mini-program code as PNG (getUnlimited, scene `s=<staff id>`),
    or a plain QR of the share link for a tenant without a mini-program; cached in Redis."""

    viewer = acting_staff(tenant_id=tenant_id, staff_id=viewer_id)
    if viewer.id != staff_id and not sees_all(viewer):
        raise StaffCodeNotFound()
    staff = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    scene = Scene(staff_id=staff.id).encode()
    mp = credentials(tenant_id=tenant_id).mini_program
    link = None if mp is not None else share_link(tenant=get_tenant(tenant_id=tenant_id), scene=scene)
    source = f"mp:{mp.appid}:{STAFF_CODE_PAGE}:{scene}" if mp is not None else f"url:{link}"
    key = "siyu:staffqr:" + hashlib.sha256(f"{tenant_id}|{source}".encode()).hexdigest()
    cached = get_redis().get(key)
    if cached:
        return bytes(cached)
    if mp is not None:
        png = gateway().mini_program(mp).get_unlimited_code(scene=scene, page=STAFF_CODE_PAGE,
                                                            width=430, check_path=False)
    else:
        import io

        import qrcode

        buf = io.BytesIO()
        qrcode.make(link, box_size=10, border=4).save(buf)
        png = buf.getvalue()
    get_redis().set(key, png, ex=QR_CACHE_SECONDS)
    return png


# ------------------------------------------------------------------ customers

def _insert_ignore(values: dict[str, Any]) -> None:
    """Insert a customer unless a unique key (member, external id, contact id) exists, in
    one statement, so racing arrivals of one person never raise."""
    if db.session.get_bind().dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        ins = mysql_insert(Customer).values(**values)
        db.session.execute(ins.on_duplicate_key_update(id=Customer.id))
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    db.session.execute(sqlite_insert(Customer).values(**values).on_conflict_do_nothing())


# Locking, on MariaDB: a locking read of a key that does not exist takes a gap lock, and
# two such gap locks make racing inserts deadlock. So customers are looked up with a plain
# read and locked by primary key (a record lock); only after our own insert attempt — when
# the row surely exists — is the unique key read with a lock (a current read that also sees
# a racing transaction's committed row).

def _lock_customer(customer_id: int) -> Customer | None:
    return db.session.scalar(select(Customer).where(Customer.id == customer_id).with_for_update()
                             .execution_options(populate_existing=True))


def _customer_by(tenant_id: int, column: Any, value: Any) -> Customer | None:
    """The customer with this unique key value, locked, or None."""
    customer_id = db.session.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id,
                                                              column == value))
    return None if customer_id is None else _lock_customer(customer_id)


def _unlinked_twin(tenant_id: int, column: Any, value: Any, free: Any) -> Customer | None:
    """The oldest customer with column == value whose `free` column is still empty, locked."""
    for customer_id in db.session.scalars(select(Customer.id).where(
            Customer.tenant_id == tenant_id, column == value, free.is_(None))
            .order_by(Customer.id).limit(3)):
        customer = _lock_customer(customer_id)
        if customer is not None and getattr(customer, free.key) is None:
            return customer
    return None


def _get_or_create(tenant_id: int, column: Any, value: Any, defaults: dict[str, Any],
                   now: datetime) -> Customer:
    found = _customer_by(tenant_id, column, value)
    if found is not None:
        return found
    _insert_ignore({"tenant_id": tenant_id, column.key: value, "created_at": now,
                    "updated_at": now, "channel": "", "name": "", **defaults})
    customer = db.session.scalar(  # ours, or the racing winner's (a current read)
        select(Customer).where(Customer.tenant_id == tenant_id, column == value)
        .with_for_update().execution_options(populate_existing=True))
    assert customer is not None
    return customer


def _customer_for_member(tenant_id: int, member: MemberInfo, *, source: str, channel: str,
                         now: datetime) -> Customer:
    """The member's customer row: theirs, else an unlinked one with the same unionid (a
    WeCom contact who is the same person), else a new one."""
    found = _customer_by(tenant_id, Customer.member_id, member.id)
    if found is not None:
        return found
    if member.unionid:
        twin = _unlinked_twin(tenant_id, Customer.unionid, member.unionid, Customer.member_id)
        if twin is not None:
            twin.member_id = member.id
            twin.updated_at = now
            db.session.flush()
            return twin
    return _get_or_create(tenant_id, Customer.member_id, member.id,
                          {"unionid": member.unionid, "name": member.nickname[:64],
                           "source": source, "channel": channel}, now)


def _owner_active(customer: Customer) -> bool:
    if customer.owner_staff_id is None:
        return False
    owner = staff_accounts.find_staff(tenant_id=customer.tenant_id, staff_id=customer.owner_staff_id)
    return owner is not None and owner.status == StaffStatus.ACTIVE


def start_ownership(*, customer: Customer, staff_id: int, reason: str, now: datetime,
                    code_id: int | None = None, end_reason: str = "handover") -> None:
    """Make staff_id the owner from now on, closing the current period."""
    db.session.execute(update(Ownership).where(
        Ownership.tenant_id == customer.tenant_id, Ownership.customer_id == customer.id,
        Ownership.ended_at.is_(None)).values(ended_at=now, end_reason=end_reason)
        .execution_options(synchronize_session=False))
    db.session.add(Ownership(tenant_id=customer.tenant_id, customer_id=customer.id,
                             staff_id=staff_id, reason=reason, code_id=code_id, started_at=now))
    customer.owner_staff_id = staff_id
    customer.owned_since = now
    customer.updated_at = now


def _claim(customer: Customer, staff: StaffInfo, *, reason: str, channel: str,
           code_id: int | None, now: datetime) -> ClaimOutcome:
    """Give the customer to this staff member if nobody active owns them.
    Returns assigned | kept (already theirs) | other_owner | staff_inactive."""
    if staff.status != StaffStatus.ACTIVE:
        return ClaimOutcome.STAFF_INACTIVE
    if customer.owner_staff_id == staff.id:
        return ClaimOutcome.KEPT
    if _owner_active(customer):
        return ClaimOutcome.OTHER_OWNER
    start_ownership(customer=customer, staff_id=staff.id, reason=reason, code_id=code_id, now=now,
                    end_reason="owner_left")
    if channel and not customer.channel:
        customer.channel = channel
    record_event(customer=customer, kind="added", staff_id=staff.id, now=now,
                 data={"reason": reason, "channel": channel})
    db.session.flush()
    tagging.apply_channel_rules(customer=customer, channel=channel, now=now)
    if customer.member_id is not None:
        tagging.apply_purchase_rules(tenant_id=customer.tenant_id, member_ids=[customer.member_id],
                                     now=now)
    return ClaimOutcome.ASSIGNED


@dataclass(frozen=True)
class Arrival:
    customer_id: int
    owner_staff_id: int | None
    status: str  # assigned | kept | other_owner | staff_inactive
    bind_status: str  # bound | pending | rebound | unchanged


def arrive_by_scene(*, tenant_id: int, member_id: int, scene: str, now: datetime) -> Arrival:
    """A member opened the mini-program through a staff code (scene `s=<staff id>`): they
    become that staff member's customer (per the ownership policy) and, when the staff
    member has a member account, are bound under it like any share (source staff_code)."""
    parsed = parse_scene(scene)
    if parsed.staff_id is None:
        raise InvalidScene("分享参数缺少员工")
    staff = get_staff(tenant_id=tenant_id, staff_id=parsed.staff_id)
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    code = db.session.scalar(select(StaffCode).where(
        StaffCode.tenant_id == tenant_id, StaffCode.staff_id == staff.id, StaffCode.kind == "mp"))
    channel = code.channel if code is not None else ""
    customer = _customer_for_member(tenant_id, member, source="mp_code", channel=channel, now=now)
    if code is not None and not code.active:
        status = ClaimOutcome.STAFF_INACTIVE
    else:
        status = _claim(customer, staff, reason="mp_code", channel=channel,
                        code_id=code.id if code else None, now=now)
    bind_status = BindOutcome.UNCHANGED
    if staff.member_id is not None or parsed.invite_code:
        pending_before = member.pending_parent_id
        try:
            result = bind_by_scene(tenant_id=tenant_id, member_id=member.id, scene=scene,
                                   source="staff_code", now=now)
        except _NOT_BINDABLE:
            pass
        else:
            # "bound" is also the answer for an existing binding to the same parent; one made
            # now carries bound_at == now on the row bind_member locked and refreshed
            if result.status == BindOutcome.PENDING:
                bind_status = BindOutcome.UNCHANGED if pending_before == result.parent_id else BindOutcome.PENDING
            else:
                bind_status = result.status if member.bound_at == now else BindOutcome.UNCHANGED
    return Arrival(customer_id=customer.id, owner_staff_id=customer.owner_staff_id, status=status,
                   bind_status=bind_status)


def add_customer(*, tenant_id: int, staff_id: int, name: str, now: datetime,
                 phone: str | None = None, channel: str = "", remark: str = "",
                 tag_ids: Sequence[int] = ()) -> Customer:
    """A staff member adds a customer by hand (name, phone, channel, first remark, tags);
    they own them. A phone already on file is CustomerExists."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    name = _text("name", name, max_len=64, required=True)
    channel = _text("channel", channel, max_len=32)
    remark = _text("remark", remark, max_len=1000)
    number = normalise_phone(phone) if phone else None
    if number is not None:
        _refuse_duplicate_phone(tenant_id, staff, number)
    customer = Customer(tenant_id=tenant_id, name=name, phone=number, source="manual",
                        channel=channel, created_at=now, updated_at=now)
    db.session.add(customer)
    db.session.flush()
    _claim(customer, staff, reason="manual", channel=channel, code_id=None, now=now)
    if tag_ids:
        tagging.apply_tags(customer=customer, add=tag_ids, source="manual", staff_id=staff.id,
                           now=now)
    if remark:
        record_event(customer=customer, kind="remark", staff_id=staff.id, now=now, content=remark)
    return customer


def _refuse_duplicate_phone(tenant_id: int, staff: StaffInfo, number: str,
                            except_id: int | None = None) -> None:
    other = db.session.scalar(select(Customer).where(
        Customer.tenant_id == tenant_id, Customer.phone == number,
        Customer.id != (except_id or 0)).limit(1))
    if other is not None:
        visible = sees_all(staff) or other.owner_staff_id == staff.id
        raise CustomerExists(
            None if visible else "该手机号的客户已归属其他员工",
            details={"customer_id": other.id} if visible else None)


def upsert_contact_customer(*, tenant_id: int, staff_id: int, contact_id: str, name: str,
                            now: datetime) -> Customer:
    """A personal-WeChat friend of a staff member's bot becomes (or stays) a customer; the
    staff member owns them per the ownership policy."""
    staff = get_staff(tenant_id=tenant_id, staff_id=staff_id)
    contact_id = _text("contact_id", contact_id, max_len=64, required=True)
    name = (name or "").strip()[:64]
    customer = _get_or_create(tenant_id, Customer.im_contact_id, contact_id,
                                       {"name": name, "source": "bot"}, now)
    if name and not customer.name:
        customer.name = name
    _claim(customer, staff, reason="bot", channel="", code_id=None, now=now)
    return customer


def find_customer_by_contact(*, tenant_id: int, external_userid: str | None = None,
                             im_contact_id: str | None = None,
                             member_id: int | None = None) -> Customer | None:
    """The customer behind a WeCom external contact, a bot contact or a member, if any."""
    for column, value in ((Customer.external_userid, external_userid),
                          (Customer.im_contact_id, im_contact_id), (Customer.member_id, member_id)):
        if value:
            return db.session.scalar(select(Customer).where(Customer.tenant_id == tenant_id,
                                                            column == value))
    return None


def capture_phone(*, tenant_id: int, member_id: int, code: str, now: datetime) -> Customer:
    """The member tapped the mini-program's phone button: getPhoneNumber through the WeChat
    edge, kept on their customer record (created unowned if they have none; an unlinked
    customer a staff member typed in with this number becomes theirs)."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    mp = mini_program_credentials(tenant_id=tenant_id)
    number = gateway().mini_program(mp).get_phone_number(code).pure_phone_number
    member.phone = number  # the member's own record carries it too (statements, back-office)
    customer = _customer_by(tenant_id, Customer.member_id, member.id)
    if customer is None:
        typed = _unlinked_twin(tenant_id, Customer.phone, number, Customer.member_id)
        if typed is not None:
            typed.member_id = member.id
            typed.unionid = typed.unionid or member.unionid
            customer = typed
        else:
            customer = _customer_for_member(tenant_id, member, source="phone", channel="",
                                               now=now)
    if customer.phone != number:
        customer.phone = number
        customer.updated_at = now
        record_event(customer=customer, kind="phone", staff_id=None, now=now,
                     content="客户授权了手机号", data={"source": "getPhoneNumber"})
    db.session.flush()
    return customer


def update_customer(*, tenant_id: int, staff_id: int, customer_id: int, now: datetime,
                    name: str | None = None, phone: str | None = None) -> Customer:
    """A staff member corrects a customer's name or phone (on the timeline)."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    customer = customer_for(tenant_id=tenant_id, staff=staff, customer_id=customer_id, lock=True)
    if name is not None:
        customer.name = _text("name", name, max_len=64, required=True)
    if phone is not None:
        number = normalise_phone(phone)
        if number != customer.phone:
            _refuse_duplicate_phone(tenant_id, staff, number, except_id=customer.id)
            customer.phone = number
            record_event(customer=customer, kind="phone", staff_id=staff.id, now=now,
                         content="修改了手机号")
    customer.updated_at = now
    db.session.flush()
    return customer


def get_customer(*, tenant_id: int, staff_id: int, customer_id: int) -> Customer:
    """A customer the staff member may see (CustomerNotFound / CustomerNotYours)."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    return customer_for(tenant_id=tenant_id, staff=staff, customer_id=customer_id)


def list_customers(*, tenant_id: int, staff_id: int, owner_staff_id: int | None = None,
                   unowned: bool = False, tag_ids: Sequence[int] = (), query: str | None = None,
                   after_id: int = 0, limit: int = 50) -> list[Customer]:
    """Customers, keyset-paged by id: sales staff see their own; managers everyone, or one
    owner's, or the unowned. Tag filter = carries every given tag; query = name or phone."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    stmt = select(Customer).where(Customer.tenant_id == tenant_id, Customer.id > after_id)
    if not sees_all(staff):
        stmt = stmt.where(Customer.owner_staff_id == staff.id)
    elif unowned:
        stmt = stmt.where(Customer.owner_staff_id.is_(None))
    elif owner_staff_id is not None:
        stmt = stmt.where(Customer.owner_staff_id == owner_staff_id)
    if tag_ids:
        from backend.scrm.models import CustomerTag

        ids = sorted(set(tag_ids))
        carrying = (select(CustomerTag.customer_id).where(
            CustomerTag.tenant_id == tenant_id, CustomerTag.tag_id.in_(ids))
            .group_by(CustomerTag.customer_id).having(func.count() == len(ids)))
        stmt = stmt.where(Customer.id.in_(carrying))
    if query:
        q = query.strip()
        digits = re.sub(r"\D", "", q)
        cond = Customer.name.contains(q, autoescape=True)
        if len(digits) >= 4 and digits == q:
            cond = or_(cond, Customer.phone.startswith(digits), Customer.phone.endswith(digits))
        code = normalise_invite_code(q)
        if code:  # a member's invite code finds the customer behind that member
            try:
                cond = or_(cond, Customer.member_id == find_by_invite_code(tenant_id=tenant_id, code=code).id)
            except InviteCodeUnknown:
                pass
        stmt = stmt.where(cond)
    return list(db.session.scalars(stmt.order_by(Customer.id).limit(limit)))


def find_customers(*, tenant_id: int, staff_id: int, text: str, limit: int = 5) -> list[Customer]:
    """Customers the staff member may see whose name or phone matches (the bot's lookup)."""
    if not (text or "").strip():
        return []
    return list_customers(tenant_id=tenant_id, staff_id=staff_id, query=text[:64], limit=limit)


def customer_view(customer: Customer, *, tags: Sequence[Any] = (),
                  owner_name: str | None = None) -> dict[str, Any]:
    return {"id": customer.id, "name": customer.name, "phone": customer.phone,
            "member_id": customer.member_id, "external_userid": customer.external_userid,
            "source": customer.source, "channel": customer.channel,
            "owner_staff_id": customer.owner_staff_id, "owner_name": owner_name,
            "owned_since": customer.owned_since.isoformat() if customer.owned_since else None,
            "last_followed_at": (customer.last_followed_at.isoformat()
                                 if customer.last_followed_at else None),
            "created_at": customer.created_at.isoformat(),
            "tags": [tagging.tag_view(t) for t in tags]}


def customer_views(*, tenant_id: int, customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """Views of many customers with their tags and owner names (two queries, not 2n)."""
    tags = tagging.customer_tags(tenant_id=tenant_id, customer_ids=[c.id for c in customers])
    owners = {c.owner_staff_id for c in customers if c.owner_staff_id}
    names = staff_accounts.display_names(tenant_id=tenant_id, staff_ids=owners)
    return [customer_view(c, tags=tags[c.id], owner_name=names.get(c.owner_staff_id or 0))
            for c in customers]


def event_view(event: CustomerEvent) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "staff_id": event.staff_id,
            "content": event.content, "data": event.data, "at": event.at.isoformat()}


def timeline(*, tenant_id: int, staff_id: int, customer_id: int, before_id: int | None = None,
             limit: int = 50, kinds: Sequence[str] = ()) -> list[CustomerEvent]:
    """The customer's timeline, newest first, keyset-paged."""
    get_customer(tenant_id=tenant_id, staff_id=staff_id, customer_id=customer_id)
    stmt = select(CustomerEvent).where(CustomerEvent.tenant_id == tenant_id,
                                       CustomerEvent.customer_id == customer_id)
    if before_id:
        stmt = stmt.where(CustomerEvent.id < before_id)
    if kinds:
        stmt = stmt.where(CustomerEvent.kind.in_(list(kinds)))
    return list(db.session.scalars(stmt.order_by(CustomerEvent.id.desc()).limit(limit)))


def customer_card(*, tenant_id: int, staff_id: int, customer_id: int,
                  remarks: int = 5) -> dict[str, Any]:
    """What staff (and the bot) show of a customer: tags by group, latest remarks and
    follow-ups, pending reminders."""
    from backend.scrm.models import Tag, TagGroup

    customer = get_customer(tenant_id=tenant_id, staff_id=staff_id, customer_id=customer_id)
    [view] = customer_views(tenant_id=tenant_id, customers=[customer])
    groups = dict(db.session.execute(select(TagGroup.id, TagGroup.name).where(
        TagGroup.tenant_id == tenant_id)).all())
    by_group: dict[str, list[str]] = {}
    for t in tagging.customer_tags(tenant_id=tenant_id, customer_ids=[customer.id])[customer.id]:
        assert isinstance(t, Tag)
        by_group.setdefault(groups.get(t.group_id, ""), []).append(t.name)
    notes = timeline(tenant_id=tenant_id, staff_id=staff_id, customer_id=customer.id,
                     limit=remarks, kinds=("remark", "follow_up"))
    pending = list(db.session.scalars(select(Reminder).where(
        Reminder.tenant_id == tenant_id, Reminder.customer_id == customer.id,
        Reminder.status == ReminderStatus.PENDING).order_by(Reminder.due_at).limit(5)))
    return {**view, "tag_groups": [{"group": g, "tags": names} for g, names in by_group.items()],
            "remarks": [event_view(e) for e in notes],
            "reminders": [reminder_view(r) for r in pending]}


# ------------------------------------------------------------------ remarks and reminders

def add_remark(*, tenant_id: int, staff_id: int, customer_id: int, content: str, now: datetime,
               follow_up: bool = False) -> CustomerEvent:
    """A note on the customer's timeline; follow_up=True records a contact with them."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    customer = customer_for(tenant_id=tenant_id, staff=staff, customer_id=customer_id)
    content = _text("content", content, max_len=1000, required=True)
    event = record_event(customer=customer, kind="follow_up" if follow_up else "remark",
                         staff_id=staff.id, now=now, content=content)
    if follow_up:
        customer.last_followed_at = now
    db.session.flush()
    return event


def create_reminder(*, tenant_id: int, staff_id: int, customer_id: int, due_at: datetime,
                    now: datetime, note: str = "") -> Reminder:
    """Remind the staff member to follow a customer up at due_at (within a year)."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    customer = customer_for(tenant_id=tenant_id, staff=staff, customer_id=customer_id)
    note = _text("note", note, max_len=200)
    if due_at.tzinfo is None or due_at < now - timedelta(minutes=5) or due_at > now + timedelta(days=366):
        raise InvalidReminder(details=[{"field": "due_at", "message": "须为现在到一年内的时间"}])
    reminder = Reminder(tenant_id=tenant_id, customer_id=customer.id, staff_id=staff.id,
                        due_at=due_at, note=note, status=ReminderStatus.PENDING, created_at=now)
    db.session.add(reminder)
    db.session.flush()
    record_event(customer=customer, kind="reminder", staff_id=staff.id, now=now, content=note,
                 data={"reminder_id": reminder.id, "due_at": due_at.isoformat()})
    return reminder


def _reminder_for(tenant_id: int, staff: StaffInfo, reminder_id: int) -> Reminder:
    reminder = db.session.scalar(select(Reminder).where(
        Reminder.tenant_id == tenant_id, Reminder.id == reminder_id).with_for_update())
    if reminder is None or (reminder.staff_id != staff.id and not sees_all(staff)):
        raise ReminderNotFound()
    if reminder.status != ReminderStatus.PENDING:
        raise ReminderClosed()
    return reminder


def complete_reminder(*, tenant_id: int, staff_id: int, reminder_id: int, now: datetime,
                      note: str = "") -> Reminder:
    """The follow-up happened: the reminder is done and the contact is on the timeline."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    reminder = _reminder_for(tenant_id, staff, reminder_id)
    note = _text("note", note, max_len=1000)
    reminder.status, reminder.done_at = ReminderStatus.DONE, now
    customer = load_customer(tenant_id=tenant_id, customer_id=reminder.customer_id)
    record_event(customer=customer, kind="follow_up", staff_id=staff.id, now=now,
                 content=note or reminder.note or "完成了跟进提醒",
                 data={"reminder_id": reminder.id})
    customer.last_followed_at = now
    db.session.flush()
    return reminder


def cancel_reminder(*, tenant_id: int, staff_id: int, reminder_id: int, now: datetime) -> Reminder:
    """Drop a reminder that is no longer needed."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    reminder = _reminder_for(tenant_id, staff, reminder_id)
    reminder.status, reminder.done_at = ReminderStatus.CANCELLED, now
    return reminder


def list_reminders(*, tenant_id: int, staff_id: int, status: str = ReminderStatus.PENDING,
                   due_before: datetime | None = None, after_id: int = 0,
                   limit: int = 50) -> list[Reminder]:
    """The staff member's reminders, soonest first (keyset by id within the status)."""
    staff = acting_staff(tenant_id=tenant_id, staff_id=staff_id)
    stmt = select(Reminder).where(Reminder.tenant_id == tenant_id, Reminder.staff_id == staff.id,
                                  Reminder.status == status, Reminder.id > after_id)
    if due_before is not None:
        stmt = stmt.where(Reminder.due_at <= due_before)
    return list(db.session.scalars(stmt.order_by(Reminder.id).limit(limit)))


def reminder_view(r: Reminder) -> dict[str, Any]:
    return {"id": r.id, "customer_id": r.customer_id, "staff_id": r.staff_id,
            "due_at": r.due_at.isoformat(), "note": r.note, "status": r.status,
            "done_at": r.done_at.isoformat() if r.done_at else None}


def notify_due_reminders(*, now: datetime, limit: int = 500) -> int:
    """Mark due reminders notified and message each staff member once (WeCom app message
    after the commit, when they have a WeCom user id); returns how many reminders."""
    due = list(db.session.scalars(select(Reminder).where(
        Reminder.status == ReminderStatus.PENDING, Reminder.notified_at.is_(None), Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id).limit(limit).with_for_update()))
    if not due:
        return 0
    names = dict(db.session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_({r.customer_id for r in due}))).all())
    per_staff: dict[tuple[int, int], list[Reminder]] = {}
    for r in due:
        r.notified_at = now
        per_staff.setdefault((r.tenant_id, r.staff_id), []).append(r)
    for (tenant_id, staff_id), rows in per_staff.items():
        user_id = wecom_user_of(tenant_id=tenant_id, staff_id=staff_id)
        if not user_id:
            continue
        lines = [f"· {names.get(r.customer_id) or '客户'}：{r.note or '该跟进了'}" for r in rows[:10]]
        more = f"\n…另有 {len(rows) - 10} 条" if len(rows) > 10 else ""
        text = f"跟进提醒（{len(rows)} 条）\n" + "\n".join(lines) + more
        after_commit(partial(_send_app_text, tenant_id, user_id, text))
    return len(due)


def _send_app_text(tenant_id: int, user_id: str, text: str) -> None:

    creds = credentials(tenant_id=tenant_id).wecom
    if creds is None:
        return
    try:
        gateway().wecom(creds).send_app_text(user_ids=[user_id], content=text)
    except DomainError as exc:
        log.warning("reminder message to %s failed: %s", user_id, exc.code)


# ------------------------------------------------------------------ WeCom

def _wecom_customer(tenant_id: int, external_userid: str, *, name: str, unionid: str | None,
                    channel: str, now: datetime) -> Customer:
    """The customer behind a WeCom external contact: by external id, else the same person
    known by unionid (a customer or a member), else new."""
    found = _customer_by(tenant_id, Customer.external_userid, external_userid)
    if found is not None:
        return found
    if unionid:
        twin = _unlinked_twin(tenant_id, Customer.unionid, unionid, Customer.external_userid)
        if twin is None:
            member = find_by_unionid(tenant_id=tenant_id, unionid=unionid)
            if member is not None:
                twin = _customer_for_member(tenant_id, member, source="wecom", channel=channel,
                                               now=now)
                if twin.external_userid is not None:
                    twin = None
        if twin is not None:
            twin.external_userid = external_userid
            twin.name = twin.name or name
            twin.updated_at = now
            db.session.flush()
            return twin
    customer = _get_or_create(tenant_id, Customer.external_userid, external_userid,
                                 {"name": name[:64], "unionid": unionid, "source": "wecom",
                                  "channel": channel}, now)
    return customer


def handle_wecom_event(*, tenant_id: int, event: Any, now: datetime) -> str:
    """A verified WeCom callback: a customer added a staff member (assign, tag, welcome) or
    deleted them (timeline). Returns what happened, for logs and tests."""
    if event.event != "change_external_contact" or not event.external_userid:
        return "ignored"
    if event.change_type == "del_follow_user":
        customer = find_customer_by_contact(tenant_id=tenant_id,
                                            external_userid=event.external_userid)
        staff = staff_by_wecom_user(tenant_id=tenant_id, wecom_user_id=event.user_id or "")
        if customer is None:
            return "ignored"
        record_event(customer=customer, kind="lost", staff_id=staff.id if staff else None, now=now,
                     content="客户删除了员工")
        return "lost"
    if event.change_type != "add_external_contact":
        return "ignored"
    code = None
    if event.state:
        code = db.session.scalar(select(StaffCode).where(
            StaffCode.tenant_id == tenant_id, StaffCode.state == event.state,
            StaffCode.kind == "wecom"))
    staff = (staff_accounts.find_staff(tenant_id=tenant_id, staff_id=code.staff_id) if code is not None
             else staff_by_wecom_user(tenant_id=tenant_id, wecom_user_id=event.user_id or ""))
    if staff is None or staff.tenant_id != tenant_id:
        log.info("WeCom contact %s added a staff member we do not know", event.external_userid)
        return "ignored"
    name, unionid = "", None
    try:
        contact = gateway().wecom(wecom_credentials(tenant_id=tenant_id)).get_external_contact(
            event.external_userid)
        name, unionid = contact.name, contact.unionid
    except DomainError as exc:  # the customer still gets assigned; the name can come later
        log.warning("WeCom contact %s not read: %s", event.external_userid, exc.code)
    channel = code.channel if code is not None else ""
    customer = _wecom_customer(tenant_id, event.external_userid, name=name, unionid=unionid,
                               channel=channel, now=now)
    if code is not None and not code.active:
        return "code_inactive"
    status = _claim(customer, staff, reason="wecom", channel=channel,
                    code_id=code.id if code else None, now=now)
    if status == ClaimOutcome.ASSIGNED and code is not None and code.welcome_text and event.welcome_code:
        after_commit(lambda: _send_welcome(tenant_id, event.welcome_code, code.welcome_text))
    return status


def _send_welcome(tenant_id: int, welcome_code: str, text: str) -> None:

    creds = credentials(tenant_id=tenant_id).wecom
    if creds is None:
        return
    try:
        gateway().wecom(creds).send_welcome_message(welcome_code=welcome_code, text=text)
    except DomainError as exc:
        log.warning("welcome message not sent: %s", exc.code)


def verify_wecom_url(*, tenant_slug: str, query: dict[str, Any]) -> str:
    """WeCom's URL check for a tenant's callback: the decrypted echostr."""

    tenant = get_tenant_by_slug(slug=tenant_slug)
    echo = verify(wecom_credentials(tenant_id=tenant.id), query)
    check_fresh(query, now=time.time())
    return echo


def handle_wecom_callback(*, tenant_slug: str, query: dict[str, Any], body: bytes,
                          now: datetime) -> str:
    """Verify, decrypt and handle one WeCom callback; the answer WeCom expects is "success"."""

    tenant = get_tenant_by_slug(slug=tenant_slug)
    creds = wecom_credentials(tenant_id=tenant.id)
    event = parse_wecom_callback(creds, query=query, body=body)
    claim = claim_nonce(channel="wecom", account=creds.corp_id, query=query,
                        now=now.timestamp())
    # Released if this unit of work does not commit, whatever fails (the handler, the
    # commit, a deadlock the caller retries whole): WeCom's own retry, or the retried
    # unit, must not be refused as a replay of a push nobody handled.
    after_rollback(lambda: release_nonce(claim))
    handle_wecom_event(tenant_id=tenant.id, event=event, now=now)
    return "success"


def owned_member_ids(*, tenant_id: int, staff_id: int) -> list[int]:
    """The member ids of the customers this staff member owns now (their orders are the
    ones attributed to them)."""
    return list(db.session.scalars(select(Customer.member_id).where(
        Customer.tenant_id == tenant_id, Customer.owner_staff_id == staff_id,
        Customer.member_id.is_not(None)).order_by(Customer.member_id)))


def owned_customer_counts(*, tenant_id: int) -> dict[int, int]:
    """Customers each staff member owns now (one grouped query)."""
    return {sid: n for sid, n in db.session.execute(
        select(Customer.owner_staff_id, func.count()).where(
            Customer.tenant_id == tenant_id, Customer.owner_staff_id.is_not(None))
        .group_by(Customer.owner_staff_id)) if sid is not None}

