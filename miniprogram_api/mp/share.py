"""The share-link page (/s/<tenant>?scene=…): where a plain QR or a shared link lands
for brands without a mini-program. A small HTML page, in Chinese."""

from __future__ import annotations

import html

from flask import Blueprint, Response, request

from backend.errors import DomainError
from backend.oa.service import share_landing
from miniprogram_api.http import route

bp = Blueprint("share", __name__)

_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{brand}</title>
<style>body{{font-family:sans-serif;text-align:center;margin:2em 1em;color:#333}}
img{{width:240px;height:240px}}.code{{font-size:1.6em;letter-spacing:.2em}}
.product{{border:1px solid #eee;border-radius:12px;padding:1em;margin:1em auto;max-width:320px}}
.product img{{width:100%;height:auto;border-radius:8px}}.price{{color:#e8453c;font-size:1.4em}}</style>
<h2>{brand}</h2><p>「{inviter}」{invite}</p>{product}{body}</html>"""


def _product_card(product: dict | None) -> str:
    if not product:
        return ""
    picture = (f'<img src="{html.escape(product["image_url"])}" alt="商品图片">'
               if product["image_url"] and product["image_url"].startswith("https://") else "")
    price = (f'<p class="price">¥{product["price_fen"] // 100}.{product["price_fen"] % 100:02d}</p>'
             if product["price_fen"] is not None else "")
    return (f'<div class="product">{picture}<h3>{html.escape(product["name"])}</h3>'
            f'<p>{html.escape(product["subtitle"])}</p>{price}</div>')


@route(bp, "/s/<slug>", auth=None, raw=True, content="text/html")
def landing(slug: str) -> Response:
    """分享链接落地页（无小程序的品牌）

    A share link: the inviter, and the official account's QR that binds on follow."""
    try:
        page = share_landing(tenant_slug=slug, scene=request.args.get("scene", ""))
    except DomainError as exc:
        return Response(f"<!doctype html><meta charset=utf-8><p>{html.escape(exc.message)}</p>",
                        status=exc.http_status, mimetype="text/html")
    if page["qr_image_url"]:
        body = (f'<img src="{html.escape(page["qr_image_url"])}" alt="公众号二维码">'
                "<p>长按识别二维码，关注公众号即可加入</p>")
    else:
        body = ("<p>在微信中搜索并打开本品牌小程序，于「我的 - 填写邀请码」输入：</p>"
                f'<p class="code">{html.escape(page["invite_code"])}</p>')
    invite = "向您推荐这件好物" if page["product"] else "邀请您加入"
    return Response(_PAGE.format(brand=html.escape(page["brand"]),
                                 inviter=html.escape(page["inviter"]), invite=invite,
                                 product=_product_card(page["product"]), body=body),
                    mimetype="text/html")

