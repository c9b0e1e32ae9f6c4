"""A member's share poster (PNG)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from pydantic import Field

from backend.auth.tokens import Principal
from backend.posters import service as posters
from miniprogram_api.http import Query, route

bp = Blueprint("posters", __name__, url_prefix="/api/v1")



class PosterQuery(Query):
    subject_id: int | None = Field(None, ge=1, description="product / shop / live-room id")


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


@route(bp, "/mp/posters/<kind>", auth="member", query=PosterQuery, raw=True, limit="poster_member",
       content="image/png", errors=("live_room_not_found", "poster_kind_unknown", "poster_subject_required", "product_not_found", "rate_limited"))
def my_poster(principal: Principal, query: PosterQuery, kind: str) -> Response:
    """My share poster (PNG) of a kind: invite, or a product / shop / live room by subject_id."""
    poster = posters.render_poster(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                   kind=kind, subject_id=query.subject_id)
    return _png(poster.png, etag=poster.etag, max_age=300)

