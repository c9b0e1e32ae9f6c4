"""The official account (公众号) endpoint's rules: who followed through whose QR,
and what to say back. The HTTP view only passes the raw request through."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from backend.catalog import service as catalog
from backend.catalog.errors import ProductNotFound, ProductNotPermitted
from backend.db import after_rollback
from backend.errors import DomainError
from backend.extensions import get_redis
from backend.members import batch as member_batch
from backend.members import service as members
from backend.members.invite import normalise_invite_code
from backend.members.scene import Scene, parse_scene
from backend.members.types import BindOutcome
from backend.oa import inbox
from backend.tenants.service import get_tenant_by_slug
from backend.wechat import push_guard
from backend.wechat import service as wx
from backend.wechat.errors import PushBadSignature
from backend.wechat.official_account import OaPush, parse_oa_push, render_oa_reply, verify_oa_url

HELP = ("您好，欢迎来到{brand}！\n回复「邀请码」获取您的专属邀请码，"
        "回复「团队」查看您的团队人数。")


@dataclass(frozen=True)
class OaResponse:
    body: str
    bound_parent_id: int | None = None


def verify_url(*, tenant_slug: str, query: dict[str, Any]) -> str:
    """Answer WeChat's GET URL check with echostr (PushBadSignature → 403)."""
    tenant = get_tenant_by_slug(slug=tenant_slug)
    echo = verify_oa_url(wx.official_account_credentials(tenant_id=tenant.id), query)
    push_guard.check_fresh(query, now=time.time())
    return echo


def handle_push(*, tenant_slug: str, query: dict[str, Any], body: bytes,
                now: datetime) -> OaResponse:
    """Verify a pushed event or message (signature, safe mode, freshness, not a replay),
    apply it, and render the reply body."""
    tenant = wx.official_account_by_slug(slug=tenant_slug)  # cached a few seconds: a surge's every push
    try:
        push = parse_oa_push(tenant.creds, query=query, body=body)
    except PushBadSignature:
        if not tenant.cached:
            raise
        # Rotated since they were cached? Judged again on the stored credentials.
        tenant = wx.official_account_by_slug(slug=tenant_slug, fresh=True)
        push = parse_oa_push(tenant.creds, query=query, body=body)
    creds = tenant.creds
    claim = push_guard.claim_nonce(channel="oa", account=creds.appid, query=query,
                                   now=now.timestamp())
    # Released if this unit of work does not commit, whatever fails (the handler, the
    # commit, a deadlock retried whole): WeChat's retry must not be refused as a replay.
    after_rollback(lambda: push_guard.release_nonce(claim))
    if push.kind in ("subscribe", "scan") and current_app.config["SIYU_SETTINGS"].oa_inbox == "worker":
        # A surge's path: one INSERT, the answer at once; the worker binds.
        inbox.accept(tenant_id=tenant.tenant_id, openid=push.openid, create_time=push.create_time,
                     event=push.kind, scene=push.scene or None, now=now)
        text = HELP.format(brand=tenant.name) if push.kind == "subscribe" else None
        return OaResponse(render_oa_reply(creds, push, text), None)
    text, parent_id = _react(tenant.tenant_id, tenant.name, push, now)
    return OaResponse(render_oa_reply(creds, push, text), parent_id)


def _react(tenant_id: int, brand: str, push: OaPush, now: datetime) -> tuple[str | None, int | None]:
    if push.kind in ("subscribe", "scan"):
        member = _follower(tenant_id, push.openid, now)
        if not push.scene:
            return (HELP.format(brand=brand) if push.kind == "subscribe" else None), None
        try:
            result = members.bind_by_scene(tenant_id=tenant_id, member_id=member.id,
                                           scene=push.scene, source="oa_qrcode", now=now)
        except DomainError:
            # Already bound, own QR, unknown code …: the follow still counts, quietly.
            return HELP.format(brand=brand) if push.kind == "subscribe" else None, None
        parent = members.get_member(tenant_id=tenant_id, member_id=result.parent_id)
        if result.status == BindOutcome.PENDING:
            return f"欢迎关注{brand}！您由「{parent.nickname}」推荐，首次下单后完成绑定。", None
        return f"欢迎关注{brand}！您已成为「{parent.nickname}」的好友粉丝。", parent.id
    if push.kind == "text":
        return _answer_text(tenant_id, brand, push, now), None
    return None, None  # unsubscribe, other events and media: acknowledged, ignored


def _bind_events(rows: list[Any], now: datetime) -> None:
    """The worker's bindings of a batch of inbox events: the followers found or created
    (their unionids in one WeChat call per tenant), then bound under their scenes'
    promoters set-based (backend/members/batch.py). A refused binding (already bound,
    own QR, unknown code …) is, as inline, the follow alone."""
    by_tenant: dict[int, list[Any]] = {}
    for row in rows:
        by_tenant.setdefault(row.tenant_id, []).append(row)
    for tenant_id, events in by_tenant.items():
        openids = list(dict.fromkeys(e.openid for e in events))
        unionids = _unionids(tenant_id, openids)
        ids = member_batch.upsert_oa_followers(tenant_id=tenant_id, followers=[(o, unionids.get(o)) for o in openids],
                                               now=now)
        scenes: dict[int, Scene] = {}
        for e in events:
            if e.scene:
                try:
                    scenes[e.id] = parse_scene(e.scene)
                except DomainError:
                    pass
        by_code = member_batch.parents_by_invite_code(tenant_id=tenant_id, codes=[
            c for c in (normalise_invite_code(s.invite_code or "") for s in scenes.values()) if c])
        wants = []
        for e in events:
            scene = scenes.get(e.id)
            if scene is None:
                continue
            if scene.invite_code:
                parent_id = by_code.get(normalise_invite_code(scene.invite_code) or "")
            else:
                try:  # a staff code: rare, one read
                    parent_id = members.resolve_scene_parent(tenant_id=tenant_id, scene=e.scene)
                except DomainError:
                    parent_id = None
            if parent_id is not None:
                wants.append(member_batch.Want(ids[e.openid], parent_id, "oa_qrcode", e.scene))
        member_batch.bind_many(tenant_id=tenant_id, wants=wants, now=now)


