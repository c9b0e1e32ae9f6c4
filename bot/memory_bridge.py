"""The in-memory puppet's door for the WeChat sandbox console (`./dev run`): with no
puppet service, nobody can write to the bot from a phone, so the sandbox console posts
what a personal-WeChat contact says here, the puppet emits it into the running wechaty,
and the answer is what the bot sent that contact meanwhile.

    POST /_sandbox/wechat/message {"contact": "wxid_x", "name": "小美", "content": "帮助",
                                   "friend_request": false}
    -> {"contact": ..., "replies": ["…"], "images": ["<base64 png>"], "accepted": bool}

Mounted only when the bot runs the in-memory puppet (nothing reaches WeChat then), on the
bot's local callback server (127.0.0.1 by default).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.memory_puppet import MemoryPuppet

WAIT_SECONDS = 20.0


async def _exchange(puppet: MemoryPuppet, *, contact: str, name: str, content: str,
                    friend_request: bool) -> dict[str, Any]:
    """Emit the message (or friend request) and wait for the work it started."""
    me = asyncio.current_task()
    before_tasks = set(asyncio.all_tasks())
    before_sent = len(puppet.sent)
    before_accepted = len(puppet.accepted)
    if friend_request:
        puppet.friend_request(contact, name, hello=content)
    else:
        if contact not in puppet.contacts:
            puppet.add_contact(contact, name)
        puppet.receive_text(contact, content)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        await asyncio.sleep(0)
        pending = [t for t in asyncio.all_tasks() if t is not me and t not in before_tasks and not t.done()]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
    sent = [s for s in puppet.sent[before_sent:] if s.conversation_id == contact]
    return {"contact": contact,
            "replies": [s.text for s in sent if s.text is not None],
            "images": [base64.b64encode(s.image).decode() for s in sent if s.image is not None],
            "accepted": len(puppet.accepted) > before_accepted,
            "timed_out": bool(pending)}


def add_memory_bridge(web: Flask, puppet: MemoryPuppet, loop: list[asyncio.AbstractEventLoop]) -> None:
    """Mount the bridge on `web`; `loop` holds the event loop wechaty runs in once the
    bot has logged in (503 until then)."""

    @web.post("/_sandbox/wechat/message")
    def memory_message() -> Response:
        data = request.get_json(silent=True)
        contact = str((data or {}).get("contact") or "").strip()
        if not isinstance(data, dict) or not contact or len(contact) > 64:
            res = jsonify({"error": "contact（1–64 个字符）必填"})
            res.status_code = 400
            return res
        if not loop:
            res = jsonify({"error": "机器人尚未登录，稍后再试"})
            res.status_code = 503
            return res
        future = asyncio.run_coroutine_threadsafe(_exchange(
            puppet, contact=contact, name=str(data.get("name") or contact)[:32],
            content=str(data.get("content") or "")[:2000], friend_request=bool(data.get("friend_request"))),
            loop[0])
        return jsonify(future.result(timeout=WAIT_SECONDS + 5))
