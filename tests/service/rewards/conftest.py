"""Rewards service fixtures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def rewards() -> Any:
    from backend.rewards import service

    return service
