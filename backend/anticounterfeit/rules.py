"""Reading a scan's place: the region text of the ip2region database (国家|区域|省份|城市|ISP,
"0" where unknown) turned into the province and city names authorizations use.

Pure: no I/O; backend/anticounterfeit/ip_region.py does the lookup.
"""

from __future__ import annotations

# ip2region writes the four municipalities and the autonomous regions by their short
# names ("上海", "广西"); authorizations use the full ones.
_FULL_PROVINCE = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市",
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}
_PROVINCE_SUFFIXES = ("省", "市", "自治区", "特别行政区")


def full_province(name: str) -> str:
    """"浙江" or "浙江省" → "浙江省"; "上海" → "上海市"; "广西" → "广西壮族自治区"."""
    name = name.strip()
    if name in _FULL_PROVINCE:
        return _FULL_PROVINCE[name]
    return name if name.endswith(_PROVINCE_SUFFIXES) else name + "省"


def place_of_region_text(text: str) -> tuple[str, str | None] | None:
    """(province, city) of a Chinese address range in ip2region's text; None for
    anything else (abroad, a private network, unknown)."""
    parts = text.split("|")
    if len(parts) != 5 or parts[0] != "中国" or parts[2] in ("", "0"):
        return None
    province = full_province(parts[2])
    city = parts[3] if parts[3] not in ("", "0") else None
    if city is not None and province.endswith("市") and province[:-1] == city.removesuffix("市"):
        city = province  # a municipality is its own city: 上海 / 上海市
    elif city is not None and not city.endswith(("市", "州", "盟", "地区", "区", "县")):
        city += "市"
    return province[:20], city[:20] if city else None
