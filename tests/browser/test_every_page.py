"""Every demo login of the README opens every page of its menu, as a newcomer trying the
product would: no JavaScript error, no API call answered with an error the page did not
ask for, and a page that shows something (a heading and content, not a blank main area).
The pages that the demo fills are checked for the demo's data where an empty page was
once the first thing a newcomer saw (the dashboard before the scheduler's first
refresh, a supplier page opened on a supplier still waiting for review, a supplier
portal without a single order)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, settle, watch

# Each role's menu, as the README's role table describes it (backend/auth/policy.py).
MENUS = {
    "boss": 35, "operator": 34, "finance": 27, "sales": 9, "supplier": 4, "platform": 2,
}


def _log_in(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/admin/")
    if role == "platform":
        page.get_by_role("tab", name="平台运营").click()
        page.get_by_label("平台凭证").fill("platform-dev-token")
        page.get_by_role("button", name="进入平台控制台").click()
    else:
        if role == "supplier":
            page.get_by_role("tab", name="供应商").click()
        page.get_by_label("商户标识").fill("demo")
        page.get_by_label("用户名").fill(role)
        page.get_by_label("密码").fill("demo1234")
        page.keyboard.press("Enter")
    page.locator("li.el-menu-item").first.wait_for()


@pytest.mark.parametrize("role", list(MENUS))
def test_every_demo_login_opens_every_page_of_its_menu(product, browser, role):
    base = product["base"]
    page = browser.new_context(**DESKTOP).new_page()
    errors: list[str] = []
    watch(page, errors)

    def answered(res: Any) -> None:
        if "/api/v1/" in res.url and res.status >= 400:
            errors.append(f"HTTP {res.status} {res.request.method} {res.url}")

    page.on("response", answered)
    _log_in(page, base, role)
    items = page.locator("li.el-menu-item").all_inner_texts()
    assert len(items) == MENUS[role], items
    for item in items:
        page.get_by_role("menuitem", name=item, exact=True).click()
        page.wait_for_function("t => document.querySelector('.el-header .crumb')?.textContent.trim() === t", arg=item)
        settle(page)
        main = page.locator("main")
        assert main.locator("h2, h3").count() >= 1, f"{role} · {item}: no heading"
        assert len(main.inner_text().strip()) > 20, f"{role} · {item}: an empty page"
        assert errors == [], f"{role} · {item}: {errors}"
        if item == "经营看板":  # the demo's orders are today's: the dashboard shows them at once
            paid = page.locator("[data-kpi=orders] .kpi-value").inner_text()
            assert int(paid) > 0, paid
        if item in ("供应商订单", "供应商对账单"):  # opened on the supplier that trades, not an applicant
            assert page.get_by_role("combobox", name="供应商", exact=True).locator(
                "xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").inner_text().startswith("山间茶园")
        if item == "我的订单":  # the supplier's demo order of its own tea, waiting to ship
            page.locator("main tr").filter(has=page.get_by_role("button", name="发货")).first.wait_for()
    assert errors == []
