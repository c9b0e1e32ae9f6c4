"""The back-office in a desktop browser: the boss logs in, reads the dashboard, reviews
a withdrawal, edits the reward plan with the simulator beside it, and ships an order."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.browser.conftest import DESKTOP, Api, run_in_product, settle, shot, watch

CREDIT_BONUSES_LATER = """
from datetime import timedelta
from backend.app import create_app
from backend.db import utcnow
from backend.finance.jobs import credit_reward_bonuses
with create_app().app_context():
    print(credit_reward_bonuses(now=utcnow() + timedelta(minutes=11)))
"""


def _arrange(base: str, product: dict[str, Any]) -> dict[str, Any]:
    """A paid order waiting for shipping, and a withdrawal waiting for review: Bob (二级代理
    in the demo) earns his 100.00 referral bonus when his fan Heidi is raised to 三级代理,
    the scheduler credits it, and he asks for 80.00 (above the demo's auto-approval)."""
    boss = Api(base).staff()
    bob = Api(base).member("demo-bob")
    heidi_id = Api(base).member("demo-heidi").call("GET", "/mp/me")["id"]
    boss.call("PUT", f"/admin/rewards/members/{heidi_id}/level", {"agent_level": "l3"})
    assert int(run_in_product(product, CREDIT_BONUSES_LATER)) >= 1
    assert bob.call("GET", "/mp/wallet")["available_fen"] >= 10000
    w = bob.call("POST", "/mp/wallet/withdrawals", {"amount_fen": 8000, "client_token": "browser-test-w1"})
    assert w["status"] == "pending"
    buyer = Api(base).member("browser-buyer")
    sku = buyer.call("GET", "/mp/shop/products")["items"][0]["skus"][0]["id"]
    order = buyer.call("POST", "/mp/shop/orders", {"items": [{"sku_id": sku, "quantity": 1}], "receiver": {
        "name": "李四", "phone": "13700002222", "address": "上海市徐汇区漕溪北路 88 号"}})
    buyer.call("POST", f"/mp/shop/orders/{order['id']}/sandbox-pay")
    for _ in range(60):
        if buyer.call("GET", f"/mp/shop/orders/{order['id']}")["status"] == "paid":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the sandbox payment never arrived")
    return {"boss": boss, "withdrawal": w, "order": order}


def test_log_in_read_dashboard_review_withdrawal_edit_plan_ship_order(product, browser):
    base = product["base"]
    arranged = _arrange(base, product)
    boss = arranged["boss"]
    errors: list[str] = []
    page = browser.new_context(**DESKTOP).new_page()
    watch(page, errors)

    # A wrong password shows the API's Chinese message; the right one opens the dashboard.
    page.goto(f"{base}/admin/")
    page.get_by_label("商户标识").fill("demo")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill("wrong-password")
    page.keyboard.press("Enter")
    page.get_by_role("alert").filter(has_text=re.compile("密码|账号")).wait_for()
    shot(page, "admin-01-login-error")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="经营看板").wait_for()
    page.get_by_role("button", name="刷新数据").click()
    page.get_by_text("已刷新").wait_for()
    kpi = page.locator("[data-kpi=sales_fen] .kpi-value")
    expected = boss.call("GET", "/admin/dashboard")["totals"]["sales_fen"]["current"]
    assert expected >= 12800
    kpi.filter(has_text=f"¥{expected / 100:.2f}").wait_for()
    page.locator("canvas").first.wait_for()
    assert page.locator("canvas").count() >= 5
    page.get_by_text("待审核提现").wait_for()
    # every review queue that waits on headquarters, each with the API's count
    queues = boss.call("GET", "/admin/dashboard")["pending"]
    for label, key in (("待审核代理申请", "agent_applications"), ("待审核推广员申请", "promoter_applications"),
                       ("待审核供应商商品", "supplier_products")):
        page.locator(".pending li", has_text=label).filter(has_text=str(queues[key])).wait_for()
    shot(page, "admin-02-dashboard")

    # Review the withdrawal (bulk selection, confirm).
    page.get_by_role("menuitem", name="提现审核").click()
    row = page.locator("tr", has_text=f"{arranged['withdrawal']['id']}").filter(has_text="80.00")
    row.locator(".el-checkbox").click()
    page.get_by_role("button", name=re.compile("批量通过")).click()
    page.get_by_role("dialog", name="提现审核").get_by_role("button", name="通过").click()
    page.get_by_role("status").filter(has_text="已通过 1 笔").wait_for()
    shot(page, "admin-03-withdrawals")
    status = boss.call("GET", f"/admin/finance/withdrawals/{arranged['withdrawal']['id']}")["status"]
    assert status in ("approved", "paying", "paid")

    # Edit the plan: the simulator beside the form pays from what is typed, unsaved.
    page.get_by_role("menuitem", name="奖励方案").click()
    page.get_by_label("普通推广员 一级比例").fill("40%")
    page.get_by_role("button", name="试算").click()
    result = page.get_by_test_id("sim-result")
    result.get_by_text("利润 100.00 × 40% = 40.00").wait_for()
    result.get_by_text("利润 100.00 × 20% = 20.00").wait_for()
    page.get_by_text("合计发放 ¥70.00，商户留存 ¥30.00").wait_for()
    # A bad rate is refused with the API's message at the field's path; nothing saved.
    page.get_by_label("普通推广员 二级比例").fill("120%")
    page.get_by_role("button", name="保存为新版本（草稿）").click()
    page.get_by_text("方案有误，未保存").wait_for()
    page.locator("code", has_text="distribution.tiers[0].rates[1]").wait_for()
    page.get_by_label("普通推广员 二级比例").fill("20%")
    before = len(boss.call("GET", "/admin/rewards/plans")["items"])
    page.get_by_role("button", name="保存为新版本（草稿）").click()
    page.get_by_text(re.compile(r"已保存为 v\d+")).first.wait_for()
    shot(page, "admin-04-plan-simulator")
    plans = boss.call("GET", "/admin/rewards/plans")["items"]
    assert len(plans) == before + 1 and plans[0]["status"] == "draft"
    assert boss.call("GET", f"/admin/rewards/plans/{plans[0]['version']}")["document"]["distribution"]["tiers"][0][
        "rates"][0] == "40%"
    page.get_by_role("tab", name="版本、回放与启用").click()
    page.locator("tr", has_text=f"v{plans[0]['version']}").get_by_role("button", name="与启用版本对比").click()
    # the changed field named as the form names it, not by its JSON path
    page.get_by_text("三级分销 › 推广员等级「普通推广员」 › 一级比例").wait_for()
    assert page.get_by_text("distribution.tiers").count() == 0
    shot(page, "admin-05-plan-diff")

    # Ship the paid order.
    page.get_by_role("menuitem", name="订单管理").click()
    row = page.locator("tr", has_text=arranged["order"]["order_no"])
    row.get_by_role("button", name="发货").click()
    page.get_by_label("运单号").fill("SF1234567890")
    page.get_by_role("button", name="确认发货").click()
    row.get_by_text("已发货").wait_for()
    shot(page, "admin-06-orders")
    shipped = boss.call("GET", f"/admin/shop/orders/{arranged['order']['id']}")
    assert shipped["status"] == "shipped" and shipped["logistics"]["tracking_no"] == "SF1234567890"
    assert errors == []


