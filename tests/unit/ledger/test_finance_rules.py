"""Pure finance rules: validation of settings, withdrawal fee, recharge bonus, the China
day, the settlement date against the high-water mark; and ledger leg checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from backend.finance.errors import InvalidFinanceSettings
from backend.finance.rules import (
    DEFAULT_RULES,
    apply_changes,
    china_day,
    parse_rate,
    recharge_bonus,
    settle_due_at,
    withdrawal_fee,
)
from backend.ledger.errors import UnbalancedPosting
from backend.ledger.models import MAX_SHARDS, SHARDS, balance_row_id
from backend.ledger.service import Leg, _check_legs, member, system


@pytest.mark.parametrize("text, rate", [("0.6%", Decimal("0.006")), ("0.006", Decimal("0.006")),
                                        ("0", Decimal(0)), ("12.5%", Decimal("0.125")), (0, Decimal(0))])
def test_rates_are_read_as_fractions_or_percentages(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("value", [0.006, "100%", "-1%", "abc", "0.000000001", True, None])
def test_floats_and_impossible_rates_are_refused(value):
    with pytest.raises(ValueError):
        parse_rate(value)


def test_the_fee_is_the_rate_rounded_down_but_at_least_the_minimum_and_never_above_the_amount():
    rules = apply_changes(DEFAULT_RULES, {"withdraw_fee_rate": "0.6%", "withdraw_fee_min_fen": 10,
                                          "withdraw_min_fen": 100})
    assert withdrawal_fee(rules, 100_000) == 600
    assert withdrawal_fee(rules, 1_999) == 11  # 11.994 rounds down
    assert withdrawal_fee(rules, 1_000) == 10  # 6 is below the minimum fee
    assert withdrawal_fee(DEFAULT_RULES, 12345) == 0


def test_the_recharge_bonus_is_the_highest_tier_reached():
    rules = apply_changes(DEFAULT_RULES, {"recharge_bonus": [{"min_fen": 10_000, "bonus_fen": 1_000},
                                                             {"min_fen": 50_000, "bonus_fen": 8_000}]})
    assert [recharge_bonus(rules, a) for a in (9_999, 10_000, 49_999, 50_000, 10**8)] == [0, 1000, 1000, 8000, 8000]


def test_every_bad_setting_is_reported_at_once_with_its_field():
    with pytest.raises(InvalidFinanceSettings) as caught:
        apply_changes(DEFAULT_RULES, {"settle_after_days": -1, "withdraw_min_fen": 5, "withdraw_fee_rate": 0.1,
                                      "transfer_enabled": "yes", "recharge_bonus": [
                                          {"min_fen": 500, "bonus_fen": 1}, {"min_fen": 400, "bonus_fen": 2}],
                                      "colour": "red"})
    assert [d["field"] for d in caught.value.details] == [
        "settle_after_days", "withdraw_min_fen", "withdraw_fee_rate", "transfer_enabled", "recharge_bonus", "colour"]
    assert caught.value.http_status == 400 and caught.value.code == "invalid_finance_settings"


def test_settings_that_contradict_each_other_are_refused():
    with pytest.raises(InvalidFinanceSettings) as caught:
        apply_changes(DEFAULT_RULES, {"withdraw_min_fen": 1000, "withdraw_daily_limit_fen": 500})
    assert caught.value.details[0]["field"] == "withdraw_daily_limit_fen"
    with pytest.raises(InvalidFinanceSettings) as caught:  # the minimum would leave less than 0.10 after the fee
        apply_changes(DEFAULT_RULES, {"withdraw_min_fen": 100, "withdraw_fee_min_fen": 95})
    assert caught.value.details[0]["field"] == "withdraw_fee_min_fen"


def test_the_day_of_a_withdrawal_is_the_china_calendar_day():
    assert china_day(datetime(2026, 11, 1, 15, 59, tzinfo=UTC)) == date(2026, 11, 1)
    assert china_day(datetime(2026, 11, 1, 16, 0, tzinfo=UTC)) == date(2026, 11, 2)
    with pytest.raises(ValueError):
        china_day(datetime(2026, 11, 1, 16, 0))


def test_rewards_settle_n_days_after_completion_in_whole_seconds():
    done = datetime(2026, 11, 1, 8, 30, 15, 999_999, tzinfo=UTC)
    assert settle_due_at(done, days=7, mark_at=None) == datetime(2026, 11, 8, 8, 30, 15, tzinfo=UTC)
    assert settle_due_at(done, days=0, mark_at=datetime(2026, 10, 1, tzinfo=UTC)) == done.replace(microsecond=0)


def test_a_settlement_date_never_falls_at_or_behind_the_high_water_mark():
    done = datetime(2026, 11, 1, tzinfo=UTC)
    mark = datetime(2026, 11, 5, tzinfo=UTC)  # the settle days were shortened meanwhile
    assert settle_due_at(done, days=1, mark_at=mark) == mark + timedelta(seconds=1)
    assert settle_due_at(done, days=4, mark_at=mark) == mark + timedelta(seconds=1)
    assert settle_due_at(done, days=5, mark_at=mark) == datetime(2026, 11, 6, tzinfo=UTC)


def test_balance_rows_order_by_account_then_shard():
    assert max(SHARDS.values()) <= MAX_SHARDS
    ids = [balance_row_id(a, s) for a in (7, 8) for s in range(SHARDS["merchant"])]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_legs_must_balance_and_name_real_accounts():
    _check_legs([Leg(system("merchant"), -5), Leg(member("member_frozen", 3), 5)])
    with pytest.raises(UnbalancedPosting):
        _check_legs([Leg(system("merchant"), -5), Leg(member("member_frozen", 3), 4)])
    with pytest.raises(ValueError):
        member("merchant", 3)
    with pytest.raises(ValueError):
        member("member_frozen", 0)
    with pytest.raises(ValueError):
        system("member_frozen")
