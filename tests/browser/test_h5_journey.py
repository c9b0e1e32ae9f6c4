"""The H5 shop on a phone: a promoter's share link opens for a new person, who logs in
through the sandbox, is bound, buys, pays through the sandbox, and the promoter sees
the commission frozen in the wallet."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.browser.conftest import Api, shot, watch

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}


def _login(page: Any, base: str, code: str) -> None:
    page.goto(f"{base}/h5/#/login?t=demo")
    page.get_by_label("沙箱登录码").fill(code)
    page.get_by_role("button", name="微信一键登录（沙箱）").click()


def test_share_bind_buy_pay_commission(product, browser):
    base = product["base"]
    errors: list[str] = []

    # A new promoter (every member is one under the demo's automatic promoter mode, at the
    # plan's lowest tier, with no agent level) reads the share link on the 我的 page.
    Api(base).member("browser-promoter").call("PATCH", "/mp/me", {"nickname": "小林"})
    promoter = browser.new_context(**PHONE)
    page = promoter.new_page()
    watch(page, errors)
    _login(page, base, "browser-promoter")
    page.get_by_role("link", name="我的").click()
    link = page.get_by_label("分享链接").input_value()
    assert re.fullmatch(rf"{re.escape(base)}/h5/#/s\?t=demo&scene=i%3D[A-Z0-9]{{6}}", link), link
    before = _wallet(base, "browser-promoter")

    # A new person opens the link, logs in through the sandbox and is bound to the promoter.
    newbie = browser.new_context(**PHONE)
    page = newbie.new_page()
    watch(page, errors)
    page.goto(link)
    page.get_by_role("button", name="登录并接受邀请").click()
    page.get_by_label("沙箱登录码").fill("browser-newbie")
    page.get_by_role("button", name="微信一键登录（沙箱）").click()
    page.get_by_text("已绑定邀请人：小林").wait_for()
    shot(page, "h5-01-share-bound")

    # Browse, buy the tea, pay through the sandbox.
    page.get_by_role("button", name="去逛逛").click()
    page.get_by_text("明前龙井").first.click()
    page.get_by_label("收货人").fill("王小明")
    page.get_by_label("手机号").fill("13900001111")
    page.get_by_label("地址").fill("杭州市西湖区龙井路 1 号")
    shot(page, "h5-02-product")
    page.get_by_role("button", name=re.compile("立即购买")).click()
    page.get_by_test_id("order-status").filter(has_text="待支付").wait_for()
    page.get_by_role("button", name=re.compile("微信支付")).click()
    page.get_by_test_id("order-status").filter(has_text="待发货").wait_for(timeout=20000)
    shot(page, "h5-03-paid")
    page.goto(f"{base}/h5/#/orders")
    page.get_by_text("待发货").first.wait_for()
    shot(page, "h5-04-orders")

    # The promoter's wallet: the 250g tea (128.00 paid, 50.00 cost) pays 30% of the 78.00 profit.
    page = promoter.new_page()
    watch(page, errors)
    page.goto(f"{base}/h5/#/me/wallet")
    after = _wallet(base, "browser-promoter")
    assert after["frozen_fen"] - before["frozen_fen"] == 2340
    page.get_by_test_id("frozen").filter(has_text=f"{after['frozen_fen'] / 100:.2f}").wait_for()
    page.get_by_text("一级佣金").first.wait_for()
    shot(page, "h5-05-wallet")
    page.goto(f"{base}/h5/#/me/team")
    page.get_by_text("团队总人数").wait_for()
    shot(page, "h5-06-team")
    page.goto(f"{base}/h5/#/me/poster")
    page.get_by_alt_text("我的推广海报").wait_for()
    page.wait_for_function("document.querySelector('img.poster') && document.querySelector('img.poster').naturalWidth > 0")
    shot(page, "h5-07-poster")
    assert errors == []


def _wallet(base: str, code: str) -> dict[str, Any]:
    token = requests.post(f"{base}/api/v1/mp/login", json={"tenant": "demo", "code": code}, timeout=10).json()["token"]
    return requests.get(f"{base}/api/v1/mp/wallet", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()


def test_a_promoter_opens_a_mini_shop_and_withdraws(product, browser):
    """The rest of the promoter's journey on a phone: open a mini-shop and put a product
    in it, then withdraw from the wallet (the demo approves small amounts by itself)."""
    base = product["base"]
    errors: list[str] = []
    page = browser.new_context(**PHONE).new_page()
    watch(page, errors)
    _login(page, base, "demo-bob")  # a demo promoter with settled commission and no shop yet
    page.get_by_role("link", name="我的").click()
    page.get_by_role("link", name="我的小店").click()
    page.get_by_text("开一家自己的小店").wait_for()
    page.locator("input[name=shop-name]").fill("小波的茶铺")
    page.get_by_role("button", name="开店").click()
    page.get_by_role("heading", name="小波的茶铺").wait_for()
    page.get_by_text("还没有上架商品").wait_for()
    page.locator(".row", has_text="绑定粉丝").wait_for()  # every figure in Chinese, none by its API name
    assert not re.search(r"[a-z]+_[a-z]+", page.locator(".card").first.inner_text())
    page.get_by_role("combobox", name="挑选商品").locator(
        "xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click()
    page.get_by_role("option", name="明前龙井").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="加入小店").click()
    page.locator(".row", has_text="明前龙井").wait_for()
    shot(page, "h5-08-mini-shop")

    before = _wallet(base, "demo-bob")
    assert before["available_fen"] >= 100
    page.goto(f"{base}/h5/#/me/wallet")
    page.get_by_label("金额（元）").fill("1")
    page.get_by_role("button", name="提现到微信零钱").click()
    page.get_by_text("提现申请已提交").wait_for()
    page.get_by_role("heading", name="提现记录").wait_for()
    page.locator(".row", has_text="¥1.00").first.wait_for()
    shot(page, "h5-09-withdrawn")
    after = _wallet(base, "demo-bob")
    assert before["available_fen"] - after["available_fen"] == 100
    assert errors == []
