"""The official account's scheduled work (run by `python -m backend.jobs`)."""

from __future__ import annotations

from datetime import datetime

from backend.oa import service

INTERVALS = {"bind_followers": 0.1}


def bind_followers(*, now: datetime) -> int:
    """Bind the followers whose subscribe/SCAN events wait in the OA inbox
    (OA_INBOX=worker; with inline nothing waits), in batches, each event once."""
    return service.bind_followers()
