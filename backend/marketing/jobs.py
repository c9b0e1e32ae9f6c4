"""Marketing's scheduled work: points that reached their expiry."""

from __future__ import annotations

from datetime import datetime

from backend.db import run_in_unit_of_work
from backend.marketing import points

INTERVALS = {"expire_points": 3600}


def expire_points(*, now: datetime) -> int:
    """Expire what is left of points credited longer ago than the tenant's rule allows."""
    return run_in_unit_of_work(lambda: points.expire_points(now=now))
