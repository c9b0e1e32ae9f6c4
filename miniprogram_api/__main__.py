"""`./dev run`: the whole product on one machine.

Migrates the database (creating `instance/` for the default SQLite file), starts the
local WeChat sandbox (WECHAT_MODE=sandbox), seeds the demo tenant, starts the scheduler
(`python -m backend.jobs`: order timeouts, completions, settlement, alerts, daily
summaries) and the bot (`python -m bot` for the demo tenant: the in-memory personal-WeChat
puppet and the WeCom callback, both wired to the sandbox) as child processes, and serves
the API with a threaded development server. Production runs
`gunicorn 'miniprogram_api:create_web_app()'`, one `python -m backend.jobs` and the bot.

Stopping: Ctrl-C (SIGINT to the terminal's process group) or SIGTERM to this process
stops everything: the children are sent SIGTERM, waited for (then SIGKILLed after 10
seconds), the sandbox thread is shut down, and the process exits. Nothing is left
running.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import run_simple

from backend.config import load_settings
from backend.db import utcnow
from backend.demo import DEMO_LOGINS, DEMO_MEMBERS, DEMO_SLUG, seed_demo, seed_demo_activity
from backend.extensions import get_redis
from backend.jobs import discover_jobs, run_locked
from backend.migrate import upgrade
from backend.observability.logs import configure_logging
from miniprogram_api import create_web_app


def main() -> None:
    ap = argparse.ArgumentParser(prog="./dev run")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=None, help="default: PUBLIC_BASE_URL's port")
    ap.add_argument("--no-demo", action="store_true", help="do not seed the demo tenant")
    ap.add_argument("--no-jobs", action="store_true", help="do not start the scheduler")
    ap.add_argument("--no-bot", action="store_true", help="do not start the bot")
    ap.add_argument("--bot-port", type=int, default=None,
                    help="the bot's WeCom callback port (default: BOT_WECOM_PORT, else API port + 2)")
    args = ap.parse_args()
    configure_logging()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # SIGTERM (a service manager, `kill`, CI) unwinds like Ctrl-C: the finally below
    # stops the children and the sandbox instead of orphaning them.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # A shell starting us in the background (`./dev run &`) leaves SIGINT ignored, and
    # Python then never raises KeyboardInterrupt: Ctrl-C / kill -INT must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    settings = load_settings()
    port = args.port or urlsplit(settings.public_base_url).port or 5080
    bot_port = args.bot_port or int(os.environ.get("BOT_WECOM_PORT") or port + 2)
    run_bot = not args.no_bot and not args.no_demo
    base = settings.public_base_url.rstrip("/")
    print(f"==> database: {settings.database_url.split('@')[-1]}", flush=True)
    upgrade(settings.database_url)
    app = create_web_app(settings)

    sandbox = None
    if settings.wechat_mode == "sandbox":
        from backend.wechat.sandbox import start_sandbox

        sandbox_port = urlsplit(settings.wechat_sandbox_url).port or 5081
        # Notifications are delivered by hand while the demo's history is played (the API
        # does not listen yet), then at once as WeChat Pay would.
        sandbox = start_sandbox(port=sandbox_port, auto_deliver=False, auto_settle=True)
    with app.app_context():
        if not args.no_demo:
            tenant = seed_demo(public_base_url=base)
            if sandbox is not None:
                from backend.wechat.service import credentials

                # With the bot running, WeCom's one callback URL is the bot's (app texts
                # and external-contact events); without it, the API's (events only).
                wecom_base = f"http://127.0.0.1:{bot_port}" if run_bot else base
                sandbox.register_tenant(credentials(tenant_id=tenant.id),
                                        oa_push_url=f"{base}/oa/{DEMO_SLUG}",
                                        wecom_callback_url=f"{wecom_base}/wecom/{DEMO_SLUG}")
                from backend.wechat.sandbox import flask_client_sender

                # The shop's history: notifications go into the web app's own routes.
                if seed_demo_activity(tenant, sandbox=sandbox,
                                      send=flask_client_sender(app.test_client())):
                    print("==> demo: orders, rewards, withdrawals and alerts seeded", flush=True)
    if sandbox is not None:
        sandbox.auto_deliver = True
        add_console_controls(sandbox, app)
        if run_bot:
            sandbox.bot_url = f"http://127.0.0.1:{bot_port}"

    env = {**os.environ, "DATABASE_URL": settings.database_url}
    children: list[subprocess.Popen[bytes]] = []
    scheduler = bot = None
    if not args.no_jobs:
        scheduler = subprocess.Popen([sys.executable, "-m", "backend.jobs"], env=env)
        children.append(scheduler)
    if run_bot:
        bot = subprocess.Popen([sys.executable, "-m", "bot"], env={
            **env, "BOT_TENANT": DEMO_SLUG, "BOT_MEMORY_PUPPET": "1",
            "BOT_WECOM_HOST": "127.0.0.1", "BOT_WECOM_PORT": str(bot_port)})
        children.append(bot)

    logins = "\n".join(f"                  {user} / {password}  {role}{' (供应商 tab)' if tab == '供应商' else ''}"
                       for user, password, role, tab in DEMO_LOGINS)
    print(f"""
