"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with the key from ENCRYPTION_KEY."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    return Fernet(current_app.config["SIYU_SETTINGS"].encryption_key.encode())


def encrypt_json(data: dict[str, Any]) -> str:
    """Encrypt a dict of secrets into one opaque token."""
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str | None) -> dict[str, Any]:
    """Decrypt a token made by encrypt_json; a wrong key is a configuration error."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))  # type: ignore[no-any-return]
    except InvalidToken as exc:
        raise RuntimeError("ENCRYPTION_KEY cannot decrypt tenant secrets") from exc
