"""Live fixtures: the orders factory, a private poster cache, and DNS answered locally
(a stream host resolves to a public address unless the test says otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture()
def shop(app: Any, sandbox: Any) -> Any:
    from tests.orders_factories import OrdersFactory

    return OrdersFactory(app, sandbox)


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    from backend.live import service

    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(service, "resolve_host", lambda host: answers.get(host, ["111.62.1.10"]))
    return answers


@pytest.fixture(autouse=True)
def poster_cache_dir(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "POSTER_CACHE_DIR", str(tmp_path / "posters"))
    return tmp_path / "posters"
