"""The id that ties one request's (or one job run's, or one bot message's) log lines
together. A request takes the caller's `X-Request-Id` when it is sane, else a new one;
jobs and the bot bind their own per run / per message."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("siyu_request_id", default=None)
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id() -> str:
    """16 random hex characters: unique enough to grep, short enough to read."""
    return secrets.token_hex(8)


def accept_request_id(header: str | None) -> str:
    """The caller's id when it is short and plain (a load balancer's), else a new one:
    a client must not inject text into our logs."""
    return header if header and _SANE.match(header) else new_request_id()


def current_request_id() -> str | None:
    return _current.get()


def set_request_id(value: str | None) -> None:
    _current.set(value)


@contextmanager
def bound_request_id(value: str | None = None) -> Iterator[str]:
    """Run a block (a job run, a bot message) under its own id."""
    rid = value or new_request_id()
    token = _current.set(rid)
    try:
        yield rid
    finally:
        _current.reset(token)
