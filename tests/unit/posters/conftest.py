"""Helpers for the poster tests: sample pictures made on the fly, a QR reader."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from backend.posters.assets import Assets, default_assets

SHARE_URL = "https://m.siyu.example/s/t42?scene=p%3D8812345%26k%3Dinvite"

TEXTS = {
    "shop_name": "思语优选旗舰店",
    "headline": "好物自用省钱，分享还能赚",
    "invite_code": "K8M2QX",
    "title": "云南高山有机普洱茶 357g 七子饼 2019年春茶 古树纯料",
    "intro": "精选全球好物，正品保障，七天无理由退换。",
    "start_time": "今晚 20:00",
}


def solid_png(color: tuple[int, int, int], size: tuple[int, int] = (300, 300),
              fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def read_qr_texts(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png))
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture(scope="session")
def assets() -> Assets:
    return default_assets()
