"""A local emulator of the WeChat services Siyu calls, speaking their wire formats.

    sb = start_sandbox()                  # 127.0.0.1, random port, background thread
    gw = WeChatGateway(GatewaySettings(mode="sandbox", sandbox_url=sb.url))
    ...                                   # drive the real client code through it
    n = sb.pay_order("O123")              # the payer pays: TRANSACTION.SUCCESS queued
    sb.deliver(n, times=10, concurrency=10)
    sb.deliver(n, forge_signature=True)   # or tamper=True, stale=True
    sb.stop()

`python -m backend.wechat.sandbox` runs it standalone (see --help).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from backend.wechat.sandbox.app import create_sandbox_app
from backend.wechat.sandbox.core import (
    Sandbox,
    flask_client_sender,
    qr_png,
    sandbox_openid,
    sandbox_unionid,
)
from backend.wechat.sandbox.records import (
    Delivery,
    HttpResult,
    Notification,
    PushResult,
    WireRequest,
)

__all__ = ["Delivery", "HttpResult", "Notification", "PushResult", "Sandbox", "SandboxServer",
           "WireRequest", "qr_png", "sandbox_openid", "sandbox_unionid", "start_sandbox",
           "flask_client_sender"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per call is noise
        pass


class SandboxServer(Sandbox):
    """A Sandbox listening on HTTP in a background thread (.url, .stop())."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        super().__init__(**options)
        self.app = create_sandbox_app(self)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True,
                                                   request_handler=_QuietHandler)
        self.host, self.port = host, self._server.server_port
        self.url = f"http://{host}:{self.port}"
        # A short poll interval keeps stop() fast (tests start and stop many sandboxes).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"wechat-sandbox:{self.port}", daemon=True)

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (standalone use)."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(port: int = 0, *, host: str = "127.0.0.1", **options: Any) -> SandboxServer:
    """Start a sandbox in a background thread; options go to Sandbox (auto_deliver, …)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return SandboxServer(host=host, port=port, **options).start()
