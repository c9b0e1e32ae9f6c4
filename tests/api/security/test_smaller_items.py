"""Item 8 of the outside review: nosniff and a restrictive CSP on HTML pages, no
control characters in names, sanity bounds on boss settings."""

from __future__ import annotations

import pytest


def test_every_response_says_nosniff_and_html_pages_carry_a_restrictive_csp(client, factory):
    t = factory.tenant()
    promoter = factory.member(t)
    api = client.get("/api/v1/mp/me", headers=factory.member_headers(promoter))
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    for url in ("/docs", f"/s/{t.slug}?scene=i%3D{promoter.invite_code}"):
        page = client.get(url)
        assert page.mimetype == "text/html", url
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, url
        assert "script-src" not in csp  # no scripts at all
        assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("bad", ["小\x00王", "a\x1bb", "line\nbreak", "rtl\u202eoverride", "tab\there"])
def test_names_with_control_characters_are_refused_and_nothing_changes(client, factory, bad):
    t = factory.tenant()
    m = factory.member(t, nickname="原名")
    res = client.patch("/api/v1/mp/me", headers=factory.member_headers(m), json={"nickname": bad})
    assert (res.status_code, res.json["code"]) == (400, "validation_failed")
    assert res.json["details"][0]["field"] == "nickname"
    assert client.get("/api/v1/mp/me", headers=factory.member_headers(m)).json["nickname"] == "原名"
    boss = factory.staff(t, "boss")
    staff = client.post("/api/v1/admin/staff", headers=factory.staff_headers(boss), json={
        "username": "new-sales", "password": "password123", "display_name": bad})
    assert staff.status_code == 400


def test_a_nul_in_a_username_is_refused(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    assert client.post("/api/v1/admin/staff", headers=boss, json={
        "username": "x\x00y", "password": "password123", "display_name": "小王"}).status_code == 400


def test_a_recharge_bonus_larger_than_the_recharge_is_refused(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    res = client.patch("/api/v1/admin/finance/settings", headers=boss, json={
        "recharge_bonus": [{"min_fen": 10_000, "bonus_fen": 10_001}]})
    assert (res.status_code, res.json["details"][0]["field"]) == (400, "recharge_bonus")
    assert client.get("/api/v1/admin/finance/settings", headers=boss).json["recharge_bonus"] == []
    equal = client.patch("/api/v1/admin/finance/settings", headers=boss, json={
        "recharge_bonus": [{"min_fen": 10_000, "bonus_fen": 10_000}]})
    assert equal.status_code == 200


def test_a_withdrawal_fee_above_twenty_percent_is_refused(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    res = client.patch("/api/v1/admin/finance/settings", headers=boss, json={"withdraw_fee_rate": "25%"})
    assert (res.status_code, res.json["details"][0]["field"]) == (400, "withdraw_fee_rate")
    assert client.patch("/api/v1/admin/finance/settings", headers=boss,
                        json={"withdraw_fee_rate": "20%"}).status_code == 200
