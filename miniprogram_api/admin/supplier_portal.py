"""The supplier back-office (/api/v1/admin/supplier/...): a supplier applies, logs in
with its own account (token kind "supplier", role "supplier") and sees only its own
products, orders and money. The supplier is always the caller's; an id of another
supplier's row reads as not found."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, send_file
from pydantic import AwareDatetime, Field

from backend.auth import policy
from backend.auth.tokens import Principal, issue_token
from backend.catalog import service as catalog
from backend.db import utcnow
from backend.flows import suppliers as supplier_flows
from backend.suppliers import income as supplier_income
from backend.suppliers import service as suppliers
from backend.suppliers import statements as supplier_statements
from backend.suppliers import withdrawals as supplier_withdrawals
from backend.suppliers.types import ReviewStatus, SupplierWithdrawalStatus
from backend.tenants import service as tenants
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.common import Done
from miniprogram_api.schemas.orders import RefundOut, SkuAdminOut
from miniprogram_api.schemas.suppliers import (
    IncomeSummaryOut,
    SupplierOrderOut,
    SupplierOut,
    SupplierProductOut,
    SupplierSessionOut,
    SupplierStatementLine,
    SupplierUserOut,
    SupplierWithdrawalOut,
)

bp = Blueprint("supplier_portal", __name__, url_prefix="/api/v1/admin/supplier")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
MAX_FEN = catalog.MAX_PRICE_FEN
PriceFen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN)]
CostFen = Annotated[int, Field(strict=True, ge=0, le=MAX_FEN)]
Stock = Annotated[int, Field(strict=True, ge=0, le=catalog.MAX_STOCK)]


class Material(Body):
    kind: str = Field(min_length=1, max_length=20)
    url: str = Field(min_length=8, max_length=512)


class ApplyIn(Body):
    tenant: str = Field(min_length=2, max_length=40)
    username: str = Field(min_length=3, max_length=60)
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=60)
    company_name: str = Field(min_length=2, max_length=100)
    license_no: str = Field(min_length=15, max_length=20)
    contact_name: str = Field(min_length=1, max_length=40)
    contact_phone: str = Field(min_length=6, max_length=20)
    materials: list[Material] = Field(min_length=1, max_length=20)


class LoginIn(Body):
    tenant: str = Field(min_length=2, max_length=40)
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=128)


class BankCardIn(Body):
    bank_name: str = Field(min_length=2, max_length=60)
    account_name: str = Field(min_length=2, max_length=100)
    card_no: str = Field(min_length=12, max_length=23)


class UserIn(Body):
    username: str = Field(min_length=3, max_length=60)
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=60)


class SkuIn(Body):
    name: str = Field(min_length=1, max_length=100)
    price_fen: PriceFen
    cost_fen: CostFen = 0
    stock: Stock = 0


class ProductIn(Body):
    name: str = Field(min_length=1, max_length=100)
    category: str = Field("", max_length=32)
    subtitle: str = Field("", max_length=200)
    description: str = Field("", max_length=20000)
    image_url: str = Field("", max_length=512)
    skus: list[SkuIn] = Field(min_length=1, max_length=100)


class SkuPatch(Body):
    id: Id
    name: str | None = Field(None, min_length=1, max_length=100)
    price_fen: PriceFen | None = None
    cost_fen: CostFen | None = None


class ProductPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    category: str | None = Field(None, max_length=32)
    subtitle: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20000)
    image_url: str | None = Field(None, max_length=512)
    skus: list[SkuPatch] = Field(default_factory=list, max_length=100)


class StockIn(Body):
    delta: int = Field(strict=True, ge=-catalog.MAX_STOCK, le=catalog.MAX_STOCK)


class ShipIn(Body):
    company: str = Field(min_length=1, max_length=40)
    tracking_no: str = Field(min_length=4, max_length=64)


class RejectIn(Body):
    note: str = Field(min_length=1, max_length=200)


class PageQuery(Query):
    before_id: int | None = Field(None, ge=1, le=2**53)
    limit: int = Field(50, ge=1, le=200)


class ProductPage(PageQuery):
    review_status: ReviewStatus | None = None


class OrderPage(PageQuery):
    status: Literal["open", "shipped"] | None = None


class WithdrawIn(Body):
    amount_fen: int = Field(strict=True, ge=1, le=10**11)
    client_token: str | None = Field(None, min_length=8, max_length=64)


class WithdrawalPage(PageQuery):
    status: SupplierWithdrawalStatus | None = None


class RangeQuery(Query):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class StatementPage(PageQuery, RangeQuery):
    pass


def _me(principal: Principal, *, active: bool = True) -> Any:
    return suppliers.supplier_of_user(tenant_id=principal.tenant_id, user_id=principal.subject_id, active=active)


def _session(user: Any) -> SupplierSessionOut:
    token = issue_token(kind="supplier", tenant_id=user.tenant_id, subject_id=user.id, role="supplier",
                        version=user.token_version)
    s = suppliers.get_supplier(tenant_id=user.tenant_id, supplier_id=user.supplier_id)
    return SupplierSessionOut(token=token, user=suppliers.user_view(user), supplier=suppliers.supplier_view(s),
                              permissions=policy.permissions_of("supplier"))


# ------------------------------------------------------------------ account


@route(bp, "/apply", method="POST", auth=None, body=ApplyIn, status=201, response=SupplierSessionOut,
       errors=("tenant_not_found",))
def apply(body: ApplyIn) -> dict[str, Any]:
    """Apply to sell on the brand's platform (入驻申请); the login follows the review."""
    tenant = tenants.get_tenant_by_slug(slug=body.tenant)
    _, user = suppliers.apply(tenant_id=tenant.id, username=body.username, password=body.password, now=utcnow(),
                              application=suppliers.Application(
                                  name=body.name, company_name=body.company_name, license_no=body.license_no,
                                  contact_name=body.contact_name, contact_phone=body.contact_phone,
                                  materials=[m.model_dump() for m in body.materials]))
    return _session(user)


