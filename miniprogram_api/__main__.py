"""`./dev run`: the whole product on one machine.

Migrates the database, starts the local WeChat sandbox (WECHAT_MODE=sandbox), seeds
the demo tenant, starts the scheduler (`python -m backend.jobs`, one child process:
order timeouts, completions, settlement, alerts, daily summaries) and serves the API
with a threaded development server. Production runs
`gunicorn 'miniprogram_api:create_web_app()'` and one `python -m backend.jobs`.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from urllib.parse import urlsplit

from werkzeug.serving import run_simple

from backend.config import load_settings
from backend.demo import DEMO_BOSS, DEMO_MEMBERS, DEMO_SLUG, seed_demo
from backend.migrate import upgrade
from miniprogram_api import create_web_app


def main() -> None:
    ap = argparse.ArgumentParser(prog="./dev run")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=None, help="default: PUBLIC_BASE_URL's port")
    ap.add_argument("--no-demo", action="store_true", help="do not seed the demo tenant")
    ap.add_argument("--no-jobs", action="store_true", help="do not start the scheduler")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    settings = load_settings()
    port = args.port or urlsplit(settings.public_base_url).port or 5080
    base = settings.public_base_url.rstrip("/")
    print(f"==> database: {settings.database_url.split('@')[-1]}", flush=True)
    upgrade(settings.database_url)
    app = create_web_app(settings)

    sandbox = None
    if settings.wechat_mode == "sandbox":
        from backend.wechat.sandbox import start_sandbox

        sandbox_port = urlsplit(settings.wechat_sandbox_url).port or 5081
        sandbox = start_sandbox(port=sandbox_port, auto_deliver=True, auto_settle=True)
    with app.app_context():
        if not args.no_demo:
            tenant = seed_demo(public_base_url=base)
            if sandbox is not None:
                from backend.wechat.service import credentials

                sandbox.register_tenant(credentials(tenant_id=tenant.id),
                                        oa_push_url=f"{base}/oa/{DEMO_SLUG}",
                                        wecom_callback_url=f"{base}/wecom/{DEMO_SLUG}")

    scheduler = None
    if not args.no_jobs:
        env = {**os.environ, "DATABASE_URL": settings.database_url}
        scheduler = subprocess.Popen([sys.executable, "-m", "backend.jobs"], env=env)

    print(f"""
Siyu is running.
  API           {base}/api/v1/
  API docs      {base}/docs   (OpenAPI: {base}/openapi.json)
  health        {base}/healthz
  WeChat        {"sandbox at " + sandbox.url + "/sandbox" if sandbox else "live"}
  scheduler     {"python -m backend.jobs (pid " + str(scheduler.pid) + ")" if scheduler else "off"}
  demo tenant   '{DEMO_SLUG}': back-office {DEMO_BOSS[0]} / {DEMO_BOSS[1]};
                mini-program login codes {", ".join(c for c, _, _ in DEMO_MEMBERS[:3])} …
  try           curl -s {base}/api/v1/mp/login -H 'content-type: application/json' \\
                     -d '{{"tenant":"{DEMO_SLUG}","code":"demo-alice"}}'
Ctrl-C stops.
""", flush=True)
    try:
        run_simple(args.host, port, app, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=10)
        if sandbox is not None:
            sandbox.stop()


if __name__ == "__main__":
    main()
