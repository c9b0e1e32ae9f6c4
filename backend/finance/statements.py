"""Statements (对账单): a member's wallet and every entry on its accounts with the order
and the reward rule behind it; a tenant's postings; both exportable as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from backend.extensions import db
from backend.finance.errors import StatementTooLarge
from backend.finance.models import RewardAccrual, Withdrawal
from backend.finance.service import get_rules, settlement_mark
from backend.finance.types import RewardStatus, WithdrawalStatus
from backend.finance.withdrawals import withdrawal_totals
from backend.ledger import service as ledger
from backend.ledger.service import EntryLine
from backend.ledger.types import AccountKind as K
from backend.members.service import get_member
from backend.money import rate_text, yuan
from backend.rewards import service as rewards

POSTING_TITLES = {
    "order_paid": "订单收款", "order_refund": "订单退款", "reward_freeze": "佣金冻结",
    "reward_settle": "佣金结算", "reward_cancel": "佣金取消（退款）", "reward_reverse": "佣金冲回（售后退款）",
    "reward_bonus": "奖励入账", "withdraw_hold": "提现申请", "withdraw_paid": "提现到账",
    "withdraw_return": "提现退回", "transfer": "余额转赠", "recharge": "充值", "stored_spend": "余额支付",
    "stored_refund": "余额退回", "supplier_freeze": "供应商货款冻结", "supplier_settle": "供应商货款结算",
    "supplier_cancel": "供应商货款取消（退款）", "supplier_reverse": "供应商货款冲回（售后退款）",
    "supplier_withdraw_hold": "供应商提现申请", "supplier_withdraw_paid": "供应商提现到账",
    "supplier_withdraw_return": "供应商提现退回", "sharing_request": "分账请求", "sharing_done": "分账完成",
    "sharing_failed": "分账失败退回", "sharing_return": "分账回退",
}
ACCOUNT_TITLES = {
    K.MEMBER_FROZEN: "冻结佣金", K.MEMBER_AVAILABLE: "可提现余额", K.MEMBER_STORED: "储值余额",
    K.MERCHANT: "商户", K.FEE_INCOME: "手续费收入", K.PLATFORM_FEES: "平台服务费",
    K.PAYOUT_TRANSIT: "提现在途", K.WECHAT_CLEARING: "微信支付清算",
    K.SUPPLIER_FROZEN: "供应商待结算", K.SUPPLIER_AVAILABLE: "供应商可提现", K.SHARING_TRANSIT: "分账在途",
    K.OFFLINE_CLEARING: "线下打款清算",
}
PAYOUT_TITLES = {
    "dist_l1": "一级佣金", "dist_l2": "二级佣金", "dist_l3": "三级佣金", "agent_dividend": "代理分红",
    "peer_bonus": "平级奖", "over_level_bonus": "越级奖", "referral_lower": "下级推荐奖",
    "referral_peer": "平级推荐奖", "referral_over": "越级推荐奖", "team_performance": "团队业绩奖",
}


def wallet(*, tenant_id: int, member_id: int, now: datetime) -> dict[str, Any]:
    """A member's balances, withdrawals in progress and today's limits, and the rules."""
    balances = ledger.balances_of(tenant_id=tenant_id, owner_id=member_id)
    rules = get_rules(tenant_id=tenant_id)
    totals = withdrawal_totals(tenant_id=tenant_id, member_id=member_id, now=now)
    limit = rules.withdraw_daily_limit_fen
    return {
        "frozen_fen": balances.get(K.MEMBER_FROZEN, 0),
        "available_fen": balances.get(K.MEMBER_AVAILABLE, 0),
        "stored_fen": balances.get(K.MEMBER_STORED, 0),
        "withdrawing_fen": totals["open_fen"],
        "withdrawn_fen": totals["paid_net_fen"],
        "today": {"withdrawn_fen": totals["today_fen"], "count": totals["today_count"],
                  "remaining_fen": None if limit is None else max(0, limit - totals["today_fen"])},
        "rules": {"withdraw_min_fen": rules.withdraw_min_fen, "withdraw_fee_rate": rate_text(rules.withdraw_fee_rate),
                  "withdraw_fee_min_fen": rules.withdraw_fee_min_fen, "withdraw_daily_limit_fen": limit,
                  "withdraw_daily_count": rules.withdraw_daily_count,
                  "settle_after_days": rules.settle_after_days, "transfer_enabled": rules.transfer_enabled},
    }


def _payouts(ids: Iterable[int | None]) -> dict[int, Any]:

    return rewards.payouts_by_ids(payout_ids=[i for i in ids if i is not None])


def _rule(p: Any) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"payout_id": p.id, "kind": p.kind, "title": PAYOUT_TITLES.get(p.kind, p.kind), "level": p.level,
            "agent_level": p.agent_level, "base": p.base, "base_fen": p.base_fen,
            "rate": None if p.rate is None else rate_text(p.rate), "plan_version": p.plan_version,
            "explanation": p.explanation}


def entry_view(e: EntryLine, payout: Any = None) -> dict[str, Any]:
    """One statement line: the entry, its posting, and the reward rule behind it."""
    return {"id": e.entry_id, "at": e.created_at.isoformat(), "posting_id": e.posting_id, "type": e.posting_kind,
            "title": POSTING_TITLES.get(e.posting_kind, e.posting_kind), "account": e.account_kind,
            "account_title": ACCOUNT_TITLES.get(e.account_kind, e.account_kind), "owner_id": e.owner_key or None,
            "amount_fen": e.amount_fen, "amount": yuan(e.amount_fen), "memo": e.memo, "order_id": e.order_id,
            "order_line_id": e.order_line_id, "withdrawal_id": e.withdrawal_id, "rule": _rule(payout)}


def member_statement(*, tenant_id: int, member_id: int, before_id: int | None = None, limit: int = 50,
                     start: datetime | None = None, end: datetime | None = None,
                     account: str | None = None) -> dict[str, Any]:
    """A member's statement: every entry on its accounts, newest first, with the order
    and rule behind it; keyset-paged by entry id."""

    get_member(tenant_id=tenant_id, member_id=member_id)
    lines = ledger.entries_of_owner(tenant_id=tenant_id, owner_id=member_id, before_id=before_id, limit=limit,
                                    start=start, end=end, kinds=[account] if account else None)
    payouts = _payouts(e.payout_id for e in lines)
    return {"items": [entry_view(e, payouts.get(e.payout_id or 0)) for e in lines],
            "next_cursor": lines[-1].entry_id if len(lines) == limit else None}


def tenant_summary(*, tenant_id: int) -> dict[str, Any]:
    """The tenant's accounts in total: its own accounts, and all members' balances per
    kind (what it owes them), plus the reward pipeline and the settlement mark."""
    by_kind = ledger.balances_by_kind(tenant_id=tenant_id)
    accruals = db.session.execute(
        select(RewardAccrual.status, func.count(), func.sum(RewardAccrual.amount_fen))
        .where(RewardAccrual.tenant_id == tenant_id).group_by(RewardAccrual.status))
    return {"accounts": {k: {"title": ACCOUNT_TITLES[k], "balance_fen": by_kind.get(k, 0)} for k in K.ALL},
            "total_fen": sum(by_kind.values()),
            "rewards": {status: {"lines": int(n), "amount_fen": int(total or 0)} for status, n, total in accruals},
            "settlement": settlement_mark(tenant_id=tenant_id)}


def flows_between(*, tenant_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Fen frozen (rewards accrued), settled (became withdrawable) and withdrawn (paid
    out to members) in [start, end): three indexed range sums."""
    frozen = db.session.scalar(select(func.sum(RewardAccrual.amount_fen)).where(
        RewardAccrual.tenant_id == tenant_id, RewardAccrual.frozen_at >= start, RewardAccrual.frozen_at < end))
    settled = db.session.scalar(select(func.sum(RewardAccrual.amount_fen)).where(
        RewardAccrual.tenant_id == tenant_id, RewardAccrual.ended_at >= start, RewardAccrual.ended_at < end,
        RewardAccrual.status == RewardStatus.SETTLED))
    withdrawn = db.session.scalar(select(func.sum(Withdrawal.net_fen)).where(
        Withdrawal.tenant_id == tenant_id, Withdrawal.paid_at >= start, Withdrawal.paid_at < end,
        Withdrawal.status == WithdrawalStatus.PAID))
    return {"frozen_fen": int(frozen or 0), "settled_fen": int(settled or 0), "withdrawn_fen": int(withdrawn or 0)}


