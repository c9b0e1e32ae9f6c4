"""The handler layer: what the bot does, whichever transport carried the message.

One Assistant per tenant. Its methods are synchronous and each runs in its own app
context and unit of work, so transports call them from a worker thread (wechaty's
asyncio loop never blocks on the database). Handlers call backend services only; a
DomainError becomes its Chinese message as the reply, anything else is logged and
answered with an apology.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask

from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.marketing import coupons
from backend.members.service import get_member
from backend.notifications import contacts, dispatch
from backend.notifications.daily import member_day
from backend.notifications.errors import ChatNotLinked, StaffOnly
from backend.notifications.messages import CHINA as _CHINA
from backend.notifications.messages import china_day, summary_text
from backend.notifications.scrm_port import (
    apply_keyword_tags,
    befriend,
    customer_for_chat,
    find_customer_card,
)
from backend.notifications.service import get_settings, set_preferences
from backend.observability.context import bound_request_id, new_request_id
from backend.tenants.service import get_tenant
from bot import replies
from bot.commands import Command, link_code_in, parse

log = logging.getLogger(__name__)
T = TypeVar("T")
SORRY = "抱歉，我刚才开小差了，请稍后再试。"


@dataclass(frozen=True, slots=True)
class Chat:
    """Who is talking: a personal-WeChat contact or a WeCom user."""

    transport: str  # wechaty | wecom
    contact_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str | None = None
    image_png: bytes | None = None
    image_name: str = "poster.png"


@dataclass
class Response:
    replies: list[Reply] = field(default_factory=list)
    tags_added: list[str] = field(default_factory=list)  # mirror them on the chat contact

    def say(self, text: str) -> Response:
        self.replies.append(Reply(text=text))
        return self


class Assistant:
    def __init__(self, app: Flask, tenant_id: int, *, clock: Callable[[], datetime] = utcnow,
                 owner_staff_id: int | None = None) -> None:
        self.app = app
        self.owner_staff_id = owner_staff_id  # the staff member whose WeChat account the bot runs
        self.tenant_id = tenant_id
        self.clock = clock

    # ------------------------------------------------------------------ plumbing

    def _run(self, fn: Callable[[], T], *, fallback: T) -> T:
        # each message a unit of work of its own, its log lines under an id of its own
        with self.app.app_context(), bound_request_id(f"bot-{self.tenant_id}-{new_request_id()}"):
            try:
                with unit_of_work():
                    return fn()
            except DomainError as exc:
                if isinstance(fallback, Response):
                    return Response().say(exc.message)  # type: ignore[return-value]
                raise
            except Exception:
                log.exception("bot handler failed")
                if isinstance(fallback, Response):
                    return Response().say(SORRY)  # type: ignore[return-value]
                raise

    def brand(self) -> str:
        with self.app.app_context():
            return get_tenant(tenant_id=self.tenant_id).name

    # ------------------------------------------------------------------ events

    def on_text(self, chat: Chat, text: str, *, in_room: bool = False, mentioned: bool = False) -> Response:
        """A text message: a command gets its answer; any message may tag the customer."""
        return self._run(lambda: self._on_text(chat, text, in_room=in_room, mentioned=mentioned),
                         fallback=Response())

    def _on_text(self, chat: Chat, text: str, *, in_room: bool, mentioned: bool) -> Response:
        now = self.clock()
        contact = contacts.get_contact(tenant_id=self.tenant_id, transport=chat.transport,
                                       contact_id=chat.contact_id)
        response = Response()
        if contact is None or contact.staff_id is None:
            response.tags_added = self._keyword_tags(chat, contact.member_id if contact else None, text, now)
        command = parse(text)
        if command is None or (in_room and not mentioned):
            return response
        try:
            response.replies += self._command(chat, command, now)
        except DomainError as exc:
            response.say(exc.message)
        return response

    def _keyword_tags(self, chat: Chat, member_id: int | None, text: str, now: datetime) -> list[str]:
        customer_id = customer_for_chat(
            tenant_id=self.tenant_id, member_id=member_id,
            im_contact_id=chat.contact_id if chat.transport == "wechaty" else None,
            external_userid=chat.contact_id if chat.transport == "wecom" else None)
        if customer_id is None:
            return []
        return apply_keyword_tags(tenant_id=self.tenant_id, customer_id=customer_id, text=text, now=now)

    def _linked(self, chat: Chat) -> Any:
        contact = contacts.get_contact(tenant_id=self.tenant_id, transport=chat.transport,
                                       contact_id=chat.contact_id)
        if contact is None or (contact.member_id is None and contact.staff_id is None):
            raise ChatNotLinked()
        return contact

    def _command(self, chat: Chat, command: Command, now: datetime) -> list[Reply]:
        name = command.name
        if name == "help":
            return [Reply(replies.HELP)]
        if name == "link":
            return [Reply(self._link(chat, command.arg, now))]
        if name == "unlink":
            return [Reply(replies.unlinked(contacts.unlink_contact(
                tenant_id=self.tenant_id, transport=chat.transport, contact_id=chat.contact_id)))]
        contact = self._linked(chat)
        if name == "customer":
            if contact.staff_id is None:
                raise StaffOnly()
            card = find_customer_card(tenant_id=self.tenant_id, staff_id=contact.staff_id, query=command.arg)
            return [Reply(replies.customer_card(card, command.arg))]
        if contact.member_id is None:
            raise ChatNotLinked("该员工账号尚未关联会员，无法查看邀请码、海报和佣金")
        member = get_member(tenant_id=self.tenant_id, member_id=contact.member_id)
        if name == "invite_code":
            return [Reply(replies.invite_code(member.invite_code))]
        if name == "poster":
            return self._poster(member.id)
        if name == "today":
            summary = member_day(tenant_id=self.tenant_id, member_id=member.id, day=china_day(now))
            return [Reply(summary_text(summary, brand=get_tenant(tenant_id=self.tenant_id).name, today=True))]
        if name == "coupons":
            rows = coupons.claimable_coupons(tenant_id=self.tenant_id, now=now, limit=10)
            return [Reply(replies.coupon_list([(c.id, c.name, coupons.describe(c)) for c in rows]))]
        if name == "claim_coupon":
            held = coupons.issue_coupon(tenant_id=self.tenant_id, coupon_id=int(command.arg), member_id=member.id,
                                        source="bot", now=now)
            coupon = coupons.get_coupon(tenant_id=self.tenant_id, coupon_id=held.coupon_id)
            until = held.valid_until.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")
            return [Reply(replies.coupon_claimed(coupon.name, until))]
        if name in ("notify_on", "notify_off"):
            on = name == "notify_on"
            set_preferences(tenant_id=self.tenant_id, member_id=member.id, daily_enabled=on, now=now)
            return [Reply(replies.notify(on))]
        return [Reply(replies.HELP)]

    def _poster(self, member_id: int) -> list[Reply]:
        from backend.posters.service import render_poster

        poster = render_poster(tenant_id=self.tenant_id, member_id=member_id, kind="invite")
        return [Reply(image_png=poster.png, image_name=f"poster-{member_id}.png"),
                Reply(replies.poster_caption())]

    def _link(self, chat: Chat, code: str, now: datetime) -> str:
        contact = contacts.link_contact(tenant_id=self.tenant_id, transport=chat.transport,
                                        contact_id=chat.contact_id, display_name=chat.name, code=code, now=now)
        if contact.staff_id is not None:
            from backend.staff.service import get_staff

            return replies.linked(get_staff(tenant_id=self.tenant_id, staff_id=contact.staff_id).display_name,
                                  staff=True)
        member = get_member(tenant_id=self.tenant_id, member_id=contact.member_id or 0)
        return replies.linked(member.nickname or member.invite_code, staff=False)

    def on_friend_request(self, chat: Chat, hello: str) -> Response:
        """Someone asked to be friends: remember them, link them if the greeting carries a
        code, and say welcome (the transport accepts the request)."""
        return self._run(lambda: self._on_friend(chat, hello), fallback=Response())

    def _on_friend(self, chat: Chat, hello: str) -> Response:
        now = self.clock()
        contacts.remember_contact(tenant_id=self.tenant_id, transport=chat.transport,
                                  contact_id=chat.contact_id, display_name=chat.name, now=now)
        if self.owner_staff_id is not None and chat.transport == "wechaty":
            befriend(tenant_id=self.tenant_id, staff_id=self.owner_staff_id, im_contact_id=chat.contact_id,
                     name=chat.name, now=now)
        settings = get_settings(tenant_id=self.tenant_id)
        response = Response().say(replies.welcome(chat.name, get_tenant(tenant_id=self.tenant_id).name,
                                                  settings.welcome_text))
        code = link_code_in(hello)
        if code:
            try:
                response.say(self._link(chat, code, now))
            except DomainError as exc:
                response.say(exc.message)
        return response

    def on_room_join(self, topic: str, joiners: Sequence[Chat]) -> Response:
        """People joined a room the bot is in: one welcome mentioning them all."""
        if not joiners:
            return Response()
        return self._run(lambda: self._on_room_join(topic, joiners), fallback=Response())

    def _on_room_join(self, topic: str, joiners: Sequence[Chat]) -> Response:
        now = self.clock()
        for chat in joiners:
            contacts.remember_contact(tenant_id=self.tenant_id, transport=chat.transport,
                                      contact_id=chat.contact_id, display_name=chat.name, now=now)
        settings = get_settings(tenant_id=self.tenant_id)
        return Response().say(replies.room_welcome([c.name or "新朋友" for c in joiners], topic,
                                                   settings.room_welcome_text))

    # ------------------------------------------------------------------ the outbox, bot side

    def claim_outbox(self, now: datetime, limit: int = 20) -> tuple[Any, Any, Any]:
        """Claim due personal-WeChat notifications (rows, outcome, [(row, contact, text)])."""
        with self.app.app_context(), unit_of_work():
            return dispatch.claim_bot_batch(tenant_id=self.tenant_id, now=now, limit=limit)

    def finish_outbox(self, rows: Any, outcome: Any, now: datetime) -> None:
        with self.app.app_context(), unit_of_work():
            dispatch.finish(claimed=rows, outcome=outcome, now=now)