Siyu is running.
  API           {base}/api/v1/
  API docs      {base}/docs   (OpenAPI: {base}/openapi.json)
  health        {base}/healthz
  WeChat        {"sandbox at " + sandbox.url + "/sandbox" if sandbox else "live"}
  scheduler     {"python -m backend.jobs (pid " + str(scheduler.pid) + ")" if scheduler else "off"}
  bot           {f"python -m bot (pid {bot.pid}), WeCom callback http://127.0.0.1:{bot_port}/wecom/{DEMO_SLUG}"
                 if bot else "off"}
  demo tenant   '{DEMO_SLUG}': back-office {base}/admin/ logins (username / password  role):
{logins}
                platform console: the 平台运营 tab, credential PLATFORM_ADMIN_TOKEN{
                    " (platform-dev-token)" if settings.platform_admin_token == "platform-dev-token" else ""}
                H5 shop {base}/h5/ (a phone page)
                mini-program login codes {", ".join(c for c, _, _ in DEMO_MEMBERS[:3])} …
  try           curl -s {base}/api/v1/mp/login -H 'content-type: application/json' \\
                     -d '{{"tenant":"{DEMO_SLUG}","code":"demo-alice"}}'
Ctrl-C stops.
""", flush=True)
    try:
        run_simple(args.host, port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not interrupt the cleanup itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
        if sandbox is not None:
            sandbox.stop()
        print("==> stopped", flush=True)


# What "move the clock on" runs: first, now, the completion of orders their buyers
# confirmed (their after-sales window starts now); then, at the moved-on moment, the
# settlement of rewards past their window, bonus credits and the alerts that queued.
CLOCK_JOBS = ("finance.settle_due_rewards", "finance.credit_reward_bonuses", "notifications.deliver_notifications")


def add_console_controls(sandbox: Any, app: Flask) -> None:
    """The sandbox console's controls that need the product: run a scheduled job now, or
    move the clock on so shipped orders complete and their rewards settle."""
    from backend.wechat.sandbox.console import Control, ControlError, Field

    jobs = {j.name: j for j in discover_jobs()}

    def run_job(data: Mapping[str, str]) -> Any:
        job = jobs.get(str(data.get("job") or ""))
        if job is None:
            raise ControlError(f"没有这个任务；可选：{', '.join(sorted(jobs))}")
        with app.app_context():
            done = run_locked(job, redis=get_redis(), now_fn=utcnow)
        return {"job": job.name, "done": done, "skipped": done is None}

    def move_clock(data: Mapping[str, str]) -> Any:
        try:
            days = float(str(data.get("days") or "8"))
        except ValueError as exc:
            raise ControlError("days 须为数字") from exc
        if not 0 < days <= 366:
            raise ControlError("days 须在 0–366 之间")
        moment = utcnow() + timedelta(days=days)
        done = {}
        with app.app_context():
            done["orders.complete_due_orders"] = run_locked(jobs["orders.complete_due_orders"], redis=get_redis(),
                                                            now_fn=utcnow)
            for name in CLOCK_JOBS:
                if name in jobs:
                    done[name] = run_locked(jobs[name], redis=get_redis(), now_fn=lambda: moment)
        return {"now": moment.isoformat(), "done": done}

    sandbox.add_control(Control(
        "run_job", "立即运行定时任务", "不等调度器，现在就运行一个定时任务（与调度器共用锁）。",
        [Field("job", "任务", "notifications.deliver_notifications", tuple(sorted(jobs)))],
        run_job, group="商城"))
    sandbox.add_control(Control(
        "move_clock", "时钟前进（结算）",
        "买家已确认收货的订单现在完成（售后期从现在算起），再以“现在 + N 天”运行：过了售后期的佣金结算、"
        "奖励入账、通知发出。演示规则的售后期是 7 天，前进 8 天即可看到冻结佣金变为可提现。",
        [Field("days", "天数", "8")], move_clock, group="商城"))


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_children(children: list[subprocess.Popen[bytes]], *, grace: float = 10.0) -> None:
    """SIGTERM every child still running, wait up to `grace` seconds, SIGKILL the rest."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
