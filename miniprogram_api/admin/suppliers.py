"""The operator's side of suppliers (/api/v1/admin/suppliers/...): the rules
(commission rates, who bears rewards, profit sharing, payout mode), applications and
their review, products under review, sub-orders. Boss or operator; audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import AwareDatetime, Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import suppliers as supplier_flows
from backend.suppliers import income as supplier_income
from backend.suppliers import service as suppliers
from backend.suppliers import sharing
from backend.suppliers import statements as supplier_statements
from backend.suppliers import withdrawals as supplier_withdrawals
from backend.suppliers.types import ReviewStatus, SupplierStatus, SupplierWithdrawalStatus
from miniprogram_api.admin.supplier_portal import csv_response
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.suppliers import (
    OrderSplitOut,
    SupplierAdminOut,
    SupplierDetailOut,
    SupplierOrderOut,
    SupplierProductOut,
    SupplierRulesOut,
    SupplierStatementLine,
    SupplierUserOut,
    SupplierWithdrawalAdminOut,
)

bp = Blueprint("admin_suppliers", __name__, url_prefix="/api/v1/admin/suppliers")

Rate = Annotated[str, Field(min_length=1, max_length=16)]


class RulesIn(Body):
    commission_rate: Rate | None = None
    category_rates: dict[Annotated[str, Field(min_length=1, max_length=32)], Rate] | None = Field(None, max_length=200)
    suppliers_bear_rewards: bool | None = None
    profit_sharing: bool | None = None
    payout_mode: Literal["manual"] | None = None


class ReviewIn(Body):
    approve: bool
    note: str = Field("", max_length=200)
    commission_rate: Rate | None = None


class SupplierPatch(Body):
    commission_rate: Rate | None = None
    status: Literal["active", "suspended"] | None = None
    sharing_receiver: str | None = Field(None, min_length=8, max_length=32)


class UserIn(Body):
    username: str = Field(min_length=3, max_length=60)
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=60)


class PageQuery(Query):
    before_id: int | None = Field(None, ge=1, le=2**53)
    limit: int = Field(50, ge=1, le=200)


class SupplierPage(PageQuery):
    status: SupplierStatus | None = None


class ProductPage(PageQuery):
    review_status: ReviewStatus | None = None
    supplier_id: int | None = Field(None, ge=1, le=2**53)


class SubOrderPage(PageQuery):
    status: Literal["open", "shipped"] | None = None


class RangeQuery(Query):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class StatementPage(PageQuery, RangeQuery):
    pass


class WithdrawalPage(PageQuery):
    status: SupplierWithdrawalStatus | None = None
    supplier_id: int | None = Field(None, ge=1, le=2**53)


class WithdrawalReviewIn(Body):
    approve: bool
    note: str = Field("", max_length=200)


class FailedIn(Body):
    id: Annotated[int, Field(strict=True, ge=1, le=2**53)]
    reason: str = Field(min_length=1, max_length=200)


class ConfirmIn(Body):
    paid: list[Annotated[int, Field(strict=True, ge=1, le=2**53)]] = Field(default_factory=list, max_length=500)
    failed: list[FailedIn] = Field(default_factory=list, max_length=500)


def _rules(principal: Principal) -> dict[str, Any]:
    return suppliers.get_rules(tenant_id=principal.tenant_id).as_dict()


@route(bp, "/settings", auth="staff", response=SupplierRulesOut)
def settings(principal: Principal) -> dict[str, Any]:
    """The supplier rules: commission rates, rewards borne, profit sharing, payout mode."""
    return _rules(principal)


@route(bp, "/settings", method="PATCH", auth="staff", body=RulesIn,
       response=SupplierRulesOut, errors=("invalid_supplier_input",))
def update_settings(principal: Principal, body: RulesIn) -> dict[str, Any]:
    """Change the supplier rules (audited)."""
    return suppliers.update_rules(tenant_id=principal.tenant_id, changes=body.model_dump(exclude_unset=True),
                                  actor=principal.actor, now=utcnow()).as_dict()


@route(bp, "", auth="staff", query=SupplierPage, response=Page[SupplierAdminOut])
def list_suppliers(principal: Principal, query: SupplierPage) -> dict[str, Any]:
    """Suppliers (applications first by status), newest first."""
    rows = suppliers.list_suppliers(tenant_id=principal.tenant_id, status=query.status, before_id=query.before_id,
                                    limit=query.limit)
    return page_of(rows, lambda s: suppliers.supplier_view(s, admin=True), query.limit)


@route(bp, "/<int:supplier_id>", auth="staff", response=SupplierDetailOut, errors=("supplier_not_found",))
def get_supplier(principal: Principal, supplier_id: int) -> dict[str, Any]:
    """One supplier with its income and balances."""
    s = suppliers.get_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id)
    return SupplierDetailOut(**suppliers.supplier_view(s, admin=True),
                             income=supplier_income.income_summary(tenant_id=principal.tenant_id, supplier_id=s.id))


@route(bp, "/<int:supplier_id>/review", method="POST", auth="staff", body=ReviewIn,
       response=SupplierAdminOut, errors=("invalid_supplier_input", "supplier_not_found", "supplier_state"))
def review(principal: Principal, supplier_id: int, body: ReviewIn) -> dict[str, Any]:
    """Approve (optionally with its own commission rate) or reject (with the reason) an application."""
    s = suppliers.review_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id, approve=body.approve,
                                  note=body.note, commission_rate=body.commission_rate, actor=principal.actor,
                                  now=utcnow())
    return suppliers.supplier_view(s, admin=True)


@route(bp, "/<int:supplier_id>", method="PATCH", auth="staff", body=SupplierPatch,
       response=SupplierAdminOut, errors=("supplier_not_found",))
def update_supplier(principal: Principal, supplier_id: int, body: SupplierPatch) -> dict[str, Any]:
    """Change a supplier's own rate (null: the category's or the tenant's), suspend or
    resume it, or set its WeChat Pay receiver (分账接收方)."""
    s = suppliers.update_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id,
                                  changes=body.model_dump(exclude_unset=True), actor=principal.actor, now=utcnow())
    return suppliers.supplier_view(s, admin=True)


@route(bp, "/<int:supplier_id>/users", method="POST", auth="staff", body=UserIn, status=201,
       response=SupplierUserOut, errors=("supplier_not_found",))
def add_user(principal: Principal, supplier_id: int, body: UserIn) -> dict[str, Any]:
    """Add a login for a supplier."""
    return suppliers.user_view(suppliers.add_user(
        tenant_id=principal.tenant_id, supplier_id=supplier_id, username=body.username, password=body.password,
        display_name=body.display_name, actor=principal.actor, now=utcnow()))


@route(bp, "/products", auth="staff", query=ProductPage, response=Page[SupplierProductOut])
def products(principal: Principal, query: ProductPage) -> dict[str, Any]:
    """Suppliers' products, e.g. those waiting for review (review_status=pending)."""
    rows = suppliers.list_supplier_products(tenant_id=principal.tenant_id, supplier_id=query.supplier_id,
                                            review_status=query.review_status, before_id=query.before_id,
                                            limit=query.limit)
    return page_of(rows, suppliers.product_with_review, query.limit)


