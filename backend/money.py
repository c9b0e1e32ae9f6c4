"""Money helpers: amounts are integer fen (分), rates are Decimal, rewards round down.

This is the one place a rate meets an amount. Nothing here touches floats.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from backend.types import Fen  # noqa: F401  (re-exported: money's vocabulary)

_HUNDRED = Decimal(100)


def as_rate(value: str | int | Decimal) -> Decimal:
    """Parse a rate given as a fraction ("0.3") into a Decimal; refuse floats."""
    if isinstance(value, float):  # a float has already lost precision
        raise TypeError("rates must be given as str, int or Decimal, never float")
    try:
        rate = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a rate: {value!r}") from exc
    if not rate.is_finite():
        raise ValueError(f"not a rate: {value!r}")
    return rate


def percent(value: str | int | Decimal) -> Decimal:
    """A rate written as a percentage ("30" → 0.30)."""
    return as_rate(value) / _HUNDRED


def apply_rate(base_fen: Fen, rate: Decimal) -> Fen:
    """base × rate, rounded down to the fen: the one rounding policy of the product."""
    if not isinstance(base_fen, int) or isinstance(base_fen, bool):
        raise TypeError("amounts are integer fen")
    if base_fen <= 0 or rate <= 0:
        return 0
    return int((Decimal(base_fen) * rate).to_integral_value(rounding=ROUND_DOWN))


def yuan(fen: Fen) -> str:
    """Format fen as yuan with two decimals, for text people read: 3000 → "30.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def rate_text(rate: Decimal) -> str:
    """Format a rate as a percentage without trailing zeros: 0.075 → "7.5%"."""
    pct = (rate * _HUNDRED).normalize()
    text = format(pct, "f")
    return f"{text}%"


def parse_yuan(text: str) -> Fen:
    """Parse a yuan amount written by a person ("12.5") into fen; refuses sub-fen precision."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    fen = value * _HUNDRED
    if fen != fen.to_integral_value():
        raise ValueError(f"amount has more than two decimals: {text!r}")
    return int(fen)
