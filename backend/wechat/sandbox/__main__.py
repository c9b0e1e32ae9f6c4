"""Run the WeChat sandbox standalone: python -m backend.wechat.sandbox [--port N]."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from backend.wechat.demo import demo_credentials
from backend.wechat.sandbox import SandboxServer
from backend.wechat.settings import DEFAULT_SANDBOX_URL


def main(argv: list[str] | None = None) -> int:
    default = urlsplit(os.environ.get("WECHAT_SANDBOX_URL", DEFAULT_SANDBOX_URL))
    p = argparse.ArgumentParser(prog="python -m backend.wechat.sandbox",
                                description="Local emulator of WeChat, WeChat Pay v3 and WeCom.")
    p.add_argument("--host", default=default.hostname or "127.0.0.1")
    p.add_argument("--port", type=int, default=default.port or 5081)
    p.add_argument("--demo-tenant", action="append", default=[], metavar="SLUG",
                   help="register demo_credentials(SLUG) (secrets checked); repeatable")
    p.add_argument("--public-base-url", default=os.environ.get("PUBLIC_BASE_URL",
                                                               "http://127.0.0.1:5080"),
                   help="the product's base URL, for demo tenants' notify/push URLs")
    p.add_argument("--bot-url", default=os.environ.get("SANDBOX_BOT_URL", ""),
                   help="the bot's local server (python -m bot with the in-memory puppet), for the "
                        "console's personal-WeChat control, e.g. http://127.0.0.1:5082")
    p.add_argument("--manual", action="store_true",
                   help="do not deliver notifications or settle refunds/transfers by itself")
    args = p.parse_args(argv)
    auto = not args.manual
    sb = SandboxServer(host=args.host, port=args.port, auto_deliver=auto, auto_settle=auto)
    sb.bot_url = args.bot_url.rstrip("/")
    base = args.public_base_url.rstrip("/")
    for slug in args.demo_tenant:
        # The product's routes for these (see miniprogram_api); others register over
        # HTTP: POST /sandbox/register {credentials, oa_push_url, wecom_callback_url}.
        creds = demo_credentials(slug, pay_notify_url=f"{base}/api/v1/pay/notify/{slug}")
        sb.register_tenant(creds, oa_push_url=f"{base}/oa/{slug}",
                           wecom_callback_url=f"{base}/wecom/{slug}")
    print(f"WeChat sandbox listening on {sb.url}  (console: {sb.url}/sandbox)", flush=True)
    try:
        sb.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