def count_withdrawals(*, tenant_id: int, status: str) -> int:
    """How many withdrawals are in one state (an index range count)."""
    return int(db.session.scalar(select(func.count()).select_from(Withdrawal).where(
        Withdrawal.tenant_id == tenant_id, Withdrawal.status == status)) or 0)


def tenant_postings(*, tenant_id: int, before_id: int | None = None, limit: int = 50,
                    start: datetime | None = None, end: datetime | None = None,
                    order_id: int | None = None, member_id: int | None = None) -> dict[str, Any]:
    """The tenant's postings newest first, each with its entries; keyset-paged."""
    postings = ledger.postings_page(tenant_id=tenant_id, before_id=before_id, limit=limit, start=start, end=end,
                                    order_id=order_id, member_id=member_id)
    entries = ledger.posting_entries(tenant_id=tenant_id, posting_ids=[p.id for p in postings])
    payouts = _payouts(e.payout_id for es in entries.values() for e in es)
    items = [{"id": p.id, "at": p.created_at.isoformat(), "type": p.kind,
              "title": POSTING_TITLES.get(p.kind, p.kind), "key": p.idem_key, "memo": p.memo,
              "member_id": p.member_id, "order_id": p.order_id, "order_line_id": p.order_line_id,
              "withdrawal_id": p.withdrawal_id, "reverses_id": p.reverses_id,
              "entries": [{"account": e.account_kind, "account_title": ACCOUNT_TITLES.get(e.account_kind),
                           "owner_id": e.owner_key or None, "amount_fen": e.amount_fen,
                           "rule": _rule(payouts.get(e.payout_id or 0))} for e in entries[p.id]]}
             for p in postings]
    return {"items": items, "next_cursor": postings[-1].id if len(postings) == limit else None}


