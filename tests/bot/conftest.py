"""The bot's tests read what the sandbox received, as the notification tests do."""

from __future__ import annotations

from tests.service.notifications.conftest import _fresh_sandbox_records  # noqa: F401  (autouse fixture)
