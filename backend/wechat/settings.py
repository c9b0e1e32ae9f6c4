"""Where WeChat calls go: the live hosts or the local sandbox (WECHAT_MODE)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SANDBOX_URL = "http://127.0.0.1:5081"


@dataclass(frozen=True)
class Endpoints:
    """Base URLs (no trailing slash) of the four WeChat hosts the product calls."""

    api: str  # api.weixin.qq.com: tokens, mini-program, official account
    mp: str  # mp.weixin.qq.com: official-account QR images (showqrcode)
    qyapi: str  # qyapi.weixin.qq.com: WeCom and group robots
    mch: str  # api.mch.weixin.qq.com: WeChat Pay v3

    @classmethod
    def live(cls) -> Endpoints:
        return cls(api="https://api.weixin.qq.com", mp="https://mp.weixin.qq.com",
                   qyapi="https://qyapi.weixin.qq.com", mch="https://api.mch.weixin.qq.com")

    @classmethod
    def sandbox(cls, url: str) -> Endpoints:
        """The sandbox serves each host under its own prefix so paths never clash."""
        root = url.rstrip("/")
        return cls(api=f"{root}/api", mp=f"{root}/mp", qyapi=f"{root}/qyapi", mch=f"{root}/mch")


@dataclass(frozen=True)
class GatewaySettings:
    mode: str = "sandbox"
    sandbox_url: str = DEFAULT_SANDBOX_URL
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in ("sandbox", "live"):
            raise ValueError("WECHAT_MODE must be 'sandbox' or 'live'")

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints.live() if self.mode == "live" else Endpoints.sandbox(self.sandbox_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if environ is None else environ
        return cls(mode=env.get("WECHAT_MODE", "sandbox"),
                   sandbox_url=env.get("WECHAT_SANDBOX_URL", DEFAULT_SANDBOX_URL),
                   timeout_seconds=float(env.get("WECHAT_TIMEOUT_SECONDS", "10")))
