"""Layout validation: shipped templates pass; bad ones are refused with field and reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from backend.errors import DomainError
from backend.posters.assets import Assets
from backend.posters.errors import InvalidTemplate
from backend.posters.layout import (
    KINDS,
    AvatarBox,
    QrBox,
    TextBox,
    fill_placeholders,
    parse_layout,
)

BASE: dict[str, Any] = {
    "format": 1,
    "canvas": {"width": 720, "height": 1280},
    "background": {"color": "#FFFFFF"},
    "elements": [
        {"type": "rect", "x": 40, "y": 40, "width": 640, "height": 400, "color": "#FFEEDD"},
        {"type": "qr", "x": 260, "y": 900, "size": 200},
    ],
}


def layout_with(*elements: dict[str, Any], **top: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["elements"].extend(elements)
    raw.update(top)
    return raw


def refuse(raw: Any, assets: Assets) -> InvalidTemplate:
    with pytest.raises(InvalidTemplate) as caught:
        parse_layout(raw, asset_exists=assets.exists)
    return caught.value


SHARE_KINDS = [k for k in KINDS if k != "certificate"]


@pytest.mark.parametrize("kind", SHARE_KINDS)
def test_every_shipped_share_template_is_valid_720_by_1280_with_one_qr(kind: str, assets: Assets) -> None:
    layout = assets.default_layout(kind)
    assert (layout.canvas.width, layout.canvas.height) == (720, 1280)
    assert sum(isinstance(e, QrBox) for e in layout.elements) == 1
    assert layout.background.image == f"images/{kind}_bg.png"
    assert any(isinstance(e, AvatarBox) for e in layout.elements)


def test_the_certificate_template_is_landscape_with_one_verification_qr(assets: Assets) -> None:
    # an agent certificate (代理证书) is a document, not a share poster: landscape, no avatar
    layout = assets.default_layout("certificate")
    assert layout.canvas.width > layout.canvas.height
    assert sum(isinstance(e, QrBox) for e in layout.elements) == 1


def test_a_minimal_layout_parses_with_defaults_filled_in(assets: Assets) -> None:
    layout = parse_layout(layout_with({"type": "text", "x": 40, "y": 500, "width": 640,
                                       "font_size": 30, "text": "你好 {nickname}"}),
                          asset_exists=assets.exists)
    text = layout.elements[-1]
    assert isinstance(text, TextBox)
    assert (text.max_lines, text.line_height, text.align, text.color) == (1, 42, "left",
                                                                          (51, 51, 51, 255))
    assert layout.font == "fonts/wqy-microhei.ttc"
    assert layout.qr.size == 200 and layout.qr.padding == 8


def test_json_text_is_accepted_as_well_as_objects(assets: Assets) -> None:
    assert parse_layout(json.dumps(BASE), asset_exists=assets.exists).canvas.height == 1280


def test_the_error_is_a_400_domain_error_with_code_invalid_template(assets: Assets) -> None:
    err = refuse(layout_with(colour="#FFFFFF"), assets)
    assert isinstance(err, DomainError)
    assert (err.code, err.http_status) == ("invalid_template", 400)
    assert err.to_dict()["details"] == [{"field": "colour", "message": "未知字段"}]
    assert err.message.startswith("海报模板无效：colour：未知字段")


def test_an_unknown_field_inside_an_element_is_named_with_its_path(assets: Assets) -> None:
    err = refuse(layout_with({"type": "rect", "x": 0, "y": 0, "width": 10, "height": 10,
                              "color": "#000000", "opacity": 0.5}), assets)
    assert err.fields == ["elements[2].opacity"]


def test_an_unknown_element_type_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "video", "x": 0, "y": 0}), assets)
    assert err.fields == ["elements[2].type"]


def test_a_box_past_the_right_edge_is_refused_with_the_overflow(assets: Assets) -> None:
    err = refuse(layout_with({"type": "rect", "x": 700, "y": 0, "width": 100, "height": 10,
                              "color": "#000000"}), assets)
    assert err.problems == [{"field": "elements[2].x",
                             "message": "超出画布右边界（x + 宽度 = 800 > 720）"}]


def test_a_text_block_whose_lines_pass_the_bottom_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "text", "x": 0, "y": 1200, "width": 100, "font_size": 30,
                              "line_height": 40, "max_lines": 3, "text": "介绍"}), assets)
    assert err.problems == [{"field": "elements[2].y",
                             "message": "超出画布下边界（y + 高度 = 1320 > 1280）"}]


def test_a_negative_coordinate_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "avatar", "x": -5, "y": 10, "size": 100}), assets)
    assert err.problems == [{"field": "elements[2].x", "message": "必须在 0 到 719 之间"}]


def test_a_missing_background_image_is_refused(assets: Assets) -> None:
    err = refuse(layout_with(background={"image": "images/nope.png"}), assets)
    assert err.problems == [{"field": "background.image", "message": "文件不存在：images/nope.png"}]


def test_a_missing_element_image_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "image", "x": 0, "y": 0, "width": 50, "height": 50,
                              "src": "images/logo.png"}), assets)
    assert err.fields == ["elements[2].src"]


@pytest.mark.parametrize("path", ["../backend/money.py.png", "/etc/passwd.png",
                                  "images/../../secret.png", "images\\bg.png"])
def test_asset_paths_outside_the_template_directory_are_refused(path: str, assets: Assets) -> None:
    err = refuse(layout_with(background={"image": path}), assets)
    assert err.problems == [{"field": "background.image",
                             "message": "资源路径必须是模板目录内的相对路径"}]


def test_a_font_must_be_a_font_file_that_exists(assets: Assets) -> None:
    assert refuse(layout_with(font="images/invite_bg.png"), assets).fields == ["font"]
    assert refuse(layout_with(font="fonts/simsun.ttf"), assets).fields == ["font"]


def test_a_layout_without_a_qr_box_is_refused(assets: Assets) -> None:
    raw = copy.deepcopy(BASE)
    raw["elements"] = raw["elements"][:1]
    assert refuse(raw, assets).problems == [{"field": "elements",
                                             "message": "必须包含一个二维码（qr）元素"}]


def test_a_second_qr_box_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "qr", "x": 0, "y": 0, "size": 100}), assets)
    assert err.fields == ["elements[2]"]


def test_a_qr_box_too_small_to_scan_is_refused(assets: Assets) -> None:
    raw = copy.deepcopy(BASE)
    raw["elements"][1]["size"] = 40
    assert refuse(raw, assets).problems == [{"field": "elements[1].size",
                                             "message": "必须在 80 到 2000 之间"}]


@pytest.mark.parametrize(("value", "message"), [
    (12.0, "必须是整数"), ("12", "必须是整数"), (True, "必须是整数"),
])
def test_coordinates_must_be_whole_numbers(value: Any, message: str, assets: Assets) -> None:
    err = refuse(layout_with({"type": "avatar", "x": value, "y": 10, "size": 100}), assets)
    assert err.problems == [{"field": "elements[2].x", "message": message}]


@pytest.mark.parametrize("color", ["red", "#FFF", "#GGGGGG", 0xFFFFFF, "#FFFFFF0"])
def test_colours_must_be_hex(color: Any, assets: Assets) -> None:
    err = refuse(layout_with(background={"color": color}), assets)
    assert err.problems == [{"field": "background.color",
                             "message": "颜色格式应为 #RRGGBB 或 #RRGGBBAA"}]


def test_a_nickname_template_must_contain_the_nickname_once(assets: Assets) -> None:
    err = refuse(layout_with({"type": "nickname", "x": 0, "y": 0, "width": 300, "font_size": 30,
                              "text": "店主"}), assets)
    assert err.problems == [{"field": "elements[2].text", "message": "必须且只能包含一次 {nickname}"}]


def test_a_radius_larger_than_half_the_box_is_refused(assets: Assets) -> None:
    err = refuse(layout_with({"type": "rect", "x": 0, "y": 0, "width": 100, "height": 40,
                              "color": "#000000", "radius": 30}), assets)
    assert err.fields == ["elements[2].radius"]


def test_every_problem_is_reported_at_once(assets: Assets) -> None:
    err = refuse(layout_with(
        {"type": "rect", "x": 700, "y": 0, "width": 100, "height": 10, "color": "#000000"},
        {"type": "price", "x": 0, "y": 0, "width": 200, "font_size": 3, "field": "cost"},
        background={"color": "#FFFFFF", "image": "images/missing.png"},
        format=2,
    ), assets)
    assert sorted(err.fields) == sorted(["format", "background.image", "elements[2].x",
                                         "elements[3].font_size", "elements[3].field"])
    assert err.message.endswith("（另有 4 处问题）")


@pytest.mark.parametrize("raw", ["{not json", "[]", "null", 42])
def test_something_that_is_not_a_layout_object_is_refused(raw: Any, assets: Assets) -> None:
    assert refuse(raw, assets).fields == ["$"]


def test_a_bad_canvas_stops_before_geometry_checks(assets: Assets) -> None:
    raw = copy.deepcopy(BASE)
    raw["canvas"] = {"width": 5000}
    assert refuse(raw, assets).problems == [
        {"field": "canvas.width", "message": "必须在 100 到 2000 之间"},
        {"field": "canvas.height", "message": "缺少必填字段"},
    ]


def test_too_many_elements_are_refused(assets: Assets) -> None:
    many = [{"type": "rect", "x": 0, "y": 0, "width": 5, "height": 5, "color": "#000000"}] * 60
    assert refuse(layout_with(*many), assets).fields == ["elements"]


def test_placeholders_are_plain_substitution_never_format_strings() -> None:
    values = {"title": "茶", "nickname": "阿明"}
    assert fill_placeholders("{nickname}推荐：{title}{missing}", values) == "阿明推荐：茶"
    assert fill_placeholders("{title:>9999}{0.__class__}{TITLE}", values) == \
        "{title:>9999}{0.__class__}{TITLE}"


def test_an_out_of_range_coordinate_is_reported_once_not_again_as_an_overflow(
        assets: Assets) -> None:
    err = refuse(layout_with({"type": "rect", "x": 5000, "y": 0, "width": 640, "height": 10,
                              "color": "#000000"}), assets)
    assert err.problems == [{"field": "elements[2].x", "message": "必须在 0 到 719 之间"}]
