"""Two journeys of #16 no other browser test walked: a reward plan version replayed over
the demo's past orders and then activated (an unchanged copy of the active plan, so the
payouts other tests expect stay as they were), and a product picture uploaded in the
catalog form and shown in the list."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.browser.conftest import Api, log_in, settle
from tests.browser.test_admin_operations import _dialog, _open, _shot


def _png(path: Path) -> Path:
    """A 64×64 green PNG, written by hand (no imaging library in the test)."""
    raw = b"".join(b"\x00" + b"\x2e\x8b\x57" * 64 for _ in range(64))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(  # noqa: E731
        ">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def test_a_plan_version_replayed_then_activated(product, browser):
    base = product["base"]
    boss = Api(base).staff()
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "奖励方案")
    page.get_by_role("button", name="保存为新版本（草稿）").click()
    page.locator(".el-message", has_text="已保存为").first.wait_for()
    draft = boss.call("GET", "/admin/rewards/plans")["items"][0]
    assert draft["status"] == "draft"
    page.get_by_role("tab", name="版本、回放与启用").click()
    row = page.locator("tr", has_text=f"v{draft['version']}")
    row.get_by_role("button", name="回放").click()
    page.get_by_role("button", name="开始回放").click()
    page.get_by_text("订单行").filter(has_text="实际发放").wait_for()
    summary = page.get_by_text("订单行").filter(has_text="实际发放").inner_text()
    assert "差额 ¥0.00" in summary.replace(" ", " "), summary  # the same rules pay the same
    _shot(page, "admin-plan-replayed")
    row.get_by_role("button", name="启用", exact=True).click()
    page.get_by_role("dialog", name="启用方案").get_by_role("button", name="启用").click()
    page.locator(".el-message", has_text=f"v{draft['version']} 已启用").wait_for()
    row.get_by_text("启用中").wait_for()
    assert boss.call("GET", "/admin/rewards/plans/active")["version"] == draft["version"]
    assert errors == []


def test_a_product_picture_uploaded_in_the_catalog_form(product, browser, tmp_path):
    base = product["base"]
    errors: list[str] = []
    page = log_in(browser, base, errors)
    _open(page, "商品管理")
    row = page.locator("tr", has_text="紫砂品茗杯")
    row.get_by_role("button", name="编辑").click()
    d = _dialog(page, "编辑商品")
    before = d.get_by_alt_text("商品图片").get_attribute("src")  # the demo's own picture
    d.get_by_label("上传商品图片").set_input_files(str(_png(tmp_path / "cup.png")))
    page.wait_for_function("old => document.querySelector('img.preview')?.getAttribute('src') !== old", arg=before)
    src = d.get_by_alt_text("商品图片").get_attribute("src")
    assert src and src.startswith("/api/v1/media/") and src != before, (before, src)
    _shot(page, "admin-catalog-image", dialog=True)
    d.get_by_role("button", name="保存").click()
    page.locator(".el-message", has_text="已保存").wait_for()
    settle(page)
    row.locator(f"img.thumb[src='{src}']").wait_for()
    assert page.evaluate("s => fetch(s).then(r => r.status)", src) == 200
    assert errors == []
