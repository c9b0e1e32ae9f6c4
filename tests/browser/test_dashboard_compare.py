"""The 经营看板 over a period the person chooses, against the period before it: the
figures' change and, in every chart, the previous period as a dashed line beside this
one. The demo's history is all today's, so the test writes a week of facts (and the week
before it) far in the past, where no other test looks, and the finance login chooses that
week by keyboard."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.browser.conftest import log_in, run_in_product, settle, shot

# A week of sales at 150.00 a day (3 orders), the week before at 100.00 (2 orders), and
# bindings by two sources in both; prints the chosen week's first and last day.
PAST_WEEKS = """
from datetime import timedelta
from backend.analytics import service as analytics
from backend.analytics.models import DailyFact
from backend.app import create_app
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.tenants.service import get_tenant_by_slug
with create_app().app_context():
    end = analytics.china_day(utcnow()) - timedelta(days=400)
    start = end - timedelta(days=6)
    with unit_of_work():
        tenant = get_tenant_by_slug(slug="demo").id
        for back in range(14):
            day = end - timedelta(days=back)
            now = back < 7
            db.session.add_all([
                DailyFact(tenant_id=tenant, day=day, metric="sales_fen", dim="", value=15000 if now else 10000),
                DailyFact(tenant_id=tenant, day=day, metric="orders", dim="", value=3 if now else 2),
                DailyFact(tenant_id=tenant, day=day, metric="bindings", dim="share", value=2),
                DailyFact(tenant_id=tenant, day=day, metric="bindings", dim="oa_qrcode", value=1 if now else 0),
                DailyFact(tenant_id=tenant, day=day, metric="commission_fen", dim="dist_l1", value=1000)])
    print(start.isoformat(), end.isoformat())
"""


def test_finance_chooses_a_week_and_sees_it_against_the_week_before(product, browser):
    base = product["base"]
    start, end = run_in_product(product, PAST_WEEKS).split()
    errors: list[str] = []
    page = log_in(browser, base, errors, "finance")
    page.get_by_role("heading", name="经营看板").wait_for()
    settle(page)

    # The period typed into the range picker, Enter to apply.
    page.get_by_placeholder("开始日期").click()
    page.get_by_placeholder("开始日期").fill(start)
    page.get_by_placeholder("结束日期").click()
    page.get_by_placeholder("结束日期").fill(end)
    page.keyboard.press("Enter")
    settle(page)
    prev_start = (date.fromisoformat(start) - timedelta(days=7)).isoformat()
    prev_end = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    page.get_by_text(f"与上一周期（{prev_start} 至 {prev_end}）对比").wait_for()

    # The figures against the week before: 1050.00 is 50% above 700.00, 21 orders 50%
    # above 14, 21 bindings 50% above 14; commission unchanged.
    sales = page.locator("[data-kpi=sales_fen]")
    sales.filter(has_text="¥1050.00").wait_for()
    assert "↑ 50%" in sales.inner_text()
    assert "↑ 50%" in page.locator("[data-kpi=orders]").inner_text()
    assert "↑ 50%" in page.locator("[data-kpi=bindings]").inner_text()
    assert "↑ 0%" in page.locator("[data-kpi=commission_fen]").inner_text()

    # Every chart draws the previous period beside this one.
    charts = {c.get_attribute("aria-label") for c in page.locator(".chart").all()}
    for title, compared in (("每日销售额与订单数", "上期销售额（元）"), ("新增会员与绑定来源", "上期新增绑定"),
                            ("团队增长", "上期当日新增绑定"), ("佣金成本", "上期佣金合计"), ("冻结结算提现", "上期冻结")):
        assert any(c.startswith(title + "：") and compared in c for c in charts), (title, charts)
    members = next(c for c in charts if c.startswith("新增会员"))
    assert "绑定·分享" in members and "绑定·公众号二维码" in members  # bindings by source

    # The tooltip names this period's day and the previous period's day at its place.
    chart = page.locator(".chart").first.bounding_box()
    assert chart is not None
    page.mouse.move(chart["x"] + chart["width"] * 0.5, chart["y"] + chart["height"] * 0.6)
    page.get_by_text(re.compile(r"（上期 \d\d-\d\d）")).wait_for()
    # the staff's workload is the managers' card: finance reads the figures without it
    assert page.get_by_text("员工工作量（近 7 天）").count() == 0
    shot(page, "admin-03-dashboard-compare")
    assert errors == []
