"""Daily reconciliation (对账): WeChat Pay's trade bill and fund-flow bill of a China day,
downloaded through backend/wechat, compared with the ledger; the differences are kept
for the operator (backend/reconciliation).

- Trade bill: each SUCCESS line (out_trade_no, settled amount) against the payment's
  posting (an order's `order_paid`, a recharge's `recharge`), each REFUND line
  (out_refund_no, amount) against `order:refund:<out_refund_no>`; a line without a
  posting, a posting without a line, and different amounts are differences.
- Fund-flow bill: the day's income less expense against the day's movement of the
  ledger's WeChat clearing account (every payment, refund, payout, split, return).
A posting is of the day it was written; one written seconds after midnight for a
payment of the day before shows as a difference on both days (the note says so).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from backend.db import run_in_unit_of_work
from backend.errors import ValidationFailed
from backend.finance import service as finance
from backend.finance.rules import CHINA
from backend.flows.tenant_pass import each_active_tenant
from backend.ledger import service as ledger
from backend.ledger.types import AccountKind as K
from backend.money import parse_yuan, yuan
from backend.orders import service as orders
from backend.reconciliation import service as recon
from backend.reconciliation.service import Difference
from backend.wechat.errors import WeChatError
from backend.wechat.service import gateway, pay_credentials

EDGE = "（若交易发生在零点前后，可能记入相邻日期）"


def _window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=CHINA).astimezone(UTC)
    return start, start + timedelta(days=1)


def _fen(text: str | None) -> int:
    try:
        return parse_yuan((text or "0").strip() or "0")
    except ValueError:
        return 0


def compare(*, tenant_id: int, day: date, trade: list[dict[str, str]],
            fund: list[dict[str, str]]) -> tuple[list[Difference], int, int]:
    """The differences between the day's bills and the ledger, and (bill net, ledger net)."""
    start, end = _window(day)
    clearing = [e for e in ledger.iter_entries(tenant_id=tenant_id, start=start, end=end)
                if e.account_kind == K.WECHAT_CLEARING]
    ledger_net = -sum(e.amount_fen for e in clearing)
    order_nos = {o.id: o.order_no for o in orders.orders_by_ids(
        tenant_id=tenant_id, order_ids=[e.order_id for e in clearing if e.posting_kind == "order_paid" and e.order_id]
    ).values()}
    recharge_ids = [int(e.idem_key.split(":")[1]) for e in clearing if e.posting_kind == "recharge"]
    recharge_nos = finance.recharge_trade_nos(tenant_id=tenant_id, recharge_ids=recharge_ids)
    ours: dict[tuple[str, str], int] = defaultdict(int)  # (trade|refund, ref) -> fen
    for e in clearing:
        if e.posting_kind == "order_paid" and e.order_id in order_nos:
            ours[("trade", order_nos[e.order_id])] += -e.amount_fen
        elif e.posting_kind == "recharge":
            ours[("trade", recharge_nos.get(int(e.idem_key.split(":")[1]), e.idem_key))] += -e.amount_fen
        elif e.posting_kind == "order_refund":
            ours[("refund", e.idem_key.removeprefix("order:refund:"))] += e.amount_fen
    theirs: dict[tuple[str, str], int] = defaultdict(int)
    for row in trade:
        if row.get("交易状态") == "SUCCESS":
            theirs[("trade", row.get("商户订单号", ""))] += _fen(row.get("应结订单金额"))
        elif row.get("交易状态") == "REFUND":
            theirs[("refund", row.get("商户退款单号", ""))] += _fen(row.get("退款金额"))
    out = []
    for key in sorted(set(ours) | set(theirs)):
        kind, ref = key
        what = "支付" if kind == "trade" else "退款"
        if key not in ours:
            out.append(Difference("missing_in_ledger", ref, theirs[key], None, f"微信账单有此{what}，账本无记录{EDGE}"))
        elif key not in theirs:
            out.append(Difference("missing_in_bill", ref, None, ours[key], f"账本有此{what}，微信账单无记录{EDGE}"))
        elif ours[key] != theirs[key]:
            out.append(Difference("amount_mismatch", ref, theirs[key], ours[key],
                                  f"{what}金额不一致：账单 {yuan(theirs[key])} 元，账本 {yuan(ours[key])} 元"))
    bill_net = sum(_fen(r.get("收支金额(元)")) * (1 if r.get("收支类型") == "收入" else -1) for r in fund)
    if bill_net != ledger_net:
        by_business: dict[str, int] = defaultdict(int)
        for r in fund:
            by_business[r.get("业务名称", "")] += _fen(r.get("收支金额(元)")) * (1 if r.get("收支类型") == "收入" else -1)
        detail = "，".join(f"{k} {yuan(v)}" for k, v in sorted(by_business.items()))
        out.append(Difference("fund_flow_total", day.isoformat(), bill_net, ledger_net,
                              f"资金账单净额 {yuan(bill_net)} 元 ≠ 账本微信清算净额 {yuan(ledger_net)} 元（{detail}）"))
    return out, bill_net, ledger_net


def reconcile_day(*, tenant_id: int, day: date, now: datetime) -> str:
    """Download the day's two bills (no transaction held over the network), compare,
    record. Returns the run's status: matched, differences or failed (WeChat Pay
    unreachable or refusing; the job tries again on its next run)."""
    if day >= now.astimezone(CHINA).date():
        raise ValidationFailed(details=[{"field": "bill_date", "message": "只能对已结束的日期对账"}])
    try:
        pay = gateway().pay(run_in_unit_of_work(lambda: pay_credentials(tenant_id=tenant_id)))
        trade = pay.bill(kind="trade", bill_date=day.isoformat())
        fund = pay.bill(kind="fundflow", bill_date=day.isoformat())
    except WeChatError as exc:
        error = f"{exc.code}: {exc.message}"
        return run_in_unit_of_work(lambda: recon.record_run(
            tenant_id=tenant_id, bill_date=day, trade_rows=0, fund_rows=0, bill_net_fen=0, ledger_net_fen=0,
            differences=[], now=now, error=error[:200])).status

    def record() -> str:
        diffs, bill_net, ledger_net = compare(tenant_id=tenant_id, day=day, trade=trade, fund=fund)
        return recon.record_run(tenant_id=tenant_id, bill_date=day, trade_rows=len(trade), fund_rows=len(fund),
                                bill_net_fen=bill_net, ledger_net_fen=ledger_net, differences=diffs,
                                now=now).status

    return run_in_unit_of_work(record)


def reconcile_yesterday(*, now: datetime) -> int:
    """Every active tenant's previous China day not compared yet (bills are ready from
    about 10:00 China time; until then WeChat Pay refuses, the run is recorded as
    failed and tried again next hour). Returns how many tenants it ran."""
    day = now.astimezone(CHINA).date() - timedelta(days=1)

    def run(tenant_id: int) -> int:
        if run_in_unit_of_work(partial(recon.reconciled, tenant_id=tenant_id, bill_date=day)):
            return 0
        reconcile_day(tenant_id=tenant_id, day=day, now=now)
        return 1

    return each_active_tenant(run)
