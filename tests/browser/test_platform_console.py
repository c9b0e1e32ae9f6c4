"""The platform operator's console by keyboard: a brand opened with its boss account (a
bad identifier answered by the API's Chinese message beside its field), then its WeChat
credentials set from the credentials-health page, which turns the channel's tag green."""

from __future__ import annotations

import re

from tests.browser.conftest import DESKTOP, settle, shot, watch


def _active_label(page) -> str:
    return page.evaluate("document.activeElement.getAttribute('aria-label')")


def test_the_platform_opens_a_brand_and_sets_its_credentials(product, browser):
    errors: list[str] = []
    page = browser.new_context(**DESKTOP).new_page()
    watch(page, errors)
    page.goto(f"{product['base']}/admin/")
    page.get_by_role("tab", name="平台运营").click()
    page.get_by_label("平台凭证").fill("platform-dev-token")
    page.keyboard.press("Enter")
    page.locator("tr", has_text="思语演示品牌").wait_for()
    settle(page)

    # 开通商户: an identifier the API refuses shows its Chinese message beside the field.
    page.get_by_role("button", name="开通商户").click()
    dialog = page.get_by_role("dialog", name="开通商户")
    dialog.get_by_label("商户标识").fill("Bad Slug")
    dialog.get_by_label("品牌名").fill("浏览器测试茶社")
    dialog.get_by_label("老板密码").fill("browser-pass-1")
    dialog.get_by_label("老板密码").press("Enter")
    error = dialog.locator(".el-form-item", has=page.get_by_label("商户标识")).locator(".el-form-item__error")
    error.wait_for()
    assert re.search(r"[\u4e00-\u9fff]", error.inner_text()), error.inner_text()
    assert _active_label(page) == "商户标识"
    dialog.get_by_label("商户标识").fill("browser-tea")
    dialog.get_by_label("商户标识").press("Enter")
    row = page.locator("tr", has_text="浏览器测试茶社")
    row.wait_for()
    assert row.locator(".el-tag", has_text="未配置").count() == 4

    # 设置凭证: an AppID too long for the API, then the right one; secrets typed, never shown back.
    row.get_by_role("button", name="设置凭证").click()
    creds = page.get_by_role("dialog", name=re.compile("设置凭证"))
    creds.get_by_label("小程序 AppID").fill("wx" + "0" * 45)
    creds.get_by_label("小程序 AppSecret").fill("browser-secret")
    creds.get_by_label("小程序 AppSecret").press("Enter")
    error = creds.locator(".el-form-item", has=page.get_by_label("小程序 AppID")).locator(".el-form-item__error")
    error.wait_for()
    assert re.search(r"[\u4e00-\u9fff]", error.inner_text()), error.inner_text()
    assert _active_label(page) == "小程序 AppID"
    shot(page, "admin-platform-credentials-error")
    creds.get_by_label("小程序 AppID").fill("wxbrowsertea0001")
    creds.get_by_label("小程序 AppID").press("Enter")
    page.locator(".el-message", has_text="凭证已保存").wait_for()
    row.locator(".el-tag", has_text="已配置").wait_for()
    assert row.locator(".el-tag", has_text="未配置").count() == 3
    row.get_by_role("button", name="设置凭证").click()
    assert creds.get_by_label("小程序 AppSecret").get_attribute("placeholder") == "已设置，留空不变"
    assert creds.get_by_label("小程序 AppSecret").input_value() == ""
    shot(page, "admin-platform-credentials")
    assert errors == []
