"""Item 6 of the outside review: bounded inputs. Request size limits per kind of route,
a JSON depth limit, a bounded linear simulator, foreign keys checked in the service,
and no input reaching a 500."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from backend.extensions import db
from backend.rewards.errors import InvalidCase
from backend.rewards.simulate import MAX_CASE_MEMBERS, simulate_document
from backend.staff.models import StaffAccount


def test_a_10000_deep_json_body_is_a_clear_400_on_any_json_route(client, factory):
    deep = b"[" * 10000 + b"]" * 10000
    for url, headers in (("/api/v1/mp/login", {}), ("/api/v1/admin/login", {})):
        res = client.post(url, data=deep, headers={**headers, "Content-Type": "application/json"})
        assert (res.status_code, res.json["code"]) == (400, "json_too_deep")
    t = factory.tenant()
    boss = factory.staff(t, "boss")
    deep_obj = b'{"a":' * 5000 + b"1" + b"}" * 5000
    res = client.patch("/api/v1/admin/tenant/policy", data=deep_obj,
                       headers={**factory.staff_headers(boss), "Content-Type": "application/json"})
    assert (res.status_code, res.json["code"]) == (400, "json_too_deep")


def test_brackets_inside_strings_do_not_count_as_depth(client, factory):
    t = factory.tenant()
    body = json.dumps({"tenant": t.slug, "code": "[" * 100 + "{" * 20})
    res = client.post("/api/v1/mp/login", data=body, headers={"Content-Type": "application/json"})
    assert res.status_code == 200  # 120 brackets in a string: depth 1


def test_an_oversized_body_is_refused_unread_with_413(client, factory):
    big = b'{"tenant": "' + b"x" * (65 * 1024) + b'"}'
    res = client.post("/api/v1/mp/login", data=big, headers={"Content-Type": "application/json"})
    assert (res.status_code, res.json["code"]) == (413, "payload_too_large")
    huge = b"<xml>" + b"x" * (100 * 1024) + b"</xml>"
    t = factory.tenant()
    assert client.post(f"/oa/{t.slug}", data=huge).status_code == 413
    assert client.post(f"/wecom/{t.slug}", data=huge).status_code == 413
    h = factory.staff_headers(factory.staff(t, "boss"))
    large = client.post("/api/v1/admin/rewards/simulate", data=b"x" * (3 * 1024 * 1024), headers=h)
    assert large.status_code == 413  # over the simulator's 2 MB
    small = client.patch("/api/v1/admin/tenant/policy", data=b" " * (65 * 1024), headers=h)
    assert small.status_code == 413  # over a plain JSON route's 64 KB


class _CountingBody(io.RawIOBase):
    """A 100 MB request body (never held in memory) that counts what is read of it."""

    SIZE = 100 * 1024 * 1024

    def __init__(self) -> None:
        self.pos = 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the length by seeking to the end

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: 0, 1: self.pos, 2: self.SIZE}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.SIZE - self.pos))
        buffer[:n] = b" " * n
        self.pos += n
        self.read_bytes += n
        return n


def test_a_100_mb_body_is_refused_before_a_byte_of_it_is_read(client, factory):
    t = factory.tenant()
    h = factory.staff_headers(factory.staff(t, "boss"))
    for url, headers in (("/api/v1/mp/login", {}), ("/api/v1/admin/tenant/policy", h), (f"/oa/{t.slug}", {})):
        body = _CountingBody()
        res = client.open(url, method="PATCH" if "policy" in url else "POST", headers=headers,
                          input_stream=body, content_type="application/json")
        assert res.status_code == 413, (url, res.status_code)
        assert body.read_bytes == 0, url


PLAN = {"name": "三级分销", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}


def test_the_simulator_takes_a_long_chain_and_refuses_more_members_than_its_bound():
    plan = PLAN
    n = 16000
    members = [{"id": 0}] + [{"id": i, "parent": i - 1} for i in range(1, n)]
    case = {"plan": plan, "members": members,
            "order": {"buyer": n - 1, "lines": [{"product_id": 1, "paid_fen": 10000}]}}
    result = simulate_document(case)
    assert [(p["beneficiary"], p["amount_fen"]) for p in result["order_lines"][0]["payouts"]
            if p["beneficiary"] is not None] == [(n - 2, 3000), (n - 3, 2000), (n - 4, 1000)]
    too_many = dict(case, members=[{"id": i} for i in range(MAX_CASE_MEMBERS + 1)])
    try:
        simulate_document(too_many)
    except InvalidCase as exc:
        assert exc.errors == [{"field": "members", "message": f"最多 {MAX_CASE_MEMBERS} 个会员"}]
    else:
        raise AssertionError("a case over the bound was simulated")


def test_a_parent_cycle_is_still_found_in_one_pass():
    members = [{"id": 1, "parent": 3}, {"id": 2, "parent": 1}, {"id": 3, "parent": 2},
               {"id": 4}]
    try:
        simulate_document({"plan": PLAN, "members": members,
                           "order": {"buyer": 4, "lines": [{"product_id": 1}]}})
    except InvalidCase as exc:
        assert any(e["field"] == "members" and "循环" in e["message"] for e in exc.errors)
    else:
        raise AssertionError("a cycle was accepted")


def test_posting_staff_with_a_missing_or_foreign_member_id_is_a_404_and_stores_nothing(client, factory):
    a, b = factory.tenant(), factory.tenant()
    boss = factory.staff(a, "boss")
    foreign = factory.member(b)
    mine = factory.member(a)
    h = factory.staff_headers(boss)
    body = {"username": "sales-x", "password": "password123", "display_name": "小李"}
    for member_id in (foreign.id, 10**12):
        res = client.post("/api/v1/admin/staff", headers=h, json={**body, "member_id": member_id})
        assert (res.status_code, res.json["code"]) == (404, "member_not_found")
    assert db.session.scalar(select(StaffAccount).where(StaffAccount.username == "sales-x")) is None
    ok = client.post("/api/v1/admin/staff", headers=h, json={**body, "member_id": mine.id})
    assert (ok.status_code, ok.json["member_id"]) == (201, mine.id)
