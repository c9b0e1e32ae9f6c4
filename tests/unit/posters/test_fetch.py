"""Poster pictures are fetched only over HTTPS from the allowed image hosts."""

from __future__ import annotations

import pytest

from backend.posters.fetch import DEFAULT_IMAGE_HOSTS, allowed, fetch_image


@pytest.mark.parametrize("url", [
    "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
    "https://wx.qlogo.cn/mmhead/xyz/0",
    "https://mmbiz.qpic.cn/mmbiz_jpg/abc/0?wx_fmt=jpeg",
])
def test_wechat_avatar_and_media_urls_are_allowed(url: str) -> None:
    assert allowed(url, DEFAULT_IMAGE_HOSTS)


@pytest.mark.parametrize("url", [
    "http://thirdwx.qlogo.cn/mmopen/abc/132",  # not https
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://127.0.0.1:5080/api/v1/admin/members",
    "https://thirdwx.qlogo.cn.evil.example/a.png",  # suffix trick
    "https://evilqlogo.cn/a.png",
    "https://user:pw@thirdwx.qlogo.cn/a.png",
    "file:///etc/passwd",
    "",
    "https://[::1/",  # unparsable
])
def test_anything_else_is_refused(url: str) -> None:
    assert not allowed(url, DEFAULT_IMAGE_HOSTS)


def test_a_refused_url_is_not_fetched_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetched a refused URL")

    monkeypatch.setattr(requests, "get", boom)
    assert fetch_image("https://127.0.0.1/admin") is None
    assert fetch_image(None) is None
