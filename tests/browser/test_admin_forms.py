"""Back-office forms for the agent channel's policy and documents, used as a brand's staff
would: an authorization covering a whole category, the channel settings (the level
package paid on approval, restock refunds by line; a wrong limit shows the API's Chinese
message beside its field), and a paid restock refunded."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import Api
from tests.browser.test_admin_operations import _choose, _dialog, _log_in, _open, _shot


def _wait(check: Any, what: str, tries: int = 60) -> Any:
    """Poll the API until `check()` is truthy (a sandbox payment or refund arrives)."""
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} never happened")


def _paid_restock(base: str, code: str, quantity: int) -> dict[str, Any]:
    """An agent restocks from the platform and pays through the sandbox."""
    agent = Api(base).member(code)
    boss = Api(base).staff()
    tea = next(p for p in boss.call("GET", "/admin/shop/products?limit=50")["items"] if p["name"] == "明前龙井")
    placed = agent.call("POST", "/mp/agent/restocks", {
        "items": [{"sku_id": tea["skus"][0]["id"], "quantity": quantity}], "source": "platform"})
    agent.call("POST", f"/mp/shop/orders/{placed['order_id']}/sandbox-pay")
    return _wait(lambda: next((r for r in agent.call("GET", "/mp/agent/restocks")["items"]
                               if r["id"] == placed["id"] and r["status"] == "paid"), None), "the restock's payment")


def test_category_authorization_channel_settings_and_a_restock_refund(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    newcomer = Api(base).member("browser-category-agent").call("GET", "/mp/me")
    errors: list[str] = []
    page = _log_in(browser, base, errors)

    # An authorization covering the whole 茶具 category, chosen from the catalog's categories.
    _open(page, "代理授权")
    page.get_by_role("button", name="新增授权").click()
    d = _dialog(page, "新增授权")
    d.get_by_label("会员ID").fill(str(newcomer["id"]))
    _choose(page, "代理等级", "l3")
    _choose(page, "授权分类", "茶具")
    d.get_by_label("会员ID").press("Enter")
    row = page.locator("tr", has_text="「茶具」分类")
    row.wait_for()
    _shot(page, "admin-50-category-authorization")
    mine = next(a for a in boss.call("GET", "/admin/agents/authorizations?limit=50")["items"]
                if a["member_id"] == newcomer["id"])
    assert (mine["categories"], mine["product_ids"], mine["level"]) == (["茶具"], None, "l3")

    # The channel settings: a limit for a level the plan lacks is the API's message beside it.
    _open(page, "代理申请")
    page.get_by_text("付款后才能审核通过").wait_for()  # the rule in force, above the list
    page.get_by_role("button", name="渠道设置").click()
    d = _dialog(page, "渠道设置")
    d.get_by_text("审核通过时从申请人储值扣款").click()
    d.get_by_text("可按规格逐项退款").click()
    d.get_by_label("进货量限制").fill("l9 1-5")
    d.get_by_role("button", name="确定").click()
    d.locator("[data-field=restock_limits] .el-form-item__error", has_text="方案中没有代理等级：l9").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "进货量限制"
    _shot(page, "admin-51-channel-settings-error", dialog=True)
    assert boss.call("GET", "/admin/agents/settings")["package_payment"] == "before_review"  # nothing changed
    d.get_by_label("进货量限制").fill("l3 1-500")
    d.get_by_role("button", name="确定").click()
    page.locator(".summary").get_by_text("审核通过时从申请人储值扣款").wait_for()
    settings = boss.call("GET", "/admin/agents/settings")
    assert (settings["package_payment"], settings["restock_refund"]) == ("on_approval", "lines")
    assert settings["restock_limits"] == {"l3": {"min_pieces": 1, "max_pieces": 500}}

    # A paid restock refunded whole: asked first, then its pieces and money go back.
    restock = _paid_restock(base, "demo-frank", 3)
    _open(page, "进货单")
    page.locator(".summary").get_by_text("可按规格逐项退款").wait_for()
    row = page.locator("tr", has_text="已入仓").first
    row.get_by_role("button", name="退款").click()
    d = _dialog(page, "进货单退款")
    d.get_by_label("退款原因").fill("代理退出，货退回")
    d.get_by_role("button", name="退款").click()
    page.get_by_role("dialog", name="确认退款").get_by_role("button", name="退款").click()
    page.locator(".el-message", has_text="退款已提交").wait_for()
    # WeChat Pay's refund notification (the sandbox's) completes it; the list shows it then
    _wait(lambda: next(r for r in boss.call("GET", "/admin/agents/restocks")["items"]
                       if r["id"] == restock["id"])["status"] == "refunded", "the restock's refund")
    page.reload()
    page.locator("tr", has_text="已退款").first.wait_for()
    _shot(page, "admin-52-restock-refunded")
    audit = boss.call("GET", "/admin/audit?limit=20")["items"]
    assert any(a["action"] == "warehouse.restock_refund" and a["target_id"] == str(restock["id"]) for a in audit)
    assert errors == []


def test_sales_and_finance_share_their_own_poster_and_only_managers_edit_templates(product, browser):
    base = product["base"]
    errors: list[str] = []
    for username, name in (("sales", "小王"), ("finance", "小财")):  # the demo's own logins (README)
        page = _log_in(browser, base, errors, username)
        menu = page.locator("li.el-menu-item").all_inner_texts()
        assert "我的海报" in menu and "海报模板" not in menu, (username, menu)
        _open(page, "我的海报")
        poster = page.get_by_role("img", name=f"{name} 的分享海报")
        poster.wait_for()
        page.wait_for_function("document.querySelector('[data-testid=my-poster]').naturalWidth === 720")
        page.get_by_role("button", name="下载海报").focus()  # reachable by keyboard
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == f"我的海报-{name}.png"
        _shot(page, f"admin-53-my-poster-{username}")
        # the editor's address leads back to the role's own home
        page.goto(f"{base}/admin/#/posters")
        page.wait_for_url(lambda url: "/posters" not in url)
    boss = _log_in(browser, base, errors)
    menu = boss.locator("li.el-menu-item").all_inner_texts()
    assert "我的海报" in menu and "海报模板" in menu
    assert errors == []