@route(bp, "/login", method="POST", auth=None, body=LoginIn, limit="staff_login_ip",
       response=SupplierSessionOut, errors=("bad_credentials", "login_locked", "rate_limited"))
def login(body: LoginIn) -> dict[str, Any]:
    """Supplier log in (its own account, role supplier)."""
    return _session(suppliers.login(tenant_slug=body.tenant, username=body.username, password=body.password))


@route(bp, "/logout", method="POST", auth="supplier", response=Done)
def logout(principal: Principal) -> Done:
    """End every session of the calling supplier login (all its tokens)."""
    suppliers.logout(tenant_id=principal.tenant_id, user_id=principal.subject_id)
    return Done(ok=True)


@route(bp, "/me", auth="supplier", response=SupplierOut)
def me(principal: Principal) -> dict[str, Any]:
    """My supplier: its application state, rate and (masked) bank card."""
    return suppliers.supplier_view(_me(principal, active=False))


@route(bp, "/bank-card", method="PUT", auth="supplier", body=BankCardIn, response=SupplierOut,
       errors=("invalid_supplier_input",))
def bank_card(principal: Principal, body: BankCardIn) -> dict[str, Any]:
    """Set the card withdrawals are paid to (stored encrypted, shown masked)."""
    s = suppliers.set_bank_card(tenant_id=principal.tenant_id, supplier_id=_me(principal).id, now=utcnow(),
                                bank_name=body.bank_name, account_name=body.account_name, card_no=body.card_no,
                                actor=principal.actor)
    return suppliers.supplier_view(s)


@route(bp, "/users", method="POST", auth="supplier", body=UserIn, status=201, response=SupplierUserOut,
       errors=("invalid_supplier_input",))
def add_user(principal: Principal, body: UserIn) -> dict[str, Any]:
    """Another login for my supplier."""
    return suppliers.user_view(suppliers.add_user(
        tenant_id=principal.tenant_id, supplier_id=_me(principal).id, username=body.username,
        password=body.password, display_name=body.display_name, actor=principal.actor, now=utcnow()))


# ------------------------------------------------------------------ products


@route(bp, "/products", auth="supplier", query=ProductPage, response=Page[SupplierProductOut])
def products(principal: Principal, query: ProductPage) -> dict[str, Any]:
    """My products with their review state."""
    rows = suppliers.list_supplier_products(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                            review_status=query.review_status, before_id=query.before_id,
                                            limit=query.limit)
    return page_of(rows, suppliers.product_with_review, query.limit)


