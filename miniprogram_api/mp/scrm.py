"""SCRM for members: arrival through a staff code and phone capture."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.scrm import service as scrm
from miniprogram_api.http import Body, route
from miniprogram_api.schemas.scrm import ArrivalOut, PhoneOut

bp = Blueprint("mp_scrm", __name__, url_prefix="/api/v1")



class ArriveIn(Body):
    scene: str = Field(min_length=1, max_length=64)


class PhoneIn(Body):
    code: str = Field(min_length=1, max_length=128, description="getPhoneNumber button code")


@route(bp, "/mp/scrm/arrive", method="POST", auth="member", body=ArriveIn, response=ArrivalOut,
       errors=("invalid_scene", "staff_not_found"))
def arrive(principal: Principal, body: ArriveIn) -> dict[str, Any]:
    """I opened the mini-program through a staff code (scene s=<staff id>)."""
    result = scrm.arrive_by_scene(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                  scene=body.scene, now=utcnow())
    return ArrivalOut.model_validate(result)


@route(bp, "/mp/scrm/phone", method="POST", auth="member", body=PhoneIn, response=PhoneOut,
       errors=("invalid_phone_code",))
def capture_phone(principal: Principal, body: PhoneIn) -> dict[str, Any]:
    """I shared my phone number (getPhoneNumber button)."""
    customer = scrm.capture_phone(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                  code=body.code, now=utcnow())
    phone = customer.phone or ""
    return PhoneOut(phone=phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone)

