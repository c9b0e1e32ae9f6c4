"""Poster layouts: the JSON format of poster_templates/ parsed into frozen dataclasses.

Pure: no Flask, no SQLAlchemy, no clock. Whether an image or font named by a layout
exists is asked through the `asset_exists` callable, so the same validation serves
shipped templates and tenant-edited ones. Every problem found is reported with the
path of the field ("elements[2].x") and a Chinese reason; nothing is half-accepted.
See poster_templates/README.md for the format.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.posters.errors import InvalidTemplate

FORMAT_VERSION = 1
KINDS: tuple[str, ...] = ("invite", "product", "shop", "live", "certificate")
DEFAULT_FONT = "fonts/wqy-microhei.ttc"

MIN_CANVAS, MAX_CANVAS = 100, 2000
MAX_ELEMENTS = 60
MAX_TEXT_CHARS = 500
MIN_FONT, MAX_FONT = 8, 200
MAX_LINES = 20
MIN_QR_SIZE = 80

Color = tuple[int, int, int, int]

_IMAGE_EXT = (".png", ".jpg", ".jpeg")
_FONT_EXT = (".ttf", ".ttc", ".otf")
_COLOR_RE = re.compile(r"^#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]{0,31})\}")
_ASSET_RE = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*\.[A-Za-z0-9]+$")

ALIGNS = ("left", "center", "right")
PRICE_FIELDS = ("price", "original_price")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int


@dataclass(frozen=True)
class Background:
    color: Color
    image: str | None  # asset path, stretched to the canvas


@dataclass(frozen=True)
class RectBox:
    """A decorative filled (rounded) rectangle."""

    x: int
    y: int
    width: int
    height: int
    color: Color
    radius: int


@dataclass(frozen=True)
class ImageBox:
    """A fixed image from the template's assets (logo, badge)."""

    x: int
    y: int
    width: int
    height: int
    src: str
    radius: int


@dataclass(frozen=True)
class AvatarBox:
    """The member's avatar, a circle of diameter `size` (border drawn inside it).

    When the avatar is missing, the nickname's first character on a coloured circle.
    """

    x: int
    y: int
    size: int
    border_width: int
    border_color: Color
    placeholder_color: Color
    placeholder_text_color: Color


@dataclass(frozen=True)
class ProductImageBox:
    """The subject's picture (product, shop banner, live cover), cropped to fill."""

    x: int
    y: int
    width: int
    height: int
    radius: int
    placeholder_color: Color


@dataclass(frozen=True)
class TextBox:
    """Text: a nickname (one line), a free text with {placeholders}, or a price.

    `width` is the maximum width; text longer than `max_lines` lines ends in "…".
    """

    type: str  # "nickname" | "text" | "price"
    x: int
    y: int
    width: int
    font_size: int
    color: Color
    align: str
    max_lines: int
    line_height: int
    bold: bool
    text: str  # "text": the template string; "nickname": prefix/suffix around {nickname}
    field: str  # "price": which price ("price" | "original_price"); else ""
    prefix: str  # "price": the currency mark, drawn smaller
    strikethrough: bool

    @property
    def height(self) -> int:
        return self.max_lines * self.line_height

    @property
    def is_static(self) -> bool:
        return self.type == "text" and not _PLACEHOLDER_RE.search(self.text)


@dataclass(frozen=True)
class QrBox:
    """Where the QR code (or mini-program code) goes; `background` fills the box."""

    x: int
    y: int
    size: int
    background: Color
    padding: int


Element = RectBox | ImageBox | AvatarBox | ProductImageBox | TextBox | QrBox


