"""The poster renderer: a validated layout + one member's data → PNG bytes.

Pure: no Flask, no SQLAlchemy, no Redis, no clock; it reads only the template
assets (fonts, backgrounds), which `Assets` keeps in memory. The parts of a layout
that are the same on every poster (background, panels, fixed text) are drawn once
per layout and reused, so a render costs the member's own pieces plus the PNG
encoding.

Fallbacks: a missing or unreadable avatar becomes the nickname's first character
on a coloured circle; a missing product picture becomes a plain rounded panel;
characters the font cannot draw (emoji in nicknames) are dropped rather than shown
as boxes. A QR payload that cannot be drawn raises QrUnavailable: a poster without
a working code is worse than none.
"""

from __future__ import annotations

import colorsys
import io
import struct
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import qrcode
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from backend.money import yuan
from backend.posters.assets import Assets, default_assets
from backend.posters.errors import QrUnavailable
from backend.posters.layout import (
    AvatarBox,
    Color,
    Element,
    ImageBox,
    Layout,
    ProductImageBox,
    QrBox,
    RectBox,
    TextBox,
    fill_placeholders,
    is_static,
    placeholders,
)

ELLIPSIS = "…"
DEFAULT_NICKNAME = "微信用户"
DEFAULT_PICTURE_TAGLINE = "店主精选 · 品质好物"
PNG_ZLIB_LEVEL = 2  # 1–3 compress several times faster than 6 and only ~10 % larger
MAX_SOURCE_PIXELS = 40_000_000  # refuse to decode absurd uploads (decompression bombs)
QR_QUIET_MODULES = 2  # white modules around the code inside the QR box
MIN_QR_MODULE_PX = 2
_SUPERSAMPLE = 4  # masks are drawn larger and reduced, for smooth circle and corner edges


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class QrImage:
    """A ready code image (a mini-program code from getUnlimited), PNG/JPEG bytes."""

    image: bytes


@dataclass(frozen=True)
class QrText:
    """Text to encode as a plain QR code (a share link carrying the promoter's scene)."""

    text: str


QrPayload = QrImage | QrText


@dataclass(frozen=True)
class PosterData:
    """What one poster shows about its member and subject."""

    qr: QrPayload
    nickname: str = ""
    avatar: bytes | None = None
    product_image: bytes | None = None
    price_fen: int | None = None
    original_price_fen: int | None = None
    texts: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- text


