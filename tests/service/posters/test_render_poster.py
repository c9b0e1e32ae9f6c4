"""A member's poster: the QR's scene binds a fan, and the cache follows every version."""

from __future__ import annotations

import dataclasses
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.errors import MemberNotFound
from backend.members.models import Binding, Member
from backend.members.service import bind_by_scene, update_profile
from backend.posters import fetch, subjects
from backend.posters import service as posters
from backend.posters.assets import default_assets
from backend.posters.errors import (
    PosterKindUnavailable,
    PosterKindUnknown,
    PosterSubjectRequired,
)
from backend.posters.layout import AvatarBox
from backend.tenants.models import Tenant
from backend.tenants.service import create_tenant
from tests.service.posters.conftest import Products, png_of
from tests.unit.posters.conftest import read_qr_texts


def wxa_calls(sandbox: Any, appid: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.wxa_codes if c["appid"] == appid]


def bind_with(tenant: Any, fan: Any, scene: str) -> Member:
    with unit_of_work():
        bind_by_scene(tenant_id=tenant.id, member_id=fan.id, scene=scene, source="share",
                      now=utcnow())
    db.session.expire_all()
    return db.session.get(Member, fan.id)


def test_the_invite_poster_carries_a_mini_program_code_whose_scene_binds_a_fan(
        factory: Any, sandbox: Any) -> None:
    tenant = factory.tenant()
    promoter, fan = factory.member(tenant), factory.member(tenant)
    calls_before = len(wxa_calls(sandbox, tenant.mp_appid))
    poster = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")

    assert Image.open(io.BytesIO(poster.png)).size == (720, 1280)
    [scene] = read_qr_texts(poster.png)  # the sandbox's code is a real QR of the scene
    assert scene == f"i={promoter.invite_code}"
    assert [(c["scene"], c["page"]) for c in wxa_calls(sandbox, tenant.mp_appid)[calls_before:]] \
        == [(scene, "pages/index/index")]

    assert bind_with(tenant, fan, scene).parent_id == promoter.id
    assert db.session.query(Binding).filter_by(member_id=fan.id).one().scene == scene


def test_a_tenant_without_a_mini_program_gets_a_plain_qr_of_the_share_link(factory: Any) -> None:
    with unit_of_work():
        tenant = create_tenant(slug="plainqr", name="无小程序品牌", actor="test")
    promoter, fan = factory.member(tenant), factory.member(tenant)
    poster = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")

    [link] = read_qr_texts(poster.png)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://127.0.0.1:5080/s/plainqr"
    scene = parse_qs(parts.query)["scene"][0]
    assert scene == f"i={promoter.invite_code}"
    assert bind_with(tenant, fan, scene).parent_id == promoter.id


def test_a_product_poster_scene_names_the_promoter_and_the_product(
        factory: Any, sandbox: Any, products: Products) -> None:
    tenant = factory.tenant()
    promoter, fan = factory.member(tenant), factory.member(tenant)
    products.add(31)
    poster = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                                   subject_id=31)
    [scene] = read_qr_texts(poster.png)
    assert scene == f"i={promoter.invite_code}&p=31"
    assert wxa_calls(sandbox, tenant.mp_appid)[-1]["page"] == "pages/product/detail"
    assert bind_with(tenant, fan, scene).parent_id == promoter.id


def test_the_second_request_comes_from_the_cache_without_calling_wechat(
        factory: Any, sandbox: Any, poster_cache_dir: Any) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    calls_before = len(wxa_calls(sandbox, tenant.mp_appid))
    first = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    again = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    assert (first.cached, again.cached) == (False, True)
    assert again.png == first.png and again.etag == first.etag
    assert len(wxa_calls(sandbox, tenant.mp_appid)) == calls_before + 1
    assert len(list(poster_cache_dir.rglob("*.png"))) == 1


def test_a_profile_change_renders_a_new_poster(factory: Any) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant, nickname="阿明")
    before = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    with unit_of_work():
        update_profile(tenant_id=tenant.id, member_id=promoter.id, nickname="阿明的小店")
    after = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    assert not after.cached and after.etag != before.etag and after.png != before.png


def test_a_subject_change_renders_a_new_poster_and_other_subjects_stay_cached(
        factory: Any, products: Products) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    products.add(1)
    products.add(2)
    p1 = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                               subject_id=1)
    posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                          subject_id=2)
    products.change(1, price_fen=9900)
    p1_new = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                                   subject_id=1)
    p2_again = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id,
                                     kind="product", subject_id=2)
    assert not p1_new.cached and p1_new.png != p1.png
    assert p2_again.cached


def test_renaming_the_brand_renders_new_product_posters(factory: Any, products: Products) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    products.add(3)
    before = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                                   subject_id=3)
    with unit_of_work():
        db.session.get(Tenant, tenant.id).name = "新品牌名"
    after = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product",
                                  subject_id=3)
    assert not after.cached and after.png != before.png


