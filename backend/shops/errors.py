from backend.errors import Conflict, DomainError, Forbidden, NotFound


class ShopNotFound(NotFound):
    code = "shop_not_found"
    message = "小店不存在"


class ShopUnavailable(NotFound):
    code = "shop_unavailable"
    message = "小店已打烊"


class ShopAlreadyOpen(Conflict):
    code = "shop_already_open"
    message = "你已经开过小店了"


class ShopSuspended(Forbidden):
    code = "shop_suspended"
    message = "小店已被平台暂停，请联系客服"


class NotPromoter(Forbidden):
    code = "not_promoter"
    message = "成为推广员后才能开店"


class InvalidShopField(DomainError):
    code = "invalid_shop_field"
    http_status = 400
    message = "小店信息有误"


class ProductUnavailable(DomainError):
    """details lists the product ids the catalog does not sell (unknown, foreign, off shelf)."""

    code = "product_unavailable"
    http_status = 400
    message = "部分商品不存在或已下架"


class ProductRestricted(DomainError):
    """details lists the product ids only some agent levels may buy (销售权限)."""

    code = "shop_product_restricted"
    http_status = 400
    message = "代理专属商品不能上架到小店：小店的访客无权购买"


class TooManyProducts(DomainError):
    code = "too_many_products"
    http_status = 400
    message = "小店商品数量超过上限"


class ProductNotInShop(NotFound):
    code = "product_not_in_shop"
    message = "小店中没有该商品"
