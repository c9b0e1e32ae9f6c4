"""Pulled stream addresses: scheme, public hosts only, and what kind of stream it is."""

from __future__ import annotations

import pytest

from backend.live.streams import StreamRefused, check_stream_url

PUBLIC = ["111.62.1.10"]


@pytest.mark.parametrize(("url", "platform", "fmt"), [
    ("https://pull-hls-f1.douyincdn.com/stage/stream-1.m3u8", "douyin", "hls"),
    ("rtmp://pull-flv.kwaicdn.com/live/abc", "kuaishou", "rtmp"),
    ("https://tx.flv.huya.com/src/123.flv", "yy", "flv"),
    ("https://cdn.example.com/replay/show.mp4", "other", "mp4"),
    ("http://111.62.1.10/live/x.m3u8", "other", "hls"),
])
def test_public_streams_are_accepted_with_their_platform_and_format(url, platform, fmt):
    info = check_stream_url(url, PUBLIC)
    assert (info.platform, info.format) == (platform, fmt)


@pytest.mark.parametrize(("url", "addresses", "message"), [
    ("ftp://cdn.example.com/a.mp4", PUBLIC, "直播流地址须以 https://、http:// 或 rtmp:// 开头"),
    ("file:///etc/passwd", PUBLIC, "直播流地址须以 https://、http:// 或 rtmp:// 开头"),
    ("https://127.0.0.1/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://10.0.0.5/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://192.168.1.2:8080/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://169.254.169.254/latest/meta-data", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://[::1]/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://[::ffff:10.0.0.1]/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://0.0.0.0/live.m3u8", [], "直播流地址不能指向内网、本机或保留地址"),
    ("https://localhost/live.m3u8", PUBLIC, "直播流地址不能指向内网或本机"),
    ("https://stream.corp.internal/live.m3u8", PUBLIC, "直播流地址不能指向内网或本机"),
    ("https://intranet/live.m3u8", PUBLIC, "直播流地址不能指向内网或本机"),
    ("https://evil.example.com/live.m3u8", ["10.1.2.3"], "直播流地址不能指向内网、本机或保留地址"),
    ("https://mixed.example.com/live.m3u8", ["111.62.1.10", "127.0.0.1"], "直播流地址不能指向内网、本机或保留地址"),
    ("https://nowhere.example.com/live.m3u8", [], "直播流域名无法解析"),
    ("https://user:pw@cdn.example.com/a.m3u8", PUBLIC, "直播流地址不能包含用户名或密码"),
    ("https://cdn.example.com:99999/a.m3u8", PUBLIC, "直播流地址格式不正确"),
    ("", PUBLIC, "直播流地址为空或过长"),
])
def test_private_loopback_link_local_and_odd_addresses_are_refused(url, addresses, message):
    with pytest.raises(StreamRefused) as exc:
        check_stream_url(url, addresses)
    assert str(exc.value) == message
