"""Notifications' public types: the values of an outbox message's status, shared by the
dispatcher, the member's message list and the HTTP edge (stored as these plain strings)."""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for the server-side deliverer (subscribe message, WeCom)
    BOT_PENDING = "bot_pending"  # waiting for the bot process to send it
    SENDING = "sending"  # claimed under a lease; back to its queue if the lease runs out
    SENT = "sent"
    SKIPPED = "skipped"  # no channel reaches the member (the reason is kept)
    FAILED = "failed"  # gave up after the last attempt
