"""An in-memory wechaty puppet: drives the real Wechaty (its event bridge, its Contact /
Message / Room / Friendship classes, its event loop) without a puppet service.

Tests (and `python -m bot --memory`) emit what WeChat would: a login, a text from a
contact or in a room, a friend request, people joining a room; the puppet records
what the bot sends back (texts, files, mentions), which requests it accepted and which
tags it put on contacts. Wechaty calls puppet methods by keyword, so the base class's
parameter names are kept.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from bot.compat import apply

apply()

from pyee import AsyncIOEventEmitter  # noqa: E402
from wechaty_puppet import (  # noqa: E402
    ContactPayload,
    ContactType,
    FileBox,
    FriendshipPayload,
    FriendshipType,
    MessagePayload,
    MessageType,
    Puppet,
    RoomMemberPayload,
    RoomPayload,
)
from wechaty_puppet.schemas.event import (  # noqa: E402
    EventFriendshipPayload,
    EventLoginPayload,
    EventMessagePayload,
    EventRoomJoinPayload,
)
from wechaty_puppet.schemas.puppet import PuppetOptions  # noqa: E402


@dataclass
class Sent:
    conversation_id: str
    text: str | None = None
    file: FileBox | None = None
    mention_ids: list[str] = field(default_factory=list)

    @property
    def image(self) -> bytes | None:
        """The bytes of a sent file (the bot sends posters as base64 file boxes)."""
        if self.file is None:
            return None
        return base64.b64decode(self.file.base64)


class MemoryPuppet(Puppet):
    def __init__(self, options: PuppetOptions | None = None, name: str = "memory") -> None:
        super().__init__(options or PuppetOptions(), name)
        self._emitter = AsyncIOEventEmitter()
        self._ids = itertools.count(1)
        self.login_id = ""
        self.contacts: dict[str, ContactPayload] = {}
        self.rooms: dict[str, RoomPayload] = {}
        self.messages: dict[str, MessagePayload] = {}
        self.friendships: dict[str, FriendshipPayload] = {}
        self.sent: list[Sent] = []
        self.accepted: list[str] = []
        self.contact_tags: dict[str, set[str]] = {}
        self.errors: list[Any] = []
        self.fail_sends_to: set[str] = set()  # conversation ids whose sends raise
        self._emitter.on("error", self.errors.append)

    # ------------------------------------------------------------------ the world

    def add_contact(self, contact_id: str, name: str, *, friend: bool = True) -> None:
        self.contacts[contact_id] = ContactPayload(id=contact_id, name=name, friend=friend,
                                                   type=ContactType.CONTACT_TYPE_PERSONAL)

    def add_room(self, room_id: str, topic: str, member_ids: list[str]) -> None:
        self.rooms[room_id] = RoomPayload(id=room_id, topic=topic, member_ids=list(member_ids),
                                          owner_id=self.login_id)

    def _next(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}-{time.monotonic_ns()}"  # unique across puppets (wechaty dedupes ids)

    # ------------------------------------------------------------------ driving events

    def login(self, contact_id: str, name: str = "小助手") -> None:
        self.login_id = contact_id
        self.add_contact(contact_id, name)
        self._emitter.emit("login", EventLoginPayload(contact_id=contact_id))

    def receive_text(self, from_id: str, text: str, *, room_id: str = "",
                     mention_ids: list[str] | None = None) -> str:
        message_id = self._next("msg")
        self.messages[message_id] = MessagePayload(
            id=message_id, text=text, type=MessageType.MESSAGE_TYPE_TEXT, from_id=from_id, room_id=room_id,
            to_id="" if room_id else self.login_id, mention_ids=list(mention_ids or []),
            timestamp=int(time.time()))
        self._emitter.emit("message", EventMessagePayload(message_id=message_id))
        return message_id

    def friend_request(self, contact_id: str, name: str, hello: str = "") -> str:
        self.add_contact(contact_id, name, friend=False)
        friendship_id = self._next("fr")
        self.friendships[friendship_id] = FriendshipPayload(
            id=friendship_id, contact_id=contact_id, hello=hello, type=FriendshipType.FRIENDSHIP_TYPE_RECEIVE)
        self._emitter.emit("friendship", EventFriendshipPayload(friendship_id=friendship_id))
        return friendship_id

    def room_join(self, room_id: str, invitee_ids: list[str], inviter_id: str) -> None:
        self.rooms[room_id].member_ids.extend(invitee_ids)
        self._emitter.emit("room-join", EventRoomJoinPayload(
            invited_ids=list(invitee_ids), inviter_id=inviter_id, room_id=room_id, timestamp=time.time()))

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every task the events started (and the tasks they started) is done."""
        deadline = time.monotonic() + timeout
        me = asyncio.current_task()
        while True:
            pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
            if not pending:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(pending)} bot tasks still running")
            await asyncio.wait(pending, timeout=left)

    # ------------------------------------------------------------------ Puppet API

    def on(self, event_name: str, caller: Any) -> None:
        self._emitter.on(event_name, caller)

    def listener_count(self, event_name: str) -> int:
        return len(self._emitter.listeners(event_name))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def self_id(self) -> str:
        return self.login_id

    async def contact_payload(self, contact_id: str) -> ContactPayload:
        payload = self.contacts.get(contact_id)
        if payload is None:
            raise OSError(f"unknown contact {contact_id}")
        return payload

    async def contact_list(self) -> list[str]:
        return list(self.contacts)

    async def contact_alias(self, contact_id: str, alias: str | None = None) -> str:
        return self.contacts[contact_id].alias

    async def message_payload(self, message_id: str) -> MessagePayload:
        return self.messages[message_id]

    async def room_payload(self, room_id: str) -> RoomPayload:
        return self.rooms[room_id]

    async def room_members(self, room_id: str) -> list[str]:
        return list(self.rooms[room_id].member_ids)

    async def room_member_payload(self, room_id: str, contact_id: str) -> RoomMemberPayload:
        c = self.contacts[contact_id]
        return RoomMemberPayload(id=contact_id, name=c.name, room_alias="")

    async def friendship_payload(self, friendship_id: str, payload: Any = None) -> FriendshipPayload:
        return self.friendships[friendship_id]

    async def friendship_accept(self, friendship_id: str) -> None:
        self.accepted.append(friendship_id)
        self.contacts[self.friendships[friendship_id].contact_id].friend = True

    async def tag_contact_add(self, tag_id: str, contact_id: str) -> None:
        self.contact_tags.setdefault(contact_id, set()).add(tag_id)

    async def tag_contact_list(self, contact_id: str | None = None) -> list[str]:
        return sorted(self.contact_tags.get(contact_id or "", set()))

    def _record(self, sent: Sent) -> str:
        if sent.conversation_id in self.fail_sends_to:
            raise OSError("send failed")
        self.sent.append(sent)
        message_id = self._next("out")
        in_room = sent.conversation_id in self.rooms
        self.messages[message_id] = MessagePayload(
            id=message_id, text=sent.text or "", from_id=self.login_id,
            type=MessageType.MESSAGE_TYPE_TEXT if sent.text is not None else MessageType.MESSAGE_TYPE_IMAGE,
            room_id=sent.conversation_id if in_room else "", to_id="" if in_room else sent.conversation_id,
            timestamp=int(time.time()))
        return message_id

    async def message_send_text(self, conversation_id: str, message: str,
                                mention_ids: list[str] | None = None) -> str:
        return self._record(Sent(conversation_id, text=message, mention_ids=list(mention_ids or [])))

    async def message_send_file(self, conversation_id: str, file: FileBox) -> str:
        return self._record(Sent(conversation_id, file=file))

    # ------------------------------------------------------------------ reading what was sent

    def texts_to(self, conversation_id: str) -> list[str]:
        return [s.text for s in self.sent if s.conversation_id == conversation_id and s.text is not None]

    def images_to(self, conversation_id: str) -> list[bytes]:
        return [s.image for s in self.sent if s.conversation_id == conversation_id and s.image is not None]
