"""Generates the shipped poster backgrounds (poster_templates/images/*.png).

Run `python -m backend.posters.backgrounds` to regenerate them. They are drawn at
half the poster size (360×640) — gradients and soft shapes lose nothing when the
renderer stretches them once per layout — which keeps the repository small.
Deterministic: the same code writes the same files.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from backend.posters.assets import TEMPLATES_DIR

W, H = 360, 640

RGB = tuple[int, int, int]


def _gradient(top: RGB, bottom: RGB) -> Image.Image:
    column = Image.new("RGB", (1, H))
    for y in range(H):
        t = y / (H - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return column.resize((W, H), Image.Resampling.NEAREST)


def _glow(img: Image.Image, shapes: list[tuple[str, tuple[int, int, int, int], RGB, int]],
          blur: int) -> Image.Image:
    """Overlay soft translucent shapes (circles/ellipses), blurred."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for kind, box, color, alpha in shapes:
        if kind == "ellipse":
            d.ellipse(box, fill=(*color, alpha))
        else:
            d.rectangle(box, fill=(*color, alpha))
    layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def _rays(img: Image.Image, center: tuple[int, int], color: RGB, alpha: int, n: int) -> Image.Image:
    """Faint sunburst rays from a point (festive invite look)."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    r = 900
    for i in range(n):
        a0 = 360 / n * i
        d.pieslice((center[0] - r, center[1] - r, center[0] + r, center[1] + r),
                   a0, a0 + 360 / n / 2, fill=(*color, alpha))
    layer = layer.filter(ImageFilter.GaussianBlur(2))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def invite() -> Image.Image:
    img = _gradient((255, 94, 77), (255, 171, 94))
    img = _rays(img, (W // 2, 150), (255, 236, 200), 28, 24)
    return _glow(img, [
        ("ellipse", (-80, -80, 160, 160), (255, 230, 160), 90),
        ("ellipse", (250, 420, 460, 640), (255, 240, 200), 70),
        ("ellipse", (-60, 500, 120, 700), (255, 120, 90), 80),
    ], 18)


def product() -> Image.Image:
    img = _gradient((255, 246, 238), (255, 226, 214))
    return _glow(img, [
        ("ellipse", (200, -120, 460, 140), (255, 190, 170), 110),
        ("ellipse", (-120, 420, 140, 700), (255, 205, 180), 100),
    ], 30)


def shop() -> Image.Image:
    img = _gradient((28, 160, 140), (120, 214, 180))
    return _glow(img, [
        ("ellipse", (-100, -60, 200, 220), (180, 255, 230), 80),
        ("ellipse", (220, 360, 460, 620), (220, 255, 240), 70),
        ("rectangle", (0, 560, W, H), (255, 255, 255), 40),
    ], 24)


def live() -> Image.Image:
    img = _gradient((92, 45, 145), (233, 78, 119))
    return _glow(img, [
        ("ellipse", (180, -100, 460, 180), (255, 120, 200), 100),
        ("ellipse", (-120, 300, 160, 580), (130, 90, 255), 90),
        ("ellipse", (200, 520, 420, 740), (255, 180, 120), 70),
    ], 26)


BACKGROUNDS = {"invite": invite, "product": product, "shop": shop, "live": live}


def write_all(root: Path = TEMPLATES_DIR) -> list[Path]:
    """Write every background PNG; returns the paths written."""
    out = []
    (root / "images").mkdir(parents=True, exist_ok=True)
    for kind, make in BACKGROUNDS.items():
        path = root / "images" / f"{kind}_bg.png"
        make().save(path, "PNG", optimize=True)
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_all():
        print(p, p.stat().st_size)
