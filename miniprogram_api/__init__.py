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
    """The product's web app: the backend app plus every blueprint in this package."""
    app = create_app(config)
    import miniprogram_api

    for info in sorted(pkgutil.iter_modules(miniprogram_api.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"miniprogram_api.{info.name}")
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            app.register_blueprint(bp)
    return app
