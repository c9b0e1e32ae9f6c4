"""Personal WeChat through wechaty: events in, the Assistant's replies out, and the
personal-WeChat notifications of the outbox sent on a timer.

Wechaty runs on asyncio; the Assistant touches the database, so each handler call
goes to a small thread pool and the event loop never blocks. Traps of wechaty 0.10.7
handled here (see bot/compat.py for the import-time ones):
- its Contact/Room/Tag caches are class attributes shared by every Wechaty instance
  (stale payloads bound to a dead puppet after a restart): each instance gets its own;
- on login it checks a local port for its plugin web server (default 5000, Flask's):
  we pass a free port; it starts an APScheduler: we pass our own AsyncIOScheduler;
- handler exceptions are only logged by pyee/wechaty: ours catch and log with context;
- `Tag.add` raises NameError: tags go through `puppet.tag_contact_add`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from bot.compat import load_wechaty

wechaty = load_wechaty()

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: E402
from wechaty import Contact, Friendship, Message, Room, Wechaty, WechatyOptions  # noqa: E402
from wechaty_puppet import FileBox, FriendshipType, MessageType, Puppet  # noqa: E402
from wechaty_puppet.schemas.puppet import PuppetOptions  # noqa: E402

from backend.db import utcnow  # noqa: E402
from bot.assistant import Assistant, Chat, Reply  # noqa: E402

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSPORT = "wechaty"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SiyuWechaty(Wechaty):
    """Wechaty with per-instance payload caches."""

    async def init_puppet(self) -> None:
        await super().init_puppet()
        for cls in (self.Contact, self.ContactSelf, self.Room, self.Tag):
            cls._pool = {}  # type: ignore[attr-defined]


def puppet_service(token: str, endpoint: str | None) -> Puppet:
    """The real transport: wechaty-puppet-service over gRPC."""
    from wechaty_puppet_service import PuppetService

    return PuppetService(PuppetOptions(token=token, end_point=endpoint))


class WechatyTransport:
    def __init__(self, assistant: Assistant, puppet: Puppet, *, port: int | None = None,
                 clock: Callable[[], datetime] = utcnow, workers: int = 4) -> None:
        self.assistant = assistant
        self.puppet = puppet
        self.clock = clock
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siyu-bot")
        self.bot = SiyuWechaty(WechatyOptions(
            name="siyu", puppet=puppet, puppet_options=PuppetOptions(), host="127.0.0.1",
            port=port or free_port(), scheduler=AsyncIOScheduler()))
        self.bot.on("message", self._guard(self._on_message))
        self.bot.on("friendship", self._guard(self._on_friendship))
        self.bot.on("room-join", self._guard(self._on_room_join))
        self.bot.on("login", self._on_login)
        self.logged_in = asyncio.Event()

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def _guard(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        async def guarded(*args: Any) -> None:
            try:
                await handler(*args)
            except Exception:
                log.exception("wechaty %s handler failed", handler.__name__)
        guarded.__name__ = handler.__name__
        return guarded

    async def start(self) -> None:
        await self.bot.start()

    async def stop(self) -> None:
        await self.bot.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _on_login(self, contact: Contact) -> None:
        log.info("bot logged in as %s", contact.name)
        self.logged_in.set()

    @staticmethod
    def _chat(contact: Contact) -> Chat:
        return Chat(TRANSPORT, contact.contact_id, contact.name)

    async def _send(self, target: Contact | Room | Message, replies: list[Reply],
                    mention_ids: list[str] | None = None) -> None:
        for reply in replies:
            if reply.image_png is not None:
                box = FileBox.from_base64(base64.b64encode(reply.image_png), name=reply.image_name)
                await target.say(box)
            elif reply.text:
                if isinstance(target, Room) and mention_ids:
                    await target.say(reply.text, mention_ids=mention_ids)
                else:
                    await target.say(reply.text)

    async def _on_message(self, msg: Message) -> None:
        if msg.is_self() or msg.type() != MessageType.MESSAGE_TYPE_TEXT:
            return
        talker = msg.talker()
        room = msg.room()
        if room is None:
            response = await self._call(self.assistant.on_text, self._chat(talker), msg.text())
            target: Contact | Room = talker
        else:
            mentioned = await msg.mention_self()
            text = await msg.mention_text() if mentioned else msg.text()
            response = await self._call(self.assistant.on_text, self._chat(talker), text, in_room=True,
                                        mentioned=mentioned)
            target = room
        for tag in response.tags_added:  # mirror SCRM's tags on the WeChat contact
            await self.bot.puppet.tag_contact_add(tag_id=tag, contact_id=talker.contact_id)
        await self._send(target, response.replies, mention_ids=[talker.contact_id] if room else None)

    async def _on_friendship(self, friendship: Friendship) -> None:
        if friendship.type() != FriendshipType.FRIENDSHIP_TYPE_RECEIVE:
            return
        contact = friendship.contact()
        await contact.ready()
        response = await self._call(self.assistant.on_friend_request, self._chat(contact), friendship.hello())
        await friendship.accept()
        await self._send(contact, response.replies)

    async def _on_room_join(self, room: Room, invitees: list[Contact], inviter: Contact,
                            date: datetime) -> None:
        me = self.bot.puppet.self_id()
        joiners = [c for c in invitees if c.contact_id != me]
        if not joiners:
            return
        topic = room.payload.topic if room.payload is not None else ""
        response = await self._call(self.assistant.on_room_join, topic, [self._chat(c) for c in joiners])
        await self._send(room, response.replies, mention_ids=[c.contact_id for c in joiners])

    # ------------------------------------------------------------------ notifications

    async def deliver_once(self, now: datetime | None = None) -> int:
        """Send the due personal-WeChat notifications (within the rate limit); returns how many."""
        now = now or self.clock()
        rows, outcome, ready = await self._call(self.assistant.claim_outbox, now)
        for row, contact_id, text in ready:
            try:
                contact = self.bot.Contact.load(contact_id)
                await contact.ready()
                await contact.say(text)
                outcome.sent[row.id] = "bot"
            except Exception as exc:  # noqa: BLE001 - retried with backoff
                log.warning("notification %s to %s failed: %s", row.id, contact_id, exc)
                outcome.failed[row.id] = type(exc).__name__
        if rows:
            await self._call(self.assistant.finish_outbox, rows, outcome, now)
        return len(outcome.sent)

    async def deliver_forever(self, interval: float = 15.0) -> None:
        await self.logged_in.wait()
        while True:
            try:
                await self.deliver_once()
            except Exception:
                log.exception("notification delivery failed")
            await asyncio.sleep(interval)
