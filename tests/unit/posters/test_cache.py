"""The rendered-poster file cache: any change of version makes a different key."""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

import pytest

from backend.posters.cache import PosterCache, PosterKey

KEY = PosterKey(tenant_id=7, kind="product", template="12:3", member_id=501, member_version="4",
                subject_id="9001", subject_version="2", qr="mp:p=501&s=9001")


def test_a_stored_poster_comes_back_byte_for_byte(tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    assert cache.get(KEY) is None
    cache.put(KEY, b"\x89PNG-poster")
    assert cache.get(KEY) == b"\x89PNG-poster"


@pytest.mark.parametrize("change", [
    {"template": "12:4"}, {"member_version": "5"}, {"subject_version": "3"},
    {"subject_id": "9002"}, {"member_id": 502}, {"kind": "shop"}, {"tenant_id": 8},
    {"qr": "url:https://m.siyu.example/s?p=501"},
])
def test_changing_any_part_of_the_key_misses_the_old_poster(change: dict, tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    cache.put(KEY, b"old")
    assert cache.get(dataclasses.replace(KEY, **change)) is None


def test_purging_a_tenant_drops_only_its_posters(tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    other = dataclasses.replace(KEY, tenant_id=8)
    cache.put(KEY, b"a")
    cache.put(other, b"b")
    cache.purge_tenant(7)
    assert (cache.get(KEY), cache.get(other)) == (None, b"b")


def test_prune_removes_posters_unused_since_the_cutoff(tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    fresh = dataclasses.replace(KEY, member_id=1)
    cache.put(KEY, b"old")
    cache.put(fresh, b"new")
    old_file = next(p for p in tmp_path.rglob("*.png") if p.read_bytes() == b"old")
    os.utime(old_file, (1_000_000, 1_000_000))
    assert cache.prune(unused_since=2_000_000) == 1
    assert (cache.get(KEY), cache.get(fresh)) == (None, b"new")


def test_a_hit_marks_the_file_used_so_prune_keeps_it(tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    cache.put(KEY, b"x")
    path = next(tmp_path.rglob("*.png"))
    os.utime(path, (1_000_000, 1_000_000))
    cache.get(KEY)
    assert cache.prune(unused_since=2_000_000) == 0


def test_concurrent_writers_of_one_key_leave_one_whole_file(tmp_path: Path) -> None:
    cache = PosterCache(tmp_path)
    bodies = [bytes([i]) * 200_000 for i in range(8)]
    threads = [threading.Thread(target=cache.put, args=(KEY, b)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get(KEY) in bodies
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{KEY.digest()}.png"]