@route(bp, "/products/<int:product_id>/review", method="POST", auth="staff", body=ReviewIn,
       response=SupplierProductOut, errors=("supplier_product_not_found",))
def review_product(principal: Principal, product_id: int, body: ReviewIn) -> dict[str, Any]:
    """Approve a supplier's product or its new prices (on the shelf), or reject with the reason."""
    row = suppliers.review_product(tenant_id=principal.tenant_id, product_id=product_id, approve=body.approve,
                                   note=body.note, actor=principal.actor, now=utcnow())
    return suppliers.product_with_review(row)


@route(bp, "/<int:supplier_id>/orders", auth="staff", query=SubOrderPage,
       response=Page[SupplierOrderOut], errors=("supplier_not_found",))
def supplier_orders(principal: Principal, supplier_id: int, query: SubOrderPage) -> dict[str, Any]:
    """A supplier's sub-orders as the supplier sees them."""
    suppliers.get_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id)
    return supplier_flows.supplier_orders(tenant_id=principal.tenant_id, supplier_id=supplier_id,
                                          status=query.status, before_id=query.before_id, limit=query.limit)


@route(bp, "/order-split/<int:order_id>", auth="staff", response=OrderSplitOut)
def order_split(principal: Principal, order_id: int) -> dict[str, Any]:
    """How an order was split among suppliers (sub-orders, shipments) and its profit
    sharing at WeChat Pay (shares, returns), if it was paid for it."""
    return OrderSplitOut(items=supplier_flows.order_sub_orders(tenant_id=principal.tenant_id, order_id=order_id),
                         sharing=sharing.sharing_view(tenant_id=principal.tenant_id, order_id=order_id))


