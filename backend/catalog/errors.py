from backend.errors import Conflict, DomainError, Forbidden, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "商品不存在"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    message = "商品规格不存在"


class ProductOffShelf(Conflict):
    code = "product_off_shelf"
    message = "商品已下架"


class ProductNotPermitted(Forbidden):
    code = "product_not_permitted"
    message = "您的等级暂不能购买该商品"


class OutOfStock(Conflict):
    code = "out_of_stock"
    message = "库存不足"


class StockWouldGoNegative(Conflict):
    code = "stock_negative"
    message = "库存不能小于零"


class InvalidCatalogInput(DomainError):
    code = "invalid_catalog_input"
    http_status = 400
    message = "商品信息有误"


class ImageInvalid(DomainError):
    code = "image_invalid"
    http_status = 400
    message = "图片无法识别：请上传 PNG、JPEG 或 WebP 图片"


class ImageTooLarge(DomainError):
    code = "image_too_large"
    http_status = 413
    message = "图片过大：不超过 5 MB、4000×4000 像素"


class ImageNotFound(NotFound):
    code = "image_not_found"
    message = "图片不存在"
