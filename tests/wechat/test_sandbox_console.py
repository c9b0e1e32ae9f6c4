"""The sandbox console: a page in Chinese listing every control with a form and a curl,
served with a restrictive CSP and nosniff; every control is also a JSON endpoint."""

from __future__ import annotations

import re
import threading
from typing import Any

import requests

from backend.wechat.demo import demo_credentials
from backend.wechat.sandbox import start_sandbox
from backend.wechat.sandbox.console import builtin_controls


def test_the_console_page_lists_every_control_with_a_form_and_a_curl() -> None:
    with start_sandbox(port=0) as sb:
        res = requests.get(f"{sb.url}/sandbox", headers={"Accept": "text/html,application/xhtml+xml"}, timeout=10)
        assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/html")
        csp = res.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce and f'<style nonce="{nonce.group(1)}">' in res.text
        assert res.headers["X-Content-Type-Options"] == "nosniff"
        assert "微信沙箱控制台" in res.text and "最近的微信支付订单" in res.text
        for control in builtin_controls(sb):
            assert f'action="/sandbox/console/{control.key}"' in res.text
            assert f"{sb.url}/sandbox/controls/{control.key}" in res.text
        # Clients asking for JSON still get the state.
        assert requests.get(f"{sb.url}/sandbox", timeout=10).json()["sandbox"] == "siyu-wechat"
        assert requests.get(f"{sb.url}/sandbox?format=json", headers={"Accept": "text/html"},
                            timeout=10).json()["sandbox"] == "siyu-wechat"


def test_controls_answer_as_json_and_as_a_page_and_refuse_bad_input() -> None:
    with start_sandbox(port=0, auto_deliver=True) as sb:
        res = requests.post(f"{sb.url}/sandbox/controls/hold", json={"auto_deliver": "off"}, timeout=10)
        assert res.json() == {"result": {"auto_deliver": False}} and sb.auto_deliver is False
        page = requests.post(f"{sb.url}/sandbox/console/hold", data={"auto_deliver": "on"}, timeout=10)
        assert page.status_code == 200 and "暂停 / 恢复自动投递：完成" in page.text and sb.auto_deliver
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        cross = requests.post(f"{sb.url}/sandbox/console/hold", data={"auto_deliver": "off"}, timeout=10,
                              headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and sb.auto_deliver
        same = requests.post(f"{sb.url}/sandbox/console/hold", data={"auto_deliver": "on"}, timeout=10,
                             headers={"Origin": sb.url})
        assert same.status_code == 200
        bad = requests.post(f"{sb.url}/sandbox/controls/pay_order", json={}, timeout=10)
        assert bad.status_code == 400 and bad.json()["error"] == "缺少 out_trade_no"
        bad = requests.post(f"{sb.url}/sandbox/console/pay_order", data={"out_trade_no": "NOPE123"}, timeout=10)
        assert bad.status_code == 400 and "按订单号支付：失败" in bad.text
        assert requests.post(f"{sb.url}/sandbox/controls/nope", json={}, timeout=10).status_code == 404
        assert requests.post(f"{sb.url}/sandbox/controls/hold", data="[1]", timeout=10).status_code == 400
        # The personal-WeChat control says plainly when no bot runs.
        res = requests.post(f"{sb.url}/sandbox/controls/wechat_text", json={"contact": "wxid_a"}, timeout=10)
        assert res.status_code == 400 and "机器人未运行" in res.json()["error"]


def test_writing_to_the_bot_as_a_wecom_user_returns_its_reply(app: Any, factory: Any, sandbox: Any) -> None:
    from werkzeug.serving import make_server

    from bot.wecom_transport import create_wecom_app

    tenant = factory.tenant()
    staff = factory.staff(tenant, "sales")
    # The staff member takes a one-time code from the back-office.
    res = app.test_client().post("/api/v1/admin/me/bot-link-code", headers=factory.staff_headers(staff))
    assert res.status_code == 201, res.get_json()
    code = res.get_json()["code"]
    server = make_server("127.0.0.1", 0, create_wecom_app(app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    creds = demo_credentials(tenant.slug, pay_notify_url="http://x").wecom
    sandbox.register_wecom(creds, callback_url=f"http://127.0.0.1:{server.server_port}/wecom/{tenant.slug}")
    try:
        res = requests.post(f"{sandbox.url}/sandbox/controls/wecom_text", timeout=30,
                            json={"user": "zhangsan", "content": f"绑定 {code}", "corp_id": creds.corp_id})
        result = res.json()["result"]
        assert result["callback_status"] == 200
        assert result["replies"][0]["body"]["content"].startswith("绑定成功")
    finally:
        server.shutdown()


def test_the_run_commands_console_runs_jobs_and_moves_the_clock(app: Any) -> None:
    from miniprogram_api.__main__ import add_console_controls

    with start_sandbox(port=0) as sb:
        add_console_controls(sb, app)
        page = requests.get(f"{sb.url}/sandbox", headers={"Accept": "text/html"}, timeout=10).text
        assert "立即运行定时任务" in page and "时钟前进（结算）" in page
        res = requests.post(f"{sb.url}/sandbox/controls/run_job", timeout=30,
                            json={"job": "notifications.deliver_notifications"})
        assert res.json()["result"] == {"job": "notifications.deliver_notifications", "done": 0, "skipped": False}
        res = requests.post(f"{sb.url}/sandbox/controls/move_clock", json={"days": "8"}, timeout=30)
        assert set(res.json()["result"]["done"]) >= {"orders.complete_due_orders", "finance.settle_due_rewards"}
        bad = requests.post(f"{sb.url}/sandbox/controls/run_job", json={"job": "nope"}, timeout=10)
        assert bad.status_code == 400 and "没有这个任务" in bad.json()["error"]
        bad = requests.post(f"{sb.url}/sandbox/controls/move_clock", json={"days": "-1"}, timeout=10)
        assert bad.status_code == 400