def test_every_page_of_the_menu_opens_and_the_team_tree_expands(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = browser.new_context(**DESKTOP).new_page()
    watch(page, errors)
    page.goto(f"{base}/admin/")
    page.get_by_label("商户标识").fill("demo")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="经营看板").wait_for()

    # Members: search Alice, open her, expand the tree two levels lazily.
    page.get_by_role("menuitem", name="会员与团队").click()
    page.get_by_label("搜索会员").fill("爱丽丝")
    page.get_by_role("button", name="搜索").click()
    page.locator("tr", has_text="爱丽丝").get_by_role("button", name="详情").click()
    tree = page.get_by_role("tree")
    tree.get_by_text(re.compile(r"爱丽丝.*团队")).click()
    tree.get_by_text(re.compile(r"小波 #\d+ · 团队")).wait_for()
    tree.locator(".el-tree-node__content", has_text="小波").locator(".el-tree-node__expand-icon").click()
    tree.get_by_text(re.compile(r"卡罗尔 #\d+")).wait_for()
    shot(page, "admin-07-members-tree")
    page.get_by_role("tab", name="绑定记录").click()
    page.keyboard.press("Escape")

    for item, heading, name in [("商品管理", "商品管理", "admin-08-catalog"), ("资金与对账", "资金与对账", "admin-09-finance"),
                                ("操作日志", "操作日志", "admin-10-audit"), ("我的客户", "我的客户", "admin-12-scrm"),
                                ("员工工作量", "员工工作量与交接", "admin-13-workload"),
                                ("代理申请", "代理申请", "admin-18-agents"), ("供应商", "供应商", "admin-19-suppliers"),
                                ("优惠券", "优惠券", "admin-20-coupons"), ("直播间", "直播间", "admin-21-live")]:
        page.get_by_role("menuitem", name=item, exact=True).click()
        page.get_by_role("heading", name=heading).wait_for()
        settle(page)
        shot(page, name)
    # The poster editor previews what is typed, before saving.
    page.get_by_role("menuitem", name="海报模板").click()
    page.get_by_alt_text("海报预览").wait_for()
    first = page.get_by_alt_text("海报预览").get_attribute("src")
    page.get_by_label("文字").first.fill("春茶上新 · 限时邀请")
    page.wait_for_function("src => document.querySelector('img.preview') && document.querySelector('img.preview').src !== src",
                           arg=first)
    shot(page, "admin-15-poster-editor")
    page.get_by_role("menuitem", name="资金与对账").click()
    page.get_by_role("tab", name="对账单导出").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert open(download.value.path(), "rb").read(2) == b"PK"  # an .xlsx is a zip
    page.get_by_role("tab", name="账本核对").click()
    page.get_by_text("账本平衡：余额与分录一致").wait_for()
    shot(page, "admin-11-ledger-check")
    assert errors == []


