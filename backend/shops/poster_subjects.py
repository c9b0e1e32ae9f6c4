"""The shop as a poster subject: banner, name and intro; the code opens the shop page."""

from __future__ import annotations

from backend.posters.subjects import PosterSubject
from backend.shops.service import SHOP_PAGE, get_open_shop


def load_shop_subject(*, tenant_id: int, subject_id: int) -> PosterSubject:
    """A shop poster's subject (ShopNotFound / ShopUnavailable for a foreign or closed shop)."""
    shop = get_open_shop(tenant_id=tenant_id, shop_id=subject_id)
    return PosterSubject(
        id=str(shop.id), version=f"{shop.version}.{shop.created_at.timestamp():.0f}",
        texts={"shop_name": shop.name, "intro": shop.intro},
        picture_url=shop.banner_url or None, scene={"shop_id": shop.id}, page=SHOP_PAGE)


POSTER_SUBJECTS = {"shop": load_shop_subject}
