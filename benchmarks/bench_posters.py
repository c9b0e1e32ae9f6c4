"""Poster rendering speed at 720×1280: cold (cache miss) and cached, against a baseline.

Baseline, measured in the same run: Pillow encoding a blank 720×1280 RGB PNG with
its default settings — the floor any PNG-producing renderer pays.

  cold    every render has a new member (nickname, 640×640 JPEG avatar), a new
          800×800 JPEG product picture and a new QR link: decode + draw + encode.
          Fonts and the per-layout base image are warm, as in a running server.
  first   the very first render of each kind in a fresh process (loads the font,
          stretches the background), once.
  cached  the rendered-poster cache hit: key digest + file read.

Then the same through the service (`render_poster(tenant_id=, member_id=, kind=,
subject_id=)`) on SQLite with the WeChat sandbox, as a request would run it:
  service cold    tenant, member, template and credential reads, getUnlimited over
                  HTTP to the sandbox, render, cache write (a new member each time)
  service cached  the same reads, then the cache hit (no WeChat call, no render)

Usage: python benchmarks/bench_posters.py [--n 40] [--no-service]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from backend.posters.assets import Assets  # noqa: E402
from backend.posters.cache import PosterCache, PosterKey  # noqa: E402
from backend.posters.layout import KINDS  # noqa: E402
from backend.posters.render import PosterData, QrText, render_image, render_poster  # noqa: E402

TEXTS = {
    "shop_name": "思语优选旗舰店", "headline": "好物自用省钱，分享还能赚",
    "invite_code": "K8M2QX", "title": "云南高山有机普洱茶 357g 七子饼 2019年春茶 古树纯料",
    "intro": "精选全球好物，正品保障，七天无理由退换。店主亲测推荐，每周上新。",
    "start_time": "今晚 20:00",
}


def photo(rng: random.Random, size: int) -> bytes:
    """A photo-like JPEG: gradient, shapes and sensor noise (compresses like a photo)."""
    img = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    tint = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    img = Image.blend(img, tint, 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = rng.randrange(size), rng.randrange(size), rng.randrange(20, size // 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((size, size), 24).convert("RGB")
    img = Image.blend(img, noise, 0.15)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def data_for(rng: random.Random, i: int) -> PosterData:
    return PosterData(
        qr=QrText(f"https://m.siyu.example/s/t42?scene=p%3D{880000 + i}%26k%3Dproduct%26s%3D{i}"),
        nickname=f"会员{i:05d}的小店长昵称",
        avatar=photo(rng, 640),
        product_image=photo(rng, 800),
        price_fen=rng.randrange(100, 10_000_000),
        original_price_fen=rng.randrange(10_000_000, 20_000_000),
        texts=TEXTS,
    )


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(name: str, samples: list[float], base_p50: float) -> str:
    p50, p95 = pct(samples, 0.5), pct(samples, 0.95)
    return f"{name:<28}{p50:>9.2f}{p95:>9.2f}{p50 / base_p50:>9.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="renders per kind")
    parser.add_argument("--no-service", action="store_true", help="skip the service measures")
    args = parser.parse_args()
    rng = random.Random(7)
    assets = Assets()

    first = {}
    for kind in KINDS:  # fresh process: nothing loaded yet
        d = data_for(rng, 0)
        t0 = time.perf_counter()
        render_poster(assets.default_layout(kind), d, assets=assets)
        first[kind] = (time.perf_counter() - t0) * 1000

    blank = Image.new("RGB", (720, 1280), (255, 255, 255))

    def encode_blank() -> None:
        blank.save(io.BytesIO(), "PNG")

    baseline = timed(encode_blank, args.n * 2)
    base_p50 = statistics.median(baseline)

    inputs = [data_for(rng, i) for i in range(1, args.n * len(KINDS) + 1)]
    cold: dict[str, list[float]] = {}
    pillow_encode: list[float] = []
    outputs: list[tuple[str, int, bytes]] = []
    it = iter(inputs)
    for kind in KINDS:
        layout = assets.default_layout(kind)
        cold[kind] = []
        for _ in range(args.n):
            d = next(it)
            t0 = time.perf_counter()
            png = render_poster(layout, d, assets=assets)
            cold[kind].append((time.perf_counter() - t0) * 1000)
            outputs.append((kind, len(outputs), png))
        img = render_image(layout, inputs[0], assets=assets)
        pillow_encode += timed(lambda img=img: img.save(io.BytesIO(), "PNG"), 5)

    with tempfile.TemporaryDirectory() as tmp:
        cache = PosterCache(tmp)
        keys = []
        for kind, i, png in outputs:
            key = PosterKey(tenant_id=42, kind=kind, template="default:abc", member_id=i,
                            member_version="1", subject_id=str(i), subject_version="3",
                            qr=f"url:{i}")
            cache.put(key, png)
            keys.append(key)
        order = iter(rng.sample(keys, len(keys)) * 2)
        cached = timed(lambda: cache.get(next(order)), len(keys))

    service = None if args.no_service else bench_service(rng, args.n)

    all_cold = [x for v in cold.values() for x in v]
    sizes = [len(png) for _, _, png in outputs]
    print(f"posters 720x1280, n={args.n} per kind, times in ms")
    print(f"{'':<28}{'p50':>9}{'p95':>9}{'vs base':>10}")
    print(row("baseline: blank PNG encode", baseline, base_p50))
    for kind in KINDS:
        print(row(f"cold {kind}", cold[kind], base_p50))
    print(row("cold, all kinds", all_cold, base_p50))
    print(row("cached (file hit)", cached, base_p50))
    print(row("(Pillow encoder, poster)", pillow_encode, base_p50))
    if service is not None:
        print(row("service cold, product", service[0], base_p50))
        print(row("service cached, product", service[1], base_p50))
    print("first render in process: " + ", ".join(f"{k} {v:.0f}" for k, v in first.items()))
    print(f"PNG size: median {statistics.median(sizes) / 1024:.0f} KiB, max {max(sizes) / 1024:.0f} KiB")


def bench_service(rng: random.Random, n: int) -> tuple[list[float], list[float]]:
    """render_poster through the service: cold (new members) and cached, on SQLite."""

    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow
    from backend.members.service import upsert_member
    from backend.migrate import upgrade
    from backend.posters import service as posters
    from backend.posters.subjects import PosterSubject, register_subject_loader
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials
    from backend.wechat.sandbox import start_sandbox

    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.sqlite"
    upgrade(url)
    sandbox = start_sandbox(port=0)
    app = create_app(load_settings({"DATABASE_URL": url, "WECHAT_MODE": "sandbox",
                                    "WECHAT_SANDBOX_URL": sandbox.url}))
    app.config["POSTER_CACHE_DIR"] = f"{tmp.name}/cache"
    picture = photo(rng, 800)
    register_subject_loader("product", lambda *, tenant_id, subject_id: PosterSubject(
        id=str(subject_id), version="1", texts={"title": TEXTS["title"]}, picture=picture,
        price_fen=12900, original_price_fen=19900, scene={"product_id": subject_id}))
    try:
        with app.app_context():
            with unit_of_work():
                tenant = create_tenant(slug="benchbrand", name="思语优选旗舰店", credentials=(
                    demo_credentials("benchbrand", pay_notify_url="http://127.0.0.1/n")
                    .to_flat()))
                members = [upsert_member(tenant_id=tenant.id, openid=f"o{i}",
                                         nickname=f"会员{i:05d}", now=utcnow())
                           for i in range(n + 1)]
            ids = [m.id for m in members]

            def one(member_id: int) -> None:
                posters.render_poster(tenant_id=tenant.id, member_id=member_id, kind="product",
                                      subject_id=7)

            one(ids[0])  # connections, token, first font use
            it = iter(ids[1:])
            cold = timed(lambda: one(next(it)), n)
            again = iter(ids[1:] * 3)
            cached = timed(lambda: one(next(again)), n * 3)
    finally:
        sandbox.stop()
        tmp.cleanup()
    return cold, cached


if __name__ == "__main__":
    main()