def test_sales_staff_see_only_their_customers(product, browser):
    page = browser.new_context(**DESKTOP).new_page()
    errors: list[str] = []
    watch(page, errors)
    page.goto(f"{product['base']}/admin/")
    page.get_by_label("商户标识").fill("demo")
    page.get_by_label("用户名").fill("sales")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="我的客户").wait_for()
    # what the sales role's permissions allow: its customers and their orders, and reading
    # the catalog and the marketing tools it talks about, and its own share poster (but
    # not the template editor) (backend/auth/policy.py)
    assert page.locator("li.el-menu-item").all_inner_texts() == [
        "商品管理", "订单管理", "我的客户", "我的海报", "优惠券", "拼团", "积分", "素材库", "直播间"]
    page.get_by_role("menuitem", name="优惠券").click()
    page.get_by_role("heading", name="优惠券").wait_for()
    assert page.get_by_role("button", name="新建优惠券").count() == 0  # reading, not changing
    page.goto(f"{product['base']}/admin/#/dashboard")  # a page the role may not open leads back home
    page.get_by_role("heading", name="我的客户").wait_for()
    shot(page, "admin-14-sales-menu")
    assert errors == []


def test_the_platform_operator_sees_tenants_credentials_and_load(product, browser):
    page = browser.new_context(**DESKTOP).new_page()
    errors: list[str] = []
    watch(page, errors)
    page.goto(f"{product['base']}/admin/")
    page.get_by_role("tab", name="平台运营").click()
    page.get_by_label("平台凭证").fill("platform-dev-token")
    page.get_by_role("button", name="进入平台控制台").click()
    row = page.locator("tr", has_text="思语演示品牌")
    row.locator(".el-tag", has_text="已配置").nth(3).wait_for()
    assert row.locator(".el-tag", has_text="已配置").count() == 4  # the demo's four WeChat channels
    shot(page, "admin-16-platform-tenants")
    page.get_by_role("menuitem", name="平台负载").click()
    page.get_by_text("当日有交易或新会员的商户").wait_for()
    page.locator("canvas").first.wait_for()
    shot(page, "admin-17-platform-load")
    assert errors == []
