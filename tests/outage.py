"""Servers that are not there, for the outage tests (docs/operations.md, "Outages")."""

from __future__ import annotations

import socket
from typing import Any

from backend.extensions import connect_redis


def free_port() -> int:
    """A local port nobody listens on (bound, read and closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_redis() -> Any:
    """A client, built as the product builds its own, of a Redis nobody runs: every call
    fails within the client's one quick retry."""
    return connect_redis(f"redis://127.0.0.1:{free_port()}/0")