@dataclass(frozen=True)
class Layout:
    canvas: Canvas
    background: Background
    font: str
    elements: tuple[Element, ...]

    @property
    def qr(self) -> QrBox:
        return next(e for e in self.elements if isinstance(e, QrBox))

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset path the layout names (font first)."""
        names = [self.font]
        if self.background.image:
            names.append(self.background.image)
        names.extend(e.src for e in self.elements if isinstance(e, ImageBox))
        return tuple(names)


def is_static(element: Element) -> bool:
    """Whether an element looks the same on every poster of the layout."""
    if isinstance(element, (RectBox, ImageBox)):
        return True
    return isinstance(element, TextBox) and element.is_static


def placeholders(text: str) -> list[str]:
    """The {name} placeholders a text template uses, in order."""
    return _PLACEHOLDER_RE.findall(text)


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace {name} by values[name]; unknown names become empty (never a format-string)."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), text)


# --------------------------------------------------------------------------- parsing


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


_MISSING = object()


class _Fields:
    """Reads one JSON object's fields, recording problems; refuses unknown keys."""

    def __init__(self, raw: Any, path: str, problems: _Problems, allowed: set[str]) -> None:
        self.path = path
        self.problems = problems
        self.ok = isinstance(raw, dict)
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not self.ok:
            problems.add(path, "缺少必填字段" if raw is _MISSING else "必须是对象")
            return
        for key in self.raw:
            if key not in allowed:
                problems.add(self._p(str(key)), "未知字段")

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path != "$" else key

    def _get(self, key: str, required: bool) -> Any:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING and required and self.ok:
            self.problems.add(self._p(key), "缺少必填字段")
        return value

    def int(self, key: str, *, lo: int, hi: int, default: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default if default is not None else lo
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(self._p(key), "必须是整数")
            return default if default is not None else lo
        if not lo <= value <= hi:
            self.problems.add(self._p(key), f"必须在 {lo} 到 {hi} 之间")
            return min(max(value, lo), hi)
        return value

    def bool(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problems.add(self._p(key), "必须是 true 或 false")
            return default
        return value

    def color(self, key: str, *, default: str | None = None) -> Color:
        value = self._get(key, default is None)
        if value is _MISSING:
            value = default or "#000000"
        match = _COLOR_RE.match(value) if isinstance(value, str) else None
        if match is None:
            self.problems.add(self._p(key), "颜色格式应为 #RRGGBB 或 #RRGGBBAA")
            return (0, 0, 0, 255)
        rgb, alpha = match.group(1), match.group(2) or "ff"
        return (int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), int(alpha, 16))

    def choice(self, key: str, options: tuple[str, ...], *, default: str) -> str:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if value not in options:
            self.problems.add(self._p(key), "取值必须是 " + " / ".join(options) + " 之一")
            return default
        return str(value)

    def text(self, key: str, *, default: str | None = None, max_chars: builtins.int = MAX_TEXT_CHARS) -> str:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default or ""
        if not isinstance(value, str):
            self.problems.add(self._p(key), "必须是字符串")
            return default or ""
        if len(value) > max_chars:
            self.problems.add(self._p(key), f"不能超过 {max_chars} 个字符")
        return value

    # builtins.*: inside this class `int` and `bool` name the methods above.
    def asset(self, key: str, exts: tuple[str, ...], exists: Callable[[str], builtins.bool], *,
              required: builtins.bool) -> str | None:
        value = self._get(key, required)
        if value is _MISSING or (value is None and not required):
            return None
        path = self._p(key)
        if not isinstance(value, str) or not _ASSET_RE.match(value) or ".." in value:
            self.problems.add(path, "资源路径必须是模板目录内的相对路径")
            return None
        if not value.lower().endswith(exts):
            self.problems.add(path, "文件类型必须是 " + " / ".join(exts) + " 之一")
            return None
        if not exists(value):
            self.problems.add(path, f"文件不存在：{value}")
            return None
        return value


def _inside(problems: _Problems, path: str, canvas: Canvas, x: int, y: int, w: int, h: int) -> None:
    """Record a problem for each canvas edge the box crosses."""
    if x + w > canvas.width:
        problems.add(f"{path}.x", f"超出画布右边界（x + 宽度 = {x + w} > {canvas.width}）")
    if y + h > canvas.height:
        problems.add(f"{path}.y", f"超出画布下边界（y + 高度 = {y + h} > {canvas.height}）")


_BOX = {"type", "x", "y"}
_TEXT_COMMON = _BOX | {"width", "font_size", "color", "align", "bold", "line_height"}
_ALLOWED: dict[str, set[str]] = {
    "rect": _BOX | {"width", "height", "color", "radius"},
    "image": _BOX | {"width", "height", "src", "radius"},
    "avatar": _BOX | {"size", "border_width", "border_color", "placeholder_color",
                      "placeholder_text_color"},
    "product_image": _BOX | {"width", "height", "radius", "placeholder_color"},
    "nickname": _TEXT_COMMON | {"text"},
    "text": _TEXT_COMMON | {"text", "max_lines"},
    "price": _TEXT_COMMON | {"field", "prefix", "strikethrough"},
    "qr": _BOX | {"size", "background", "padding"},
}
ELEMENT_TYPES: tuple[str, ...] = tuple(_ALLOWED)


def _element(raw: Any, path: str, canvas: Canvas, problems: _Problems,
             exists: Callable[[str], bool]) -> Element | None:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if isinstance(raw, dict) and kind not in _ALLOWED:
        problems.add(f"{path}.type", "元素类型必须是 " + " / ".join(ELEMENT_TYPES) + " 之一")
        return None
    f = _Fields(raw, path, problems, _ALLOWED.get(str(kind), set()))
    if not f.ok:
        return None
    before = len(problems.items)
    x = f.int("x", lo=0, hi=canvas.width - 1)
    y = f.int("y", lo=0, hi=canvas.height - 1)
    element: Element
    if kind in ("rect", "image", "product_image"):
        w = f.int("width", lo=1, hi=MAX_CANVAS)
        h = f.int("height", lo=1, hi=MAX_CANVAS)
        radius = f.int("radius", lo=0, hi=MAX_CANVAS, default=0)
        if radius * 2 > min(w, h):
            problems.add(f"{path}.radius", "圆角半径不能超过宽高较小者的一半")
        if kind == "rect":
            element = RectBox(x, y, w, h, f.color("color"), radius)
        elif kind == "image":
            src = f.asset("src", _IMAGE_EXT, exists, required=True)
            element = ImageBox(x, y, w, h, src or "", radius)
        else:
            element = ProductImageBox(x, y, w, h, radius,
                                      f.color("placeholder_color", default="#EEEEEE"))
    elif kind == "avatar":
        size = f.int("size", lo=16, hi=MAX_CANVAS)
        border = f.int("border_width", lo=0, hi=max(0, size // 4), default=0)
        w = h = size
        element = AvatarBox(x, y, size, border, f.color("border_color", default="#FFFFFF"),
                            f.color("placeholder_color", default="#F0A050"),
                            f.color("placeholder_text_color", default="#FFFFFF"))
    elif kind == "qr":
        size = f.int("size", lo=MIN_QR_SIZE, hi=MAX_CANVAS)
        padding = f.int("padding", lo=0, hi=size // 4, default=8)
        w = h = size
        element = QrBox(x, y, size, f.color("background", default="#FFFFFF"), padding)
    else:  # nickname, text, price
        w = f.int("width", lo=1, hi=MAX_CANVAS)
        font_size = f.int("font_size", lo=MIN_FONT, hi=MAX_FONT)
        line_height = f.int("line_height", lo=font_size, hi=MAX_FONT * 3,
                            default=round(font_size * 1.4))
        max_lines = f.int("max_lines", lo=1, hi=MAX_LINES, default=1) if kind == "text" else 1
        text = ""
        if kind == "text":
            text = f.text("text")
            if not text.strip():
                problems.add(f"{path}.text", "文字不能为空")
        elif kind == "nickname":
            text = f.text("text", default="{nickname}", max_chars=60)
            if placeholders(text) != ["nickname"]:
                problems.add(f"{path}.text", "必须且只能包含一次 {nickname}")
        field = f.choice("field", PRICE_FIELDS, default="price") if kind == "price" else ""
        prefix = f.text("prefix", default="¥", max_chars=4) if kind == "price" else ""
        h = max_lines * line_height
        element = TextBox(str(kind), x, y, w, font_size, f.color("color", default="#333333"),
                          f.choice("align", ALIGNS, default="left"), max_lines, line_height,
                          f.bool("bold", default=False), text, field, prefix,
                          f.bool("strikethrough", default=False) if kind == "price" else False)
    if len(problems.items) == before:  # geometry only makes sense once the numbers are sound
        _inside(problems, path, canvas, x, y, w, h)
    return element


def parse_layout(raw: Any, *, asset_exists: Callable[[str], bool]) -> Layout:
    """Validate a layout (JSON text or decoded object) and return it; raise InvalidTemplate."""
    problems = _Problems()
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise InvalidTemplate([{"field": "$", "message": "不是合法的 JSON"}]) from None
    top = _Fields(raw, "$", problems, {"format", "canvas", "background", "font", "elements"})
    if not top.ok:
        raise InvalidTemplate(problems.items)
    fmt = top._get("format", True)
    if fmt is not _MISSING and fmt != FORMAT_VERSION:
        problems.add("format", f"只支持格式版本 {FORMAT_VERSION}")

    before_canvas = len(problems.items)
    cf = _Fields(top.raw.get("canvas", _MISSING), "canvas", problems, {"width", "height"})
    canvas = Canvas(cf.int("width", lo=MIN_CANVAS, hi=MAX_CANVAS) if cf.ok else 720,
                    cf.int("height", lo=MIN_CANVAS, hi=MAX_CANVAS) if cf.ok else 1280)
    if len(problems.items) > before_canvas:
        # without a sound canvas every geometry check would be noise
        raise InvalidTemplate(problems.items)

    bf = _Fields(top.raw.get("background", {"color": "#FFFFFF"}), "background", problems,
                 {"color", "image"})
    background = Background(bf.color("color", default="#FFFFFF"),
                            bf.asset("image", _IMAGE_EXT, asset_exists, required=False))
    font = top.asset("font", _FONT_EXT, asset_exists, required=False) or DEFAULT_FONT

    elements: list[Element] = []
    raw_elements = top._get("elements", True)
    if raw_elements is not _MISSING:
        if not isinstance(raw_elements, list):
            problems.add("elements", "必须是数组")
        elif len(raw_elements) > MAX_ELEMENTS:
            problems.add("elements", f"元素不能超过 {MAX_ELEMENTS} 个")
        else:
            for i, item in enumerate(raw_elements):
                el = _element(item, f"elements[{i}]", canvas, problems, asset_exists)
                if el is not None:
                    elements.append(el)
            qrs = [i for i, item in enumerate(raw_elements)
                   if isinstance(item, dict) and item.get("type") == "qr"]
            if not qrs:
                problems.add("elements", "必须包含一个二维码（qr）元素")
            for i in qrs[1:]:
                problems.add(f"elements[{i}]", "只能有一个二维码（qr）元素")
    if problems.items:
        raise InvalidTemplate(problems.items)
    return Layout(canvas, background, font, tuple(elements))
