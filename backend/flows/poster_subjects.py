"""Product posters (商品海报): the catalog's product as a poster subject.

The posters domain (engagement) finds subject loaders by module name; a product lives
in the catalog (core), so the product's loader sits here, above both. The code opens
the product page with the member's invite code and the product id in the scene, so a
friend who scans it is bound and lands on the product.
"""

from __future__ import annotations

from backend.catalog import service as catalog
from backend.catalog.errors import ProductNotFound
from backend.posters.subjects import PosterSubject


def load_product_subject(*, tenant_id: int, subject_id: int) -> PosterSubject:
    """An on-shelf product's poster subject: name, subtitle, lowest price and picture."""
    product = catalog.get_product(tenant_id=tenant_id, product_id=subject_id)
    if not product.on_shelf:
        raise ProductNotFound()
    skus = [s for s in catalog.skus_of(tenant_id=tenant_id, product_ids=[product.id])[product.id]
            if s.enabled]
    price = min((s.price_fen for s in skus), default=None)
    return PosterSubject(
        id=str(product.id),
        # the price is part of the picture, so a price change must give a new poster
        version=f"{product.updated_at.timestamp():.0f}.{price}",
        texts={"title": product.name, "intro": product.subtitle},
        picture_url=product.image_url or None, price_fen=price,
        scene={"product_id": product.id})


POSTER_SUBJECTS = {"product": load_product_subject}
