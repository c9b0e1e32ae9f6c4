"""Make wechaty 0.10.7 (last release 2022) importable on Python 3.11 and today's deps.

Import this module before anything imports `wechaty` (bot/wechaty_transport.py does,
and so does `python -m bot`). Each fix is idempotent and touches only what the old
release needs:

1. urllib3 2 removed `urllib3.get_host`, which `wechaty.user.url_link` imports at
   module level: we provide it, built on `urllib3.util.parse_url`.
2. Python 3.11 rejects a dataclass field whose default is an unhashable instance;
   `wechaty.WechatyOptions.puppet_options = PuppetOptions()` is one (PuppetOptions is an
   `eq=True` dataclass, so `__hash__` is None). We make PuppetOptions hashable by
   identity before `wechaty` is imported. (That shared default is mutated by
   Wechaty.__init__, so our code always passes its own PuppetOptions.)
3. pyee 12 moved `AsyncIOEventEmitter` out of the package root; requirements pin
   pyee<12, and for a newer pyee we put the name back where wechaty looks for it.

`Tag.add` in wechaty raises NameError (its import is under TYPE_CHECKING): we do not
patch it; callers use `puppet.tag_contact_add(tag_id=..., contact_id=...)` instead.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

_APPLIED = False


def _get_host(url: str) -> tuple[str, str | None, int | None]:
    """urllib3 1.x's get_host: (scheme, host, port), scheme defaulting to http."""
    from urllib3.util import parse_url

    parsed = parse_url(url)
    return parsed.scheme or "http", parsed.hostname, parsed.port


def apply() -> None:
    """Apply the fixes (safe to call many times; must run before `import wechaty`)."""
    global _APPLIED
    if _APPLIED:
        return
    import urllib3

    if not hasattr(urllib3, "get_host"):
        urllib3.get_host = _get_host  # type: ignore[attr-defined]

    import pyee

    if not hasattr(pyee, "AsyncIOEventEmitter"):  # pyee >= 12
        from pyee.asyncio import AsyncIOEventEmitter

        pyee.AsyncIOEventEmitter = AsyncIOEventEmitter  # type: ignore[attr-defined]

    from wechaty_puppet.schemas.puppet import PuppetOptions

    if PuppetOptions.__hash__ is None:  # type: ignore[comparison-overlap]
        PuppetOptions.__hash__ = object.__hash__  # type: ignore[method-assign, assignment]
    _APPLIED = True


def load_wechaty() -> ModuleType:
    """The `wechaty` package, imported after the fixes."""
    apply()
    import wechaty

    return wechaty


def wechaty_loaded() -> Any:
    """Whether wechaty is already imported (then apply() came too late if it failed)."""
    return sys.modules.get("wechaty")