@route(bp, "/products", method="POST", auth="supplier", body=ProductIn, status=201,
       response=SupplierProductOut, errors=("supplier_not_active",))
def submit_product(principal: Principal, body: ProductIn) -> dict[str, Any]:
    """Submit a product (SKUs, price, cost, stock) for the operator's review."""
    row = suppliers.submit_product(
        tenant_id=principal.tenant_id, supplier_id=_me(principal).id, actor=principal.actor, now=utcnow(),
        submission=suppliers.ProductSubmission(
            name=body.name, category=body.category, subtitle=body.subtitle, description=body.description,
            image_url=body.image_url, skus=[catalog.SkuSpec(name=s.name, price_fen=s.price_fen, cost_fen=s.cost_fen,
                                                            stock=s.stock) for s in body.skus]))
    return suppliers.product_with_review(row)


@route(bp, "/products/<int:product_id>", auth="supplier", response=SupplierProductOut,
       errors=("supplier_product_not_found",))
def product(principal: Principal, product_id: int) -> dict[str, Any]:
    """One of my products."""
    return suppliers.product_with_review(suppliers.supplier_product(
        tenant_id=principal.tenant_id, product_id=product_id, supplier_id=_me(principal).id))


@route(bp, "/products/<int:product_id>", method="PATCH", auth="supplier", body=ProductPatch,
       response=SupplierProductOut, errors=("supplier_product_not_found",))
def edit_product(principal: Principal, product_id: int, body: ProductPatch) -> dict[str, Any]:
    """Edit my product: a new price or cost goes back to review."""
    changes = body.model_dump(exclude_unset=True, exclude={"skus"})
    sku_changes = {s.id: s.model_dump(exclude_unset=True, exclude={"id"}) for s in body.skus}
    row = suppliers.edit_product(tenant_id=principal.tenant_id, supplier_id=_me(principal).id, product_id=product_id,
                                 changes=changes, sku_changes=sku_changes, actor=principal.actor, now=utcnow())
    return suppliers.product_with_review(row)


@route(bp, "/products/<int:product_id>/resubmit", method="POST", auth="supplier",
       response=SupplierProductOut, errors=("supplier_product_not_found",))
def resubmit(principal: Principal, product_id: int) -> dict[str, Any]:
    """Send a rejected product back for review."""
    return suppliers.product_with_review(suppliers.resubmit_product(
        tenant_id=principal.tenant_id, supplier_id=_me(principal).id, product_id=product_id, now=utcnow()))


@route(bp, "/skus/<int:sku_id>/stock", method="POST", auth="supplier", body=StockIn, response=SkuAdminOut,
       errors=("sku_not_found",))
def stock(principal: Principal, sku_id: int, body: StockIn) -> dict[str, Any]:
    """Add or remove stock of one of my SKUs."""
    sku = suppliers.adjust_stock(tenant_id=principal.tenant_id, supplier_id=_me(principal).id, sku_id=sku_id,
                                 delta=body.delta, actor=principal.actor)
    return catalog.sku_admin_view(sku)


# ------------------------------------------------------------------ orders and after-sales


@route(bp, "/orders", auth="supplier", query=OrderPage, response=Page[SupplierOrderOut])
def orders(principal: Principal, query: OrderPage) -> dict[str, Any]:
    """My sub-orders, newest first (only my lines of each order)."""
    return supplier_flows.supplier_orders(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                          status=query.status, before_id=query.before_id, limit=query.limit)


@route(bp, "/orders/<int:sub_order_id>", auth="supplier", response=SupplierOrderOut,
       errors=("sub_order_not_found",))
def order(principal: Principal, sub_order_id: int) -> dict[str, Any]:
    """One of my sub-orders."""
    return supplier_flows.supplier_order(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                         sub_order_id=sub_order_id)


@route(bp, "/orders/<int:sub_order_id>/ship", method="POST", auth="supplier", body=ShipIn,
       response=SupplierOrderOut, errors=("order_state_conflict", "sub_order_not_found"))
def ship(principal: Principal, sub_order_id: int, body: ShipIn) -> dict[str, Any]:
    """Ship my sub-order (logistics company and number); again to correct them."""
    return supplier_flows.ship(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                               sub_order_id=sub_order_id, company=body.company, tracking_no=body.tracking_no,
                               actor=principal.actor, now=utcnow())


