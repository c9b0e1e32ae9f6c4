"""The renderer: QR codes that scan, real Chinese glyphs, ellipses, circles, fallbacks."""

from __future__ import annotations

import copy
import io
import json

import pytest
import qrcode
from PIL import Image, ImageFont

from backend.posters.assets import Assets
from backend.posters.errors import QrUnavailable
from backend.posters.layout import (
    KINDS,
    AvatarBox,
    Layout,
    ProductImageBox,
    TextBox,
    parse_layout,
)
from backend.posters.render import (
    ELLIPSIS,
    PosterData,
    QrImage,
    QrText,
    clean_text,
    ellipsize,
    encode_png,
    has_glyph,
    missing_glyphs,
    qr_code_image,
    render_image,
    render_poster,
    wrap_text,
)
from tests.unit.posters.conftest import SHARE_URL, TEXTS, read_qr_texts, solid_png

BLUE = (20, 60, 220)
GREEN = (30, 200, 90)


def sample(**changes: object) -> PosterData:
    base: dict[str, object] = {
        "qr": QrText(SHARE_URL), "nickname": "阿明", "avatar": solid_png(BLUE),
        "product_image": solid_png(GREEN, (800, 600), "JPEG"), "price_fen": 12900,
        "original_price_fen": 19900, "texts": TEXTS,
    }
    base.update(changes)
    return PosterData(**base)  # type: ignore[arg-type]


def first(layout: Layout, cls: type, **attrs: object):  # noqa: ANN201
    return next(e for e in layout.elements if isinstance(e, cls)
                and all(getattr(e, k) == v for k, v in attrs.items()))


def font(assets: Assets, size: int = 32) -> ImageFont.FreeTypeFont:
    return assets.font("fonts/wqy-microhei.ttc", size)


def near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- QR


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_a_png_of_its_canvas_whose_qr_scans_to_the_link(kind: str,
                                                                          assets: Assets) -> None:
    layout = assets.default_layout(kind)
    png = render_poster(layout, sample())
    image = Image.open(io.BytesIO(png))
    # share posters are 720×1280; the agent certificate is a landscape document
    size = (1000, 720) if kind == "certificate" else (720, 1280)
    assert (image.format, image.size) == ("PNG", size)
    assert (layout.canvas.width, layout.canvas.height) == size
    assert read_qr_texts(png) == [SHARE_URL]


def test_a_mini_program_code_image_is_placed_as_given_and_still_scans(assets: Assets) -> None:
    code = qrcode.make("scene=p%3D42", box_size=10, border=4)
    buf = io.BytesIO()
    code.save(buf, "PNG")
    png = render_poster(assets.default_layout("product"), sample(qr=QrImage(buf.getvalue())))
    assert read_qr_texts(png) == ["scene=p%3D42"]


def test_a_plain_qr_has_whole_pixel_modules_and_fits_its_box() -> None:
    image = qr_code_image(SHARE_URL, 244)
    modules = len(qrcode_matrix(SHARE_URL)) + 4  # the code plus a 2-module quiet zone each side
    assert image.width == image.height <= 244
    assert image.width % modules == 0 and image.width // modules >= 2


def qrcode_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def test_a_link_too_long_for_the_box_is_refused_rather_than_drawn_unreadable() -> None:
    with pytest.raises(QrUnavailable) as caught:
        qr_code_image("https://m.siyu.example/" + "x" * 600, 120)
    assert caught.value.code == "poster_qr_unavailable"


def test_an_unreadable_mini_program_code_raises_qr_unavailable(assets: Assets) -> None:
    with pytest.raises(QrUnavailable):
        render_poster(assets.default_layout("invite"), sample(qr=QrImage(b"\x89PNG broken")))


# --------------------------------------------------------------------------- Chinese text


def test_the_shipped_font_has_real_glyphs_for_every_template_text(assets: Assets) -> None:
    f = font(assets)
    texts = []
    for kind in KINDS:
        raw = json.loads(assets.default_layout_json(kind))
        texts += [e["text"] for e in raw["elements"] if "text" in e]
    texts += list(TEXTS.values()) + ["¥129.00", ELLIPSIS, "阿明", "龘鬱齉"]
    sample_text = "".join(texts).replace("{", "").replace("}", "")
    assert missing_glyphs(sample_text, f) == []


def test_a_real_glyph_differs_from_the_notdef_box(assets: Assets) -> None:
    f = font(assets)
    notdef = bytes(f.getmask("\U0010fffd"))
    for ch in "邀请码思语":
        mask = f.getmask(ch)
        assert mask.getbbox() is not None
        assert bytes(mask) != notdef
    assert has_glyph(f, "中") and not has_glyph(f, "\U0001f600")


def test_characters_without_a_glyph_are_dropped_not_drawn_as_boxes(assets: Assets) -> None:
    f = font(assets)
    assert missing_glyphs("小明😀🌸", f) == ["😀", "🌸"]
    assert clean_text("小明😀\u200d🌸\n\x07好", f) == "小明 好"
    assert clean_text("第一行\n第二行", f, keep_newlines=True) == "第一行\n第二行"


