"""WeCom (企业微信): staff write to the tenant's self-built app, the Assistant answers with
app messages; the same callback URL carries the external-contact events, which go to
SCRM (customers adding a staff member: assignment, channel tags, welcome message).

A WeCom app has one callback URL, so the bot serves it: `/wecom/<tenant slug>` on the
bot's own small WSGI app (`python -m bot` runs it; any WSGI server can). Group robots
(outbound only) are used by the notifications job for the brand's daily report.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request

from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from bot.assistant import Assistant, Chat

log = logging.getLogger(__name__)
TRANSPORT = "wecom"


def create_wecom_app(app: Flask, *, owner_staff_id: int | None = None) -> Flask:
    """The callback endpoint, bound to the backend app (its database, Redis, gateway)."""
    web = Flask("siyu-bot-wecom")
    assistants: dict[int, Assistant] = {}

    def tenant_and_creds(slug: str) -> tuple[int, Any]:
        from backend.tenants.service import get_tenant_by_slug
        from backend.wechat.service import wecom_credentials

        tenant = get_tenant_by_slug(slug=slug)
        return tenant.id, wecom_credentials(tenant_id=tenant.id)

    @web.get("/wecom/<slug>")
    def verify(slug: str) -> Any:
        from backend.wechat.wecom import verify_wecom_url

        with app.app_context():
            try:
                _, creds = tenant_and_creds(slug)
                return Response(verify_wecom_url(creds, request.args), content_type="text/plain")
            except DomainError as exc:
                return Response(exc.message, status=exc.http_status)

    @web.post("/wecom/<slug>")
    def callback(slug: str) -> Any:
        from backend.wechat.wecom import parse_wecom_callback

        with app.app_context():
            try:
                tenant_id, creds = tenant_and_creds(slug)
                event = parse_wecom_callback(creds, query=request.args, body=request.get_data())
            except DomainError as exc:
                return Response(exc.message, status=exc.http_status)
            if event.msg_type == "text":
                assistant = assistants.setdefault(tenant_id, Assistant(app, tenant_id,
                                                                       owner_staff_id=owner_staff_id))
                handle_app_text(assistant, creds, user_id=str(event.fields.get("FromUserName") or ""),
                                text=str(event.fields.get("Content") or ""))
            elif event.event == "change_external_contact":
                from backend.scrm.service import handle_wecom_event

                try:
                    with unit_of_work():
                        handle_wecom_event(tenant_id=tenant_id, event=event, now=utcnow())
                except DomainError as exc:
                    log.warning("WeCom contact event not handled: %s", exc.code)
        return Response("success", content_type="text/plain")

    return web


def handle_app_text(assistant: Assistant, creds: Any, *, user_id: str, text: str) -> int:
    """A staff member's text to the app: answer through app messages; returns how many."""
    from backend.wechat.service import gateway

    if not user_id:
        return 0
    response = assistant.on_text(Chat(TRANSPORT, user_id), text)
    sent = 0
    with assistant.app.app_context():
        api = gateway().wecom(creds)
        for reply in response.replies:
            try:
                if reply.image_png is not None:
                    api.send_app_image(user_ids=[user_id], png=reply.image_png, name=reply.image_name)
                    sent += 1
                if reply.text:
                    api.send_app_text(user_ids=[user_id], content=reply.text)
                    sent += 1
            except DomainError as exc:
                log.warning("WeCom reply to %s not sent: %s", user_id, exc.code)
    return sent
