"""The back-office's money: withdrawal review, finance settings, statements with CSV
export and the ledger check."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any, Literal

from flask import Blueprint, Response, send_file
from pydantic import AwareDatetime, Field, StrictBool, StrictInt

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.finance import service as finance
from backend.finance import statements
from backend.finance import withdrawals as wd
from backend.finance.types import WithdrawalStatus
from backend.ledger.service import check_ledger
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.finance import (
    FinanceRulesOut,
    LedgerCheckOut,
    PostingOut,
    StatementLine,
    TenantSummaryOut,
    WalletOut,
    WithdrawalAdminOut,
)

bp = Blueprint("admin_finance", __name__, url_prefix="/api/v1")





MAX_FEN = 10**11


ROW_ID = 2**53  # ids beyond this are not ours (and overflow BIGINT columns)


class PageQuery(Query):
    before_id: int | None = Field(None, gt=0, lt=ROW_ID)
    limit: int = Field(20, ge=1, le=100)


class StatementQuery(PageQuery):
    account: Literal["member_frozen", "member_available", "member_stored"] | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class RangeQuery(Query):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class WithdrawalPage(PageQuery):
    status: WithdrawalStatus | None = None
    member_id: int | None = Field(None, gt=0, lt=ROW_ID)


class PostingPage(PageQuery):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    order_id: int | None = Field(None, gt=0, lt=ROW_ID)
    member_id: int | None = Field(None, gt=0, lt=ROW_ID)


class ApproveIn(Body):
    note: str | None = Field(None, max_length=200)


class RejectIn(Body):
    reason: str = Field(min_length=1, max_length=200)


class BonusTier(Body):
    min_fen: StrictInt = Field(gt=0, le=MAX_FEN)
    bonus_fen: StrictInt = Field(ge=0, le=MAX_FEN)


class SettingsIn(Body):
    settle_after_days: StrictInt | None = Field(None, ge=0, le=365)
    withdraw_min_fen: StrictInt | None = None
    withdraw_fee_rate: str | None = Field(None, max_length=16, description='"0.6%" or "0.006"')
    withdraw_fee_min_fen: StrictInt | None = None
    withdraw_daily_limit_fen: StrictInt | None = None
    withdraw_daily_count: StrictInt | None = None
    auto_approve_below_fen: StrictInt | None = None
    transfer_enabled: StrictBool | None = None
    transfer_min_fen: StrictInt | None = None
    recharge_min_fen: StrictInt | None = None
    recharge_bonus: list[BonusTier] | None = None


@route(bp, "/admin/finance/settings", auth="staff", response=FinanceRulesOut)
def get_settings(principal: Principal) -> dict[str, Any]:
    """The tenant's finance rules."""
    return finance.get_rules(tenant_id=principal.tenant_id).as_dict()


@route(bp, "/admin/finance/settings", method="PATCH", auth="staff", body=SettingsIn,
       response=FinanceRulesOut, errors=("invalid_finance_settings",))
def update_settings(principal: Principal, body: SettingsIn) -> dict[str, Any]:
    """Change finance rules (settlement days, withdrawal minimum/fee/limits/auto-approval,
    transfers, recharge bonus tiers); audited. Send null to clear an optional limit."""
    changes = body.model_dump(exclude_unset=True)
    return finance.update_rules(tenant_id=principal.tenant_id, changes=changes, actor=principal.actor).as_dict()


@route(bp, "/admin/finance/withdrawals", auth="staff", query=WithdrawalPage,
       response=Page[WithdrawalAdminOut])
def list_withdrawals(principal: Principal, query: WithdrawalPage) -> dict[str, Any]:
    """Withdrawals newest first, by status (e.g. pending review) or member."""
    rows = wd.list_withdrawals(tenant_id=principal.tenant_id, member_id=query.member_id, status=query.status,
                               before_id=query.before_id, limit=query.limit)
    return page_of(rows, lambda w: wd.withdrawal_view(w, admin=True), query.limit)


@route(bp, "/admin/finance/withdrawals/<int:withdrawal_id>", auth="staff",
       response=WithdrawalAdminOut, errors=("withdrawal_not_found",))
def get_withdrawal(principal: Principal, withdrawal_id: int) -> dict[str, Any]:
    """One withdrawal with its payout details."""
    return wd.withdrawal_view(wd.get_withdrawal(tenant_id=principal.tenant_id, withdrawal_id=withdrawal_id),
                              admin=True)


@route(bp, "/admin/finance/withdrawals/<int:withdrawal_id>/approve", method="POST", auth="staff",
       body=ApproveIn, response=WithdrawalAdminOut, errors=("withdrawal_not_found",))
def approve(principal: Principal, body: ApproveIn, withdrawal_id: int) -> dict[str, Any]:
    """Approve a pending withdrawal; the WeChat Pay transfer starts once this commits."""
    w = wd.approve_withdrawal(tenant_id=principal.tenant_id, withdrawal_id=withdrawal_id, actor=principal.actor,
                              now=utcnow(), note=body.note)
    return wd.withdrawal_view(w, admin=True)


