"""Item 5 of the outside review: one permission table (backend/auth/policy.py,
docs/permissions.md) enforced in one place (miniprogram_api/http.py), walked here route
by route and role by role.

Routes come from the live url map, so a route another module adds tomorrow is walked
too; a back-office route that no rule of the table covers fails
test_every_back_office_route_is_in_the_permission_table with its name.
"""

from __future__ import annotations

import re

import pytest

from backend.auth import policy
from miniprogram_api.http import ROUTES
from tests.suppliers_factories import SuppliersFactory

STAFF_ROLES = ("boss", "operator", "finance", "sales")
POLICED_PREFIXES = ("/api/v1/admin/", "/api/v1/scrm/")
# Back-office paths that need no token (log-ins, applications).
OPEN = {("POST", "/api/v1/admin/login"), ("POST", "/api/v1/admin/supplier/login"),
        ("POST", "/api/v1/admin/supplier/apply")}


def _declared() -> dict[tuple[str, str], object]:
    return {(r.method, r.rule): r for r in ROUTES}


def _live_routes(app) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule))
    return sorted(out)


def test_every_back_office_route_is_in_the_permission_table(app):
    declared = _declared()
    problems = []
    for method, rule in _live_routes(app):
        if not rule.startswith(POLICED_PREFIXES) or (method, rule) in OPEN:
            continue
        doc = declared.get((method, rule))
        if doc is None:
            problems.append(f"{method} {rule}: not declared with miniprogram_api.http.route, so "
                            "no permission guards it")
        elif doc.auth in ("staff", "supplier") and doc.permission is None:
            problems.append(f"{method} {rule}: no rule in backend/auth/policy.py RULES covers it "
                            "(every role is refused it until one does)")
        elif doc.auth not in ("staff", "supplier"):
            problems.append(f"{method} {rule}: a back-office path with auth={doc.auth!r}")
    assert not problems, "\n".join(problems)


def test_the_table_and_the_rules_name_only_known_roles_and_permissions():
    for perm, grants in policy.TABLE.items():
        assert perm in policy.PERMISSIONS
        assert set(grants) <= set(policy.ROLES), perm
        assert set(grants.values()) <= {"all", "own"}, perm
    assert {p for _, _, p in policy.RULES} <= set(policy.TABLE)


def _fill(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "ab" if "int" not in m.group(0) else "987654321",
                  rule)


@pytest.fixture()
def principals(client, factory):
    t = factory.tenant()
    accounts = {role: factory.staff(t, role) for role in STAFF_ROLES}
    boss_h = factory.staff_headers(accounts["boss"])
    supplier_h, _ = SuppliersFactory(client, factory).active(t, boss_h)
    return accounts, supplier_h


def test_every_route_answers_every_role_as_the_table_says(app, client, factory, principals):
    accounts, supplier_h = principals
    walked = 0
    for doc in ROUTES:
        if doc.auth not in ("staff", "supplier"):
            continue
        url = _fill(doc.rule)
        callers = [(role, "staff") for role in STAFF_ROLES] + [("supplier", "supplier")]
        for role, kind in callers:
            # fresh headers each time: a route may log the caller out
            headers = supplier_h if kind == "supplier" else factory.staff_headers(accounts[role])
            res = client.open(url, method=doc.method, headers=headers,
                              json=None if doc.method == "GET" else {})
            assert res.status_code < 500, (doc.method, doc.rule, role, res.status_code)
            body = res.get_json(silent=True) or {}
            refused = res.status_code == 403 and body.get("code") in ("role_forbidden", "forbidden")
            allowed = kind == doc.auth and policy.allows(role, doc.permission)
            assert refused != allowed, (
                f"{doc.method} {doc.rule} as {role}: table says "
                f"{'allowed' if allowed else 'refused'} ({doc.permission}), got {res.status_code} "
                f"{body.get('code')}")
            walked += 1
    assert walked >= 5 * 150  # every staff and supplier route, five roles each


def test_sales_see_only_their_own_customers_orders_with_phones_and_addresses_masked(
        app, client, factory, sandbox):
    from tests.orders_factories import OrdersFactory
    from tests.scrm_factories import arrive

    t = factory.tenant()
    boss, sales, other = factory.staff(t, "boss"), factory.staff(t, "sales"), factory.staff(t, "sales")
    mine, theirs = factory.member(t), factory.member(t)
    arrive(t, mine, sales)
    arrive(t, theirs, other)
    shop = OrdersFactory(app, sandbox)
    _, sku = shop.product(t)
    my_order = shop.order(t, mine, [(sku, 1)]).id
    their_order = shop.order(t, theirs, [(sku, 1)]).id

    sh = factory.staff_headers(sales)
    listing = client.get("/api/v1/admin/shop/orders", headers=sh)
    assert [o["id"] for o in listing.json["items"]] == [my_order]
    one = client.get(f"/api/v1/admin/shop/orders/{my_order}", headers=sh).json
    assert re.fullmatch(r"1\d\d\*{4}\d{4}", one["receiver"]["phone"]), one["receiver"]
    assert one["receiver"]["address"].endswith("****")
    assert client.get(f"/api/v1/admin/shop/orders/{their_order}", headers=sh).status_code == 404
    assert client.get("/api/v1/admin/members", headers=sh).status_code == 403
    assert client.get("/api/v1/admin/rewards/payouts", headers=sh).status_code == 403
    assert client.get("/api/v1/admin/shop/payment-issues", headers=sh).status_code == 403
    assert client.get("/api/v1/admin/finance/withdrawals", headers=sh).status_code == 403

    bh = factory.staff_headers(boss)
    both = client.get("/api/v1/admin/shop/orders", headers=bh).json["items"]
    assert {o["id"] for o in both} == {my_order, their_order}
    full = client.get(f"/api/v1/admin/shop/orders/{my_order}", headers=bh).json
    assert "****" not in full["receiver"]["phone"] and "****" not in full["receiver"]["address"]


def test_docs_permissions_md_shows_the_table_and_rules_in_force():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert policy.markdown_table() in text, "docs/permissions.md: regenerate the table"
    assert policy.rules_text() in text, "docs/permissions.md: regenerate the rules"
