"""Template assets: fonts, background images and shipped layouts under poster_templates/.

Loaded images and fonts are kept in memory (they are read-only once loaded), so a
warm process renders without touching the disk. No Flask, no SQLAlchemy, no clock.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageFont

from backend.posters.layout import KINDS, Layout, parse_layout

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "poster_templates"


class Assets:
    """Read-only view of one template directory with in-memory caches."""

    def __init__(self, root: Path | str = TEMPLATES_DIR) -> None:
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._images: dict[str, Image.Image] = {}
        self._fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    def path(self, name: str) -> Path:
        """The file for an asset name; refuses names that leave the directory."""
        target = (self.root / name).resolve()
        if self.root not in target.parents:
            raise ValueError(f"asset outside the template directory: {name!r}")
        return target

    def exists(self, name: str) -> bool:
        """Whether an asset file is there (used by layout validation)."""
        try:
            return self.path(name).is_file()
        except ValueError:
            return False

    def image(self, name: str) -> Image.Image:
        """The decoded RGBA image of an asset; shared, so callers must not modify it."""
        cached = self._images.get(name)
        if cached is None:
            with Image.open(self.path(name)) as im:
                cached = im.convert("RGBA")
            with self._lock:
                self._images[name] = cached
        return cached

    def font(self, name: str, size: int) -> ImageFont.FreeTypeFont:
        """The font at a pixel size (basic layout: CJK needs no shaping, and it is faster)."""
        key = (name, size)
        cached = self._fonts.get(key)
        if cached is None:
            cached = ImageFont.truetype(str(self.path(name)), size,
                                        layout_engine=ImageFont.Layout.BASIC)
            with self._lock:
                self._fonts[key] = cached
        return cached

    def default_layout(self, kind: str) -> Layout:
        """The shipped layout for a poster kind (poster_templates/<kind>.json)."""
        if kind not in KINDS:
            raise ValueError(f"unknown poster kind: {kind!r}")
        return _parse_file(self, self.path(f"{kind}.json"))

    def default_layout_json(self, kind: str) -> str:
        """The shipped layout's JSON text, the starting point of a tenant's own template."""
        if kind not in KINDS:
            raise ValueError(f"unknown poster kind: {kind!r}")
        return self.path(f"{kind}.json").read_text(encoding="utf-8")


def _parse_file(assets: Assets, path: Path) -> Layout:
    return _parse_cached(assets, str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _parse_cached(assets: Assets, path: str, mtime_ns: int) -> Layout:
    return parse_layout(Path(path).read_text(encoding="utf-8"), asset_exists=assets.exists)


_default: Assets | None = None


def default_assets() -> Assets:
    """The process-wide Assets for poster_templates/."""
    global _default
    if _default is None:
        _default = Assets()
    return _default
