"""Password checks that cost the same whether or not the account exists."""

from __future__ import annotations

from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # A real hash of nothing anyone knows, made the same way as stored ones (werkzeug's
    # default method and cost): checking against it costs what a real check costs.
    return generate_password_hash("siyu-no-such-account")


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`; with no account (None) the check runs
    against a dummy hash and fails, so an unknown username answers in the same time as
    a wrong password and usernames cannot be told apart by timing."""
    ok = check_password_hash(stored_hash or _dummy_hash(), password)
    return ok and stored_hash is not None