@route(bp, "/withdrawals", auth="staff", query=WithdrawalPage, response=Page[SupplierWithdrawalAdminOut])
def withdrawals(principal: Principal, query: WithdrawalPage) -> dict[str, Any]:
    """Suppliers' withdrawals, e.g. those waiting for review (status=pending)."""
    rows = supplier_withdrawals.list_withdrawals(tenant_id=principal.tenant_id, supplier_id=query.supplier_id,
                                                 status=query.status, before_id=query.before_id, limit=query.limit)
    return page_of(rows, lambda w: supplier_withdrawals.withdrawal_view(w, admin=True), query.limit)


@route(bp, "/withdrawals/<int:withdrawal_id>/review", method="POST", auth="staff", body=WithdrawalReviewIn,
       response=SupplierWithdrawalAdminOut, errors=("withdrawal_not_found",))
def review_withdrawal(principal: Principal, withdrawal_id: int, body: WithdrawalReviewIn) -> dict[str, Any]:
    """Approve a supplier's withdrawal (paid in the next batch) or reject it (money returned)."""
    w = supplier_withdrawals.review_withdrawal(tenant_id=principal.tenant_id, withdrawal_id=withdrawal_id,
                                               approve=body.approve, note=body.note, actor=principal.actor,
                                               now=utcnow())
    return supplier_withdrawals.withdrawal_view(w, admin=True)


@route(bp, "/withdrawals/batches", method="POST", auth="staff", raw=True, content="text/csv")
def export_batch(principal: Principal) -> Response:
    """Put every approved withdrawal into one bank batch and download the bank's CSV
    (header X-Batch-No names the batch to confirm later). Boss only: the file carries
    whole card numbers."""
    batch = supplier_withdrawals.export_batch(tenant_id=principal.tenant_id, actor=principal.actor, now=utcnow())
    resp = csv_response(supplier_withdrawals.batch_csv(batch), f"supplier-payouts-{batch.batch_no}.csv")
    resp.headers["X-Batch-No"] = batch.batch_no
    return resp


@route(bp, "/withdrawals/batches/<batch_no>/confirm", method="POST", auth="staff", body=ConfirmIn,
       response=Items[SupplierWithdrawalAdminOut], errors=("withdrawal_not_found", "withdrawal_state"))
def confirm_batch(principal: Principal, batch_no: str, body: ConfirmIn) -> dict[str, Any]:
    """Report the bank's result of a batch: paid ones done, failed ones returned."""
    rows = supplier_withdrawals.confirm_batch(tenant_id=principal.tenant_id, batch_no=batch_no[:32],
                                              paid_ids=body.paid, failed={f.id: f.reason for f in body.failed},
                                              actor=principal.actor, now=utcnow())
    return Items[SupplierWithdrawalAdminOut](items=[supplier_withdrawals.withdrawal_view(w, admin=True) for w in rows])


@route(bp, "/<int:supplier_id>/statement", auth="staff", query=StatementPage,
       response=Page[SupplierStatementLine], errors=("supplier_not_found",))
def statement(principal: Principal, supplier_id: int, query: StatementPage) -> dict[str, Any]:
    """A supplier's statement (every entry on its accounts), newest first."""
    suppliers.get_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id)
    return supplier_statements.supplier_statement(tenant_id=principal.tenant_id, supplier_id=supplier_id,
                                                  before_id=query.before_id, limit=query.limit, start=query.start,
                                                  end=query.end)


@route(bp, "/<int:supplier_id>/statement.csv", auth="staff", query=RangeQuery, raw=True,
       content="text/csv", errors=("supplier_not_found",))
def statement_csv(principal: Principal, supplier_id: int, query: RangeQuery) -> Response:
    """A supplier's statement as CSV (for Excel)."""
    suppliers.get_supplier(tenant_id=principal.tenant_id, supplier_id=supplier_id)
    return csv_response(supplier_statements.supplier_statement_csv(
        tenant_id=principal.tenant_id, supplier_id=supplier_id, start=query.start, end=query.end),
        f"statement-supplier-{supplier_id}.csv")