def _unionids(tenant_id: int, openids: list[str]) -> dict[str, str | None]:
    try:
        creds = wx.official_account_credentials(tenant_id=tenant_id)
        users = wx.gateway().official_account(creds).get_users_info(openids)
    except DomainError:
        return {}  # without unionid a follower is a member of the OA only, for now
    return {o: u.unionid for o, u in users.items()}


def bind_followers() -> int:
    """Drain the OA inbox in batches (the scheduler job `oa.bind_followers`); returns
    how many events it applied."""
    return inbox.drain(apply=_bind_events)


def follow_pending(*, tenant_id: int, oa_openid: str | None) -> bool:
    """Whether this follower's subscribe/SCAN still waits in the inbox (the mini-program
    shows the binding as pending until the worker ran, a moment later)."""
    return bool(oa_openid) and inbox.has_pending(tenant_id=tenant_id, openid=oa_openid or "")


def inbox_backlog(*, now: datetime) -> tuple[int, float | None]:
    """(follow events waiting for the worker, age in seconds of the oldest)."""
    count, oldest = inbox.backlog_counts()
    return count, (now - oldest).total_seconds() if count and oldest is not None else None


def _answer_text(tenant_id: int, brand: str, push: OaPush, now: datetime) -> str:
    member = _follower(tenant_id, push.openid, now)
    content = (push.content or "").strip()
    if "邀请码" in content:
        return f"您的专属邀请码是：{member.invite_code}\n好友在小程序「我的-填写邀请码」输入即可绑定。"
    if "团队" in content:
        team = members.team_summary(tenant_id=tenant_id, member_id=member.id)
        return (f"您的团队共 {team['total']} 人：一级 {team['level1']} 人，"
                f"二级 {team['level2']} 人，三级 {team['level3']} 人。")
    return HELP.format(brand=brand)


def _follower(tenant_id: int, oa_openid: str, now: datetime) -> Any:
    unionid = None
    try:
        creds = wx.official_account_credentials(tenant_id=tenant_id)
        unionid = wx.gateway().official_account(creds).get_user_info(oa_openid).unionid
    except DomainError:
        pass  # without unionid the follower is a member of the OA only, for now
    return members.upsert_oa_follower(tenant_id=tenant_id, oa_openid=oa_openid, unionid=unionid,
                                      now=now)


def promoter_qrcode(*, tenant_id: int, member_id: int) -> dict[str, Any]:
    """A parametric OA QR carrying the member's invite code: followers who scan it bind."""
    member = members.get_member(tenant_id=tenant_id, member_id=member_id)
    scene = Scene(invite_code=member.invite_code).encode()
    creds = wx.official_account_credentials(tenant_id=tenant_id)
    qr = wx.gateway().official_account(creds).create_qrcode_with_scene(scene)
    return {"scene": scene, "ticket": qr.ticket, "url": qr.url, "image_url": qr.image_url}


def _shared_product(tenant_id: int, product_id: int | None) -> dict[str, Any] | None:
    """The product a share is about (p= in the scene), as a visitor may see it: on the
    shelf and open to everyone; else None (the page still binds, without the card)."""
    if product_id is None:
        return None
    try:
        product = catalog.visible_product(tenant_id=tenant_id, product_id=product_id, agent_level=None)
    except (ProductNotFound, ProductNotPermitted):
        return None
    skus = [s for s in catalog.skus_of(tenant_id=tenant_id, product_ids=[product.id])[product.id]
            if s.enabled]
    return {"id": product.id, "name": product.name, "subtitle": product.subtitle,
            "image_url": product.image_url or None,
            "price_fen": min((s.price_fen for s in skus), default=None)}


def share_landing(*, tenant_slug: str, scene: str) -> dict[str, Any]:
    """What the share-link page shows (brands without a mini-program share links and
    plain QR codes): who invites, and the OA parametric QR carrying the same scene, so
    following the official account binds exactly as a mini-program share would."""

    tenant = get_tenant_by_slug(slug=tenant_slug)
    parsed = parse_scene(scene)
    inviter = members.get_member(tenant_id=tenant.id, member_id=members.resolve_scene_parent(
        tenant_id=tenant.id, scene=scene))
    page: dict[str, Any] = {"brand": tenant.name, "inviter": inviter.nickname,
                            "invite_code": inviter.invite_code, "qr_image_url": None,
                            "product": _shared_product(tenant.id, parsed.product_id)}
    if tenant.oa_appid:
        # One WeChat call per scene a month: the QR lives 30 days, the cache 29.
        key = f"siyu:oa-share-qr:{tenant.id}:{scene}"
        cached = get_redis().get(key)
        if cached is None:
            creds = wx.official_account_credentials(tenant_id=tenant.id)
            qr = wx.gateway().official_account(creds).create_qrcode_with_scene(
                Scene(invite_code=inviter.invite_code, product_id=parsed.product_id,
                      live_room_id=parsed.live_room_id, shop_id=parsed.shop_id).encode())
            cached = qr.image_url.encode()
            get_redis().set(key, cached, ex=29 * 24 * 3600)
        page["qr_image_url"] = cached.decode()
    return page