def test_a_template_change_renders_a_new_poster_but_a_rename_does_not(factory: Any) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    default = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    layout = posters.default_template(kind="invite")
    layout["background"] = {"color": "#203040"}
    with unit_of_work():
        template = posters.create_template(tenant_id=tenant.id, kind="invite", name="深色",
                                           layout=layout, active=True, actor="test")
    own = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    assert not own.cached and own.etag != default.etag
    assert Image.open(io.BytesIO(own.png)).convert("RGB").getpixel((5, 5)) == (32, 48, 64)

    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, name="深色2",
                                actor="test")
    assert posters.render_poster(tenant_id=tenant.id, member_id=promoter.id,
                                 kind="invite").cached

    layout["background"] = {"color": "#402030"}
    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, layout=layout,
                                actor="test")
    v2 = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    assert not v2.cached
    assert Image.open(io.BytesIO(v2.png)).convert("RGB").getpixel((5, 5)) == (64, 32, 48)


def test_deactivating_the_template_brings_back_the_default(factory: Any) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    default = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    layout = posters.default_template(kind="invite")
    layout["background"] = {"color": "#203040"}
    with unit_of_work():
        template = posters.create_template(tenant_id=tenant.id, kind="invite", name="深色",
                                           layout=layout, active=True, actor="test")
    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, active=False,
                                actor="test")
    back = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    assert back.cached and back.etag == default.etag


def test_the_avatar_is_fetched_from_an_allowed_host_and_drawn(
        factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    url = "https://thirdwx.qlogo.cn/mmopen/abc/132"
    with unit_of_work():
        update_profile(tenant_id=tenant.id, member_id=promoter.id, avatar_url=url)
    asked: list[str | None] = []

    def fake_fetch(u: str | None, *, hosts: Any) -> bytes | None:
        asked.append(u)
        return png_of((20, 60, 220)) if u == url and fetch.allowed(u, hosts) else None

    monkeypatch.setattr(fetch, "fetch_image", fake_fetch)
    poster = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    box = next(e for e in default_assets().default_layout("invite").elements
               if isinstance(e, AvatarBox))
    centre = Image.open(io.BytesIO(poster.png)).getpixel((box.x + box.size // 2,
                                                          box.y + box.size // 2))
    assert centre == (20, 60, 220)
    assert url in asked


def test_a_poster_needs_a_subject_for_products(factory: Any, products: Products) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    with pytest.raises(PosterSubjectRequired):
        posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="product")


def test_a_kind_whose_domain_is_not_there_is_unavailable(
        factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subjects, "_discovered", lambda: {})
    monkeypatch.delitem(subjects.SUBJECT_LOADERS, "live", raising=False)
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    with pytest.raises(PosterKindUnavailable):
        posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="live",
                              subject_id=1)


def test_an_unknown_kind_is_refused(factory: Any) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)
    with pytest.raises(PosterKindUnknown):
        posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="banner")


def test_another_tenants_member_gets_no_poster(factory: Any) -> None:
    mine, theirs = factory.tenant(), factory.tenant()
    stranger = factory.member(theirs)
    with pytest.raises(MemberNotFound):
        posters.render_poster(tenant_id=mine.id, member_id=stranger.id, kind="invite")


def test_live_and_shop_subjects_put_their_own_scene_keys(
        factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = factory.tenant()
    promoter = factory.member(tenant)

    def room(*, tenant_id: int, subject_id: int) -> subjects.PosterSubject:
        return subjects.PosterSubject(id=str(subject_id), version="1",
                                      texts={"title": "今晚直播", "start_time": "20:00"},
                                      scene={"live_room_id": subject_id})

    def shop(*, tenant_id: int, subject_id: int) -> subjects.PosterSubject:
        return dataclasses.replace(room(tenant_id=tenant_id, subject_id=subject_id),
                                   texts={"shop_name": "阿明的小店", "intro": "自用好物"},
                                   scene={"shop_id": subject_id})

    monkeypatch.setitem(subjects.SUBJECT_LOADERS, "live", room)
    monkeypatch.setitem(subjects.SUBJECT_LOADERS, "shop", shop)
    live = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="live",
                                 subject_id=5)
    shop_poster = posters.render_poster(tenant_id=tenant.id, member_id=promoter.id,
                                        kind="shop", subject_id=6)
    assert read_qr_texts(live.png) == [f"i={promoter.invite_code}&r=5"]
    assert read_qr_texts(shop_poster.png) == [f"i={promoter.invite_code}&h=6"]


def test_prune_removes_posters_nobody_opened_for_a_month(factory: Any, poster_cache_dir: Any) -> None:
    import os

    tenant = factory.tenant()
    promoter = factory.member(tenant)
    posters.render_poster(tenant_id=tenant.id, member_id=promoter.id, kind="invite")
    [path] = list(poster_cache_dir.rglob("*.png"))
    now = utcnow()
    os.utime(path, (now.timestamp() - 31 * 86400,) * 2)
    assert posters.prune_cache(now=now) == 1
    assert not path.exists()
