"""The rendered-poster cache: PNG files named by a digest of everything a poster shows.

Why files and not a table or Redis: a poster is ~200 KB and is read whole; MariaDB
rows of that size bloat the buffer pool and backups, Redis memory is the dearest
place to keep them, and a file read is the cheapest hit there is. The cache is only
an optimisation — losing it costs one render per poster — so a per-host directory
(the instance folder, or any shared mount set in POSTER_CACHE_DIR) is enough.

Invalidation is by key: the key holds the template's version, the member's profile
version, the subject's version and the QR payload (scene / link), so any change
makes a new key and the old file is never read again. `prune` deletes files not
read for a while; `purge_tenant` drops a tenant's posters at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

# Bump when the renderer's output changes for the same inputs (new drawing code).
RENDERER_VERSION = 1


@dataclass(frozen=True)
class PosterKey:
    """Everything that decides a poster's pixels, as strings/ints."""

    tenant_id: int
    kind: str
    template: str  # "<template id>:<version>" or "default:<hash of the shipped file>"
    member_id: int
    member_version: str  # changes when nickname or avatar change
    subject_id: str  # product / shop / live-room id ("" for invite posters)
    subject_version: str  # changes when the subject's picture, title or price change
    qr: str  # the scene or link the code carries, and its form ("mp:…" / "url:…")

    def digest(self) -> str:
        body = json.dumps([RENDERER_VERSION, asdict(self)], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


class PosterCache:
    """PNG files under root/<tenant>/<2 hex>/<digest>.png, written atomically."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: PosterKey) -> Path:
        digest = key.digest()
        return self.root / str(int(key.tenant_id)) / digest[:2] / f"{digest}.png"

    def get(self, key: PosterKey) -> bytes | None:
        """The cached PNG for key, or None."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            os.utime(path)  # marks it used, for prune()
        except OSError:
            pass
        return data

    def put(self, key: PosterKey, png: bytes) -> None:
        """Store a PNG; concurrent writers of one key leave one whole file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(png)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def purge_tenant(self, tenant_id: int) -> None:
        """Drop every cached poster of a tenant (e.g. after a bulk template change)."""
        shutil.rmtree(self.root / str(int(tenant_id)), ignore_errors=True)

    def prune(self, *, unused_since: float) -> int:
        """Delete files last used before the POSIX time `unused_since`; returns how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("*/*/*.png"):
            try:
                if path.stat().st_mtime < unused_since:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
