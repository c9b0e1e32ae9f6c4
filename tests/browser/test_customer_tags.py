"""客户标签: the operator keeps the customers' tag library (a group with its tags, a tag
added, one removed after confirmation), and the sales login then finds the new tag in
我的客户's choices, grouped as the library says."""

from __future__ import annotations

from tests.browser.conftest import Api, log_in, settle
from tests.browser.test_admin_operations import _choose, _dialog, _open, _shot


def test_the_tag_library_kept_and_offered_to_sales(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors, "operator")
    _open(page, "客户标签")
    page.get_by_role("button", name="新建标签组").click()
    d = _dialog(page, "新建标签组")
    d.get_by_label("组名").fill("意向茶类")
    d.get_by_label("标签").fill("绿茶，岩茶，白茶")
    d.get_by_label("标签").press("Enter")
    row = page.locator("tr", has_text="意向茶类")
    row.get_by_text("绿茶、岩茶、白茶").wait_for()

    row.get_by_role("button", name="添加标签").click()
    d = _dialog(page, "添加标签")
    d.get_by_label("标签名").press("Enter")  # empty: the form says 必填 and sends nothing
    d.get_by_text("必填").wait_for()
    d.get_by_label("标签名").fill("普洱")
    d.get_by_label("标签名").press("Enter")
    row.get_by_text("绿茶、岩茶、白茶、普洱").wait_for()

    row.get_by_role("button", name="删除标签").click()
    d = _dialog(page, "删除标签")
    _choose(page, "标签", "白茶")
    d.get_by_role("button", name="确定").click()
    page.get_by_role("dialog", name="删除标签").filter(has_text="所有客户身上的这个标签都会移除").get_by_role(
        "button", name="确认").click()
    row.get_by_text("绿茶、岩茶、普洱").wait_for()
    _shot(page, "admin-customer-tags")
    groups = Api(base).staff("sales").call("GET", "/scrm/tag-groups")["items"]
    assert [t["name"] for g in groups if g["name"] == "意向茶类" for t in g["tags"]] == ["绿茶", "岩茶", "普洱"]

    sales = log_in(browser, base, errors, "sales")
    settle(sales)
    sales.get_by_role("combobox", name="按标签筛选").locator(
        "xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click()
    sales.get_by_role("option", name="普洱").wait_for()
    assert errors == []


def test_an_auto_tagging_rule_created_and_stopped(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors, "operator")
    _open(page, "自动打标", "自动打标规则")
    page.locator("tr", has_text="来自 门店").wait_for()  # the demo's rules, in words
    page.get_by_role("button", name="新建规则").click()
    d = _dialog(page, "新建规则")
    _choose(page, "打上标签", "意向 · 高意向")
    d.locator("label.el-radio-button", has_text="聊天关键词").click()
    d.get_by_role("textbox", name="关键词").press("Enter")  # none typed: 必填, nothing sent
    d.get_by_text("必填").wait_for()
    d.get_by_role("textbox", name="关键词").fill("试喝，样品")
    d.get_by_role("textbox", name="关键词").press("Enter")
    row = page.locator("tr", has_text="说到 试喝、样品")
    row.get_by_text("意向 · 高意向").wait_for()
    row.get_by_role("button", name="停用").click()
    row.get_by_text("已停用").wait_for()
    rules = Api(base).staff().call("GET", "/admin/scrm/tag-rules")["items"]
    assert any(r["params"] == {"keywords": ["试喝", "样品"]} and not r["active"] for r in rules), rules
    _shot(page, "admin-tag-rules")
    assert errors == []
