"""The isolation matrix: a token of tenant A reaches nothing of tenant B, on every route.

Routes are taken from the live route table, so a new endpoint is covered the day it
lands: every path id is filled with tenant B's ids of the matching kind, and the
response must not be a success carrying any of B's marker strings.
"""

import re

import pytest

from miniprogram_api.http import ROUTES

MARK = "乙方机密"


@pytest.fixture()
def two_tenants(factory):
    a, b = factory.tenant("tenant-a"), factory.tenant("tenant-b")
    a_boss, b_boss = factory.staff(a, role="boss"), factory.staff(b, role="boss")
    a_member = factory.member(a, nickname="甲方会员")
    b_root = factory.member(b, nickname=MARK)
    b_member = factory.member(b, parent=b_root, nickname=MARK)
    return {"a": a, "b": b, "a_boss": a_boss, "b_boss": b_boss, "a_member": a_member,
            "b_member": b_member, "b_root": b_root}


def _fill(rule, ctx):
    ids = {"member_id": ctx["b_member"].id, "tenant_id": ctx["b"].id, "staff_id": ctx["b_boss"].id}

    def sub(m):
        name = m.group(1).split(":")[-1]
        return str(ids.get(name, ctx["b_member"].id))

    return re.sub(r"<([^>]+)>", sub, rule)


def test_every_authenticated_route_keeps_tenant_b_out_of_tenant_a_tokens(client, factory, two_tenants):
    ctx = two_tenants
    secrets = {MARK, ctx["b"].slug, ctx["b_member"].invite_code, ctx["b_root"].invite_code}
    checked = 0
    for r in ROUTES:
        if r.auth not in ("member", "staff"):
            continue
        headers = (factory.member_headers(ctx["a_member"]) if r.auth == "member"
                   else factory.staff_headers(ctx["a_boss"]))
        url = _fill(r.rule, ctx)
        resp = client.open(url, method=r.method, headers=headers, json={} if r.method != "GET" else None)
        assert resp.status_code < 500, (r.method, url, resp.status_code)
        text = resp.get_data().decode("utf-8", "replace")  # binary answers (xlsx, png) too
        leaked = [s for s in secrets if s in text]
        assert not leaked, (r.method, url, leaked)
        checked += 1
    assert checked >= 10
