"""The back-office edits the tenant's poster templates."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, request
from pydantic import Field

from backend.auth.tokens import Principal
from backend.posters import service as posters
from miniprogram_api.http import Body, Items, Query, route
from miniprogram_api.schemas.common import Deleted
from miniprogram_api.schemas.shops import DefaultLayoutOut, PosterTemplateOut

bp = Blueprint("admin_posters", __name__, url_prefix="/api/v1")





Kind = Literal["invite", "product", "shop", "live"]


class TemplateListQuery(Query):
    kind: Kind | None = None


class TemplateIn(Body):
    kind: Kind
    name: str = Field(min_length=1, max_length=64)
    layout: dict[str, Any] = Field(description="layout JSON, see poster_templates/README.md")
    active: bool = False


class TemplatePatch(Body):
    name: str | None = Field(None, min_length=1, max_length=64)
    layout: dict[str, Any] | None = None
    active: bool | None = None


class PreviewIn(Body):
    kind: Kind
    layout: dict[str, Any]


def _png(data: bytes, *, etag: str | None = None, max_age: int = 0) -> Response:
    response = Response(data, mimetype="image/png")
    if etag:
        response.set_etag(etag)
        response.cache_control.private = True
        response.cache_control.max_age = max_age
        response = response.make_conditional(request)
    else:
        response.cache_control.no_store = True
    return response


@route(bp, "/admin/poster-templates", auth="staff", query=TemplateListQuery,
       response=Items[PosterTemplateOut])
def list_templates(principal: Principal, query: TemplateListQuery) -> Items[PosterTemplateOut]:
    """The tenant's poster templates (the active one per kind replaces the default)."""
    rows = posters.list_templates(tenant_id=principal.tenant_id, kind=query.kind)
    return Items[PosterTemplateOut](items=[posters.template_view(t) for t in rows])


@route(bp, "/admin/poster-templates/defaults/<kind>", auth="staff", response=DefaultLayoutOut,
       errors=("poster_kind_unknown",))
def default_template(principal: Principal, kind: str) -> DefaultLayoutOut:
    """The shipped layout of a kind, to start a template from."""
    return DefaultLayoutOut(kind=kind, layout=posters.default_template(kind=kind))


@route(bp, "/admin/poster-templates", method="POST", auth="staff", body=TemplateIn, status=201,
       response=PosterTemplateOut, errors=("invalid_template",))
def create_template(principal: Principal, body: TemplateIn) -> dict[str, Any]:
    """Add a template; a bad layout is refused with every problem and its field."""
    template = posters.create_template(tenant_id=principal.tenant_id, kind=body.kind,
                                       name=body.name, layout=body.layout, active=body.active,
                                       actor=principal.actor)
    return posters.template_view(template)


@route(bp, "/admin/poster-templates/<int:template_id>", auth="staff", response=PosterTemplateOut,
       errors=("poster_template_not_found",))
def get_template(principal: Principal, template_id: int) -> dict[str, Any]:
    """One template with its layout."""
    return posters.template_view(posters.get_template(tenant_id=principal.tenant_id,
                                                      template_id=template_id))


@route(bp, "/admin/poster-templates/<int:template_id>", method="PATCH", auth="staff",
       body=TemplatePatch, response=PosterTemplateOut, errors=("poster_template_not_found",))
def update_template(principal: Principal, body: TemplatePatch, template_id: int) -> dict[str, Any]:
    """Rename, replace the layout (new version: posters re-render) or (de)activate."""
    template = posters.update_template(tenant_id=principal.tenant_id, template_id=template_id,
                                       actor=principal.actor, name=body.name,
                                       layout=body.layout, active=body.active)
    return posters.template_view(template)


@route(bp, "/admin/poster-templates/<int:template_id>", method="DELETE", auth="staff",
       response=Deleted, errors=("poster_template_not_found",))
def delete_template(principal: Principal, template_id: int) -> Deleted:
    """Delete a template; the default takes over if it was active."""
    posters.delete_template(tenant_id=principal.tenant_id, template_id=template_id,
                            actor=principal.actor)
    return Deleted(deleted=template_id)


@route(bp, "/admin/poster-templates/preview", method="POST", auth="staff", body=PreviewIn,
       limit="poster_staff", body_limit="large", raw=True, content="image/png", errors=("invalid_template",))
def preview_template(principal: Principal, body: PreviewIn) -> Response:
    """Render a layout with sample data (PNG) without saving it."""
    return _png(posters.preview_template(tenant_id=principal.tenant_id, kind=body.kind,
                                         layout=body.layout))

