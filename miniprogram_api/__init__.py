"""HTTP edge: Flask blueprints for the mini-program, the official account and the
back-office. Each view parses, makes one service call, and dumps. No SQL here."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from flask import Blueprint, Flask

from backend.app import create_app
from backend.config import Settings


def create_web_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """The product's web app: the backend app plus every blueprint in this package.

    Route modules live by audience: mp/ (the mini-program and H5 shop), admin/ (the
    back-office), platform/ (the platform operator), callbacks/ (WeChat, WeChat Pay,
    WeCom pushes). Any module, at any depth, that exposes `bp` is registered.
    """
    app = create_app(config)
    import miniprogram_api

    infos = pkgutil.walk_packages(miniprogram_api.__path__, prefix="miniprogram_api.")
    for info in sorted(infos, key=lambda i: i.name):
        if info.name == "miniprogram_api.__main__":
            continue
        module = importlib.import_module(info.name)
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            app.register_blueprint(bp)
    return app
