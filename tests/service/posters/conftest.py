"""Poster service fixtures: a private render cache and stand-in subject loaders."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backend.posters import subjects
from backend.posters.subjects import PosterSubject


@pytest.fixture(autouse=True)
def poster_cache_dir(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "POSTER_CACHE_DIR", str(tmp_path / "posters"))
    return tmp_path / "posters"


def png_of(color: tuple[int, int, int], size: tuple[int, int] = (400, 400)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


class Products:
    """A stand-in catalog: the catalog domain's loader will look like this."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def add(self, product_id: int, **fields: Any) -> None:
        self.rows[product_id] = {"version": 1, "title": "云南普洱茶", "price_fen": 12900,
                                 "picture": png_of((30, 200, 90)), **fields}

    def change(self, product_id: int, **fields: Any) -> None:
        row = self.rows[product_id]
        row.update(fields)
        row["version"] += 1

    def load(self, *, tenant_id: int, subject_id: int) -> PosterSubject:
        from backend.errors import NotFound

        row = self.rows.get(subject_id)
        if row is None:
            raise NotFound("商品不存在")
        return PosterSubject(id=str(subject_id), version=str(row["version"]),
                             texts={"title": row["title"]}, picture=row["picture"],
                             price_fen=row["price_fen"], scene={"product_id": subject_id})


@pytest.fixture()
def products(monkeypatch: pytest.MonkeyPatch) -> Products:
    catalog = Products()
    monkeypatch.setitem(subjects.SUBJECT_LOADERS, "product", catalog.load)
    return catalog
