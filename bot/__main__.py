"""`python -m bot`: the bot process, configured from the environment.

    BOT_TENANT                  tenant slug the personal-WeChat account belongs to (required)
    BOT_TRANSPORTS              "wechaty,wecom" (default), or one of them
    BOT_OWNER_STAFF_ID          staff account whose WeChat the bot runs: accepted friends
                                become that staff member's SCRM customers (optional)
    WECHATY_PUPPET_SERVICE_TOKEN / WECHATY_PUPPET_SERVICE_ENDPOINT
                                the puppet service (wechaty); without a token, or with
                                BOT_MEMORY_PUPPET=1, the in-memory puppet runs (demo)
    BOT_WECHATY_PORT            port for wechaty's plugin server (default: a free port)
    BOT_WECOM_HOST / BOT_WECOM_PORT   the WeCom callback server (default 127.0.0.1:5082)
    BOT_DELIVER_SECONDS         how often personal-WeChat notifications are sent (default 15)
plus the app's own settings (DATABASE_URL, REDIS_URL, WECHAT_MODE, …; backend/config.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from backend.observability.logs import configure_logging
from bot.compat import apply

apply()

log = logging.getLogger("bot")


@dataclass(frozen=True)
class BotConfig:
    tenant_slug: str
    transports: tuple[str, ...]
    owner_staff_id: int | None
    puppet_token: str | None
    puppet_endpoint: str | None
    memory_puppet: bool
    wechaty_port: int | None
    wecom_host: str
    wecom_port: int
    deliver_seconds: float

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BotConfig:
        e = dict(os.environ if env is None else env)
        slug = e.get("BOT_TENANT", "").strip()
        if not slug:
            raise SystemExit("BOT_TENANT (the tenant slug) is required")
        transports = tuple(t.strip() for t in e.get("BOT_TRANSPORTS", "wechaty,wecom").split(",") if t.strip())
        unknown = set(transports) - {"wechaty", "wecom"}
        if unknown or not transports:
            raise SystemExit(f"BOT_TRANSPORTS: unknown {sorted(unknown)}")
        token = e.get("WECHATY_PUPPET_SERVICE_TOKEN") or None
        owner = e.get("BOT_OWNER_STAFF_ID")
        return cls(tenant_slug=slug, transports=transports, owner_staff_id=int(owner) if owner else None,
                   puppet_token=token, puppet_endpoint=e.get("WECHATY_PUPPET_SERVICE_ENDPOINT") or None,
                   memory_puppet=e.get("BOT_MEMORY_PUPPET") == "1" or token is None,
                   wechaty_port=int(e["BOT_WECHATY_PORT"]) if e.get("BOT_WECHATY_PORT") else None,
                   wecom_host=e.get("BOT_WECOM_HOST", "127.0.0.1"),
                   wecom_port=int(e.get("BOT_WECOM_PORT", "5082")),
                   deliver_seconds=float(e.get("BOT_DELIVER_SECONDS", "15")))


def main() -> None:
    configure_logging()
    config = BotConfig.from_env()
    from backend.app import create_app
    from backend.tenants.service import get_tenant_by_slug

    app = create_app()
    with app.app_context():
        tenant_id = get_tenant_by_slug(slug=config.tenant_slug).id
    from flask import Flask
    from werkzeug.serving import make_server

    from bot.wecom_transport import create_wecom_app

    memory = config.memory_puppet and "wechaty" in config.transports
    web = (create_wecom_app(app, owner_staff_id=config.owner_staff_id) if "wecom" in config.transports
           else Flask("siyu-bot-local"))
    puppet: Any = None
    if memory:
        from bot.memory_bridge import add_memory_bridge
        from bot.memory_puppet import MemoryPuppet

        log.warning("no WECHATY_PUPPET_SERVICE_TOKEN: running the in-memory puppet (nothing reaches WeChat)")
        puppet = MemoryPuppet()
        loop_holder: list[asyncio.AbstractEventLoop] = []
        add_memory_bridge(web, puppet, loop_holder)
    if "wecom" in config.transports or memory:
        server = make_server(config.wecom_host, config.wecom_port, web, threaded=True)
        threading.Thread(target=server.serve_forever, name="bot-local-http", daemon=True).start()
        if "wecom" in config.transports:
            log.info("WeCom callback on http://%s:%s/wecom/%s", config.wecom_host, config.wecom_port,
                     config.tenant_slug)
        if memory:
            log.info("in-memory puppet bridge on http://%s:%s/_sandbox/wechat/message (the sandbox console)",
                     config.wecom_host, config.wecom_port)
    if "wechaty" not in config.transports:
        threading.Event().wait()
        return
    from bot.assistant import Assistant
    from bot.wechaty_transport import WechatyTransport, puppet_service

    if puppet is None:
        puppet = puppet_service(config.puppet_token or "", config.puppet_endpoint)
    transport = WechatyTransport(Assistant(app, tenant_id, owner_staff_id=config.owner_staff_id), puppet,
                                 port=config.wechaty_port)

    async def run() -> None:
        await transport.start()
        if memory:
            puppet.login("wxid_siyu_memory_bot")
            loop_holder.append(asyncio.get_running_loop())  # the bridge may emit now
        await transport.deliver_forever(config.deliver_seconds)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:  # Ctrl-C reaches the whole `./dev run` process group
        pass


if __name__ == "__main__":
    main()
