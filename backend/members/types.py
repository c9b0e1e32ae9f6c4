"""The members' public types: what other domains read of a member (members.service
returns rows that fit `MemberInfo`; read-only, so only this domain writes a member)
and the values of its statuses, shared by the services and the HTTP edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"  # cannot log in; every token it holds is refused


class PromoterStatus(StrEnum):
    """A member's standing as a promoter (推广员)."""

    NONE = "none"
    PENDING = "pending"
    ACTIVE = "active"
    FROZEN = "frozen"
    REVOKED = "revoked"


class PromoterApplicationStatus(StrEnum):
    """A member's application to become a promoter (promoter_mode = apply)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BindOutcome(StrEnum):
    """What a binding attempt did (members.service.BindResult.status; a refusal in a
    request is an error instead, with its code)."""

    BOUND = "bound"
    PENDING = "pending"  # held until the visitor's first purchase (bind_on = purchase)
    REBOUND = "rebound"  # moved to a new parent (the tenant allows rebinding)
    QUEUED = "queued"  # MP_BIND_INBOX=worker: the binding worker decides (members.bind_inbox)
    REFUSED = "refused"  # the rules did not allow it (a queued request's outcome, a live-room entry)
    # An entry point's answer (a shop visit, a staff code), never bind_member's: the visit
    # made or changed no binding (already bound, or not bindable).
    UNCHANGED = "unchanged"


class BindSource(StrEnum):
    """How a member came to be bound under its parent."""

    SHARE = "share"
    INVITE_CODE = "invite_code"
    STAFF_CODE = "staff_code"
    OA_QRCODE = "oa_qrcode"
    LIVE_ROOM = "live_room"
    SHOP = "shop"
    MANUAL = "manual"


class MemberInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def openid(self) -> str | None: ...
    @property
    def unionid(self) -> str | None: ...
    @property
    def nickname(self) -> str: ...
    @property
    def avatar_url(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def invite_code(self) -> str: ...
    @property
    def profile_version(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def path(self) -> str: ...  # materialized path, root first: '/1/5/9/' (members.upline_ids reads it)
    @property
    def pending_parent_id(self) -> int | None: ...
    @property
    def bound_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def promoter_status(self) -> str: ...
    @property
    def promoter_tier(self) -> str: ...
    @property
    def agent_level(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Bound:
    """One binding just made (what `members_bound` announces, a batch at a time)."""

    member_id: int
    parent_id: int
    source: str
    scene: str | None