@lru_cache(maxsize=8192)
def _glyph_state(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    mask = font.getmask(ch)
    if mask.getbbox() is None:
        return False
    return bytes(mask) != _notdef(font)


@lru_cache(maxsize=64)
def _notdef(font: ImageFont.FreeTypeFont) -> bytes:
    # U+10FFFD is a private-use code point no CJK font maps: it draws the .notdef box
    return bytes(font.getmask("\U0010fffd"))


def has_glyph(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    """Whether the font draws `ch` as a real glyph (not empty, not the .notdef box)."""
    if ch.isspace():
        return True
    return _glyph_state(font, ch)


def missing_glyphs(text: str, font: ImageFont.FreeTypeFont) -> list[str]:
    """The characters of `text` the font would draw as tofu (or not at all)."""
    return [ch for ch in dict.fromkeys(text) if not has_glyph(font, ch)]


def clean_text(text: str, font: ImageFont.FreeTypeFont, *, keep_newlines: bool = False) -> str:
    """Drop control characters and characters without a glyph; keep newlines if asked."""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch in "\r\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif has_glyph(font, ch):
            out.append(ch)
    return "".join(out)


def _fit_prefix(text: str, font: ImageFont.FreeTypeFont, max_width: float, suffix: str = "") -> int:
    """The longest k with width(text[:k] + suffix) <= max_width (0 if none)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid] + suffix) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: int, *, force: bool = False) -> str:
    """Clip text to max_width pixels, ending in "…" when anything was cut (or `force`)."""
    if not force and font.getlength(text) <= max_width:
        return text
    k = _fit_prefix(text, font, max_width, ELLIPSIS)
    return text[:k].rstrip() + ELLIPSIS


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: int, max_lines: int) -> list[str]:
    """Break text into at most max_lines lines of max_width px; the last ends in "…" if cut.

    Chinese breaks between any two characters; a run of Latin letters/digits is kept
    whole when the line has an earlier space to break at.
    """
    lines: list[str] = []
    truncated = False
    for para in text.split("\n"):
        rest = para
        while True:
            if len(lines) == max_lines:
                truncated = True
                break
            k = _fit_prefix(rest, font, max_width)
            if k >= len(rest):
                lines.append(rest)
                break
            k = max(k, 1)  # a box narrower than one character still makes progress
            if _is_word_char(rest[k - 1]) and _is_word_char(rest[k]):
                space = rest.rfind(" ", 0, k)
                if space > 0:
                    k = space + 1
            lines.append(rest[:k].rstrip())
            rest = rest[k:].lstrip(" ")
            if not rest:
                break
        if truncated:
            break
    if truncated and lines:
        lines[-1] = ellipsize(lines[-1], font, max_width, force=True)
    return lines


# --------------------------------------------------------------------------- drawing helpers


@lru_cache(maxsize=128)
def _rounded_mask(width: int, height: int, radius: int) -> Image.Image:
    if radius <= 0:
        return Image.new("L", (width, height), 255)
    s = _SUPERSAMPLE
    big = Image.new("L", (width * s, height * s), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, width * s - 1, height * s - 1),
                                          radius=radius * s, fill=255)
    return big.resize((width, height), Image.Resampling.LANCZOS)


@lru_cache(maxsize=64)
def _circle_mask(size: int) -> Image.Image:
    s = _SUPERSAMPLE
    big = Image.new("L", (size * s, size * s), 0)
    ImageDraw.Draw(big).ellipse((0, 0, size * s - 1, size * s - 1), fill=255)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _scaled(mask: Image.Image, alpha: int) -> Image.Image:
    return mask if alpha >= 255 else mask.point(lambda v: v * alpha // 255)


def _fill(img: Image.Image, x: int, y: int, mask: Image.Image, color: Color) -> None:
    if color[3] == 0:
        return
    img.paste(color[:3], (x, y, x + mask.width, y + mask.height), _scaled(mask, color[3]))


def _paste(img: Image.Image, src: Image.Image, x: int, y: int, mask: Image.Image | None) -> None:
    if src.mode == "RGBA":
        alpha = src.getchannel("A")
        if mask is not None:
            alpha = Image.composite(alpha, Image.new("L", alpha.size, 0), mask)
        img.paste(src.convert("RGB"), (x, y), alpha)
    else:
        img.paste(src, (x, y), mask)


def _cover(im: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop to exactly width×height in one resize (ImageOps.fit, faster)."""
    scale = max(width / im.width, height / im.height)
    crop_w, crop_h = width / scale, height / scale
    left, top = (im.width - crop_w) / 2, (im.height - crop_h) / 2
    # bicubic is indistinguishable from Lanczos near 1:1 and ~40 % cheaper; Lanczos keeps
    # heavy reductions (a 640 px avatar into 96 px) free of aliasing
    method = Image.Resampling.BICUBIC if scale >= 0.5 else Image.Resampling.LANCZOS
    return im.resize((width, height), method,
                     box=(left, top, left + crop_w, top + crop_h), reducing_gap=3.0)


def _decode(data: bytes | None, width: int, height: int, *, cover: bool) -> Image.Image | None:
    """Decode uploaded bytes and fit them to the box; None when absent or unreadable."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > MAX_SOURCE_PIXELS:
                return None
            source.draft("RGB", (width, height))  # JPEG: decode at a reduced scale, much faster
            im = ImageOps.exif_transpose(source)
            im = im.convert("RGBA" if ("A" in im.getbands() or "transparency" in im.info)
                            else "RGB")
            if cover:
                return _cover(im, width, height)
            im.thumbnail((width, height), Image.Resampling.LANCZOS)
            return im
    except Exception:  # noqa: BLE001 — Pillow raises a zoo of types on bad input; all mean "unreadable"
        return None


class _Painter:
    def __init__(self, img: Image.Image, layout: Layout, assets: Assets) -> None:
        self.img = img
        self.layout = layout
        self.assets = assets
        self.draw = ImageDraw.Draw(img)

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return self.assets.font(self.layout.font, size)

    # -- elements

    def rect(self, e: RectBox) -> None:
        _fill(self.img, e.x, e.y, _rounded_mask(e.width, e.height, e.radius), e.color)

    def image(self, e: ImageBox) -> None:
        src = _cover(self.assets.image(e.src), e.width, e.height)
        mask = _rounded_mask(e.width, e.height, e.radius) if e.radius else None
        _paste(self.img, src, e.x, e.y, mask)

    def avatar(self, e: AvatarBox, data: PosterData) -> None:
        # the border is drawn inside the box, so the box is exactly what validation checked
        x, y, size = e.x, e.y, e.size
        if e.border_width:
            _fill(self.img, x, y, _circle_mask(size), e.border_color)
            x, y, size = x + e.border_width, y + e.border_width, size - 2 * e.border_width
        mask = _circle_mask(size)
        picture = _decode(data.avatar, size, size, cover=True)
        if picture is not None:
            if picture.mode == "RGBA":  # transparent avatars sit on the placeholder colour
                _fill(self.img, x, y, mask, e.placeholder_color)
            _paste(self.img, picture, x, y, mask)
            return
        _fill(self.img, x, y, mask, e.placeholder_color)
        font = self.font(max(8, int(size * 0.46)))
        name = clean_text(data.nickname, font).strip() or DEFAULT_NICKNAME
        self._text((x + size / 2, y + size / 2), name[0].upper(), font,
                   e.placeholder_text_color, anchor="mm")

    def product_image(self, e: ProductImageBox, data: PosterData) -> None:
        mask = _rounded_mask(e.width, e.height, e.radius)
        picture = _decode(data.product_image, e.width, e.height, cover=True)
        if picture is None:
            # no banner or picture (a new shop, a product without one): a designed panel
            # in the layout's colour with the subject's name, never an empty box
            _paste(self.img, self._default_picture(e, data), e.x, e.y, mask)
            return
        if picture.mode == "RGBA":
            _fill(self.img, e.x, e.y, mask, e.placeholder_color)
        _paste(self.img, picture, e.x, e.y, mask if e.radius else None)

    def _default_picture(self, e: ProductImageBox, data: PosterData) -> Image.Image:
        """A soft diagonal gradient from the placeholder colour, two glows, and the
        subject's name (shop or product) with a tagline, centred."""
        w, h = e.width, e.height
        base = e.placeholder_color[:3]
        hue, sat, val = colorsys.rgb_to_hsv(*(c / 255 for c in base))
        # placeholder colours are pale; the panel runs from it to a richer tone of its hue
        # (a grey placeholder gets a warm one) so it reads as designed, not as missing
        if sat < 0.05:
            hue = 0.07
        light = tuple(min(255, c + 20) for c in base)
        deep = tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue, max(sat, 0.45), 0.82))
        dark_panel = False  # both ends stay light enough for dark type
        ramp = Image.linear_gradient("L").resize((w, h)).rotate(30, expand=False,
                                                                fillcolor=128)
        panel = Image.composite(Image.new("RGB", (w, h), deep), Image.new("RGB", (w, h), light),
                                ramp)
        glow = Image.new("L", (w, h), 0)
        gd = ImageDraw.Draw(glow)
        gd.ellipse((int(w * 0.55), -int(h * 0.25), int(w * 1.25), int(h * 0.45)), fill=90)
        gd.ellipse((-int(w * 0.3), int(h * 0.6), int(w * 0.4), int(h * 1.3)), fill=70)
        glow = glow.filter(ImageFilter.GaussianBlur(max(4, w // 20)))
        panel.paste((255, 255, 255), (0, 0), glow)
        draw = ImageDraw.Draw(panel)
        ink = (255, 255, 255) if dark_panel else (60, 50, 45)
        name = data.texts.get("title") or data.texts.get("shop_name") or ""
        size = max(12, min(h // 6, w // 8))
        font = self.font(size)
        lines = wrap_text(clean_text(name, font), font, int(w * 0.8), 2)
        tag_font = self.font(max(10, size // 2))
        tagline = clean_text(DEFAULT_PICTURE_TAGLINE, tag_font)
        line_h = int(size * 1.3)
        block = line_h * len(lines) + int(size * 0.9)
        y = (h - block) // 2
        for line in lines:
            draw.text((w / 2, y), line, font=font, fill=ink, anchor="ma")
            y += line_h
        draw.line((w * 0.38, y + size * 0.25, w * 0.62, y + size * 0.25), fill=ink,
                  width=max(1, size // 16))
        draw.text((w / 2, y + size * 0.45), tagline, font=tag_font, fill=ink, anchor="ma")
        return panel

    def text(self, e: TextBox, data: PosterData) -> None:
        font = self.font(e.font_size)
        if e.type == "nickname":
            nickname = clean_text(data.nickname, font).strip() or DEFAULT_NICKNAME
            raw = fill_placeholders(e.text, {"nickname": nickname})
            lines = [ellipsize(raw, font, e.width)]
        else:
            values = {k: clean_text(v, font, keep_newlines=True) for k, v in data.texts.items()}
            values.setdefault("nickname", clean_text(data.nickname, font).strip()
                              or DEFAULT_NICKNAME)
            if any(not values.get(name, "").strip() for name in placeholders(e.text)):
                return  # "邀请码：{invite_code}" without a code is left out, not half-drawn
            raw = clean_text(fill_placeholders(e.text, values), font, keep_newlines=True)
            lines = wrap_text(raw, font, e.width, e.max_lines)
        ascent, descent = font.getmetrics()
        for i, line in enumerate(lines):
            if not line:
                continue
            top = e.y + i * e.line_height + (e.line_height - ascent - descent) / 2
            x = self._aligned_x(e, font.getlength(line))
            self._text((x, top + ascent), line, font, e.color, bold=e.bold)

    def price(self, e: TextBox, data: PosterData) -> None:
        fen = data.price_fen if e.field == "price" else data.original_price_fen
        if fen is None:
            return
        font = self.font(e.font_size)
        small = self.font(max(8, round(e.font_size * 0.6)))
        number = yuan(fen)
        prefix_w = small.getlength(e.prefix) if e.prefix else 0.0
        total = prefix_w + font.getlength(number)
        if total > e.width:  # never spill out of the box: fall back to one size
            number = ellipsize(e.prefix + number, font, e.width)
            prefix_w, total, small_text = 0.0, font.getlength(number), ""
        else:
            small_text = e.prefix
        ascent, descent = font.getmetrics()
        baseline = e.y + (e.line_height - ascent - descent) / 2 + ascent
        x = self._aligned_x(e, total)
        if small_text:
            self._text((x, baseline), small_text, small, e.color, bold=e.bold)
        self._text((x + prefix_w, baseline), number, font, e.color, bold=e.bold)
        if e.strikethrough:
            mid = round(baseline - ascent * 0.32)
            thickness = max(1, e.font_size // 14)
            self.draw.rectangle((round(x), mid - thickness // 2, round(x + total),
                                 mid - thickness // 2 + thickness - 1), fill=e.color[:3])

    def qr(self, e: QrBox, data: PosterData) -> None:
        _fill(self.img, e.x, e.y, _rounded_mask(e.size, e.size, e.padding), e.background)
        inner = e.size - 2 * e.padding
        if isinstance(data.qr, QrText):
            code = qr_code_image(data.qr.text, inner)
            self.img.paste(code, (e.x + e.padding + (inner - code.width) // 2,
                                  e.y + e.padding + (inner - code.height) // 2))
            return
        picture = _decode(data.qr.image, inner, inner, cover=False)
        if picture is None:
            raise QrUnavailable("小程序码图片无法读取")
        _paste(self.img, picture, e.x + e.padding + (inner - picture.width) // 2,
               e.y + e.padding + (inner - picture.height) // 2, None)

    # -- primitives

    def _aligned_x(self, e: TextBox, width: float) -> float:
        if e.align == "center":
            return e.x + (e.width - width) / 2
        if e.align == "right":
            return e.x + e.width - width
        return e.x

    def _text(self, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont,
              color: Color, *, bold: bool = False, anchor: str = "ls") -> None:
        stroke = max(1, font.size // 28) if bold else 0
        if color[3] >= 255:
            self.draw.text(xy, text, font=font, fill=color[:3], anchor=anchor,
                           stroke_width=stroke, stroke_fill=color[:3])
            return
        box = self.draw.textbbox(xy, text, font=font, anchor=anchor, stroke_width=stroke)
        x0, y0 = int(box[0]) - 1, int(box[1]) - 1
        layer = Image.new("L", (int(box[2]) - x0 + 2, int(box[3]) - y0 + 2), 0)
        ImageDraw.Draw(layer).text((xy[0] - x0, xy[1] - y0), text, font=font, fill=255,
                                   anchor=anchor, stroke_width=stroke, stroke_fill=255)
        _fill(self.img, x0, y0, layer, color)

    def element(self, e: Element, data: PosterData | None) -> None:
        if isinstance(e, RectBox):
            self.rect(e)
        elif isinstance(e, ImageBox):
            self.image(e)
        elif data is None:
            if isinstance(e, TextBox):  # a static text block drawn into the base
                self.text(e, PosterData(qr=QrText("")))
        elif isinstance(e, AvatarBox):
            self.avatar(e, data)
        elif isinstance(e, ProductImageBox):
            self.product_image(e, data)
        elif isinstance(e, QrBox):
            self.qr(e, data)
        elif e.type == "price":
            self.price(e, data)
        else:
            self.text(e, data)


# --------------------------------------------------------------------------- QR


def qr_code_image(text: str, size: int) -> Image.Image:
    """A plain QR code of `text`, black on white, at most size×size, whole-pixel modules."""
    if not text:
        raise QrUnavailable("二维码内容为空")
    matrix = _qr_matrix(text)
    n = len(matrix)
    modules = n + 2 * QR_QUIET_MODULES
    px = size // modules
    if px < MIN_QR_MODULE_PX:
        raise QrUnavailable("二维码内容过长，无法在海报上清晰显示")
    raw = b"".join(bytes(0 if cell else 255 for cell in row) for row in matrix)
    code = Image.frombytes("L", (n, n), raw).resize((n * px, n * px), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (modules * px, modules * px), (255, 255, 255))
    canvas.paste(code, (QR_QUIET_MODULES * px, QR_QUIET_MODULES * px))
    return canvas


@lru_cache(maxsize=256)
def _qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    try:
        qr.add_data(text)
        qr.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        raise QrUnavailable("二维码内容过长，无法生成") from exc
    return tuple(tuple(row) for row in qr.get_matrix())


# --------------------------------------------------------------------------- entry points


def _static_prefix(layout: Layout) -> int:
    n = 0
    for e in layout.elements:
        if not is_static(e):
            break
        n += 1
    return n


@lru_cache(maxsize=64)
def _base(layout: Layout, assets: Assets) -> Image.Image:
    """Background plus the leading elements that never change; shared, never modified."""
    w, h = layout.canvas.width, layout.canvas.height
    img = Image.new("RGB", (w, h), layout.background.color[:3])
    if layout.background.image:
        bg = assets.image(layout.background.image)
        if bg.size != (w, h):
            bg = bg.resize((w, h), Image.Resampling.LANCZOS)
        _paste(img, bg, 0, 0, None)
    painter = _Painter(img, layout, assets)
    for e in layout.elements[: _static_prefix(layout)]:
        painter.element(e, None)
    return img


def render_image(layout: Layout, data: PosterData, *, assets: Assets | None = None) -> Image.Image:
    """Draw the poster and return the Pillow image (RGB)."""
    assets = assets or default_assets()
    img = _base(layout, assets).copy()
    painter = _Painter(img, layout, assets)
    for e in layout.elements[_static_prefix(layout):]:
        painter.element(e, data)
    return img


def encode_png(img: Image.Image, *, level: int = PNG_ZLIB_LEVEL) -> bytes:
    """Lossless PNG bytes of an RGB image, written with the "Up" filter on every row.

    Pillow's encoder tries every filter on every row, which costs more than the
    compression itself (about twice this writer's time at 720×1280). "Up" is what
    posters want anyway: backgrounds are vertical gradients and flat panels. The
    filter is one C call (subtract_modulo against the image shifted down a row).
    """
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    prior = Image.new("RGB", (w, h), (0, 0, 0))
    prior.paste(img.crop((0, 0, w, h - 1)), (0, 1))
    filtered = ImageChops.subtract_modulo(img, prior).tobytes()
    stride = w * 3
    raw = b"".join(b"\x02" + filtered[i:i + stride] for i in range(0, len(filtered), stride))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


def render_poster(layout: Layout, data: PosterData, *, assets: Assets | None = None) -> bytes:
    """Render the poster to PNG bytes."""
    return encode_png(render_image(layout, data, assets=assets))
