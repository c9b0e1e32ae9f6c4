"""What the back-office shows is Chinese, not the API's keys: members' promoter tiers and
agent levels by the plan's names (the list, the profile, the level history), and every
entry of the 操作日志 by its action's, object's and actor's Chinese name."""

from __future__ import annotations

import re

from tests.browser.conftest import log_in, settle, shot

# the demo plan's keys (docs/examples/three_plus_three.json): none may show as text
KEYS = re.compile(r"\b(normal|bronze|silver|gold|l1|l2|l3)\b")


def test_members_and_the_audit_log_read_in_chinese(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors, "operator")
    settle(page)

    page.get_by_role("menuitem", name="会员与团队", exact=True).click()
    settle(page)
    table = page.locator("main .el-table")
    table.locator("tr", has_text="爱丽丝").filter(has_text="金牌 / 一级代理").wait_for()
    assert not KEYS.search(table.inner_text()), table.inner_text()
    table.locator("tr", has_text="小波").get_by_role("button", name="详情").click()
    settle(page)
    drawer = page.get_by_role("dialog")
    drawer.locator(".el-descriptions").get_by_text("普通会员").wait_for()  # the member (VIP) level 0, not "0"
    drawer.get_by_role("tab", name="调整等级").click()
    drawer.locator("tr", has_text="推广等级").filter(has_text="普通推广员 → 银牌").wait_for()
    drawer.locator("tr", has_text="代理等级").filter(has_text="无 → 二级代理").filter(has_text="演示数据").wait_for()
    assert not KEYS.search(drawer.inner_text()), drawer.inner_text()
    shot(page, "admin-members-level-history")
    page.keyboard.press("Escape")

    page.get_by_role("menuitem", name="操作日志", exact=True).click()
    settle(page)
    rows = page.locator("main .el-table__body tr.el-table__row")
    rows.first.wait_for()
    for row in rows.all():
        cells = row.locator("td").all_inner_texts()
        actor, action, target = cells[2], cells[3], cells[4]
        assert not re.search(r"[a-z]", action), cells  # no action by its code
        assert re.fullmatch(r"[^a-z_]+ #\S+", target), cells  # 订单 #3, not order #3
        assert not re.fullmatch(r"[a-z_]+(:\S+)?", actor), cells
    page.get_by_text("演示数据").first.wait_for()
    shot(page, "admin-audit-log")

    # Filtering by the kind of object, chosen by its Chinese name.
    page.get_by_role("combobox", name="对象类型").click()
    page.keyboard.type("会员")
    page.get_by_role("option", name="会员", exact=True).click()
    settle(page)
    targets = [r.locator("td").nth(4).inner_text() for r in rows.all()]
    assert targets and all(t.startswith("会员 #") for t in targets), targets
    assert errors == []
