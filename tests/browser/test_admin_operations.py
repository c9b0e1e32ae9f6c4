"""The back-office pages of agents, suppliers, marketing and live, used as a brand's
staff would: create a coupon (a wrong field shows the API's Chinese message beside it,
focused) and a group-buy, review an agent application, set up a live room with a product
and mark it 讲解中, approve a supplier's product, edit a per-product plan setting with
the simulator beside it; and each role's menu is what its permissions allow."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import SCREENSHOTS, Api, log_in, settle, shot


def _open(page: Any, item: str, heading: str | None = None) -> None:
    page.get_by_role("menuitem", name=item, exact=True).click()
    page.get_by_role("heading", name=heading or item).wait_for()
    settle(page)


def _choose(page: Any, label: str, option: str) -> None:
    """Pick an option of an Element Plus select by its label.

    Under load a click can land while the dropdown's opening transition runs and toggle
    it shut again, leaving the option hidden: each try opens the list when its option is
    not showing, and waits a while for the option to settle."""
    box = page.get_by_role("combobox", name=label, exact=True)
    wrapper = box.locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')]")  # the chosen text covers the input
    listbox = page.locator(f"#{box.get_attribute('aria-controls')}")  # this select's own options
    item = listbox.get_by_role("option").filter(has_text=option).first
    for _ in range(3):
        if not item.is_visible():
            wrapper.click()
        try:
            item.click(timeout=8_000)
            return
        except PlaywrightTimeout:
            continue
    item.click()  # the last try fails with Playwright's own account of the option


def _dialog(page: Any, title: str) -> Any:
    d = page.get_by_role("dialog", name=title)
    d.wait_for()
    return d


def _shot(page: Any, name: str, *, dialog: bool = False) -> None:
    """A screenshot once the page has settled (no request running, no loading mask fading);
    with a dialog open, of the window as the user sees it rather than the whole page."""
    settle(page)
    if dialog:
        page.wait_for_timeout(300)  # the dialog's opening transition
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    else:
        shot(page, name)


def _when(days: int, hour: int) -> str:
    return (datetime.now() + timedelta(days=days)).strftime(f"%Y-%m-%d {hour:02d}:00")


def test_marketing_coupon_with_a_chinese_field_error_then_group_buy(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)

    _open(page, "优惠券")
    page.get_by_role("button", name="新建优惠券").click()
    d = _dialog(page, "新建优惠券")
    d.get_by_label("名称", exact=True).fill("浏览器满减券")
    d.get_by_text("满减券", exact=True).click()
    d.get_by_label("减免金额").fill("15")
    d.get_by_label("使用门槛").fill("99")
    d.get_by_label("领取后有效").fill("7")
    d.get_by_label("发行量").fill("很多")
    d.get_by_label("发行量").press("Enter")
    # The API's message for the field, beside the field, and the focus moved there.
    item = d.locator("[data-field=total_stock]")
    item.locator(".el-form-item__error", has_text="须为整数").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "发行量"
    _shot(page, "admin-22-coupon-field-error", dialog=True)
    assert not [c for c in boss.call("GET", "/admin/marketing/coupons")["items"] if c["name"] == "浏览器满减券"]
    d.get_by_label("发行量").fill("200")
    d.get_by_label("发行量").press("Enter")
    page.locator("tr", has_text="浏览器满减券").get_by_text("满 99.00 元减 15.00 元").wait_for()
    coupon = next(c for c in boss.call("GET", "/admin/marketing/coupons")["items"] if c["name"] == "浏览器满减券")
    assert (coupon["kind"], coupon["amount_off_fen"], coupon["threshold_fen"], coupon["total_stock"],
            coupon["valid_days"]) == ("threshold", 1500, 9900, 200, 7)
    _shot(page, "admin-31-coupon-created")

    _open(page, "拼团")
    page.get_by_role("button", name="新建拼团").click()
    d = _dialog(page, "新建拼团")
    d.get_by_label("活动名称").fill("浏览器两人团")
    _choose(page, "商品规格", "明前龙井")
    d.get_by_label("拼团价").fill("88")
    d.get_by_label("成团人数").fill("3")
    for label, value in (("开始时间", _when(0, 0)), ("结束时间", _when(7, 23))):
        d.get_by_label(label).fill(value)
        d.get_by_label(label).press("Enter")
    d.get_by_role("button", name="确定").click()
    row = page.locator("tr", has_text="浏览器两人团")
    row.get_by_text("¥88.00").wait_for()
    _shot(page, "admin-23-group-buy")
    campaign = next(c for c in boss.call("GET", "/admin/marketing/group-campaigns")["items"] if c["name"] == "浏览器两人团")
    assert (campaign["group_price_fen"], campaign["group_size"], campaign["status"]) == (8800, 3, "active")
    # Stopping asks first.
    row.get_by_role("button", name="停止").click()
    page.get_by_role("dialog", name="停止").get_by_role("button", name="确认").click()
    row.get_by_text("已停止").wait_for()
    assert errors == []


def test_agent_application_review_and_supplier_product_approval(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    applicant = Api(base).member("browser-agent")
    app = applicant.call("POST", "/mp/agent/applications", {
        "level": "l3", "real_name": "周浏览", "id_number": "330102199001011234", "phone": "13600001234",
        "province": "浙江省", "city": "杭州市"})
    supplier = Api(base)
    supplier.headers = {"Authorization": "Bearer " + supplier.call("POST", "/admin/supplier/login", {
        "tenant": "demo", "username": "supplier", "password": "demo1234"})["token"]}
    submitted = supplier.call("POST", "/admin/supplier/products", {
        "name": "浏览器高山茶", "skus": [{"name": "250g", "price_fen": 12800, "cost_fen": 7000, "stock": 20}]})
    errors: list[str] = []
    page = log_in(browser, base, errors)

    _open(page, "代理申请")
    row = page.locator("tr", has_text="周浏览")
    row.get_by_role("button", name="通过").click()
    d = _dialog(page, "通过代理申请")
    d.get_by_label("审核意见").fill("资料齐全")
    d.get_by_label("授权区域").fill("浙江省/杭州市")
    d.get_by_role("button", name="通过").click()
    page.locator(".el-message", has_text="已通过，已授权").wait_for()
    _shot(page, "admin-30-agent-review")
    decided = next(a for a in boss.call("GET", "/admin/agents/applications", None)["items"] if a["id"] == app["id"])
    assert decided["status"] == "approved"
    auths = boss.call("GET", "/admin/agents/authorizations?limit=50")["items"]
    mine = next(a for a in auths if a["member_id"] == app["member_id"])
    assert mine["regions"] == [{"province": "浙江省", "city": "杭州市"}] and mine["status"] == "active"
    _open(page, "代理授权")
    page.locator("tr", has_text="周浏览").get_by_text("浙江省/杭州市").wait_for()
    _shot(page, "admin-24-authorizations")

    _open(page, "商品审核", "供应商商品审核")
    row = page.locator("tr", has_text="浏览器高山茶")
    row.get_by_role("button", name="通过").click()
    d = _dialog(page, "通过商品审核")
    d.get_by_label("平台抽佣").fill("12%")
    d.get_by_role("button", name="通过").click()
    page.locator(".el-message", has_text=re.compile(r"^\s*已通过\s*$")).wait_for()  # not the agent's toast, still fading
    row.wait_for(state="detached")  # no longer waiting for review
    _shot(page, "admin-25-supplier-products")
    approved = supplier.call("GET", f"/admin/supplier/products/{submitted['id']}")
    assert approved["review"]["review_status"] == "approved" and approved["on_shelf"]
    assert errors == []


def test_live_room_with_a_product_explained_now(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "直播间")
    page.get_by_role("button", name="新建直播间").click()
    d = _dialog(page, "新建直播间")
    d.get_by_label("标题").fill("浏览器春茶专场")
    d.get_by_label("开播时间").fill(_when(1, 20))
    d.get_by_label("开播时间").press("Enter")
    d.get_by_text("微信小程序直播").click()  # a pulled stream's host would be resolved: offline here
    d.get_by_label("微信直播间号").fill("9001")
    d.get_by_label("主播").fill("茶艺师小周")
    d.get_by_role("button", name="确定").click()
    row = page.locator("tr", has_text="浏览器春茶专场")
    row.wait_for()
    row.get_by_role("button", name="商品与讲解").click()
    drawer = page.get_by_role("dialog", name=re.compile("浏览器春茶专场"))
    _choose(page, "商品规格", "明前龙井")
    drawer.get_by_label("直播价").fill("99")
    drawer.get_by_role("button", name="加入直播间").click()
    products = drawer.get_by_test_id("room-products")
    products.get_by_text("¥99.00").wait_for()
    products.get_by_role("button", name="讲解").click()
    products.get_by_text("讲解中").wait_for()
    _shot(page, "admin-32-live-explaining", dialog=True)
    room = next(r for r in boss.call("GET", "/admin/live/rooms")["items"] if r["title"] == "浏览器春茶专场")
    detail = boss.call("GET", f"/admin/live/rooms/{room['id']}")
    assert [(p["live_price_fen"], p["explaining"]) for p in detail["products"]] == [(9900, True)]
    assert detail["explaining_product_id"] == detail["products"][0]["product_id"]
    page.keyboard.press("Escape")
    row.get_by_role("button", name="开播").click()
    row.get_by_text("直播中").wait_for()
    assert errors == []


def test_plan_product_setting_and_combined_condition_with_the_simulator(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "奖励方案")
    page.get_by_label("普通推广员 一级比例").wait_for()
    overrides = page.get_by_test_id("overrides")
    n = overrides.locator(".tier").count()
    page.get_by_role("button", name="添加商品设置").click()
    _choose(page, f"覆盖{n + 1}商品", "明前龙井")
    for j, value in enumerate(("10%", "5%", "0%")):
        page.get_by_label(f"覆盖{n + 1} {['一级', '二级', '三级'][j]}比例").fill(value)
    # the simulator pays the typed setting for that product, unsaved
    _choose(page, "试算商品", "明前龙井")
    page.get_by_role("button", name="试算").click()
    result = page.get_by_test_id("sim-result")
    result.get_by_text("利润 100.00 × 10% = 10.00").wait_for()
    result.get_by_text("利润 100.00 × 5% = 5.00").wait_for()
    # a combined condition: 铜牌 needs 3 direct referrals AND (team sales ≥ 5000 元 OR 2 indirect)
    page.get_by_role("button", name="编辑铜牌升级条件").click()
    cond = page.get_by_role("dialog", name="铜牌 的自动升级条件")
    _choose(page, "铜牌条件类型", "全部满足（且）")
    cond.get_by_role("button", name="添加条件组").click()
    _choose(page, "铜牌条件-2-1指标", "团队业绩")
    cond.get_by_label("铜牌条件-2-1门槛").fill("5000")
    _choose(page, "铜牌条件-2-2指标", "间推人数")
    cond.get_by_label("铜牌条件-2-2门槛").fill("2")
    cond.get_by_text("预览：直推人数 ≥ 3 且 （团队业绩 ≥ ¥5000.00 或 间推人数 ≥ 2）").wait_for()
    _shot(page, "admin-26-plan-condition", dialog=True)
    cond.get_by_role("button", name="确定").click()
    page.get_by_role("button", name="保存为新版本（草稿）").click()
    page.get_by_text(re.compile(r"已保存为 v\d+")).first.wait_for()
    _shot(page, "admin-27-plan-overrides")
    saved = boss.call("GET", "/admin/rewards/plans")["items"][0]
    doc = boss.call("GET", f"/admin/rewards/plans/{saved['version']}")["document"]
    assert {"product_id": "1", "rates": ["10%", "5%", "0%"]} in doc["distribution"]["overrides"]
    bronze = next(t for t in doc["distribution"]["tiers"] if t["key"] == "bronze")
    assert bronze["upgrade"] == {"all": [{"fact": "direct_referrals", "min": 3}, {"any": [
        {"fact": "team_sales_fen", "min": 500000}, {"fact": "indirect_referrals", "min": 2}]}]}
    assert errors == []


def test_each_role_sees_the_menu_its_permissions_allow(product, browser):
    base = product["base"]
    errors: list[str] = []
    finance = log_in(browser, base, errors, "finance")  # the demo's own logins, one per role (README)
    menu = finance.locator("li.el-menu-item").all_inner_texts()
    for item in ("经营看板", "提现审核", "资金与对账", "对账差异", "供应商提现", "奖励方案", "操作日志"):
        assert item in menu, (item, menu)
    for item in ("员工工作量", "防伪码", "海报模板"):  # scrm.manage, anticounterfeit.manage, posters.manage
        assert item not in menu, (item, menu)
    _open(finance, "奖励方案")  # finance may simulate but not save
    finance.get_by_role("button", name="试算").wait_for()
    assert finance.get_by_role("button", name="保存为新版本（草稿）").count() == 0
    _open(finance, "供应商提现")
    assert finance.get_by_role("button", name="生成打款批次").count() == 0  # the boss's alone
    finance.get_by_role("button", name="确认批次结果").wait_for()
    _shot(finance, "admin-28-finance-menu")

    operator = log_in(browser, base, errors, "operator")
    menu = operator.locator("li.el-menu-item").all_inner_texts()
    assert "员工工作量" in menu and "防伪码" in menu and "供应商中心" not in menu

    supplier = log_in(browser, base, errors, "supplier", supplier=True)
    assert supplier.locator("li.el-menu-item").all_inner_texts() == ["我的商品", "我的订单", "收入与对账单", "提现"]
    supplier.get_by_role("heading", name="我的商品").wait_for()
    settle(supplier)
    _shot(supplier, "admin-29-supplier-portal")
    _open(supplier, "提现")
    supplier.get_by_text("可提现").first.wait_for()
    assert errors == []


def test_catalog_form_by_keyboard_with_errors_beside_their_fields(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "商品管理")
    page.get_by_role("button", name="新建商品").click()
    d = _dialog(page, "新建商品")
    d.get_by_label("规格名称").fill("200g")
    d.get_by_label("售价").fill("12.345")
    d.get_by_label("售价").press("Enter")  # Enter submits; the page itself can tell this amount is unreadable
    d.locator(".cell-error", has_text="金额格式不正确").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "售价"
    d.get_by_label("售价").fill("12.50")
    d.get_by_label("售价").press("Enter")  # no name: the API's Chinese message, beside 名称, focused
    d.locator(".el-form-item.is-error", has_text="名称").locator(".el-form-item__error").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "商品名称"
    _shot(page, "admin-33-catalog-field-error", dialog=True)
    d.get_by_label("商品名称").fill("键盘录入的茶")
    d.get_by_label("商品名称").press("Enter")
    page.locator("tr", has_text="键盘录入的茶").wait_for()
    created = next(p for p in boss.call("GET", "/admin/shop/products?limit=50")["items"] if p["name"] == "键盘录入的茶")
    assert created["skus"][0]["price_fen"] == 1250
    assert errors == []


def test_every_new_page_opens_for_the_boss(product, browser):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors)
    pages = [("代理授权", None, "admin-34-authorizations"), ("云仓提货", None, "admin-35-pickups"),
             ("进货单", None, "admin-36-restocks"), ("防伪码", None, "admin-37-codes"),
             ("码段发放", "码段发放记录", "admin-38-code-shipments"), ("窜货案件", None, "admin-39-cases"),
             ("商品审核", "供应商商品审核", "admin-40-supplier-products"), ("供应商订单", None, "admin-41-sub-orders"),
             ("供应商对账单", None, "admin-42-supplier-statements"), ("供应商提现", None, "admin-43-supplier-withdrawals"),
             ("对账差异", None, "admin-44-reconciliation"), ("拼团", None, "admin-45-group-buys"),
             ("积分", None, "admin-46-points"), ("素材库", None, "admin-47-materials")]
    for item, heading, name in pages:
        _open(page, item, heading)
        _shot(page, name)
    # the order policy with freight, as a form
    _open(page, "订单管理")
    page.get_by_role("button", name="订单与运费设置").click()
    d = _dialog(page, "订单与运费设置")
    d.get_by_label("运费", exact=True).wait_for()
    _shot(page, "admin-48-order-policy", dialog=True)
    d.get_by_label("偏远地区运费").fill("新疆 二十")
    d.get_by_label("偏远地区运费").press("Control+Enter")
    d.get_by_role("button", name="保存").click()
    d.locator("[data-field=freight_by_region] .el-form-item__error", has_text="应写成 地区 金额").wait_for()
    assert errors == []


def test_suspend_and_reinstate_an_agent_generate_codes_edit_points_rules_publish_a_material(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "代理授权")
    row = page.locator("tr", has_text="阿福")
    row.get_by_role("button", name="暂停").click()
    d = _dialog(page, "暂停")
    d.get_by_label("暂停原因").fill("核查窜货")
    d.get_by_role("button", name="确定").click()
    row.get_by_text("已暂停").wait_for()
    row.get_by_role("button", name="恢复").click()
    d = _dialog(page, "恢复")
    d.get_by_label("恢复原因").fill("核查完毕")
    d.get_by_role("button", name="确定").click()
    row.get_by_text("有效").wait_for()
    afu = next(a for a in boss.call("GET", "/admin/agents/authorizations?limit=50")["items"] if a["holder_name"] == "阿福")
    assert afu["status"] == "active"

    _open(page, "防伪码")
    page.get_by_role("button", name="生成防伪码").click()
    d = _dialog(page, "生成防伪码")
    _choose(page, "商品", "紫砂品茗杯")
    d.get_by_label("数量").fill("20")
    d.get_by_label("备注").fill("浏览器批次")
    d.get_by_label("备注").press("Enter")
    page.locator("tr", has_text="浏览器批次").wait_for()

    _open(page, "积分")
    page.get_by_role("button", name="修改积分规则").click()
    d = _dialog(page, "积分规则")
    d.get_by_label("签到得").fill("8")
    d.get_by_label("签到得").press("Enter")
    page.get_by_text("8 积分").first.wait_for()
    assert boss.call("GET", "/admin/marketing/points-rules")["signin_points"] == 8

    _open(page, "素材库")
    page.get_by_role("button", name="发布素材").click()
    d = _dialog(page, "发布素材")
    d.get_by_label("标题").fill("浏览器文案")
    d.get_by_role("textbox", name="文案").fill("春茶上新：{link}")
    d.get_by_role("button", name="确定").click()
    row = page.locator("tr", has_text="浏览器文案")
    row.get_by_role("button", name="隐藏").click()
    row.get_by_text("已隐藏").wait_for()
    assert errors == []
