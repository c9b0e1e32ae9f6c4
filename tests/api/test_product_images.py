"""Product images: uploaded by managers, re-encoded with Pillow, stored once per tenant
and content, and served publicly by their content address with safe headers."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def _png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_a_manager_uploads_an_image_and_anyone_loads_it_by_its_address(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    res = client.post("/api/v1/admin/shop/images", headers=boss,
                      data={"file": (io.BytesIO(_png((200, 30, 30))), "red.png")})
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["content_type"] == "image/jpeg" and (body["width"], body["height"]) == (64, 48)
    assert body["url"] == f"/api/v1/media/{body['sha256']}.jpg"
    again = client.post("/api/v1/admin/shop/images", headers=boss,
                        data={"file": (io.BytesIO(_png((200, 30, 30))), "same.png")}).get_json()
    assert again["url"] == body["url"]  # stored once
    img = client.get(body["url"])
    assert img.status_code == 200 and img.mimetype == "image/jpeg"
    assert img.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in img.headers["Content-Security-Policy"]
    assert Image.open(io.BytesIO(img.data)).size == (64, 48)
    # The product takes the URL.
    res = client.post("/api/v1/admin/shop/products", headers=boss, json={
        "name": "红茶", "image_url": body["url"], "on_shelf": True,
        "skus": [{"name": "罐装", "price_fen": 1000, "cost_fen": 400, "stock": 5}]})
    assert res.status_code == 201 and res.get_json()["image_url"] == body["url"]


def test_bad_uploads_and_unknown_images_are_clear_errors(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    sales = factory.staff_headers(factory.staff(tenant, "sales"))
    res = client.post("/api/v1/admin/shop/images", headers=boss,
                      data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")})
    assert res.status_code == 400 and res.get_json()["code"] == "image_invalid"
    res = client.post("/api/v1/admin/shop/images", headers=boss, data={})
    assert res.status_code == 400 and res.get_json()["details"][0]["field"] == "file"
    res = client.post("/api/v1/admin/shop/images", headers=boss,
                      data={"file": (io.BytesIO(_png((0, 0, 0), (4001, 10))), "wide.png")})
    assert res.status_code == 413 and res.get_json()["code"] == "image_too_large"
    res = client.post("/api/v1/admin/shop/images", headers=sales,
                      data={"file": (io.BytesIO(_png((1, 2, 3))), "a.png")})
    assert res.status_code == 403
    assert client.get("/api/v1/admin/shop/images").status_code in (404, 405)
    assert client.get("/api/v1/media/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/api/v1/media/../etc.png").status_code == 404
    assert client.get("/api/v1/media/nope").get_json()["code"] == "image_not_found"