def test_an_emoji_only_nickname_renders_as_the_default_name(assets: Assets) -> None:
    layout = assets.default_layout("product")
    with_emoji = render_image(layout, sample(nickname="😀😀"))
    default = render_image(layout, sample(nickname="微信用户"))
    assert with_emoji.tobytes() == default.tobytes()


# --------------------------------------------------------------------------- ellipsis and wrapping


def test_a_long_nickname_is_clipped_to_the_pixel_width_with_an_ellipsis(assets: Assets) -> None:
    f = font(assets)
    name = "小红帽的外婆家住在大森林的另一边ABCdefg"
    clipped = ellipsize(name, f, 300)
    assert clipped.endswith(ELLIPSIS)
    assert f.getlength(clipped) <= 300
    kept = clipped[:-1]
    assert name.startswith(kept)
    assert f.getlength(name[: len(kept) + 1] + ELLIPSIS) > 300  # the longest prefix that fits


def test_a_short_nickname_is_left_whole(assets: Assets) -> None:
    assert ellipsize("阿明", font(assets), 300) == "阿明"


def test_wrapped_text_keeps_to_max_lines_and_ends_in_an_ellipsis(assets: Assets) -> None:
    f = font(assets, 26)
    text = "精选全球好物，正品保障，七天无理由退换。店主亲测推荐，每周上新，关注不迷路，欢迎常来逛逛。" * 2
    lines = wrap_text(text, f, 400, 3)
    assert len(lines) == 3
    assert all(f.getlength(line) <= 400 for line in lines)
    assert lines[-1].endswith(ELLIPSIS)
    assert "".join(lines[:2]) == text[: len("".join(lines[:2]))]


def test_text_that_fits_is_not_ellipsized(assets: Assets) -> None:
    f = font(assets, 26)
    assert wrap_text("第一行\n第二行", f, 400, 3) == ["第一行", "第二行"]


def test_latin_words_are_not_broken_across_lines(assets: Assets) -> None:
    f = font(assets, 26)
    text = "买 Cappuccino coffee beans 送 grinder"
    lines = wrap_text(text, f, 200, 5)
    assert " ".join(lines).split() == text.split()


# --------------------------------------------------------------------------- avatar and pictures


