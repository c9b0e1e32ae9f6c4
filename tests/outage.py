"""Servers that are not there, for the outage tests (docs/operations.md, "Outages")."""

from __future__ import annotations

from typing import Any

from backend.extensions import connect_redis
from tests.ports import free_port


def dead_redis() -> Any:
    """A client, built as the product builds its own, of a Redis nobody runs: every call
    fails within the client's one quick retry."""
    return connect_redis(f"redis://127.0.0.1:{free_port()}/0")
