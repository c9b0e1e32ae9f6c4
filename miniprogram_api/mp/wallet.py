"""The member's money (mini-program): wallet, statement with the rule behind each entry,
withdrawals, balance transfers and recharges."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import AwareDatetime, Field, StrictInt

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.finance import service as finance
from backend.finance import statements
from backend.finance import withdrawals as wd
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.finance import (
    MyWithdrawalOut,
    RechargeOut,
    RechargeStartOut,
    StatementLine,
    TransferOut,
    WalletOut,
    WithdrawalOut,
)

bp = Blueprint("wallet", __name__, url_prefix="/api/v1")



MAX_FEN = 10**11


ROW_ID = 2**53  # ids beyond this are not ours (and overflow BIGINT columns)


class WithdrawIn(Body):
    amount_fen: StrictInt = Field(gt=0, le=MAX_FEN, description="amount taken from the available balance")
    client_token: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="the app's retry key: the same token returns the same withdrawal")
    real_name: str | None = Field(None, min_length=1, max_length=32, description="payee's real name (≥ 2000 yuan)")


class TransferIn(Body):
    amount_fen: StrictInt = Field(gt=0, le=MAX_FEN)
    client_token: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    to_member_id: StrictInt | None = Field(None, gt=0, lt=ROW_ID)
    to_invite_code: str | None = Field(None, min_length=4, max_length=12)
    note: str = Field("", max_length=60)


class RechargeIn(Body):
    amount_fen: StrictInt = Field(gt=0, le=MAX_FEN)


class PageQuery(Query):
    before_id: int | None = Field(None, gt=0, lt=ROW_ID)
    limit: int = Field(20, ge=1, le=100)


class StatementQuery(PageQuery):
    account: Literal["member_frozen", "member_available", "member_stored"] | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


@route(bp, "/mp/wallet", auth="member", response=WalletOut)
def my_wallet(principal: Principal) -> dict[str, Any]:
    """My balances (frozen, available, stored value), withdrawals in progress, today's limits."""
    return statements.wallet(tenant_id=principal.tenant_id, member_id=principal.subject_id, now=utcnow())


@route(bp, "/mp/wallet/statement", auth="member", query=StatementQuery, response=Page[StatementLine])
def my_statement(principal: Principal, query: StatementQuery) -> dict[str, Any]:
    """My statement: every entry on my accounts with the order and reward rule behind it."""
    return statements.member_statement(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                       before_id=query.before_id, limit=query.limit, start=query.start,
                                       end=query.end, account=query.account)


@route(bp, "/mp/wallet/withdrawals", method="POST", auth="member", body=WithdrawIn, status=201,
       limit="withdraw_member", response=WithdrawalOut,
       errors=("insufficient_balance", "payee_name_required", "rate_limited", "withdraw_below_minimum"))
def withdraw(principal: Principal, body: WithdrawIn) -> dict[str, Any]:
    """Apply to withdraw to WeChat change; 409 insufficient_balance beyond the available balance."""
    w = wd.apply_withdrawal(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                            amount_fen=body.amount_fen, now=utcnow(), client_token=body.client_token,
                            real_name=body.real_name)
    return wd.withdrawal_view(w)


@route(bp, "/mp/wallet/withdrawals", auth="member", query=PageQuery, response=Page[WithdrawalOut])
def my_withdrawals(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """My withdrawals, newest first."""
    rows = wd.list_withdrawals(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                               before_id=query.before_id, limit=query.limit)
    return page_of(rows, wd.withdrawal_view, query.limit)


@route(bp, "/mp/wallet/withdrawals/<int:withdrawal_id>", auth="member", response=MyWithdrawalOut,
       errors=("withdrawal_not_found",))
def my_withdrawal(principal: Principal, withdrawal_id: int) -> dict[str, Any]:
    """One of my withdrawals; while it waits for me, `confirm` is wx.requestMerchantTransfer's parameters."""
    return wd.member_withdrawal(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                withdrawal_id=withdrawal_id)


@route(bp, "/mp/wallet/withdrawals/<int:withdrawal_id>/cancel", method="POST", auth="member",
       response=WithdrawalOut, errors=("withdrawal_not_found", "withdrawal_state"))
def cancel_my_withdrawal(principal: Principal, withdrawal_id: int) -> dict[str, Any]:
    """Cancel my withdrawal while it waits for review; the money returns."""
    return wd.withdrawal_view(wd.cancel_withdrawal(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                                   withdrawal_id=withdrawal_id, now=utcnow()))


@route(bp, "/mp/wallet/transfers", method="POST", auth="member", body=TransferIn, status=201,
       response=TransferOut,
       errors=("insufficient_balance", "member_not_found", "transfer_disabled", "transfer_invalid"))
def transfer(principal: Principal, body: TransferIn) -> Any:
    """余额转赠: give stored value to another member (by id or invite code)."""
    t = finance.transfer_balance(tenant_id=principal.tenant_id, from_member_id=principal.subject_id,
                                 amount_fen=body.amount_fen, client_token=body.client_token, now=utcnow(),
                                 to_member_id=body.to_member_id, to_invite_code=body.to_invite_code,
                                 note=body.note)
    return t


@route(bp, "/mp/wallet/recharges", method="POST", auth="member", body=RechargeIn, status=201,
       response=RechargeStartOut, errors=("recharge_invalid",))
def recharge(principal: Principal, body: RechargeIn) -> RechargeStartOut:
    """充值: create a recharge and its WeChat Pay prepay; returns wx.requestPayment's parameters."""
    row, prepay = finance.create_recharge(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                          amount_fen=body.amount_fen, now=utcnow())
    return RechargeStartOut(**finance.recharge_view(row), request_payment=dict(prepay.request_payment))


@route(bp, "/mp/wallet/recharges/<int:recharge_id>", auth="member", response=RechargeOut,
       errors=("recharge_not_found",))
def my_recharge(principal: Principal, recharge_id: int) -> dict[str, Any]:
    """One of my recharges."""
    return finance.recharge_view(finance.get_recharge(tenant_id=principal.tenant_id,
                                                      member_id=principal.subject_id, recharge_id=recharge_id))

