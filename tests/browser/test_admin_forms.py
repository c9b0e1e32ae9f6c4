"""Back-office forms and actions used as a brand's staff would, each checked on the page
and in the API: an authorization covering a whole category, the channel settings (a
wrong limit shows the API's Chinese message beside its field), a paid restock refunded;
after-sales refund requests approved and rejected; the suppliers' bank batch exported;
an authorization revoked; anti-counterfeit codes exported for printing; a coupon granted;
and every staff member's own share poster (我的海报) while the template editor stays with
the managers."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path
from typing import Any

from tests.browser.conftest import Api, log_in, run_in_product
from tests.browser.test_admin_operations import _choose, _dialog, _open, _shot


def _wait(check: Any, what: str, tries: int = 60) -> Any:
    """Poll the API until `check()` is truthy (a sandbox payment or refund arrives)."""
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} never happened")


def _paid_restock(base: str, code: str, quantities: list[int]) -> dict[str, Any]:
    """An agent restocks the tea's SKUs (one quantity each) from the platform and pays
    through the sandbox."""
    agent = Api(base).member(code)
    boss = Api(base).staff()
    tea = next(p for p in boss.call("GET", "/admin/shop/products?limit=50")["items"] if p["name"] == "明前龙井")
    placed = agent.call("POST", "/mp/agent/restocks", {"source": "platform", "items": [
        {"sku_id": sku["id"], "quantity": n} for sku, n in zip(tea["skus"], quantities, strict=False)]})
    agent.call("POST", f"/mp/shop/orders/{placed['order_id']}/sandbox-pay")
    return _wait(lambda: next((r for r in agent.call("GET", "/mp/agent/restocks")["items"]
                               if r["id"] == placed["id"] and r["status"] == "paid"), None), "the restock's payment")


def test_category_authorization_channel_settings_and_a_restock_refund(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    newcomer = Api(base).member("browser-category-agent").call("GET", "/mp/me")
    errors: list[str] = []
    page = log_in(browser, base, errors)

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

    # A paid restock of two SKUs: one line refunded (the rule allows it), then the rest;
    # each asked first, then its pieces and money go back.
    restock = _paid_restock(base, "demo-frank", [3, 1])
    second = restock["lines"][1]["sku_id"]
    frank = restock["buyer_id"]
    stock = {s["sku_id"]: s["pieces"] for s in boss.call("GET", f"/admin/agents/members/{frank}/stock")["items"]}
    _open(page, "进货单")
    page.locator(".summary").get_by_text("可按规格逐项退款").wait_for()
    row = page.locator("tr", has_text="已入仓").first
    row.get_by_role("button", name="退款").click()
    d = _dialog(page, "进货单退款")
    _choose(page, "退款规格", f"SKU #{second}（1 件）")
    d.get_by_label("退款原因").fill("这一规格发错了")
    d.get_by_role("button", name="退款").click()
    confirm = page.get_by_role("dialog", name="确认退款")
    confirm.get_by_text(f"确认退款 SKU #{second} 这一项").wait_for()
    confirm.get_by_role("button", name="退款").click()
    page.locator(".el-message", has_text="退款已提交").wait_for()
    after = {s["sku_id"]: s["pieces"] for s in boss.call("GET", f"/admin/agents/members/{frank}/stock")["items"]}
    assert after.get(second, 0) == stock[second] - 1 and after[restock["lines"][0]["sku_id"]] == stock[
        restock["lines"][0]["sku_id"]]
    page.locator(".el-message", has_text="退款已提交").first.wait_for(state="detached")
    row.get_by_role("button", name="退款").click()  # still 已入仓: the rest, whole
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
        page = log_in(browser, base, errors, username)
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
    boss = log_in(browser, base, errors)
    menu = boss.locator("li.el-menu-item").all_inner_texts()
    assert "我的海报" in menu and "海报模板" in menu
    assert errors == []


def _paid_order(base: str, code: str, product_name: str) -> tuple[Api, dict[str, Any]]:
    """A member buys one piece of a product and pays through the sandbox."""
    buyer = Api(base).member(code)
    item = next(p for p in buyer.call("GET", "/mp/shop/products")["items"] if p["name"] == product_name)
    order = buyer.call("POST", "/mp/shop/orders", {"items": [{"sku_id": item["skus"][0]["id"], "quantity": 1}],
                                                   "receiver": {"name": "李四", "phone": "13700002222",
                                                                "address": "上海市徐汇区漕溪北路 88 号"}})
    buyer.call("POST", f"/mp/shop/orders/{order['id']}/sandbox-pay")
    _wait(lambda: buyer.call("GET", f"/mp/shop/orders/{order['id']}")["status"] == "paid", "the sandbox payment")
    return buyer, order


def test_after_sales_refund_requests_approved_and_rejected(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    buyer, order = _paid_order(base, "browser-after-sales", "明前龙井")
    asked = buyer.call("POST", f"/mp/shop/orders/{order['id']}/refunds", {"reason": "买错规格了"})
    other_buyer, other = _paid_order(base, "browser-after-sales-2", "明前龙井")
    refused = other_buyer.call("POST", f"/mp/shop/orders/{other['id']}/refunds", {"reason": "不想要了"})
    assert asked["status"] == refused["status"] == "requested"
    errors: list[str] = []
    page = log_in(browser, base, errors, "finance")  # finance decides refunds too

    _open(page, "售后退款")
    row = page.locator("tr", has_text=asked["refund_no"])
    row.get_by_text("买错规格了").wait_for()
    assert asked["order_no"] == order["order_no"]
    row.get_by_text(order["order_no"]).wait_for()  # the number staff quote, not the row id
    _shot(page, "admin-54-refund-requests")
    row.get_by_role("button", name="同意退款").click()
    approve = page.get_by_role("dialog", name="同意退款")
    approve.get_by_text(f"订单 {order['order_no']}").wait_for()
    approve.get_by_role("button", name="同意退款").click()
    page.locator(".el-message", has_text="已同意").wait_for()
    row.wait_for(state="detached")  # no longer waiting for a decision
    _wait(lambda: buyer.call("GET", f"/mp/shop/orders/{order['id']}/refunds")["items"][0]["status"] == "succeeded",
          "the WeChat Pay refund")
    assert buyer.call("GET", f"/mp/shop/orders/{order['id']}")["status"] == "refunded"

    # A rejection's note is the buyer's to read: too long is the API's message beside it.
    row = page.locator("tr", has_text=refused["refund_no"])
    row.get_by_role("button", name="拒绝").click()
    d = _dialog(page, "拒绝退款申请")
    d.get_by_label("拒绝说明").fill("商品已拆封" * 14)
    d.get_by_label("拒绝说明").press("Enter")
    d.locator("[data-field=note] .el-form-item__error").wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "拒绝说明"
    assert other_buyer.call("GET", f"/mp/shop/orders/{other['id']}/refunds")["items"][0]["status"] == "requested"
    d.get_by_label("拒绝说明").fill("商品已拆封，不支持无理由退款")
    d.get_by_label("拒绝说明").press("Enter")
    row.wait_for(state="detached")
    _choose(page, "全部状态", "已拒绝")
    page.locator("tr", has_text=refused["refund_no"]).get_by_text("已拒绝").wait_for()
    _shot(page, "admin-55-refund-rejected")
    decided = other_buyer.call("GET", f"/mp/shop/orders/{other['id']}/refunds")["items"][0]
    assert decided["status"] == "rejected" and decided["decided_by"]
    assert other_buyer.call("GET", f"/mp/shop/orders/{other['id']}")["status"] == "paid"
    assert any(a["action"] == "orders.refund_reject" for a in boss.call("GET", "/admin/audit?limit=20")["items"])
    assert errors == []


SETTLE_SUPPLIER = """
from datetime import timedelta
from backend.app import create_app
from backend.db import unit_of_work, utcnow
from backend.flows.jobs import settle_supplier_income
from backend.orders import service as orders
with create_app().app_context():
    with unit_of_work():
        orders.complete_order(tenant_id={tenant}, order_id={order}, now=utcnow())
    print(settle_supplier_income(now=utcnow() + timedelta(days=30)))
