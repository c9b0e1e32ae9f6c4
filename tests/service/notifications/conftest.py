"""Notification tests read what the sandbox received: start each from empty records."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_sandbox_records(sandbox: Any) -> None:
    sandbox.clear_records()
