"""The poster API: a member downloads their poster; managers edit the tenant's templates."""

from __future__ import annotations

from typing import Any

from backend.posters import service as posters
from tests.service.posters.conftest import Products
from tests.unit.posters.conftest import read_qr_texts

TEMPLATES = "/api/v1/admin/poster-templates"


def dark_invite_layout() -> dict[str, Any]:
    layout = posters.default_template(kind="invite")
    layout["background"] = {"color": "#203040"}
    return layout


def test_a_member_downloads_their_invite_poster_as_png(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    resp = client.get("/api/v1/mp/posters/invite", headers=factory.member_headers(member))
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert resp.headers["Cache-Control"] in ("private, max-age=300", "max-age=300, private")
    assert read_qr_texts(resp.data) == [f"i={member.invite_code}"]


def test_an_unchanged_poster_answers_304_to_its_etag(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    headers = factory.member_headers(member)
    first = client.get("/api/v1/mp/posters/invite", headers=headers)
    etag = first.headers["ETag"]
    again = client.get("/api/v1/mp/posters/invite", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_a_product_poster_is_per_subject(client: Any, factory: Any, products: Products) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    products.add(77)
    resp = client.get("/api/v1/mp/posters/product?subject_id=77",
                      headers=factory.member_headers(member))
    assert resp.status_code == 200
    assert read_qr_texts(resp.data) == [f"i={member.invite_code}&p=77"]
    missing = client.get("/api/v1/mp/posters/product?subject_id=78",
                         headers=factory.member_headers(member))
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_poster_request_errors_are_json_not_500s(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    headers = factory.member_headers(factory.member(tenant))
    cases = {
        "/api/v1/mp/posters/banner": (404, "poster_kind_unknown"),
        "/api/v1/mp/posters/product": (400, "poster_subject_required"),
        "/api/v1/mp/posters/product?subject_id=abc": (400, "validation_failed"),
        "/api/v1/mp/posters/product?subject_id=-1": (400, "validation_failed"),
    }
    for url, (status, code) in cases.items():
        resp = client.get(url, headers=headers)
        assert (resp.status_code, resp.json["code"]) == (status, code), url
    assert client.get("/api/v1/mp/posters/invite").status_code == 401


def test_a_manager_creates_activates_and_the_members_poster_follows(client: Any,
                                                                     factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    member_headers = factory.member_headers(member)
    default_etag = client.get("/api/v1/mp/posters/invite", headers=member_headers).headers["ETag"]

    created = client.post(TEMPLATES, headers=boss, json={
        "kind": "invite", "name": "深色", "layout": dark_invite_layout(), "active": True})
    assert created.status_code == 201, created.json
    assert (created.json["version"], created.json["active"]) == (1, True)

    poster = client.get("/api/v1/mp/posters/invite", headers=member_headers)
    assert poster.headers["ETag"] != default_etag
    assert read_qr_texts(poster.data) == [f"i={member.invite_code}"]

    listed = client.get(f"{TEMPLATES}?kind=invite", headers=boss).json["items"]
    assert [(t["id"], t["name"]) for t in listed] == [(created.json["id"], "深色")]


def test_a_bad_layout_is_refused_with_fields_and_reasons(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    layout = dark_invite_layout()
    layout["elements"][0]["width"] = 9000
    layout["background"]["image"] = "images/none.png"
    resp = client.post(TEMPLATES, headers=boss, json={"kind": "invite", "name": "坏",
                                                      "layout": layout})
    assert resp.status_code == 400
    assert resp.json["code"] == "invalid_template"
    assert sorted(d["field"] for d in resp.json["details"]) == [
        "background.image", "elements[0].width"]
    assert client.get(TEMPLATES, headers=boss).json["items"] == []


def test_a_layout_that_is_not_an_object_is_a_validation_error(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    resp = client.post(TEMPLATES, headers=boss, json={"kind": "invite", "name": "坏",
                                                      "layout": "[]"})
    assert (resp.status_code, resp.json["code"]) == (400, "validation_failed")


def test_sales_staff_may_read_but_not_change_templates(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    staff = factory.staff_headers(factory.staff(tenant, role="sales"))
    assert client.get(TEMPLATES, headers=staff).status_code == 200
    resp = client.post(TEMPLATES, headers=staff, json={
        "kind": "invite", "name": "x", "layout": dark_invite_layout()})
    assert (resp.status_code, resp.json["code"]) == (403, "role_forbidden")


def test_update_and_delete_through_the_api(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    tid = client.post(TEMPLATES, headers=boss, json={
        "kind": "invite", "name": "一", "layout": dark_invite_layout()}).json["id"]
    layout = dark_invite_layout()
    layout["background"] = {"color": "#000000"}
    patched = client.patch(f"{TEMPLATES}/{tid}", headers=boss,
                           json={"name": "二", "layout": layout, "active": True})
    assert patched.status_code == 200
    assert (patched.json["name"], patched.json["version"], patched.json["active"]) == (
        "二", 2, True)
    assert client.get(f"{TEMPLATES}/{tid}", headers=boss).json["layout"]["background"] == {
        "color": "#000000"}
    assert client.delete(f"{TEMPLATES}/{tid}", headers=boss).json == {"deleted": tid}
    gone = client.get(f"{TEMPLATES}/{tid}", headers=boss)
    assert (gone.status_code, gone.json["code"]) == (404, "poster_template_not_found")


def test_another_tenants_staff_cannot_see_or_change_a_template(client: Any, factory: Any) -> None:
    mine, theirs = factory.tenant(), factory.tenant()
    boss = factory.staff_headers(factory.staff(mine, role="boss"))
    stranger = factory.staff_headers(factory.staff(theirs, role="boss"))
    tid = client.post(TEMPLATES, headers=boss, json={
        "kind": "invite", "name": "一", "layout": dark_invite_layout()}).json["id"]
    assert client.get(f"{TEMPLATES}/{tid}", headers=stranger).status_code == 404
    assert client.patch(f"{TEMPLATES}/{tid}", headers=stranger,
                        json={"name": "抢"}).status_code == 404
    assert client.delete(f"{TEMPLATES}/{tid}", headers=stranger).status_code == 404
    assert client.get(f"{TEMPLATES}/{tid}", headers=boss).json["name"] == "一"


def test_defaults_and_preview(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    default = client.get(f"{TEMPLATES}/defaults/shop", headers=boss).json
    assert default["kind"] == "shop" and default["layout"]["canvas"] == {
        "width": 720, "height": 1280}
    preview = client.post(f"{TEMPLATES}/preview", headers=boss,
                          json={"kind": "shop", "layout": default["layout"]})
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.headers["Cache-Control"] == "no-store"
    assert read_qr_texts(preview.data) == [
        f"http://127.0.0.1:5080/s/{tenant.slug}?scene=i%3DPREVIEW"]
    unknown = client.get(f"{TEMPLATES}/defaults/banner", headers=boss)
    assert (unknown.status_code, unknown.json["code"]) == (404, "poster_kind_unknown")


def test_every_staff_member_shares_their_own_poster_and_only_managers_edit_templates(
        client: Any, factory: Any) -> None:
    """我的海报: the brand's invite poster with the staff member's own code (scene
    s=<staff id>, what SCRM assigns customers by), for every staff role; the template
    editor's preview and saves stay with boss and operator (backend/auth/policy.py)."""
    import io

    from PIL import Image

    tenant = factory.tenant()
    staff = {role: factory.staff(tenant, role) for role in ("boss", "operator", "finance", "sales")}
    for role, account in staff.items():
        resp = client.get("/api/v1/scrm/me/poster", headers=factory.staff_headers(account))
        assert resp.status_code == 200, (role, resp.json)
        assert resp.mimetype == "image/png" and "no-store" in resp.headers["Cache-Control"]
        assert read_qr_texts(resp.data) == [f"s={account.id}"], role
        assert Image.open(io.BytesIO(resp.data)).size == (720, 1280)
    for role in ("finance", "sales"):
        refused = client.post(f"{TEMPLATES}/preview", headers=factory.staff_headers(staff[role]),
                              json={"kind": "invite", "layout": dark_invite_layout()})
        assert refused.status_code == 403 and refused.json["code"] == "role_forbidden", role
    # the template the managers put in force shows on the next poster at once
    layout = dark_invite_layout()
    layout["canvas"]["height"] = 1100
    made = client.post(TEMPLATES, headers=factory.staff_headers(staff["operator"]),
                       json={"kind": "invite", "name": "深色", "layout": layout, "active": True})
    assert made.status_code == 201, made.json
    again = client.get("/api/v1/scrm/me/poster", headers=factory.staff_headers(staff["sales"]))
    img = Image.open(io.BytesIO(again.data))
    assert img.size == (720, 1100) and img.convert("RGB").getpixel((5, 5)) == (0x20, 0x30, 0x40)
    assert read_qr_texts(again.data) == [f"s={staff['sales'].id}"]