@route(bp, "/admin/finance/withdrawals/<int:withdrawal_id>/reject", method="POST", auth="staff",
       body=RejectIn, response=WithdrawalAdminOut, errors=("withdrawal_not_found", "withdrawal_state"))
def reject(principal: Principal, body: RejectIn, withdrawal_id: int) -> dict[str, Any]:
    """Reject a pending withdrawal with a reason; the amount and fee return to the member."""
    w = wd.reject_withdrawal(tenant_id=principal.tenant_id, withdrawal_id=withdrawal_id, actor=principal.actor,
                             reason=body.reason, now=utcnow())
    return wd.withdrawal_view(w, admin=True)


@route(bp, "/admin/finance/summary", auth="staff", response=TenantSummaryOut)
def summary(principal: Principal) -> dict[str, Any]:
    """The tenant's accounts in total, the reward pipeline and the settlement mark."""
    return statements.tenant_summary(tenant_id=principal.tenant_id)


@route(bp, "/admin/finance/postings", auth="staff", query=PostingPage, response=Page[PostingOut])
def postings(principal: Principal, query: PostingPage) -> dict[str, Any]:
    """The tenant's postings (newest first) with their entries and the rules behind them."""
    return statements.tenant_postings(tenant_id=principal.tenant_id, before_id=query.before_id,
                                      limit=query.limit, start=query.start, end=query.end,
                                      order_id=query.order_id, member_id=query.member_id)


@route(bp, "/admin/finance/members/<int:member_id>/statement", auth="staff", query=StatementQuery,
       response=Page[StatementLine], errors=("member_not_found",))
def member_statement(principal: Principal, query: StatementQuery, member_id: int) -> dict[str, Any]:
    """A member's statement, as the member sees it."""
    return statements.member_statement(tenant_id=principal.tenant_id, member_id=member_id,
                                       before_id=query.before_id, limit=query.limit, start=query.start,
                                       end=query.end, account=query.account)


@route(bp, "/admin/finance/members/<int:member_id>/wallet", auth="staff",
       response=WalletOut, errors=("member_not_found",))
def member_wallet(principal: Principal, member_id: int) -> dict[str, Any]:
    """A member's balances and withdrawals in numbers."""
    from backend.members.service import get_member

    get_member(tenant_id=principal.tenant_id, member_id=member_id)
    return statements.wallet(tenant_id=principal.tenant_id, member_id=member_id, now=utcnow())


def _csv(lines: Iterator[str], filename: str) -> Response:
    # Written out while the request (and its database session) is alive, spilling to a
    # temporary file past 8 MB, then sent: memory stays bounded for any period.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    for line in lines:
        spool.write(line.encode("utf-8"))
    spool.seek(0)
    return send_file(spool, mimetype="text/csv; charset=utf-8", as_attachment=True, download_name=filename)


@route(bp, "/admin/finance/members/<int:member_id>/statement.csv", auth="staff", query=RangeQuery, raw=True,
       content="text/csv", errors=("member_not_found",))
def member_statement_csv(principal: Principal, query: RangeQuery, member_id: int) -> Response:
    """A member's statement as CSV (UTF-8 with BOM, opens in Excel), oldest first."""
    lines = statements.member_statement_csv(tenant_id=principal.tenant_id, member_id=member_id,
                                            start=query.start, end=query.end)
    return _csv(lines, f"statement-member-{member_id}.csv")


@route(bp, "/admin/finance/statement.csv", auth="staff", query=RangeQuery, raw=True, content="text/csv")
def tenant_statement_csv(principal: Principal, query: RangeQuery) -> Response:
    """Every ledger entry of the tenant in a period as CSV (UTF-8 with BOM), oldest first."""
    lines = statements.tenant_statement_csv(tenant_id=principal.tenant_id, start=query.start, end=query.end)
    return _csv(lines, "statement.csv")


def _xlsx(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@route(bp, "/admin/finance/members/<int:member_id>/statement.xlsx", auth="staff", query=RangeQuery, raw=True,
       content="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
       errors=("member_not_found",))
def member_statement_xlsx(principal: Principal, query: RangeQuery, member_id: int) -> Response:
    """A member's statement as an Excel workbook, oldest first."""
    return _xlsx(statements.member_statement_xlsx(tenant_id=principal.tenant_id, member_id=member_id,
                                                  start=query.start, end=query.end),
                 f"statement-member-{member_id}.xlsx")


@route(bp, "/admin/finance/statement.xlsx", auth="staff", query=RangeQuery, raw=True,
       content="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def tenant_statement_xlsx(principal: Principal, query: RangeQuery) -> Response:
    """Every ledger entry of the tenant in a period as an Excel workbook, oldest first."""
    return _xlsx(statements.tenant_statement_xlsx(tenant_id=principal.tenant_id, start=query.start,
                                                  end=query.end), "statement.xlsx")


@route(bp, "/admin/finance/ledger/check", auth="staff", response=LedgerCheckOut)
def ledger_check(principal: Principal) -> dict[str, Any]:
    """Rebuild every balance from the entries and compare (read only); ok=false lists the differences."""
    return check_ledger(tenant_id=principal.tenant_id).as_dict()

