"""Platform operator API: onboard brands (tenants)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import after_commit
from backend.flows import onboarding
from backend.tenants import service as tenants
from backend.wechat.service import forget_cached_credentials
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.members import TenantOut

bp = Blueprint("platform", __name__, url_prefix="/api/v1/platform")


class Credentials(Body):
    mp_appid: str | None = Field(None, max_length=40)
    mp_secret: str | None = None
    oa_appid: str | None = Field(None, max_length=40)
    oa_secret: str | None = None
    oa_token: str | None = None
    oa_aes_key: str | None = None
    oa_original_id: str | None = None
    oa_message_mode: Literal["safe", "compatible"] | None = None
    pay_mchid: str | None = Field(None, max_length=40)
    pay_appid: str | None = None
    pay_private_key: str | None = None
    pay_cert_serial: str | None = None
    pay_apiv3_key: str | None = None
    pay_public_key: str | None = None
    pay_public_key_id: str | None = None
    pay_notify_url: str | None = None
    wecom_corpid: str | None = Field(None, max_length=40)
    wecom_secret: str | None = None
    wecom_agent_id: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_robot_key: str | None = None


class TenantIn(Body):
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    name: str = Field(min_length=1, max_length=100)
    credentials: Credentials | None = None
    boss_username: str | None = Field(None, min_length=2, max_length=60)
    boss_password: str | None = Field(None, min_length=8, max_length=128)


class TenantPage(Query):
    after_id: int = 0
    limit: int = Field(50, ge=1, le=200)


@route(bp, "/tenants", method="POST", auth="platform", body=TenantIn, status=201, response=TenantOut,
       errors=("tenant_slug_taken",))
def create_tenant(principal: Principal, body: TenantIn) -> dict[str, Any]:
    """Create a brand (tenant), optionally with its boss account."""
    creds = body.credentials.model_dump(exclude_none=True) if body.credentials else {}
    tenant = onboarding.open_tenant(slug=body.slug, name=body.name, credentials=creds,
                                    actor=principal.actor, boss_username=body.boss_username,
                                    boss_password=body.boss_password)
    return tenants.public_view(tenant)


@route(bp, "/tenants", auth="platform", query=TenantPage, response=Page[TenantOut])
def list_tenants(principal: Principal, query: TenantPage) -> dict[str, Any]:
    """List brands."""
    items = tenants.list_tenants(limit=query.limit, after_id=query.after_id)
    return page_of(items, tenants.public_view, query.limit)


@route(bp, "/tenants/<int:tenant_id>/credentials", method="PUT", auth="platform", body=Credentials,
       response=TenantOut, errors=("tenant_not_found",))
def put_credentials(principal: Principal, body: Credentials, tenant_id: int) -> dict[str, Any]:
    """Set some of a brand's WeChat credentials (secrets are never returned)."""
    tenant = tenants.update_credentials(tenant_id=tenant_id,
                                        credentials=body.model_dump(exclude_none=True),
                                        actor=principal.actor)
    # This process's cached pay and official-account credentials go now; other
    # processes' within 30 s (pay) / 5 s (OA), or at the first notification or push the
    # old ones cannot verify.
    after_commit(forget_cached_credentials)
    return tenants.public_view(tenant)