"""


def test_the_boss_exports_the_suppliers_bank_batch(product, browser, tmp_path: Path):
    base = product["base"]
    boss = Api(base).staff()
    supplier = Api(base)
    supplier.headers = {"Authorization": "Bearer " + supplier.call("POST", "/admin/supplier/login", {
        "tenant": "demo", "username": "supplier", "password": "demo1234"})["token"]}
    # The supplier earns: a buyer's order of its tea shipped, completed, settled (the jobs, later).
    _, order = _paid_order(base, "browser-supplier-buyer", "武夷岩茶·大红袍")
    boss.call("POST", f"/admin/shop/orders/{order['id']}/ship", {"company": "顺丰速运", "tracking_no": "SF20261206"})
    tenant = boss.call("GET", "/admin/tenant")["id"]
    assert int(run_in_product(product, SETTLE_SUPPLIER.format(tenant=tenant, order=order["id"]))) >= 1
    w = supplier.call("POST", "/admin/supplier/withdrawals", {"amount_fen": 3000, "client_token": "browser-batch-1"})
    assert w["status"] == "approved"  # below the demo's auto-approval: waits for the bank batch
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "供应商提现")
    _choose(page, "全部状态", "待打款")
    page.locator("tr", has_text="¥30.00").first.wait_for()
    page.get_by_role("button", name="生成打款批次").click()
    with page.expect_download() as download:
        page.get_by_role("dialog", name="生成打款批次").get_by_role("button", name="生成并下载").click()
    alert = page.get_by_role("dialog", name="打款批次")
    alert.get_by_text("已生成批次").wait_for()
    batch_no = alert.locator("b").inner_text()
    _shot(page, "admin-56-supplier-bank-batch", dialog=True)
    assert download.value.suggested_filename == f"supplier-payouts-{batch_no}.csv"
    saved = tmp_path / "batch.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert "6225880199990001" in text and "30.00" in text  # the full card, for the bank only
    alert.get_by_role("button", name="知道了").click()
    paying = next(x for x in boss.call("GET", "/admin/suppliers/withdrawals?limit=50")["items"] if x["id"] == w["id"])
    assert (paying["status"], paying["batch_no"]) == ("paying", batch_no)
    assert errors == []


def test_an_authorization_revoked_after_confirmation(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    member = Api(base).member("browser-revoke").call("GET", "/mp/me")
    granted = boss.call("POST", "/admin/agents/authorizations", {"member_id": member["id"], "level": "l3"})
    holder = granted["authorization"]["holder_name"]
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "代理授权")
    row = page.locator("tr").filter(has=page.get_by_role("cell", name=holder, exact=True))
    row.get_by_role("button", name="撤销").click()
    d = page.get_by_role("dialog", name="撤销").filter(has=page.get_by_label("撤销原因"))
    d.wait_for()
    confirm = page.get_by_role("dialog", name="撤销").filter(has_text="撤销后不能恢复")
    # without a reason the form refuses at once with the API's message ("必填") beside
    # the field, before asking for a confirmation the API would refuse anyway
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/revoke" in r.url else None)
    d.get_by_label("撤销原因").fill("   ")
    d.get_by_label("撤销原因").press("Control+Enter")  # Enter is a new line in a multi-line field
    assert d.locator("[data-field=reason] .el-form-item__error").inner_text() == "必填"
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "撤销原因"
    assert confirm.count() == 0 and posts == []
    assert next(a for a in boss.call("GET", "/admin/agents/authorizations?limit=50")["items"]
                if a["member_id"] == member["id"])["status"] == "active"
    d.get_by_label("撤销原因").fill("合同到期未续约")
    d.get_by_label("撤销原因").press("Control+Enter")
    confirm.get_by_role("button", name="撤销").click()
    row.get_by_text("已撤销").wait_for()
    assert row.get_by_role("button", name="恢复").count() == 0
    _shot(page, "admin-57-authorization-revoked")
    auth = next(a for a in boss.call("GET", "/admin/agents/authorizations?limit=50")["items"] if a["member_id"] == member["id"])
    assert (auth["status"], auth["status_reason"]) == ("revoked", "合同到期未续约")
    certs = boss.call("GET", f"/admin/agents/members/{member['id']}/certificates")["items"]
    assert certs and all(c["status"] == "revoked" for c in certs)
    _open(page, "操作日志")  # audited, under its Chinese name
    page.locator("tr", has_text="撤销授权").first.wait_for()
    assert errors == []


def test_anti_counterfeit_codes_exported_for_printing(product, browser, tmp_path: Path):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "防伪码")
    page.get_by_role("button", name="生成防伪码").click()
    d = _dialog(page, "生成防伪码")
    _choose(page, "商品", "明前龙井")
    d.get_by_label("数量").fill("12")
    d.get_by_label("备注").fill("浏览器印刷批次")
    d.get_by_label("备注").press("Enter")
    row = page.locator("tr", has_text="浏览器印刷批次")
    row.wait_for()
    batch = next(b for b in boss.call("GET", "/admin/anticounterfeit/batches")["items"] if b["label"] == "浏览器印刷批次")
    with page.expect_download() as download:
        row.get_by_role("button", name="导出印刷文件").click()
    assert download.value.suggested_filename == f"anticounterfeit-batch-{batch['id']}.zip"
    saved = tmp_path / "codes.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as z:
        names = z.namelist()
        rows = list(csv.DictReader(io.StringIO(z.read("codes.csv").decode("utf-8-sig"))))
    assert len(rows) == 12 and len({r["防伪码"] for r in rows}) == 12
    assert all(r["查询链接"].endswith("/" + r["防伪码"]) for r in rows)
    assert sum(n.endswith(".png") for n in names) == 12
    _shot(page, "admin-58-codes-exported")
    assert errors == []


def test_a_coupon_granted_to_a_member(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    member = Api(base).member("browser-coupon-fan")
    me = member.call("GET", "/mp/me")
    coupon = boss.call("POST", "/admin/marketing/coupons", {
        "name": "浏览器发放券", "kind": "threshold", "amount_off_fen": 500, "threshold_fen": 5000,
        "total_stock": 10, "valid_days": 7, "claimable": False})
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "优惠券")
    row = page.locator("tr", has_text="浏览器发放券")
    row.get_by_role("button", name="发给会员").click()
    d = _dialog(page, "发给会员")
    d.get_by_label("会员ID").fill("第一位")
    d.get_by_label("会员ID").press("Enter")
    d.locator("[data-field=member_id] .el-form-item__error").wait_for()  # the API's message beside it
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "会员ID"
    d.get_by_label("会员ID").fill(str(me["id"]))
    d.get_by_label("会员ID").press("Enter")
    page.locator(".el-message", has_text="已发放").wait_for()
    _shot(page, "admin-59-coupon-granted")
    held = member.call("GET", "/mp/me/coupons")["items"]
    assert [(h["coupon_id"], h["source"], h["status"]) for h in held if h["coupon_id"] == coupon["id"]] == [
        (coupon["id"], "grant", "unused")]
    assert errors == []
