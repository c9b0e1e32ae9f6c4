"""Back-office: a staff member links their WeCom user (or personal WeChat) to their
account through the bot: a one-time code to send as "绑定 123456"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.notifications.contacts import LINK_TTL_SECONDS, issue_link_code
from miniprogram_api.http import route
from miniprogram_api.schemas.notifications import LinkCodeOut

bp = Blueprint("admin_bot", __name__, url_prefix="/api/v1/admin/me")


@route(bp, "/bot-link-code", method="POST", auth="staff", status=201, response=LinkCodeOut)
def staff_bot_link_code(principal: Principal) -> dict[str, Any]:
    """A one-time code: send "绑定 <code>" to the bot in WeCom or WeChat to link it to this account."""
    code = issue_link_code(tenant_id=principal.tenant_id, staff_id=principal.subject_id, now=utcnow())
    return LinkCodeOut(code=code, expires_in=LINK_TTL_SECONDS,
                       message=f"在企业微信或微信里给机器人发送“绑定 {code}”，{LINK_TTL_SECONDS // 60} 分钟内有效，只能用一次。")
