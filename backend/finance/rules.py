"""A tenant's finance rules as a value, their validation, and the arithmetic on them
(withdrawal fee, recharge bonus, settlement date, the China calendar day).

Pure: no Flask, SQLAlchemy or Redis, no clock (`now` is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backend.finance.errors import InvalidFinanceSettings
from backend.money import apply_rate, as_rate, rate_text
from backend.types import CHINA_TZ, china_day  # noqa: F401  (re-exported)

CHINA = CHINA_TZ  # the China day's zone (backend/types.py)
WECHAT_MIN_TRANSFER_FEN = 10  # WeChat Pay's merchant transfer takes at least 0.10 yuan
MAX_FEN = 10**11  # one billion yuan: a bound that catches typos, not a business rule
ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class FinanceRules:
    settle_after_days: int = 7
    withdraw_min_fen: int = 100
    withdraw_fee_rate: Decimal = Decimal(0)
    withdraw_fee_min_fen: int = 0
    withdraw_daily_limit_fen: int | None = None
    withdraw_daily_count: int | None = None
    auto_approve_below_fen: int = 0  # withdrawals below this amount are approved at once; 0 = none
    transfer_enabled: bool = False
    transfer_min_fen: int = 1
    recharge_min_fen: int = 100
    recharge_bonus: tuple[tuple[int, int], ...] = ()  # (min_fen, bonus_fen), rising

    def as_dict(self) -> dict[str, Any]:
        """The rules as the API shows them (rates as strings)."""
        return {"settle_after_days": self.settle_after_days, "withdraw_min_fen": self.withdraw_min_fen,
                "withdraw_fee_rate": rate_text(self.withdraw_fee_rate),
                "withdraw_fee_min_fen": self.withdraw_fee_min_fen,
                "withdraw_daily_limit_fen": self.withdraw_daily_limit_fen,
                "withdraw_daily_count": self.withdraw_daily_count,
                "auto_approve_below_fen": self.auto_approve_below_fen,
                "transfer_enabled": self.transfer_enabled, "transfer_min_fen": self.transfer_min_fen,
                "recharge_min_fen": self.recharge_min_fen,
                "recharge_bonus": [{"min_fen": m, "bonus_fen": b} for m, b in self.recharge_bonus]}


DEFAULT_RULES = FinanceRules()


def parse_rate(value: Any) -> Decimal:
    """A rate as a fraction ("0.006") or a percentage ("0.6%"); floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("费率须写成字符串，如 \"0.6%\" 或 \"0.006\"")
    text = str(value).strip()
    try:
        rate = as_rate(text[:-1]) / 100 if text.endswith("%") else as_rate(text)
    except ValueError as exc:
        raise ValueError("费率格式不正确") from exc
    if rate < 0 or rate >= 1:
        raise ValueError("费率须在 0 到 100% 之间（不含 100%）")
    if rate != rate.quantize(Decimal("1e-8")):
        raise ValueError("费率最多精确到 8 位小数")
    return rate.normalize() if rate else Decimal(0)


