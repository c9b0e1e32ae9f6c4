"""Notification tests read what the sandbox received: start each from empty records."""

from __future__ import annotations

from typing import Any

import pytest

try:  # a domain folder without __init__.py is missed by import_all_models: load its tables too
    import backend.finance.models  # noqa: F401
except ImportError:
    pass


@pytest.fixture(autouse=True)
def _fresh_sandbox_records(sandbox: Any) -> None:
    sandbox.clear_records()
