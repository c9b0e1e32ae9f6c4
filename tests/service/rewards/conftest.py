"""Rewards service fixtures."""

from __future__ import annotations

from typing import Any

import pytest

_created = False


@pytest.fixture(autouse=True)
def _reward_tables(app: Any) -> None:
    """Bridge until the Alembic revision for backend/rewards/models.py exists: create the
    rewards tables the migrations do not build yet (a no-op once they do)."""
    global _created
    if _created:
        return
    from backend.extensions import db
    from backend.rewards import models

    tables = [models.RewardPlan.__table__, models.RewardLine.__table__, models.Payout.__table__,
              models.LevelChange.__table__]
    db.metadata.create_all(db.engine, tables=tables, checkfirst=True)
    _created = True


@pytest.fixture()
def rewards() -> Any:
    from backend.rewards import service

    return service
