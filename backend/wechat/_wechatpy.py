"""wechatpy clients pointed at configurable hosts, and its errors turned into ours.

wechatpy 1.8.18 keeps base URLs as class attributes (client and some API classes)
and hard-codes the token URL in `fetch_access_token`. Our subclasses set the base
URLs on each instance (never on wechatpy's classes) and fetch tokens from the
configured host, with a timeout.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from wechatpy.client import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.enterprise.client import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from backend.wechat.errors import (
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUpstreamError,
)
from backend.wechat.settings import Endpoints

_LIVE = Endpoints.live()
RATE_LIMIT_CODES = frozenset({45009, 45011, 45033, 45047})


def _rebase_apis(client: Any, live_root: str, root: str) -> None:
    # wechatpy's __new__ gives each client its own API objects; rebase those.
    for name, _ in inspect.getmembers(type(client), lambda o: isinstance(o, BaseWeChatAPI)):
        api = getattr(client, name)
        base = getattr(type(api), "API_BASE_URL", None)
        if base and base.startswith(live_root):
            api.API_BASE_URL = root + base[len(live_root):]  # instance attribute only


class _TokenFetchMixin:
    """Token fetch through our host with a timeout (wechatpy hard-codes the URL)."""

    _http: requests.Session
    session: SessionStorage
    timeout: float | None
    access_token_key: str
    expires_at: int | None

    def _fetch_token(self, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            res = self._http.get(url, params=dict(params), timeout=self.timeout)
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatUnavailable() from exc
        if result.get("errcode"):
            raise _upstream(int(result["errcode"]), str(result.get("errmsg", "")))
        expires_in = int(result.get("expires_in", 7200))
        # Keep a margin so a token is never used in its last minutes.
        self.session.set(self.access_token_key, result["access_token"], max(expires_in - 300, 60))
        self.expires_at = int(time.time()) + expires_in
        return result


class AppClient(_TokenFetchMixin, WeChatClient):
    """Mini-program or official-account client (api.weixin.qq.com)."""

    def __init__(self, appid: str, secret: str, *, endpoints: Endpoints,
                 session: SessionStorage, timeout: float) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.endpoints = endpoints
        self.API_BASE_URL = f"{endpoints.api}/cgi-bin/"
        _rebase_apis(self, _LIVE.api, endpoints.api)

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_token(f"{self.endpoints.api}/cgi-bin/token", {
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


class CorpClient(_TokenFetchMixin, WeComClient):
    """WeCom client (qyapi.weixin.qq.com) for one corp app."""

    def __init__(self, corp_id: str, secret: str, *, endpoints: Endpoints,
                 session: SessionStorage, timeout: float) -> None:
        super().__init__(corp_id, secret, session=session, timeout=timeout)
        self.endpoints = endpoints
        self.API_BASE_URL = f"{endpoints.qyapi}/cgi-bin/"
        _rebase_apis(self, _LIVE.qyapi, endpoints.qyapi)

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_token(f"{self.endpoints.qyapi}/cgi-bin/gettoken", {
            "corpid": self.corp_id, "corpsecret": self.secret})


def _upstream(errcode: int, errmsg: str,
              mapping: Mapping[int, type[WeChatUpstreamError]] | None = None) -> WeChatUpstreamError:
    cls = (mapping or {}).get(errcode)
    if cls is None:
        cls = WeChatRateLimited if errcode in RATE_LIMIT_CODES else WeChatUpstreamError
    return cls(wechat_code=errcode, wechat_message=errmsg)


@contextmanager
def translated(mapping: Mapping[int, type[WeChatUpstreamError]] | None = None) -> Iterator[None]:
    """Turn wechatpy/requests failures into WeChatError subclasses."""
    try:
        yield
    except WeChatClientException as exc:
        if exc.errcode is None:  # HTTP-level failure (5xx, connection reset)
            raise WeChatUnavailable() from exc
        raise _upstream(int(exc.errcode), str(exc.errmsg), mapping) from exc
    except requests.RequestException as exc:
        raise WeChatUnavailable() from exc


def call(fn: Callable[..., Any], *args: Any,
         mapping: Mapping[int, type[WeChatUpstreamError]] | None = None, **kwargs: Any) -> Any:
    with translated(mapping):
        return fn(*args, **kwargs)
