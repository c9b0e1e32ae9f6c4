"""Password hashing, and checks that cost the same whether or not the account exists.

The method is the `PASSWORD_HASH_METHOD` setting, in werkzeug's notation: "scrypt"
(werkzeug's default cost, n=2^15, what production uses), "scrypt:N:R:P", or
"pbkdf2:sha256:ITERATIONS". A stored hash names its own method, so changing the setting
never locks anyone out: old hashes keep verifying and new ones take the new cost.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

# werkzeug's own default and cost; backend/config.py validates the setting.
DEFAULT_METHOD = "scrypt"


def _method() -> str:
    if has_app_context():
        return str(current_app.config["SIYU_SETTINGS"].password_hash_method)
    return DEFAULT_METHOD


def hash_password(password: str) -> str:
    """A salted hash of `password` by the configured method."""
    return generate_password_hash(password, method=_method())


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    # A real hash of nothing anyone knows, made the same way as stored ones (the
    # configured method and cost): checking against it costs what a real check costs.
    return generate_password_hash("siyu-no-such-account", method=method)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`; with no account (None) the check runs
    against a dummy hash and fails, so an unknown username answers in the same time as
    a wrong password and usernames cannot be told apart by timing."""
    ok = check_password_hash(stored_hash or _dummy_hash(_method()), password)
    return ok and stored_hash is not None
