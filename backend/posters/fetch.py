"""Fetching avatar and subject pictures for posters, from allowed hosts only.

Avatar URLs come from members (a profile update may set any string), so fetching
them is a server-side request forgery risk: only HTTPS on the configured image
hosts (WeChat's avatar and media CDNs by default), no redirects, a small size cap
and a short timeout. Every failure is None: the renderer draws its fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

DEFAULT_IMAGE_HOSTS = ("thirdwx.qlogo.cn", "wx.qlogo.cn", "mmbiz.qpic.cn", "mmbiz.qlogo.cn")
MAX_IMAGE_BYTES = 3 * 1024 * 1024
TIMEOUT_SECONDS = 3.0


def allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether url is https on one of hosts (or a subdomain of one)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


def fetch_image(url: str | None, *, hosts: Iterable[str] = DEFAULT_IMAGE_HOSTS) -> bytes | None:
    """The bytes behind an allowed image URL, or None (not allowed, failed, too big)."""
    if not url or not allowed(url, hosts):
        return None
    try:
        with requests.get(url, timeout=TIMEOUT_SECONDS, stream=True, allow_redirects=False) as res:
            if res.status_code != 200:
                return None
            body = bytearray()
            for chunk in res.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_IMAGE_BYTES:
                    return None
            return bytes(body)
    except requests.RequestException as exc:
        log.info("poster image fetch failed for %s: %s", url, exc)
        return None
