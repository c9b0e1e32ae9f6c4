"""Share scenes: the short strings carried by share links, QR codes and posters.

Mini-program scenes are at most 32 visible characters, so a scene is a compact
query string: i=<invite code> (the promoter), s=<staff id>, p=<product id>,
r=<live room id>, h=<shop id>, m=<material id> (a marketing material the promoter
shared). Pure: no database here.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.members.errors import InvalidScene

_KEYS = {"i": "invite_code", "s": "staff_id", "p": "product_id", "r": "live_room_id",
         "h": "shop_id", "m": "material_id"}
MAX_SCENE = 32


@dataclass(frozen=True)
class Scene:
    invite_code: str | None = None
    staff_id: int | None = None
    product_id: int | None = None
    live_room_id: int | None = None
    shop_id: int | None = None
    material_id: int | None = None

    def encode(self) -> str:
        """The compact scene string; refuses one longer than WeChat allows."""
        parts = []
        for key, attr in _KEYS.items():
            value = getattr(self, attr)
            if value is not None:
                parts.append(f"{key}={value}")
        text = "&".join(parts)
        if len(text) > MAX_SCENE:
            raise InvalidScene("分享参数过长")
        return text


def parse_scene(text: str) -> Scene:
    """Parse a scene string; unknown keys or malformed values are InvalidScene."""
    text = (text or "").strip()
    if text.startswith("qrscene_"):  # official-account subscribe events prefix the scene
        text = text[len("qrscene_"):]
    if not text or len(text) > 64:
        raise InvalidScene()
    values: dict[str, object] = {}
    for part in text.split("&"):
        key, sep, value = part.partition("=")
        if not sep or key not in _KEYS or not value or _KEYS[key] in values:
            raise InvalidScene()
        attr = _KEYS[key]
        if attr == "invite_code":
            values[attr] = value.upper()
        else:
            if not value.isdigit() or len(value) > 18:
                raise InvalidScene()
            values[attr] = int(value)
    scene = Scene(**values)  # type: ignore[arg-type]
    if scene.invite_code is None and scene.staff_id is None:
        raise InvalidScene("分享参数缺少推广人")
    return scene
