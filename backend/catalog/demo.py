"""Demo products of the demo tenant: tea with two SKUs, an agents-only restock pack
with per-level prices (level keys of docs/examples/three_plus_three.json), a cup; each
in a category and with a picture drawn with Pillow at seed time (stored through the
catalog's image store, served at /api/v1/media/…)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from backend.catalog.images import store_image
from backend.catalog.service import SkuSpec, create_product
from backend.config import ROOT

FONT = ROOT / "poster_templates" / "fonts" / "wqy-microhei.ttc"

AGENT_PRICES = {"l1": 6800, "l2": 7800, "l3": 8800}


def product_picture(title: str, subtitle: str, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A square product picture: a vertical gradient, a soft disc, the name and a line."""
    size = 800
    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    for y in range(size):
        t = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    draw.ellipse((170, 110, 630, 570), fill=tuple(min(255, c + 40) for c in top), outline=(255, 255, 255), width=6)
    big, small = ImageFont.truetype(str(FONT), 72), ImageFont.truetype(str(FONT), 36)
    draw.text((size // 2, 340), title[:6], font=big, fill=(255, 255, 255), anchor="mm")
    draw.text((size // 2, 660), subtitle, font=small, fill=(255, 255, 255), anchor="mm")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _picture(tenant: Any, title: str, subtitle: str, top: tuple[int, int, int],
             bottom: tuple[int, int, int]) -> str:
    return store_image(tenant_id=tenant.id, data=product_picture(title, subtitle, top, bottom), actor="demo").url


def seed(tenant: Any) -> None:
    """Create the demo products (called once, inside the demo unit of work). Their level
    keys are those of the 3+3 plan (docs/examples); catalog cannot read the plan
    (rewards is above it), so they are not checked against it here."""
    tea = _picture(tenant, "明前龙井", "2026 春茶 · 西湖产区", (76, 140, 74), (22, 66, 40))
    pack = _picture(tenant, "代理进货装", "龙井 10 罐 · 仅限代理", (150, 110, 60), (70, 45, 20))
    cup = _picture(tenant, "紫砂品茗杯", "手工拉坯", (140, 70, 50), (60, 30, 25))
    create_product(tenant_id=tenant.id, name="明前龙井", subtitle="2026 春茶 · 西湖产区", on_shelf=True,
                   category="茶叶", image_url=tea, actor="demo", known_levels=None, skus=[
                       SkuSpec(name="250g 罐装", price_fen=12800, cost_fen=5000, stock=200,
                               level_prices=AGENT_PRICES),
                       SkuSpec(name="500g 礼盒", price_fen=23800, cost_fen=9000, stock=80)])
    create_product(tenant_id=tenant.id, name="代理进货装 · 龙井 10 罐", subtitle="仅限代理", on_shelf=True,
                   allowed_levels=sorted(AGENT_PRICES), category="代理专区", image_url=pack,
                   actor="demo", known_levels=None, skus=[
                       SkuSpec(name="10 × 250g", price_fen=128000, cost_fen=50000, stock=50,
                               level_prices={k: v * 10 for k, v in AGENT_PRICES.items()})])
    create_product(tenant_id=tenant.id, name="紫砂品茗杯", subtitle="手工拉坯", on_shelf=True, category="茶具",
                   image_url=cup, actor="demo", known_levels=None,
                   skus=[SkuSpec(name="单只", price_fen=3900, cost_fen=1200, stock=500)])