def test_the_avatar_is_a_circle(assets: Assets) -> None:
    layout = assets.default_layout("live")  # its avatar has no border
    box = first(layout, AvatarBox)
    image = render_image(layout, sample())
    centre = image.getpixel((box.x + box.size // 2, box.y + box.size // 2))
    corner = image.getpixel((box.x + 3, box.y + 3))
    edge_mid = image.getpixel((box.x + 2, box.y + box.size // 2))
    assert near(centre, BLUE) and near(edge_mid, BLUE, 60)
    assert not near(corner, BLUE, 60)


def test_the_avatar_border_is_drawn_inside_its_box(assets: Assets) -> None:
    layout = assets.default_layout("invite")
    box = first(layout, AvatarBox)
    image = render_image(layout, sample())
    assert near(image.getpixel((box.x + box.size // 2, box.y + 2)), (255, 255, 255))
    assert near(image.getpixel((box.x + box.size // 2, box.y + box.border_width + 4)), BLUE)


def test_a_missing_avatar_falls_back_to_the_first_character_on_a_colour(assets: Assets) -> None:
    layout = assets.default_layout("live")
    box = first(layout, AvatarBox)
    ming = render_image(layout, sample(avatar=None, nickname="阿明"))
    hong = render_image(layout, sample(avatar=None, nickname="小红"))
    crop = (box.x, box.y, box.x + box.size, box.y + box.size)
    assert near(ming.getpixel((box.x + 8, box.y + box.size // 2)), box.placeholder_color[:3])
    assert ming.crop(crop).tobytes() != hong.crop(crop).tobytes()  # a different initial
    colours = ming.crop(crop).getcolors(box.size * box.size)
    assert any(near(c, (255, 255, 255), 20) for _, c in colours)  # the white initial


def test_unreadable_avatar_bytes_fall_back_like_no_avatar(assets: Assets) -> None:
    layout = assets.default_layout("invite")
    broken = render_image(layout, sample(avatar=b"<html>404</html>"))
    missing = render_image(layout, sample(avatar=None))
    assert broken.tobytes() == missing.tobytes()


def test_a_missing_picture_gets_a_designed_panel_with_the_name(assets: Assets) -> None:
    layout = assets.default_layout("shop")
    box = first(layout, ProductImageBox)
    shop_texts = {k: v for k, v in TEXTS.items() if k != "title"}  # a shop has a name, no title
    named = render_image(layout, sample(product_image=None, texts={**shop_texts, "shop_name": "阿明的小店"}))
    other = render_image(layout, sample(product_image=None, texts={**shop_texts, "shop_name": "另一家店铺"}))
    area = (box.x, box.y, box.x + box.width, box.y + box.height)
    region = named.crop(area)
    # not an empty box: a gradient of many tones, with dark type for the shop's name
    assert len(region.getcolors(maxcolors=1 << 16) or []) > 100
    middle = region.crop((box.width // 4, box.height // 3, box.width * 3 // 4, box.height * 2 // 3))
    assert min(sum(px) for px in middle.getdata()) < 3 * 90
    assert region.tobytes() != other.crop(area).tobytes()


def test_the_product_picture_fills_its_box_with_rounded_corners(assets: Assets) -> None:
    layout = assets.default_layout("product")
    box = first(layout, ProductImageBox)
    image = render_image(layout, sample())
    assert near(image.getpixel((box.x + box.width // 2, box.y + box.height // 2)), GREEN)
    assert near(image.getpixel((box.x + box.width - 3, box.y + box.height // 2)), GREEN)
    assert not near(image.getpixel((box.x + 1, box.y + 1)), GREEN, 40)


def test_a_huge_declared_image_is_treated_as_missing(assets: Assets) -> None:
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # 81 Mpx, tiny file
    layout = assets.default_layout("product")
    assert render_image(layout, sample(product_image=bomb.getvalue())).tobytes() == \
        render_image(layout, sample(product_image=None)).tobytes()


# --------------------------------------------------------------------------- prices and texts


def _has_colour(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, ...]) -> bool:
    region = image.crop(box)
    return any(near(c, colour, 30) for _, c in region.getcolors(region.width * region.height))


def test_the_price_is_drawn_only_when_the_subject_has_one(assets: Assets) -> None:
    layout = assets.default_layout("product")
    price = first(layout, TextBox, type="price", field="price")
    area = (price.x, price.y, price.x + price.width, price.y + price.height)
    red = price.color[:3]
    assert _has_colour(render_image(layout, sample()), area, red)
    assert not _has_colour(render_image(layout, sample(price_fen=None)), area, red)


def test_a_longer_price_takes_more_width(assets: Assets) -> None:
    layout = assets.default_layout("product")
    price = first(layout, TextBox, type="price", field="price")
    area = (price.x, price.y, price.x + price.width, price.y + price.height)

    def right_edge(fen: int) -> int:
        region = render_image(layout, sample(price_fen=fen)).crop(area)
        red = [x for x in range(region.width) for y in range(0, region.height, 2)
               if near(region.getpixel((x, y)), price.color[:3], 30)]
        return max(red)

    assert right_edge(123456789) > right_edge(990)


def test_a_text_with_a_missing_placeholder_is_left_out(assets: Assets) -> None:
    layout = assets.default_layout("invite")
    code = first(layout, TextBox, text="邀请码：{invite_code}")
    area = (code.x, code.y, code.x + code.width, code.y + code.height)
    without = render_image(layout, sample(texts={**TEXTS, "invite_code": ""})).crop(area)
    assert without.getcolors() == [(without.width * without.height, (255, 255, 255))]
    with_code = render_image(layout, sample()).crop(area)
    assert _has_colour(with_code, (0, 0, with_code.width, with_code.height), code.color[:3])


def test_translucent_colours_blend_with_what_is_under_them(assets: Assets) -> None:
    raw = {"format": 1, "canvas": {"width": 200, "height": 200},
           "background": {"color": "#000000"},
           "elements": [{"type": "rect", "x": 0, "y": 0, "width": 200, "height": 200,
                         "color": "#FFFFFF80"},
                        {"type": "qr", "x": 100, "y": 100, "size": 96}]}
    image = render_image(parse_layout(raw, asset_exists=assets.exists), sample())
    assert near(image.getpixel((10, 10)), (128, 128, 128), 2)


# --------------------------------------------------------------------------- output


def test_the_png_writer_is_lossless(assets: Assets) -> None:
    image = render_image(assets.default_layout("live"), sample())
    decoded = Image.open(io.BytesIO(encode_png(image)))
    assert decoded.mode == "RGB" and decoded.tobytes() == image.tobytes()


def test_rendering_twice_gives_identical_bytes(assets: Assets) -> None:
    layout = assets.default_layout("shop")
    assert render_poster(layout, sample()) == render_poster(layout, sample())


def test_a_static_text_after_a_dynamic_element_is_still_drawn(assets: Assets) -> None:
    raw = json.loads(assets.default_layout_json("product"))
    moved = copy.deepcopy(raw)
    hint = next(e for e in moved["elements"] if e.get("text") == "长按识别 立即购买")
    moved["elements"].remove(hint)
    moved["elements"].append(hint)
    a = render_image(parse_layout(raw, asset_exists=assets.exists), sample())
    b = render_image(parse_layout(moved, asset_exists=assets.exists), sample())
    assert a.tobytes() == b.tobytes()
