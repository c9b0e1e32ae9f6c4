"""Types every domain shares, in one place (pure: no Flask, SQLAlchemy or Redis, so the
rules engines may use them too).

- Money is integer fen (`Fen`); rates are `Decimal` (`Rate`), parsed and applied by
  backend.money (`as_rate`, `apply_rate`, the one round-down). The database column for
  fen is `backend.orm.Fen` (BIGINT; INTEGER on SQLite).
- The China day: business days (daily limits, reports, workloads, statements) are
  calendar days in China (UTC+8, no daylight saving), whatever the server's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

Fen = int
Rate = Decimal

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_day(moment: datetime) -> date:
    """The calendar day in China of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; pass an aware datetime")
    return moment.astimezone(CHINA_TZ).date()


def china_day_start(day: date) -> datetime:
    """The aware UTC moment a China-local day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).astimezone(UTC)
