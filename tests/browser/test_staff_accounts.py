"""员工账号: the boss adds a finance login by keyboard (a password the API finds too short
answered beside its field in Chinese), the new login works, a role change and a
disabling take effect at once (its session ends, its log-in is refused)."""

from __future__ import annotations

import requests

from tests.browser.conftest import Api, log_in
from tests.browser.test_admin_operations import _dialog, _open, _shot


def test_the_boss_adds_changes_and_disables_a_staff_login(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "员工账号")
    page.locator("tr", has_text="小财").get_by_text("财务").wait_for()  # the demo's finance login

    page.get_by_role("button", name="新增员工").click()
    d = _dialog(page, "新增员工")
    d.get_by_label("姓名").fill("小会计")
    d.get_by_label("登录名").fill("browser-accountant")
    d.get_by_label("初始密码").fill("short")
    d.locator("label.el-radio-button", has_text="财务").click()
    d.get_by_label("初始密码").press("Enter")
    error = d.locator(".el-form-item", has=page.get_by_label("初始密码")).locator(".el-form-item__error")
    error.wait_for()
    assert "8" in error.inner_text() and "字符" in error.inner_text(), error.inner_text()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "初始密码"
    _shot(page, "admin-staff-password-error", dialog=True)
    d.get_by_label("初始密码").fill("accountant-2026")
    d.get_by_label("初始密码").press("Enter")
    row = page.locator("tr", has_text="browser-accountant")
    row.get_by_text("财务").wait_for()
    accountant = Api(base).staff("browser-accountant", "accountant-2026")
    assert accountant.call("GET", "/admin/dashboard")["period"]  # finance reads the dashboard

    row.get_by_role("button", name="改角色").click()
    d = _dialog(page, "改角色")
    d.locator("label.el-radio-button", has_text="销售").click()
    d.get_by_role("button", name="确定").click()
    row.get_by_text("销售").wait_for()
    r = requests.get(f"{base}/api/v1/admin/dashboard", headers=accountant.headers, timeout=10)
    assert r.status_code == 401  # the role changed: the old session ends

    row.get_by_role("button", name="停用").click()
    confirm = page.get_by_role("dialog", name="停用")
    confirm.get_by_role("button", name="确认").click()
    row.get_by_text("已停用").wait_for()
    r = requests.post(f"{base}/api/v1/admin/login", json={"tenant": "demo", "username": "browser-accountant",
                                                          "password": "accountant-2026"}, timeout=10)
    assert r.status_code >= 400 and "message" in r.json()
    _shot(page, "admin-staff-accounts")
    assert errors == []
