"""Free local ports for the tests that start servers (the product, the sandbox, the bot)
or point a client at one nobody runs. The one copy for tests/; ops/drills and benchmarks/
keep their own (they run without the test suite)."""

from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """n distinct local ports nobody listens on: all bound at once (so no two are the
    same), read, then closed."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """A local port nobody listens on (bound, read and closed)."""
    return free_ports(1)[0]
