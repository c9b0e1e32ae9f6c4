"""Invite codes: short, unambiguous, case-insensitive. Pure."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: codes are read aloud and typed from posters.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 6  # 31**6 ≈ 887 million codes per tenant


def new_invite_code() -> str:
    """A random code from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_invite_code(text: str) -> str | None:
    """Upper-case a typed code; None when it cannot be a code at all."""
    code = (text or "").strip().upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