@route(bp, "/orders/<int:sub_order_id>/refunds", auth="supplier", response=Items[RefundOut],
       errors=("sub_order_not_found",))
def refunds(principal: Principal, sub_order_id: int) -> dict[str, Any]:
    """After-sales requests on my sub-order."""
    return Items[RefundOut](items=supplier_flows.supplier_refunds(
        tenant_id=principal.tenant_id, supplier_id=_me(principal).id, sub_order_id=sub_order_id))


@route(bp, "/refunds/<int:refund_id>/approve", method="POST", auth="supplier", response=RefundOut,
       errors=("refund_not_found",))
def approve_refund(principal: Principal, refund_id: int) -> dict[str, Any]:
    """Approve a buyer's after-sales request on my lines: refunded through WeChat Pay."""
    return supplier_flows.decide_refund(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                        refund_id=refund_id, approve=True, actor=principal.actor, now=utcnow())


@route(bp, "/refunds/<int:refund_id>/reject", method="POST", auth="supplier", body=RejectIn,
       response=RefundOut, errors=("refund_not_found",))
def reject_refund(principal: Principal, refund_id: int, body: RejectIn) -> dict[str, Any]:
    """Reject a buyer's after-sales request on my lines, with the reason."""
    return supplier_flows.decide_refund(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                        refund_id=refund_id, approve=False, actor=principal.actor, now=utcnow(),
                                        note=body.note)


# ------------------------------------------------------------------ money


@route(bp, "/income", auth="supplier", response=IncomeSummaryOut)
def income(principal: Principal) -> dict[str, Any]:
    """My income per state (frozen, settled, cancelled, reversed) and my balances."""
    return supplier_income.income_summary(tenant_id=principal.tenant_id, supplier_id=_me(principal).id)


@route(bp, "/statement", auth="supplier", query=StatementPage, response=Page[SupplierStatementLine])
def statement(principal: Principal, query: StatementPage) -> dict[str, Any]:
    """My statement: every entry on my accounts, newest first."""
    return supplier_statements.supplier_statement(
        tenant_id=principal.tenant_id, supplier_id=_me(principal).id, before_id=query.before_id, limit=query.limit,
        start=query.start, end=query.end)


def csv_response(lines: Iterator[str], filename: str) -> Response:
    """CSV lines written out while the request lives (spilling to disk past 8 MB), then sent."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    for line in lines:
        spool.write(line.encode("utf-8"))
    spool.seek(0)
    return send_file(spool, mimetype="text/csv; charset=utf-8", as_attachment=True, download_name=filename)


@route(bp, "/statement.csv", auth="supplier", query=RangeQuery, raw=True, content="text/csv")
def statement_csv(principal: Principal, query: RangeQuery) -> Response:
    """My statement as CSV (for Excel)."""
    s = _me(principal)
    return csv_response(supplier_statements.supplier_statement_csv(
        tenant_id=principal.tenant_id, supplier_id=s.id, start=query.start, end=query.end),
        f"statement-supplier-{s.id}.csv")


@route(bp, "/withdrawals", method="POST", auth="supplier", body=WithdrawIn, status=201,
       response=SupplierWithdrawalOut,
       errors=("bank_card_missing", "insufficient_balance", "withdraw_below_minimum", "withdraw_daily_limit"))
def withdraw(principal: Principal, body: WithdrawIn) -> dict[str, Any]:
    """Withdraw available income to my bank card (the tenant's minimum, fee and daily limits)."""
    w = supplier_withdrawals.apply_withdrawal(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                              amount_fen=body.amount_fen, client_token=body.client_token,
                                              now=utcnow())
    return supplier_withdrawals.withdrawal_view(w)


@route(bp, "/withdrawals", auth="supplier", query=WithdrawalPage, response=Page[SupplierWithdrawalOut])
def my_withdrawals(principal: Principal, query: WithdrawalPage) -> dict[str, Any]:
    """My withdrawals, newest first (card numbers masked)."""
    rows = supplier_withdrawals.list_withdrawals(tenant_id=principal.tenant_id, supplier_id=_me(principal).id,
                                                 status=query.status, before_id=query.before_id, limit=query.limit)
    return page_of(rows, supplier_withdrawals.withdrawal_view, query.limit)