def _fen(value: Any, *, minimum: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("须为整数（分）")
    if value < minimum or value > MAX_FEN:
        raise ValueError(f"须在 {minimum} 到 {MAX_FEN} 之间")
    return value


def _int(value: Any, *, low: int, high: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("须为整数")
    if not low <= value <= high:
        raise ValueError(f"须在 {low} 到 {high} 之间")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("须为 true 或 false")
    return value


# Sanity bounds on what a boss may set: a fee above this is a typo, not a policy.
MAX_WITHDRAW_FEE_RATE = Decimal("0.2")


def _bounded_rate(rate: Decimal, high: Decimal) -> Decimal:
    if rate > high:
        raise ValueError(f"费率不能超过 {high * 100:g}%")
    return rate


def _bonus_tiers(value: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or len(value) > 20:
        raise ValueError("须为最多 20 档的列表")
    tiers: list[tuple[int, int]] = []
    for i, tier in enumerate(value):
        if not isinstance(tier, Mapping) or set(tier) != {"min_fen", "bonus_fen"}:
            raise ValueError(f"第 {i + 1} 档须为 {{\"min_fen\", \"bonus_fen\"}}")
        m = _fen(tier["min_fen"], minimum=1)
        b = _fen(tier["bonus_fen"], minimum=0)
        assert m is not None and b is not None
        if tiers and m <= tiers[-1][0]:
            raise ValueError("各档 min_fen 须严格递增")
        if b > m:  # the bonus is money the merchant gives away: never more than it receives
            raise ValueError(f"第 {i + 1} 档赠送金额不能超过充值金额")
        tiers.append((m, b))
    return tuple(tiers)


_FIELDS = {
    "settle_after_days": lambda v: _int(v, low=0, high=365),
    "withdraw_min_fen": lambda v: _fen(v, minimum=WECHAT_MIN_TRANSFER_FEN),
    "withdraw_fee_rate": lambda v: _bounded_rate(parse_rate(v), MAX_WITHDRAW_FEE_RATE),
    "withdraw_fee_min_fen": lambda v: _fen(v, minimum=0),
    "withdraw_daily_limit_fen": lambda v: _fen(v, minimum=WECHAT_MIN_TRANSFER_FEN, allow_none=True),
    "withdraw_daily_count": lambda v: _int(v, low=1, high=1000, allow_none=True),
    "auto_approve_below_fen": lambda v: _fen(v, minimum=0),
    "transfer_enabled": _bool,
    "transfer_min_fen": lambda v: _fen(v, minimum=1),
    "recharge_min_fen": lambda v: _fen(v, minimum=1),
    "recharge_bonus": _bonus_tiers,
}


def apply_changes(rules: FinanceRules, changes: Mapping[str, Any]) -> FinanceRules:
    """The rules with `changes` applied, every field checked; all problems reported at
    once as InvalidFinanceSettings details [{"field", "message"}]."""
    problems: list[dict[str, str]] = []
    parsed: dict[str, Any] = {}
    for name, value in changes.items():
        check = _FIELDS.get(name)
        if check is None:
            problems.append({"field": name, "message": "未知的设置项"})
            continue
        try:
            parsed[name] = check(value)
        except ValueError as exc:
            problems.append({"field": name, "message": str(exc)})
    if problems:
        raise InvalidFinanceSettings(details=problems)
    out = replace(rules, **parsed)
    limit = out.withdraw_daily_limit_fen
    if limit is not None and limit < out.withdraw_min_fen:
        problems.append({"field": "withdraw_daily_limit_fen", "message": "每日限额不能低于最低提现金额"})
    if withdrawal_fee(out, out.withdraw_min_fen) > out.withdraw_min_fen - WECHAT_MIN_TRANSFER_FEN:
        problems.append({"field": "withdraw_fee_min_fen",
                         "message": "最低提现金额扣除手续费后须不少于 0.10 元"})
    if problems:
        raise InvalidFinanceSettings(details=problems)
    return out


def withdrawal_fee(rules: FinanceRules, amount_fen: int) -> int:
    """The fee on a withdrawal: amount × rate rounded down, at least the minimum fee,
    never more than the amount."""
    fee = max(apply_rate(amount_fen, rules.withdraw_fee_rate), rules.withdraw_fee_min_fen)
    return min(fee, amount_fen)


def recharge_bonus(rules: FinanceRules, amount_fen: int) -> int:
    """充值送: the bonus of the highest tier the amount reaches (0 below the first)."""
    bonus = 0
    for min_fen, bonus_fen in rules.recharge_bonus:
        if amount_fen >= min_fen:
            bonus = bonus_fen
    return bonus




def settle_due_at(completed_at: datetime, *, days: int, mark_at: datetime | None) -> datetime:
    """When an order's rewards settle: `days` after completion, but strictly after the
    settlement job's high-water mark, which never moves back."""
    due = completed_at.astimezone(UTC) + timedelta(days=days)
    # DATETIME keeps whole seconds on MariaDB: drop the fraction so the stored value
    # compares exactly as computed here.
    due = due.replace(microsecond=0)
    if mark_at is not None and due <= mark_at:
        due = mark_at + ONE_SECOND
    return due
