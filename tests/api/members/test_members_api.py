import json

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Binding, Member


def login(client, tenant, code):
    resp = client.post("/api/v1/mp/login", json={"tenant": tenant.slug, "code": code})
    assert resp.status_code == 200, resp.json
    return resp.json


def auth(body):
    return {"Authorization": f"Bearer {body['token']}"}


def test_login_through_the_sandbox_creates_the_member_once(client, factory):
    t = factory.tenant()
    first = login(client, t, "wx-code-alice")
    again = login(client, t, "wx-code-alice")
    assert first["member"]["id"] == again["member"]["id"]
    me = client.get("/api/v1/mp/me", headers=auth(first)).json
    assert me["invite_code"] == first["member"]["invite_code"]
    assert me["team"] == {"total": 0, "level1": 0, "level2": 0, "level3": 0}


def test_profile_update_keeps_emoji_nicknames(client, factory):
    t = factory.tenant()
    body = login(client, t, "wx-code-emoji")
    resp = client.patch("/api/v1/mp/me", headers=auth(body), json={"nickname": "小红🌸"})
    assert resp.status_code == 200 and resp.json["nickname"] == "小红🌸"
    db.session.expire_all()
    assert db.session.get(Member, body["member"]["id"]).nickname == "小红🌸"


def test_a_fan_binds_by_invite_code_and_the_promoter_sees_the_team(client, factory):
    t = factory.tenant()
    promoter = login(client, t, "wx-code-p")
    fan = login(client, t, "wx-code-f")
    resp = client.post("/api/v1/mp/me/bind", headers=auth(fan),
                       json={"source": "invite_code",
                             "invite_code": promoter["member"]["invite_code"].lower()})
    assert resp.status_code == 200 and resp.json == {
        "status": "bound", "parent_id": promoter["member"]["id"]}
    summary = client.get("/api/v1/mp/me/team/summary", headers=auth(promoter)).json
    assert summary == {"total": 1, "level1": 1, "level2": 0, "level3": 0}
    team = client.get("/api/v1/mp/me/team?level=1", headers=auth(promoter)).json
    assert [m["id"] for m in team["items"]] == [fan["member"]["id"]]
    upline = client.get("/api/v1/mp/me/upline", headers=auth(fan)).json
    assert [m["id"] for m in upline["items"]] == [promoter["member"]["id"]]


def test_share_scene_binding(client, factory):
    t = factory.tenant()
    promoter = login(client, t, "wx-code-p2")
    fan = login(client, t, "wx-code-f2")
    resp = client.post("/api/v1/mp/me/bind", headers=auth(fan), json={
        "source": "share", "scene": f"i={promoter['member']['invite_code']}&p=3"})
    assert resp.json["status"] == "bound"


def bindings_count():
    return db.session.scalar(select(func.count()).select_from(Binding))


@pytest.mark.parametrize("payload, code", [
    ({"source": "invite_code", "invite_code": "ZZZZZZ"}, "invite_code_unknown"),
    ({"source": "share", "scene": "x=1"}, "invalid_scene"),
    ({"source": "share"}, "invalid_scene"),
    ({"source": "teleport", "scene": "i=ABCDEF"}, "validation_failed"),
    ({"source": "share", "scene": 42}, "validation_failed"),
    ({"source": "share", "scene": "i=ABCDEF", "extra": 1}, "validation_failed"),
])
def test_bad_bind_requests_get_a_code_and_write_nothing(client, factory, payload, code):
    t = factory.tenant()
    fan = login(client, t, "wx-code-bad")
    resp = client.post("/api/v1/mp/me/bind", headers=auth(fan), json=payload)
    assert resp.status_code in (400, 404) and resp.json["code"] == code
    assert bindings_count() == 0


def test_self_invite_and_cycles_are_refused(client, factory):
    t = factory.tenant()
    a = login(client, t, "wx-code-a")
    b = login(client, t, "wx-code-b")
    resp = client.post("/api/v1/mp/me/bind", headers=auth(a),
                       json={"source": "invite_code", "invite_code": a["member"]["invite_code"]})
    assert (resp.status_code, resp.json["code"]) == (400, "self_binding")
    client.post("/api/v1/mp/me/bind", headers=auth(b),
                json={"source": "invite_code", "invite_code": a["member"]["invite_code"]})
    resp = client.post("/api/v1/mp/me/bind", headers=auth(a),
                       json={"source": "invite_code", "invite_code": b["member"]["invite_code"]})
    assert (resp.status_code, resp.json["code"]) == (400, "binding_cycle")
    assert bindings_count() == 1


def test_malformed_json_and_field_errors_name_the_field(client, factory):
    t = factory.tenant()
    resp = client.post("/api/v1/mp/login", data="{not json", content_type="application/json")
    assert (resp.status_code, resp.json["code"]) == (400, "malformed_json")
    resp = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": 5})
    assert resp.json["code"] == "validation_failed"
    assert resp.json["details"][0]["field"] == "code"
    resp = client.post("/api/v1/mp/login", data=json.dumps([1, 2]), content_type="application/json")
    assert resp.status_code == 400


def test_unknown_tenant_and_invalid_login_code(client, factory):
    factory.tenant()
    resp = client.post("/api/v1/mp/login", json={"tenant": "nobody", "code": "x"})
    assert (resp.status_code, resp.json["code"]) == (404, "tenant_not_found")
    t = factory.tenant()
    resp = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "invalid"})
    assert resp.status_code == 400 and resp.json["code"] == "invalid_login_code"
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_forged_and_expired_tokens_are_refused(app, client, factory):
    t = factory.tenant()
    body = login(client, t, "wx-code-tok")
    forged = body["token"][:-3] + ("aaa" if not body["token"].endswith("aaa") else "bbb")
    resp = client.get("/api/v1/mp/me", headers={"Authorization": f"Bearer {forged}"})
    assert (resp.status_code, resp.json["code"]) == (401, "token_invalid")
    resp = client.get("/api/v1/mp/me")
    assert (resp.status_code, resp.json["code"]) == (401, "unauthorized")
    # The same token, signed a second longer ago than the tokens' lifetime.
    import time

    from itsdangerous import TimestampSigner

    from backend.auth.tokens import issue_token, read_token

    ttl = app.config["SIYU_SETTINGS"].token_ttl_seconds
    principal = read_token(body["token"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - ttl - 1)
        old = issue_token(kind="member", tenant_id=principal.tenant_id, subject_id=principal.subject_id,
                          version=principal.version)
    resp = client.get("/api/v1/mp/me", headers={"Authorization": f"Bearer {old}"})
    assert (resp.status_code, resp.json["code"]) == (401, "token_expired")


def test_a_member_token_cannot_call_the_back_office(client, factory):
    t = factory.tenant()
    body = login(client, t, "wx-code-x")
    resp = client.get("/api/v1/admin/members", headers=auth(body))
    assert resp.status_code == 403


def test_openapi_lists_the_routes_and_health_checks_dependencies(client, factory):
    doc = client.get("/openapi.json").json
    assert "/api/v1/mp/me/bind" in doc["paths"]
    assert "post" in doc["paths"]["/api/v1/mp/me/bind"]
    assert client.get("/docs").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["database"].startswith("ok")
