"""What a poster is about: the subject (product, shop, live room) as the poster needs it.

Each domain that owns a subject provides a loader in `backend/<domain>/poster_subjects.py`:

    POSTER_SUBJECTS = {"product": load_product_subject}

    def load_product_subject(*, tenant_id: int, subject_id: int) -> PosterSubject: ...

Loaders are found by module name (like models; create_app hands them over), so the posters domain never imports
catalog, shops or live rooms; a loader raises the domain's own NotFound for an
unknown or foreign id. `register_subject_loader` adds one by hand (tests, plugins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SCENE_KEYS = ("product_id", "shop_id", "live_room_id")


@dataclass(frozen=True)
class PosterSubject:
    """The subject's share of a poster; `version` must change whenever any of it changes."""

    id: str
    version: str
    texts: Mapping[str, str] = field(default_factory=dict)  # title, intro, start_time, …
    picture: bytes | None = None  # the picture's bytes, when the domain has them at hand
    picture_url: str | None = None  # else a URL on an allowed image host (fetched on render)
    price_fen: int | None = None
    original_price_fen: int | None = None
    scene: Mapping[str, int] = field(default_factory=dict)  # e.g. {"product_id": 12}
    page: str | None = None  # mini-program page the code opens; None: the kind's default

    def __post_init__(self) -> None:
        unknown = set(self.scene) - set(SCENE_KEYS)
        if unknown:
            raise ValueError(f"unknown scene keys: {sorted(unknown)}")


SubjectLoader = Callable[..., PosterSubject]

# Loaders registered by hand; they win over discovered ones.
SUBJECT_LOADERS: dict[str, SubjectLoader] = {}


def register_subject_loader(kind: str, loader: SubjectLoader) -> None:
    """Use `loader(tenant_id=, subject_id=)` for posters of `kind`."""
    SUBJECT_LOADERS[kind] = loader


# Loaders found by module name; create_app fills it (the posters domain imports no domain above it).
DISCOVERED: dict[str, SubjectLoader] = {}


def add_discovered(loaders: Mapping[str, SubjectLoader]) -> None:
    """Loaders of a backend/<domain>/poster_subjects.py (called by create_app)."""
    DISCOVERED.update(loaders)


def _discovered() -> dict[str, SubjectLoader]:
    return DISCOVERED


def subject_loader(kind: str) -> SubjectLoader | None:
    """The loader for a poster kind, or None when no domain provides one yet."""
    return SUBJECT_LOADERS.get(kind) or _discovered().get(kind)
