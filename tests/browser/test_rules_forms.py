"""The brand's rules as forms where their lists are: 绑定与推广规则 on 会员与团队 (the
boss turns on promoter applications, a member applies on the phone, the application is
rejected with a reason, applied again and approved on 推广员申请), and 提现规则 on 提现审核
(finance changes a rule; a bad fee rate answered by the API's Chinese message beside it)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Api, log_in, settle, watch
from tests.browser.test_admin_operations import _dialog, _open, _shot

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


def _phone_mine(browser: Any, base: str, code: str, errors: list[str]) -> Any:
    page = browser.new_context(**PHONE).new_page()
    watch(page, errors)
    page.goto(f"{base}/h5/#/login?t=demo")
    page.get_by_label("沙箱登录码").fill(code)
    page.get_by_role("button", name="微信一键登录（沙箱）").click()
    page.get_by_role("link", name="我的").click()
    settle(page)
    return page


def test_promoter_applications_turned_on_applied_rejected_and_approved(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    before = boss.call("GET", "/admin/tenant")
    errors: list[str] = []
    try:
        page = log_in(browser, base, errors)
        _open(page, "会员与团队", "会员")
        page.get_by_role("button", name="绑定与推广规则").click()
        d = _dialog(page, "绑定与推广规则")
        d.locator("label.el-radio-button", has_text="会员申请、后台审核").click()
        _shot(page, "admin-rules-binding", dialog=True)
        d.get_by_label("绑定有效期").press("Enter")
        page.locator(".el-message", has_text="规则已保存").wait_for()
        assert boss.call("GET", "/admin/tenant")["promoter_mode"] == "apply"

        # A new member applies on the phone; a wrong phone number is the API's message.
        phone = _phone_mine(browser, base, "browser-applicant", errors)
        phone.get_by_role("button", name="申请成为推广员").click()
        phone.get_by_label("真实姓名").fill("周小林")
        phone.get_by_label("手机号").fill("123")
        phone.get_by_label("手机号").press("Enter")
        field = phone.locator(".el-form-item", has=phone.get_by_label("手机号")).locator(".el-form-item__error")
        field.wait_for()
        assert field.inner_text().strip(), "no message beside 手机号"
        phone.get_by_label("手机号").fill("13912345678")
        phone.get_by_label("手机号").press("Enter")
        phone.get_by_test_id("application").filter(has_text="审核中").wait_for()

        # 推广员申请: a rejection needs its reason (the form says 必填 before sending).
        _open(page, "推广员申请")
        row = page.locator("tr", has_text="周小林")
        row.get_by_role("button", name="驳回").click()
        d = _dialog(page, "驳回")
        d.get_by_label("驳回原因").press("Control+Enter")
        d.get_by_text("必填").wait_for()
        d.get_by_label("驳回原因").fill("请先完成一笔订单")
        d.get_by_label("驳回原因").press("Control+Enter")
        page.locator(".el-message", has_text="已驳回").wait_for()
        phone.reload()
        phone.get_by_test_id("application").filter(has_text="申请未通过：请先完成一笔订单").wait_for()

        # Applied again and approved: the phone shows the promoter's centre.
        phone.get_by_role("button", name="申请成为推广员").click()
        phone.get_by_label("真实姓名").fill("周小林")
        phone.get_by_label("手机号").fill("13912345678")
        phone.get_by_role("button", name="提交申请").click()
        phone.get_by_test_id("application").filter(has_text="审核中").wait_for()
        page.reload()
        settle(page)
        row = page.locator("tr", has_text="周小林").filter(has_text="待审核")
        row.get_by_role("button", name="通过").click()
        page.get_by_role("dialog", name="通过").get_by_role("button", name="确认").click()
        page.locator(".el-message", has_text="已通过").wait_for()
        _shot(page, "admin-promoter-applications")
        phone.reload()
        phone.get_by_text("推广中心").wait_for()
        assert errors == []
    finally:
        boss.call("PATCH", "/admin/tenant/policy", {"promoter_mode": before["promoter_mode"]})


def test_finance_changes_a_withdrawal_rule(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    before = boss.call("GET", "/admin/finance/settings")
    errors: list[str] = []
    try:
        page = log_in(browser, base, errors, "finance")
        _open(page, "提现审核")
        page.get_by_role("button", name="提现规则").click()
        d = _dialog(page, "提现规则")
        # the dialog has opened (it puts the keyboard in its first field) before typing
        page.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === '结算天数'")
        assert d.get_by_label("最低提现").input_value() == f"{before['withdraw_min_fen'] / 100:.2f}"
        d.get_by_label("手续费率").fill("abc")
        d.get_by_label("手续费率").press("Enter")
        error = d.locator(".el-form-item", has=page.get_by_label("手续费率")).locator(".el-form-item__error")
        error.filter(has_text="费率格式不正确").wait_for()
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "手续费率"
        _shot(page, "admin-rules-withdrawal-error", dialog=True)
        d.get_by_label("手续费率").fill("0.6%")
        d.get_by_label("最低提现").fill("2")
        d.get_by_label("最低提现").press("Enter")
        page.locator(".el-message", has_text="提现规则已保存").wait_for()
        after = boss.call("GET", "/admin/finance/settings")
        assert (after["withdraw_fee_rate"], after["withdraw_min_fen"]) == ("0.6%", 200)
        assert after["withdraw_daily_count"] == before["withdraw_daily_count"]  # untouched rules kept
        assert errors == []
    finally:
        boss.call("PATCH", "/admin/finance/settings", {k: before[k] for k in ("withdraw_fee_rate", "withdraw_min_fen")})
