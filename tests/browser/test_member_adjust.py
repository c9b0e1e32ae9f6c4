"""会员等级 and a member's standing, by hand in the back-office: the boss names VIP levels
(a bad discount answered beside the field by the API's Chinese message), gives a member
one, and freezes the member after confirmation; the member's log-in is then refused,
and the change is in the 操作日志."""

from __future__ import annotations

import requests

from tests.browser.conftest import Api, log_in, settle
from tests.browser.test_admin_operations import _choose, _dialog, _open, _shot


def test_vip_levels_named_given_and_a_member_frozen(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    member = Api(base).member("browser-vip")
    member.call("PATCH", "/mp/me", {"nickname": "贵宾小周"})
    member_id = member.call("GET", "/mp/me")["id"]
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "会员与团队", "会员")
    try:
        page.get_by_role("button", name="会员等级设置").click()
        d = _dialog(page, "会员等级设置")
        d.get_by_label("等级").fill("1 银卡会员 0.95\n2 金卡会员 5")
        d.get_by_label("等级").press("Control+Enter")
        error = d.locator(".el-form-item", has=page.get_by_label("等级")).locator(".el-form-item__error")
        error.wait_for()
        assert error.inner_text().startswith("第 2 行："), error.inner_text()  # the line the API refused
        _shot(page, "admin-member-levels-error", dialog=True)
        d.get_by_label("等级").fill("1 银卡会员 0.95\n2 金卡会员 0.9")
        d.get_by_label("等级").press("Control+Enter")
        page.locator(".el-message", has_text="会员等级已保存").wait_for()
        assert [lv["name"] for lv in boss.call("GET", "/admin/member-levels")["items"]] == ["银卡会员", "金卡会员"]

        page.get_by_label("搜索会员").fill("贵宾小周")
        page.get_by_label("搜索会员").press("Enter")
        settle(page)
        page.locator("tr", has_text="贵宾小周").get_by_role("button", name="详情").click()
        drawer = page.get_by_role("dialog", name=f"贵宾小周（#{member_id}）")
        drawer.get_by_role("tab", name="调整等级").click()
        _choose(page, "会员等级", "金卡会员")
        _choose(page, "账号状态", "冻结（不能登录）")
        drawer.get_by_role("button", name="保存会员资料").click()
        page.get_by_role("dialog", name="调整会员").get_by_role("button", name="确认").click()
        page.locator(".el-message", has_text="会员资料已调整").wait_for()
        drawer.locator(".el-descriptions").get_by_text("金卡会员").wait_for()
        _shot(page, "admin-member-adjusted")
        r = requests.post(f"{base}/api/v1/mp/login", json={"tenant": "demo", "code": "browser-vip"}, timeout=10)
        assert r.status_code >= 400 and r.json()["message"]
        entry = boss.call("GET", f"/admin/audit?target_type=member&target_id={member_id}")["items"][0]
        assert entry["action"] == "member.adjust" and entry["after"]["status"] == "frozen"
        assert errors == []
    finally:
        boss.call("PATCH", f"/admin/members/{member_id}", {"status": "active"})
        boss.call("PUT", "/admin/member-levels", {"levels": []})