# ------------------------------------------------------------------ CSV

CSV_HEADER = ["时间", "流水号", "类型", "账户", "会员ID", "金额(元)", "金额(分)", "订单ID", "订单行ID", "提现单ID",
              "奖励规则", "规则说明", "方案版本", "备注"]


def _csv_line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _rows(lines: Iterator[EntryLine], batch: int = 500) -> Iterator[list[Any]]:
    """Statement rows (the CSV_HEADER columns) of ledger entries, payouts read per batch."""
    chunk: list[EntryLine] = []

    def flush(items: list[EntryLine]) -> Iterator[list[Any]]:
        payouts = _payouts(e.payout_id for e in items)
        for e in items:
            p = payouts.get(e.payout_id or 0)
            yield [e.created_at.isoformat(), e.posting_id, POSTING_TITLES.get(e.posting_kind, e.posting_kind),
                   ACCOUNT_TITLES.get(e.account_kind, e.account_kind), e.owner_key or None, yuan(e.amount_fen),
                   e.amount_fen, e.order_id, e.order_line_id, e.withdrawal_id,
                   PAYOUT_TITLES.get(p.kind, p.kind) if p else None, p.explanation if p else None,
                   p.plan_version if p else None, e.memo]

    for e in lines:
        chunk.append(e)
        if len(chunk) >= batch:
            yield from flush(chunk)
            chunk = []
    yield from flush(chunk)


def _csv_rows(lines: Iterator[EntryLine]) -> Iterator[str]:
    yield "\ufeff" + _csv_line(CSV_HEADER)  # the BOM makes Excel read UTF-8 Chinese correctly
    for row in _rows(lines):
        yield _csv_line(row)


XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def _xlsx(lines: Iterator[EntryLine]) -> bytes:
    """The statement as an Excel workbook (write-only mode: rows are not kept in memory
    as cells); amounts in yuan are numbers, fen are integers."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("对账单")
    ws.append(CSV_HEADER)
    for n, row in enumerate(_rows(lines), start=1):
        if n > XLSX_MAX_ROWS:
            raise StatementTooLarge()
        row[5] = Decimal(row[5])
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def member_statement_xlsx(*, tenant_id: int, member_id: int, start: datetime | None = None,
                          end: datetime | None = None) -> bytes:
    """A member's statement as an .xlsx workbook, oldest first."""

    get_member(tenant_id=tenant_id, member_id=member_id)
    return _xlsx(ledger.iter_entries(tenant_id=tenant_id, owner_id=member_id, start=start, end=end))


def tenant_statement_xlsx(*, tenant_id: int, start: datetime | None = None, end: datetime | None = None) -> bytes:
    """Every entry of the tenant in a period as an .xlsx workbook, oldest first."""
    return _xlsx(ledger.iter_entries(tenant_id=tenant_id, start=start, end=end))


def member_statement_csv(*, tenant_id: int, member_id: int, start: datetime | None = None,
                         end: datetime | None = None) -> Iterator[str]:
    """A member's statement as CSV lines (UTF-8 with BOM), oldest first, streamed."""

    get_member(tenant_id=tenant_id, member_id=member_id)
    return _csv_rows(ledger.iter_entries(tenant_id=tenant_id, owner_id=member_id, start=start, end=end))


def tenant_statement_csv(*, tenant_id: int, start: datetime | None = None,
                         end: datetime | None = None) -> Iterator[str]:
    """Every entry of the tenant as CSV lines (UTF-8 with BOM), oldest first, streamed."""
    return _csv_rows(ledger.iter_entries(tenant_id=tenant_id, start=start, end=end))
