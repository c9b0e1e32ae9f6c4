"""The back-office menu follows the permission table: the log-in answers carry the
role's permissions (backend/auth/policy.py), and every permission the web face's menu
and buttons name (web/src/admin) is one the table knows, so a renamed permission cannot
silently hide a page from everyone or show it to a role that cannot use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.auth import policy
from tests.suppliers_factories import PORTAL, SuppliersFactory

ADMIN_WEB = Path(__file__).resolve().parents[3] / "web" / "src" / "admin"


def _named_permissions() -> dict[str, set[str]]:
    """permission → the web files naming it (`perm: '…'` and `can('…')`)."""
    out: dict[str, set[str]] = {}
    for path in sorted(ADMIN_WEB.rglob("*")):
        if path.suffix not in (".js", ".vue"):
            continue
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"""perm:\s*'([^']+)'|can\('([^']+)'\)""", text):
            out.setdefault(name[0] or name[1], set()).add(path.name)
    return out


def test_every_permission_the_web_face_names_is_in_the_table():
    named = _named_permissions()
    assert len(named) >= 20, named  # the menu and the pages do name them
    unknown = {perm: files for perm, files in named.items() if perm not in policy.PERMISSIONS}
    assert not unknown, f"web/src/admin names permissions backend/auth/policy.py does not have: {unknown}"


def test_every_menu_item_names_a_permission_or_the_platform_role():
    menu = (ADMIN_WEB / "menu.js").read_text(encoding="utf-8")
    items = re.findall(r"\{ path: '[^']+', title: '[^']+'.*\}", menu)
    assert len(items) >= 30
    bare = [i for i in items if "perm: '" not in i and "roles: ['platform']" not in i]
    assert not bare, bare


def test_permissions_of_a_role_are_what_the_table_grants():
    assert policy.permissions_of("sales") == [p for p in policy.PERMISSIONS if "sales" in policy.TABLE.get(p, {})]
    assert "finance.manage" in policy.permissions_of("finance")
    assert "rewards.manage" not in policy.permissions_of("finance")
    assert policy.permissions_of("supplier") == ["session", "supplier.portal", "pii.read"]
    assert policy.permissions_of(None) == []


@pytest.mark.parametrize("role", ["boss", "operator", "finance", "sales"])
def test_staff_log_in_answers_the_roles_permissions(client, factory, role):
    t = factory.tenant()
    account = factory.staff(t, role)
    resp = client.post("/api/v1/admin/login", json={"tenant": t.slug, "username": account.username,
                                                     "password": "password123"})
    assert resp.status_code == 200, resp.json
    assert resp.json["permissions"] == policy.permissions_of(role)


def test_supplier_log_in_answers_the_portal_permissions(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    SuppliersFactory(client, factory).active(t, boss)
    resp = client.post(f"{PORTAL}/login", json={"tenant": t.slug, "username": "supplier1", "password": "password123"})
    assert resp.status_code == 200, resp.json
    assert resp.json["permissions"] == ["session", "supplier.portal", "pii.read"]
