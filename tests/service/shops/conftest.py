"""Shop tests run against a stand-in catalog and a private poster cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.shops.products import use_product_lookup
from tests.shops_factories import StandInCatalog


@pytest.fixture()
def catalog(app: Any) -> Iterator[StandInCatalog]:
    stand_in = StandInCatalog()
    use_product_lookup(stand_in.lookup)
    yield stand_in
    use_product_lookup(None)


@pytest.fixture(autouse=True)
def poster_cache_dir(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "POSTER_CACHE_DIR", str(tmp_path / "posters"))
    return tmp_path / "posters"
