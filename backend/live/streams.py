"""Pure checks of a pulled stream address (拉流地址): scheme, host and what kind of
stream it is. The server never fetches the stream (the viewer's player does); the
checks keep a room from pointing players, previews or anything later at our own or
private networks.

`check_stream_url(url, addresses)` takes the host's resolved addresses from the
caller (DNS is not pure); a literal IP is checked as it is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("https", "http", "rtmp")
MAX_URL = 1000
_BLOCKED_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home", ".corp", ".intranet")
PLATFORMS = {  # host suffix -> platform
    "douyincdn.com": "douyin", "douyinliving.com": "douyin", "douyin.com": "douyin", "amemv.com": "douyin",
    "kwaicdn.com": "kuaishou", "kuaishou.com": "kuaishou", "gifshow.com": "kuaishou", "kwai.net": "kuaishou",
    "yy.com": "yy", "yystatic.com": "yy", "huya.com": "yy",
}


class StreamRefused(ValueError):
    """Why an address cannot be a stream (Chinese, for the operator)."""


@dataclass(frozen=True)
class StreamInfo:
    url: str
    host: str
    platform: str  # douyin | kuaishou | yy | other
    format: str  # hls | mp4 | flv | rtmp | other


def literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not private, loopback, link-local, multicast, reserved or unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
                or address.is_reserved or address.is_unspecified or not address.is_global)


def parse_stream_url(url: str) -> tuple[str, str]:
    """(normalised url, host) or StreamRefused for the scheme and the shape."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise StreamRefused("直播流地址为空或过长")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise StreamRefused("直播流地址格式不正确") from None
    if parts.scheme.lower() not in SCHEMES:
        raise StreamRefused("直播流地址须以 https://、http:// 或 rtmp:// 开头")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise StreamRefused("直播流地址缺少域名")
    if parts.username or parts.password:
        raise StreamRefused("直播流地址不能包含用户名或密码")
    if port is not None and not 1 <= port <= 65535:
        raise StreamRefused("直播流地址端口不正确")
    if host == "localhost" or host.endswith(_BLOCKED_SUFFIXES) or "." not in host and literal_ip(host) is None:
        raise StreamRefused("直播流地址不能指向内网或本机")
    return url, host


def check_stream_url(url: str, addresses: Sequence[str]) -> StreamInfo:
    """The stream's info, or StreamRefused: the host (or every address it resolves to)
    must be public."""
    url, host = parse_stream_url(url)
    ip = literal_ip(host)
    resolved = [ip] if ip is not None else [literal_ip(a) for a in addresses]
    if not resolved or any(a is None for a in resolved):
        raise StreamRefused("直播流域名无法解析")
    if not all(is_public(a) for a in resolved if a is not None):
        raise StreamRefused("直播流地址不能指向内网、本机或保留地址")
    platform = next((p for suffix, p in PLATFORMS.items() if host == suffix or host.endswith("." + suffix)), "other")
    path = urlsplit(url).path.lower()
    fmt = ("rtmp" if url.lower().startswith("rtmp") else "hls" if path.endswith(".m3u8")
           else "mp4" if path.endswith(".mp4") else "flv" if path.endswith(".flv") else "other")
    return StreamInfo(url=url, host=host, platform=platform, format=fmt)
