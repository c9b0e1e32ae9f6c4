"""Back-office member views the web pages need: binding history and the team tree,
one level at a time (expanded lazily, keyset-paged, whatever the team's size)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.members import service as members
from miniprogram_api.http import Items, Page, Query, page_of, route
from miniprogram_api.schemas.members import MemberPrivateOut
from miniprogram_api.schemas.more import BindingOut

bp = Blueprint("admin_member_views", __name__, url_prefix="/api/v1/admin")



class BindingsQuery(Query):
    limit: int = Field(50, ge=1, le=200)


class ChildrenQuery(Query):
    after_id: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)


@route(bp, "/members/<int:member_id>/bindings", auth="staff", query=BindingsQuery,
       response=Items[BindingOut], errors=("member_not_found",))
def binding_history(principal: Principal, member_id: int, query: BindingsQuery) -> dict[str, Any]:
    """A member's binding history, newest first: parent, source, scene, start and end."""
    members.get_member(tenant_id=principal.tenant_id, member_id=member_id)  # 404 for another tenant's id
    rows = members.binding_history(tenant_id=principal.tenant_id, member_id=member_id, limit=query.limit)
    return Items[BindingOut](items=rows)


@route(bp, "/members/<int:member_id>/children", auth="staff", query=ChildrenQuery,
       response=Page[MemberPrivateOut], errors=("member_not_found",))
def children(principal: Principal, member_id: int, query: ChildrenQuery) -> dict[str, Any]:
    """A member's direct fans with their own team counts: one node of the team tree."""
    rows = members.team_page(tenant_id=principal.tenant_id, member_id=member_id, level=1,
                             after_id=query.after_id, limit=query.limit)
    return page_of(rows, lambda m: members.member_view(m, private=True), query.limit)
