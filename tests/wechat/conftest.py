"""Fixtures for driving the real WeChat client code through the sandbox over HTTP.

`receiver` is a stand-in for the product's inbound endpoints (pay notify, OA push,
WeCom callback) built only from backend.wechat's public parse/verify functions, so
deliveries travel over real HTTP in both directions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from backend.errors import DomainError
from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.demo import demo_credentials
from backend.wechat.gateway import (
    GatewaySettings,
    WeChatGateway,
    parse_oa_push,
    parse_pay_notification,
    parse_wecom_callback,
    render_oa_reply,
    verify_oa_url,
)
from backend.wechat.sandbox import SandboxServer, start_sandbox


@dataclass
class Receiver:
    url: str
    creds: TenantWeChatCredentials | None = None
    pay: list[Any] = field(default_factory=list)  # PayNotification accepted
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (status, code)
    oa: list[Any] = field(default_factory=list)  # OaPush accepted
    wecom: list[Any] = field(default_factory=list)  # WeComEvent accepted
    lock: threading.Lock = field(default_factory=threading.Lock)


def _receiver_app(rx: Receiver) -> Flask:
    app = Flask("test_receiver")

    @app.errorhandler(DomainError)
    def domain(exc: DomainError) -> Response:
        with rx.lock:
            rx.rejected.append((exc.http_status, exc.code))
        res = jsonify(exc.to_dict())
        res.status_code = exc.http_status
        return res

    @app.post("/pay/notify")
    def pay_notify() -> Response:
        assert rx.creds and rx.creds.pay
        n = parse_pay_notification(rx.creds.pay, headers=request.headers, body=request.get_data(),
                                   now=datetime.now(timezone.utc))
        with rx.lock:
            rx.pay.append(n)
        return Response(status=204)

    @app.get("/oa")
    def oa_verify() -> Response:
        assert rx.creds and rx.creds.official_account
        return Response(verify_oa_url(rx.creds.official_account, request.args))

    @app.post("/oa")
    def oa_push() -> Response:
        creds = rx.creds.official_account if rx.creds else None
        assert creds
        push = parse_oa_push(creds, query=request.args, body=request.get_data())
        with rx.lock:
            rx.oa.append(push)
        text = None
        if push.kind in ("subscribe", "scan") and push.scene:
            text = f"欢迎，推荐人 {push.scene}"
        elif push.kind == "text":
            text = f"收到：{push.content}"
        return Response(render_oa_reply(creds, push, text), mimetype="application/xml")

    @app.post("/wecom")
    def wecom() -> Response:
        assert rx.creds and rx.creds.wecom
        event = parse_wecom_callback(rx.creds.wecom, query=request.args, body=request.get_data())
        with rx.lock:
            rx.wecom.append(event)
        return Response("success")

    return app


@pytest.fixture(scope="session")
def base_creds() -> TenantWeChatCredentials:
    # Keys are derived once per process (about a second); every test reuses them.
    return demo_credentials("wechat-tests", pay_notify_url="http://127.0.0.1:9/unused")


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    rx = Receiver(url="")
    server = make_server("127.0.0.1", 0, _receiver_app(rx), threaded=True)
    rx.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield rx
    server.shutdown()
    server.server_close()


@pytest.fixture()
def creds(base_creds: TenantWeChatCredentials, receiver: Receiver) -> TenantWeChatCredentials:
    assert base_creds.pay is not None
    assert base_creds.official_account is not None
    # Compatible mode (兼容模式) so the receiver takes the sandbox's plain and safe pushes.
    c = replace(base_creds, pay=replace(base_creds.pay, notify_url=f"{receiver.url}/pay/notify"),
                official_account=replace(base_creds.official_account, message_mode="compatible"))
    receiver.creds = c
    return c


@pytest.fixture()
def sbx(creds: TenantWeChatCredentials, receiver: Receiver) -> Iterator[SandboxServer]:
    server = start_sandbox(port=0)
    server.register_tenant(creds, oa_push_url=f"{receiver.url}/oa",
                           wecom_callback_url=f"{receiver.url}/wecom")
    yield server
    server.stop()


@pytest.fixture()
def gw(sbx: SandboxServer) -> WeChatGateway:
    return WeChatGateway(GatewaySettings(mode="sandbox", sandbox_url=sbx.url))
