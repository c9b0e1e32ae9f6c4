"""Supplier verbs: the tenant's supplier rules, applications and their review, supplier
logins, products under review, sub-orders and their shipping. Income and withdrawals
are in income.py and withdrawals.py.

Every verb a supplier calls takes its `supplier_id` from the caller's login (never
from the request) and refuses rows of another supplier as not found. Keyword-only
functions that never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from backend.audit.service import record_audit
from backend.auth.lockout import throttled_login
from backend.auth.passwords import check_password, hash_password
from backend.auth.revocation import PrincipalState, forget_principal
from backend.catalog import service as catalog
from backend.db import after_commit, newest_first
from backend.extensions import db
from backend.finance.rules import parse_rate
from backend.money import rate_text
from backend.process_cache import ProcessCache
from backend.rewards import service as rewards
from backend.suppliers.errors import (
    InvalidSupplierInput,
    ProductReviewConflict,
    SubOrderNotFound,
    SubOrderStateConflict,
    SupplierBadCredentials,
    SupplierNotActive,
    SupplierNotFound,
    SupplierProductNotFound,
    SupplierStateConflict,
    SupplierUsernameTaken,
)
from backend.suppliers.models import (
    PAYOUT_MODES,
    SubOrder,
    Supplier,
    SupplierProduct,
    SupplierSettings,
    SupplierUser,
    SupplierWithdrawal,
)
from backend.suppliers.types import (
    ReviewStatus,
    SubOrderStatus,
    SupplierStatus,
    SupplierUserStatus,
    SupplierWithdrawalStatus,
)
from backend.tenants.crypto import decrypt_json, encrypt_json
from backend.tenants.errors import TenantNotFound
from backend.tenants.service import get_tenant_by_slug

# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SupplierRules:
    commission_rate: Decimal
    category_rates: Mapping[str, Decimal]
    suppliers_bear_rewards: bool
    profit_sharing: bool
    payout_mode: str

    def as_dict(self) -> dict[str, Any]:
        return {"commission_rate": rate_text(self.commission_rate),
                "category_rates": {k: rate_text(v) for k, v in sorted(self.category_rates.items())},
                "suppliers_bear_rewards": self.suppliers_bear_rewards, "profit_sharing": self.profit_sharing,
                "payout_mode": self.payout_mode}


DEFAULTS = SupplierRules(commission_rate=Decimal("0.1"), category_rates={}, suppliers_bear_rewards=False,
                         profit_sharing=False, payout_mode="manual")


def _rules_of(row: SupplierSettings) -> SupplierRules:
    return SupplierRules(commission_rate=parse_rate(row.commission_rate),
                         category_rates={k: parse_rate(v) for k, v in (row.category_rates or {}).items()},
                         suppliers_bear_rewards=row.suppliers_bear_rewards, profit_sharing=row.profit_sharing,
                         payout_mode=row.payout_mode)


def get_rules(*, tenant_id: int) -> SupplierRules:
    """The tenant's supplier rules (the defaults until an operator changes one)."""
    row = db.session.scalar(select(SupplierSettings).where(SupplierSettings.tenant_id == tenant_id))
    return DEFAULTS if row is None else _rules_of(row)


def _rate(value: Any, field: str, problems: list[dict[str, str]]) -> str | None:
    try:
        return format(parse_rate(value), "f")
    except ValueError as exc:
        problems.append({"field": field, "message": str(exc)})
        return None


def update_rules(*, tenant_id: int, changes: Mapping[str, Any], actor: str, now: datetime) -> SupplierRules:
    """Change the supplier rules (every problem reported at once); audited."""
    problems: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    if "commission_rate" in changes:
        values["commission_rate"] = _rate(changes["commission_rate"], "commission_rate", problems)
    if "category_rates" in changes:
        rates = changes["category_rates"]
        if not isinstance(rates, Mapping) or len(rates) > 200:
            problems.append({"field": "category_rates", "message": "须为 {类目: 费率}，最多 200 个"})
        else:
            values["category_rates"] = {str(k)[:32]: _rate(v, f"category_rates.{k}", problems)
                                        for k, v in rates.items()}
    for flag in ("suppliers_bear_rewards", "profit_sharing"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                problems.append({"field": flag, "message": "须为 true 或 false"})
            values[flag] = changes[flag]
    if "payout_mode" in changes:
        if changes["payout_mode"] not in PAYOUT_MODES:
            problems.append({"field": "payout_mode", "message": "须为 manual（线下批量打款）"})
        values["payout_mode"] = changes["payout_mode"]
    if problems:
        raise InvalidSupplierInput("供应商设置有误", details=problems)
    row = db.session.scalar(select(SupplierSettings).where(SupplierSettings.tenant_id == tenant_id)
                            .with_for_update())
    before = DEFAULTS if row is None else _rules_of(row)
    if row is None:
        row = SupplierSettings(tenant_id=tenant_id, commission_rate=format(DEFAULTS.commission_rate, "f"),
                               category_rates={}, suppliers_bear_rewards=False, profit_sharing=False,
                               payout_mode="manual")
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    db.session.flush()
    after = _rules_of(row)
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.settings", target_type="supplier_settings",
                 target_id=tenant_id, before=before.as_dict(), after=after.as_dict())
    return after


def commission_rate_for(rules: SupplierRules, supplier: Supplier, category: str) -> Decimal:
    """The platform's rate on one of this supplier's lines: the supplier's own rate,
    else its product category's, else the tenant's."""
    if supplier.commission_rate is not None:
        return parse_rate(supplier.commission_rate)
    return rules.category_rates.get(category, rules.commission_rate)


# ------------------------------------------------------------------ applications and accounts

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,60}$")
_LICENSE = re.compile(r"^[0-9A-Z]{15,20}$")
_PHONE = re.compile(r"^[0-9+\-]{6,20}$")


@dataclass(frozen=True)
class Application:
    name: str
    company_name: str
    license_no: str
    contact_name: str
    contact_phone: str
    materials: Sequence[Mapping[str, str]]  # [{"kind": "营业执照", "url": "https://…"}]


def _check_application(a: Application) -> None:
    problems = []
    if not 1 <= len(a.name.strip()) <= 60:
        problems.append({"field": "name", "message": "店铺名称须为 1–60 个字符"})
    if not 2 <= len(a.company_name.strip()) <= 100:
        problems.append({"field": "company_name", "message": "公司名称须为 2–100 个字符"})
    if not _LICENSE.match(a.license_no or ""):
        problems.append({"field": "license_no", "message": "统一社会信用代码格式不正确"})
    if not 1 <= len(a.contact_name.strip()) <= 40:
        problems.append({"field": "contact_name", "message": "联系人须为 1–40 个字符"})
    if not _PHONE.match(a.contact_phone or ""):
        problems.append({"field": "contact_phone", "message": "联系电话格式不正确"})
    if not a.materials or len(a.materials) > 20:
        problems.append({"field": "materials", "message": "须上传 1–20 份资质材料（营业执照等）"})
    for i, m in enumerate(a.materials or ()):
        url = str(m.get("url", ""))
        if not url.startswith(("https://", "http://")) or len(url) > 512 or not str(m.get("kind", "")).strip():
            problems.append({"field": f"materials[{i}]", "message": "材料须有类型和 http(s) 地址"})
    if problems:
        raise InvalidSupplierInput(details=problems)


def _new_user(tenant_id: int, supplier_id: int, username: str, password: str, display_name: str,
              now: datetime) -> SupplierUser:
    if not _USERNAME.match(username or ""):
        raise InvalidSupplierInput(details=[{"field": "username", "message": "登录名须为 3–60 位字母、数字或 _.@-"}])
    if not 8 <= len(password or "") <= 128:
        raise InvalidSupplierInput(details=[{"field": "password", "message": "密码须为 8–128 位"}])
    taken = db.session.scalar(select(SupplierUser.id).where(SupplierUser.tenant_id == tenant_id,
                                                            SupplierUser.username == username))
    if taken is not None:
        raise SupplierUsernameTaken()
    user = SupplierUser(tenant_id=tenant_id, supplier_id=supplier_id, username=username,
                        display_name=display_name[:60] or username, password_hash=hash_password(password),
                        status=SupplierUserStatus.ACTIVE, created_at=now)
    db.session.add(user)
    db.session.flush()
    return user


def apply(*, tenant_id: int, application: Application, username: str, password: str,
          now: datetime) -> tuple[Supplier, SupplierUser]:
    """A company applies to sell on the tenant's platform (入驻申请): the supplier waits for
    the operator's review; its login works at once but only to follow the application."""
    _check_application(application)
    s = Supplier(tenant_id=tenant_id, name=application.name.strip(), company_name=application.company_name.strip(),
                 license_no=application.license_no, contact_name=application.contact_name.strip(),
                 contact_phone=application.contact_phone,
                 materials=[{"kind": str(m["kind"]).strip()[:20], "url": str(m["url"])} for m in application.materials],
                 status=SupplierStatus.PENDING, created_at=now, updated_at=now)
    db.session.add(s)
    db.session.flush()
    user = _new_user(tenant_id, s.id, username, password, application.contact_name.strip(), now)
    record_audit(tenant_id=tenant_id, actor=f"supplier_user:{user.id}", action="suppliers.apply",
                 target_type="supplier", target_id=s.id, before=None, after=supplier_view(s))
    return s, user


def login(*, tenant_slug: str, username: str, password: str) -> SupplierUser:
    """The active supplier login with these credentials, or bad_credentials (an unknown
    tenant reads the same); failures lock the (tenant, username) out like staff log-ins
    (backend/auth/lockout.py, audited as `supplier.login_locked`)."""
    try:
        tenant_id: int | None = get_tenant_by_slug(slug=tenant_slug).id
    except TenantNotFound:
        tenant_id = None

    def attempt() -> SupplierUser:
        user = db.session.scalar(select(SupplierUser).where(SupplierUser.tenant_id == tenant_id,
                                                            SupplierUser.username == username))
        ok = check_password(user.password_hash if user else None, password)  # same cost if unknown
        if user is None or not ok or user.status != SupplierUserStatus.ACTIVE:
            raise SupplierBadCredentials()
        return user

    return throttled_login(kind="supplier", tenant_id=tenant_id, tenant_slug=tenant_slug, username=username,
                           attempt=attempt, bad=SupplierBadCredentials)


def logout(*, tenant_id: int, user_id: int) -> None:
    """End every session of this supplier login (all its tokens); audited."""
    user = db.session.scalar(select(SupplierUser).where(SupplierUser.id == user_id,
                                                        SupplierUser.tenant_id == tenant_id).with_for_update())
    if user is None:
        raise SupplierBadCredentials("登录凭证无效", code="token_invalid")
    user.token_version += 1
    after_commit(lambda: forget_principal(kind="supplier", subject_id=user_id))
    record_audit(tenant_id=tenant_id, actor=f"supplier_user:{user_id}", action="suppliers.logout",
                 target_type="supplier", target_id=user.supplier_id, before=None, after={"user_id": user_id})


def token_state(*, tenant_id: int | None, subject_id: int | None) -> PrincipalState | None:
    """What a supplier token is checked against (None: no such login in this tenant);
    a disabled login's tokens, and those from before a logout, are refused at their next
    request."""
    row = db.session.execute(select(SupplierUser.status, SupplierUser.token_version).where(
        SupplierUser.id == subject_id, SupplierUser.tenant_id == tenant_id)).first()
    return None if row is None else PrincipalState(status=row[0], version=row[1], role="supplier")


def add_user(*, tenant_id: int, supplier_id: int, username: str, password: str, display_name: str, actor: str,
             now: datetime) -> SupplierUser:
    """Another login for a supplier (by the operator or the supplier itself); audited."""
    get_supplier(tenant_id=tenant_id, supplier_id=supplier_id)
    user = _new_user(tenant_id, supplier_id, username, password, display_name, now)
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.user_create", target_type="supplier",
                 target_id=supplier_id, before=None, after={"user_id": user.id, "username": username})
    return user


def get_supplier(*, tenant_id: int, supplier_id: int, lock: bool = False) -> Supplier:
    """One supplier of this tenant, or SupplierNotFound."""
    stmt = select(Supplier).where(Supplier.tenant_id == tenant_id, Supplier.id == supplier_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    s = db.session.scalar(stmt)
    if s is None:
        raise SupplierNotFound()
    return s


def supplier_of_user(*, tenant_id: int, user_id: int, active: bool = True) -> Supplier:
    """The supplier behind a supplier login (the token's subject); with active, refused
    unless the supplier was approved and is not suspended."""
    user = db.session.get(SupplierUser, user_id)
    if user is None or user.tenant_id != tenant_id or user.status != SupplierUserStatus.ACTIVE:
        raise SupplierBadCredentials("登录凭证无效", code="token_invalid")
    s = get_supplier(tenant_id=tenant_id, supplier_id=user.supplier_id)
    if active and s.status != SupplierStatus.ACTIVE:
        raise SupplierNotActive(details={"status": s.status})
    return s


def pending_reviews(*, tenant_id: int) -> dict[str, int]:
    """What waits for the operator: supplier applications, products (new or changed) to
    review, withdrawals to approve. Three index range counts."""
    def count(model: Any, column: Any, value: str) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model).where(
            model.tenant_id == tenant_id, column == value)) or 0)

    return {"supplier_applications": count(Supplier, Supplier.status, SupplierStatus.PENDING),
            "supplier_products": count(SupplierProduct, SupplierProduct.review_status, ReviewStatus.PENDING),
            "supplier_withdrawals": count(SupplierWithdrawal, SupplierWithdrawal.status,
                                          SupplierWithdrawalStatus.PENDING)}


def list_suppliers(*, tenant_id: int, status: str | None = None, before_id: int | None = None,
                   limit: int = 50) -> list[Supplier]:
    """Suppliers newest first, optionally in one status."""
    return newest_first(Supplier, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={Supplier.status: status})


def review_supplier(*, tenant_id: int, supplier_id: int, approve: bool, actor: str, now: datetime,
                    note: str = "", commission_rate: str | None = None) -> Supplier:
    """The operator approves (optionally with the supplier's own commission rate) or
    rejects (with a reason) an application; audited."""
    s = get_supplier(tenant_id=tenant_id, supplier_id=supplier_id, lock=True)
    if s.status != SupplierStatus.PENDING:
        raise SupplierStateConflict(details={"status": s.status})
    if not approve and not note.strip():
        raise InvalidSupplierInput(details=[{"field": "note", "message": "驳回须写明原因"}])
    before = supplier_view(s)
    if approve and commission_rate is not None:
        problems: list[dict[str, str]] = []
        s.commission_rate = _rate(commission_rate, "commission_rate", problems)
        if problems:
            raise InvalidSupplierInput(details=problems)
    s.status = SupplierStatus.ACTIVE if approve else SupplierStatus.REJECTED
    s.review_note, s.reviewed_by, s.reviewed_at, s.updated_at = note.strip()[:200] or None, actor, now, now
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.review", target_type="supplier",
                 target_id=s.id, before=before, after=supplier_view(s))
    return s


def update_supplier(*, tenant_id: int, supplier_id: int, changes: Mapping[str, Any], actor: str,
                    now: datetime) -> Supplier:
    """The operator changes a supplier's rate, status (active ↔ suspended) or WeChat Pay
    receiver account; audited."""
    s = get_supplier(tenant_id=tenant_id, supplier_id=supplier_id, lock=True)
    before = supplier_view(s, admin=True)
    problems: list[dict[str, str]] = []
    if "commission_rate" in changes:
        s.commission_rate = (None if changes["commission_rate"] is None
                             else _rate(changes["commission_rate"], "commission_rate", problems))
    if "status" in changes:
        if changes["status"] not in ("active", "suspended") or s.status not in (SupplierStatus.ACTIVE, SupplierStatus.SUSPENDED):
            problems.append({"field": "status", "message": "只能在已通过的供应商上启用或停用"})
        else:
            s.status = changes["status"]
    if "sharing_receiver" in changes:
        value = changes["sharing_receiver"]
        if value is not None and not re.fullmatch(r"[0-9]{8,32}", str(value)):
            problems.append({"field": "sharing_receiver", "message": "分账接收方须为微信支付商户号（数字）"})
        s.sharing_receiver = value
    if problems:
        raise InvalidSupplierInput(details=problems)
    s.updated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.update", target_type="supplier",
                 target_id=s.id, before=before, after=supplier_view(s, admin=True))
    return s


# ------------------------------------------------------------------ bank card

_CARD = re.compile(r"^[0-9]{12,19}$")


def set_bank_card(*, tenant_id: int, supplier_id: int, bank_name: str, account_name: str, card_no: str,
                  actor: str, now: datetime) -> Supplier:
    """The supplier's payout card: the number is kept encrypted (Fernet), shown masked."""
    card = re.sub(r"\s+", "", card_no or "")
    problems = []
    if not _CARD.match(card):
        problems.append({"field": "card_no", "message": "银行卡号须为 12–19 位数字"})
    if not 2 <= len(bank_name.strip()) <= 60:
        problems.append({"field": "bank_name", "message": "开户行须为 2–60 个字符"})
    if not 2 <= len(account_name.strip()) <= 100:
        problems.append({"field": "account_name", "message": "户名须为 2–100 个字符"})
    if problems:
        raise InvalidSupplierInput(details=problems)
    s = get_supplier(tenant_id=tenant_id, supplier_id=supplier_id, lock=True)
    before = bank_card_view(s)
    s.bank_name, s.bank_account_name = bank_name.strip(), account_name.strip()
    s.bank_card_token, s.bank_card_last4 = encrypt_json({"card_no": card}), card[-4:]
    s.updated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.bank_card", target_type="supplier",
                 target_id=s.id, before=before, after=bank_card_view(s))
    return s


def card_number(token: str) -> str:
    """The full card number of an encrypted card token: for the payout alone."""
    return str(decrypt_json(token)["card_no"])


def mask_card(last4: str | None) -> str | None:
    return None if not last4 else f"**** **** **** {last4}"


def bank_card_view(s: Supplier) -> dict[str, Any] | None:
    if not s.bank_card_token:
        return None
    return {"bank_name": s.bank_name, "account_name": s.bank_account_name, "card_no": mask_card(s.bank_card_last4)}


# ------------------------------------------------------------------ products

_PRICE_FIELDS = ("price_fen", "cost_fen")


@dataclass(frozen=True)
class ProductSubmission:
    name: str
    skus: Sequence[catalog.SkuSpec]
    category: str = ""
    subtitle: str = ""
    description: str = ""
    image_url: str = ""


def submit_product(*, tenant_id: int, supplier_id: int, submission: ProductSubmission, actor: str,
                   now: datetime) -> SupplierProduct:
    """A supplier submits a product with its SKUs, prices, costs and stock: off the shelf
    until the operator approves it."""
    s = get_supplier(tenant_id=tenant_id, supplier_id=supplier_id)
    if s.status != SupplierStatus.ACTIVE:
        raise SupplierNotActive(details={"status": s.status})
    if len(submission.category) > 32:
        raise InvalidSupplierInput(details=[{"field": "category", "message": "类目最多 32 个字符"}])
    p = catalog.create_product(tenant_id=tenant_id, name=submission.name, skus=submission.skus, actor=actor,
                               subtitle=submission.subtitle, description=submission.description,
                               image_url=submission.image_url, on_shelf=False, category=submission.category,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
    row = SupplierProduct(tenant_id=tenant_id, supplier_id=supplier_id, product_id=p.id, review_status=ReviewStatus.PENDING,
                          submitted_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def _own_product(tenant_id: int, supplier_id: int | None, product_id: int, lock: bool = False) -> SupplierProduct:
    stmt = select(SupplierProduct).where(SupplierProduct.tenant_id == tenant_id,
                                         SupplierProduct.product_id == product_id)
    if supplier_id is not None:
        stmt = stmt.where(SupplierProduct.supplier_id == supplier_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalar(stmt)
    if row is None:
        raise SupplierProductNotFound()
    return row


def supplier_product(*, tenant_id: int, product_id: int, supplier_id: int | None = None) -> SupplierProduct:
    """A supplier's product (of that supplier, when given), or not found."""
    return _own_product(tenant_id, supplier_id, product_id)


def edit_product(*, tenant_id: int, supplier_id: int, product_id: int, changes: Mapping[str, Any],
                 sku_changes: Mapping[int, Mapping[str, Any]], actor: str, now: datetime) -> SupplierProduct:
    """A supplier edits its product. Texts and SKU names apply at once; a new price or
    cost waits for the operator (the product goes back to review, the shelf keeps the
    approved price meanwhile)."""
    row = _own_product(tenant_id, supplier_id, product_id, lock=True)
    skus = {s.id: s for s in catalog.skus_of(tenant_id=tenant_id, product_ids=[product_id])[product_id]}
    unknown = [sid for sid in sku_changes if sid not in skus]
    if unknown:
        raise InvalidSupplierInput(details=[{"field": "skus", "message": f"规格 {sid} 不属于该商品"} for sid in unknown])
    if "category" in changes:
        if not isinstance(changes["category"], str) or len(changes["category"]) > 32:
            raise InvalidSupplierInput(details=[{"field": "category", "message": "类目最多 32 个字符"}])
    texts = {k: v for k, v in changes.items() if k in ("name", "subtitle", "description", "image_url")}
    if texts:
        catalog.update_product(tenant_id=tenant_id, product_id=product_id, changes=texts, actor=actor,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
    pending = dict(row.pending_changes or {})
    for sku_id, change in sku_changes.items():
        direct = {k: v for k, v in change.items() if k == "name"}
        if direct:
            catalog.update_sku(tenant_id=tenant_id, sku_id=sku_id, changes=direct, actor=actor,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
        priced = {k: v for k, v in change.items() if k in _PRICE_FIELDS and v != getattr(skus[sku_id], k)}
        if priced:
            merged = {**pending.get(str(sku_id), {}), **priced}
            # Checked now (the operator approves valid numbers only), applied on approval.
            sku = skus[sku_id]
            catalog.check_sku(tenant_id=tenant_id, spec=catalog.SkuSpec(
                name=sku.name, price_fen=merged.get("price_fen", sku.price_fen),
                cost_fen=merged.get("cost_fen", sku.cost_fen), level_prices=sku.level_prices))
            pending[str(sku_id)] = merged
    current = catalog.product_categories(tenant_id=tenant_id, product_ids=[product_id]).get(product_id, "")
    category_changed = "category" in changes and changes["category"].strip() != current
    if category_changed:  # the category sets the commission rate: reviewed too
        pending["category"] = changes["category"].strip()
    if pending != (row.pending_changes or {}):
        row.pending_changes = pending
        if row.review_status != ReviewStatus.PENDING:
            row.review_status = ReviewStatus.PENDING
            row.submitted_at = now
    db.session.flush()
    return row


def adjust_stock(*, tenant_id: int, supplier_id: int, sku_id: int, delta: int, actor: str) -> Any:
    """A supplier restocks (or removes stock of) one of its own SKUs."""
    sku = catalog.get_sku(tenant_id=tenant_id, sku_id=sku_id)
    _own_product(tenant_id, supplier_id, sku.product_id)
    return catalog.adjust_stock(tenant_id=tenant_id, sku_id=sku_id, delta=delta, actor=actor)


def review_product(*, tenant_id: int, product_id: int, approve: bool, actor: str, now: datetime,
                   note: str = "") -> SupplierProduct:
    """The operator approves a supplier's product (its pending prices applied, on the
    shelf) or rejects it with a reason (a new product stays off the shelf; rejected
    price changes are dropped and the approved prices stay). Audited."""
    row = _own_product(tenant_id, None, product_id, lock=True)
    if row.review_status != ReviewStatus.PENDING:
        raise ProductReviewConflict(details={"review_status": row.review_status})
    if not approve and not note.strip():
        raise InvalidSupplierInput(details=[{"field": "note", "message": "驳回须写明原因"}])
    before = supplier_product_view(row)
    pending = dict(row.pending_changes or {})
    first_review = row.approved_at is None
    if approve:
        category = pending.pop("category", None)
        if category is not None:
            catalog.update_product(tenant_id=tenant_id, product_id=product_id, changes={"category": category},
                                   actor=actor,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
        for sku_id, change in sorted(pending.items()):
            catalog.update_sku(tenant_id=tenant_id, sku_id=int(sku_id), changes=change, actor=actor,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
        catalog.update_product(tenant_id=tenant_id, product_id=product_id, changes={"on_shelf": True}, actor=actor,
                               known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
        row.review_status = ReviewStatus.APPROVED
        row.approved_at = row.approved_at or now
    else:
        row.review_status = ReviewStatus.REJECTED if first_review else ReviewStatus.APPROVED
    row.pending_changes = None
    row.review_note = note.strip()[:200] or None
    row.reviewed_by, row.reviewed_at = actor, now
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.product_review", target_type="product",
                 target_id=product_id, before=before,
                 after={**supplier_product_view(row), "decision": "approve" if approve else "reject"})
    return row


def resubmit_product(*, tenant_id: int, supplier_id: int, product_id: int, now: datetime) -> SupplierProduct:
    """A rejected product goes back to the operator (after the supplier fixed it)."""
    row = _own_product(tenant_id, supplier_id, product_id, lock=True)
    if row.review_status != ReviewStatus.REJECTED:
        raise ProductReviewConflict(details={"review_status": row.review_status})
    row.review_status, row.submitted_at = ReviewStatus.PENDING, now
    db.session.flush()
    return row


def list_supplier_products(*, tenant_id: int, supplier_id: int | None = None, review_status: str | None = None,
                           before_id: int | None = None, limit: int = 50) -> list[SupplierProduct]:
    """Supplier products newest first (one supplier's, or in one review state)."""
    return newest_first(SupplierProduct, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={SupplierProduct.supplier_id: supplier_id, SupplierProduct.review_status: review_status})


def has_suppliers(*, tenant_id: int) -> bool:
    """Whether any supplier has a product on this tenant (one indexed read): the order
    hooks skip tenants that do not run as a platform."""
    return db.session.scalar(select(SupplierProduct.id).where(SupplierProduct.tenant_id == tenant_id)
                             .limit(1)) is not None


# has_suppliers for the hook on every order placed, kept per process for
# SUPPLIERS_TTL_SECONDS: a tenant's first supplier product submitted through this
# process is seen at once (mapper events, backend/process_cache.py), through another
# within that time. A submitted product is off the shelf until the operator approves
# it, a later step, so no order holds it within that time.
SUPPLIERS_TTL_SECONDS = 2.0
_HAS_SUPPLIERS: ProcessCache[bool] = ProcessCache("has_suppliers", SUPPLIERS_TTL_SECONDS)
_HAS_SUPPLIERS.forget_on_change(SupplierProduct, lambda row: row.tenant_id)


def has_suppliers_kept(*, tenant_id: int) -> bool:
    """has_suppliers as answered at most SUPPLIERS_TTL_SECONDS ago (for orders placed)."""
    return _HAS_SUPPLIERS.get(tenant_id, lambda: has_suppliers(tenant_id=tenant_id))


def owners_of(*, tenant_id: int, product_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """{product id: (supplier id, catalog category)} for the products suppliers own."""
    if not product_ids:
        return {}
    owned = dict(db.session.execute(
        select(SupplierProduct.product_id, SupplierProduct.supplier_id)
        .where(SupplierProduct.tenant_id == tenant_id, SupplierProduct.product_id.in_(sorted(set(product_ids))))).all())
    cats = catalog.product_categories(tenant_id=tenant_id, product_ids=list(owned)) if owned else {}
    return {pid: (sid, cats.get(pid, "")) for pid, sid in owned.items()}


# ------------------------------------------------------------------ sub-orders


@dataclass(frozen=True)
class LineFact:
    """An order line as the suppliers domain reads it."""

    id: int
    product_id: int


def split_order(*, tenant_id: int, order_id: int, order_no: str, lines: Sequence[LineFact],
                now: datetime) -> list[SubOrder]:
    """拆单: one sub-order per supplier among the order's lines (lines of the tenant's own
    products stay with the platform). Idempotent per (order, supplier)."""
    owners = owners_of(tenant_id=tenant_id, product_ids=[ln.product_id for ln in lines])
    by_supplier: dict[int, list[LineFact]] = {}
    for ln in lines:
        if ln.product_id in owners:
            by_supplier.setdefault(owners[ln.product_id][0], []).append(ln)
    existing = {s.supplier_id: s for s in sub_orders_of(tenant_id=tenant_id, order_ids=[order_id])[order_id]}
    out = []
    for n, (supplier_id, own) in enumerate(sorted(by_supplier.items()), start=1):
        sub = existing.get(supplier_id)
        if sub is None:
            sub = SubOrder(tenant_id=tenant_id, order_id=order_id, supplier_id=supplier_id, sub_no=f"{order_no}-{n}",
                           line_ids=[ln.id for ln in own], status=SubOrderStatus.OPEN, created_at=now)
            db.session.add(sub)
        out.append(sub)
    db.session.flush()
    return out


def sub_orders_of(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, list[SubOrder]]:
    """The sub-orders of these orders, per order id."""
    out: dict[int, list[SubOrder]] = {o: [] for o in order_ids}
    if order_ids:
        for s in db.session.scalars(select(SubOrder).where(SubOrder.tenant_id == tenant_id,
                                                           SubOrder.order_id.in_(list(order_ids)))
                                    .order_by(SubOrder.id)):
            out[s.order_id].append(s)
    return out


def get_sub_order(*, tenant_id: int, sub_order_id: int, supplier_id: int | None = None,
                  lock: bool = False) -> SubOrder:
    """One sub-order (of this supplier, when given), or not found."""
    stmt = select(SubOrder).where(SubOrder.tenant_id == tenant_id, SubOrder.id == sub_order_id)
    if supplier_id is not None:
        stmt = stmt.where(SubOrder.supplier_id == supplier_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    sub = db.session.scalar(stmt)
    if sub is None:
        raise SubOrderNotFound()
    return sub


def list_sub_orders(*, tenant_id: int, supplier_id: int | None = None, status: str | None = None,
                    before_id: int | None = None, limit: int = 50) -> list[SubOrder]:
    """Sub-orders newest first (one supplier's, or in one state)."""
    return newest_first(SubOrder, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={SubOrder.supplier_id: supplier_id, SubOrder.status: status})


def ship_sub_order(*, tenant_id: int, sub_order_id: int, supplier_id: int, company: str, tracking_no: str,
                   actor: str, now: datetime) -> SubOrder:
    """The supplier records its shipment (company and number); again to correct it.
    The caller has checked (under the order's lock) that the order is paid."""
    sub = get_sub_order(tenant_id=tenant_id, sub_order_id=sub_order_id, supplier_id=supplier_id, lock=True)
    if sub.status not in (SubOrderStatus.OPEN, SubOrderStatus.SHIPPED):
        raise SubOrderStateConflict(details={"status": sub.status})
    company, tracking_no = company.strip(), tracking_no.strip()
    if not 1 <= len(company) <= 40 or not re.fullmatch(r"[A-Za-z0-9-]{4,64}", tracking_no):
        raise InvalidSupplierInput(details=[{"field": "tracking_no", "message": "物流公司须填写，单号为 4–64 位字母数字"}])
    before = {"status": sub.status, "company": sub.logistics_company, "tracking_no": sub.tracking_no}
    sub.status, sub.logistics_company, sub.tracking_no = SubOrderStatus.SHIPPED, company, tracking_no
    sub.shipped_at = sub.shipped_at or now
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.ship", target_type="sub_order",
                 target_id=sub.id, before=before, after={"status": SubOrderStatus.SHIPPED, "company": company,
                                                         "tracking_no": tracking_no})
    return sub


# ------------------------------------------------------------------ views


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def supplier_view(s: Supplier, *, admin: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id, "name": s.name, "company_name": s.company_name, "license_no": s.license_no,
        "contact_name": s.contact_name, "contact_phone": s.contact_phone, "materials": list(s.materials or []),
        "status": s.status, "review_note": s.review_note, "reviewed_at": _iso(s.reviewed_at),
        "commission_rate": None if s.commission_rate is None else rate_text(parse_rate(s.commission_rate)),
        "bank_card": bank_card_view(s), "created_at": _iso(s.created_at)}
    if admin:
        out.update(reviewed_by=s.reviewed_by, sharing_receiver=s.sharing_receiver)
    return out


def user_view(u: SupplierUser) -> dict[str, Any]:
    return {"id": u.id, "supplier_id": u.supplier_id, "username": u.username, "display_name": u.display_name,
            "role": "supplier", "status": u.status}


def supplier_product_view(row: SupplierProduct) -> dict[str, Any]:
    return {"product_id": row.product_id, "supplier_id": row.supplier_id, "review_status": row.review_status, "pending_changes": row.pending_changes,
            "review_note": row.review_note, "reviewed_at": _iso(row.reviewed_at),
            "approved_at": _iso(row.approved_at), "submitted_at": _iso(row.submitted_at)}


def product_with_review(row: SupplierProduct) -> dict[str, Any]:
    """The product with its SKUs (as the back-office shows them) and its review."""
    p = catalog.get_product(tenant_id=row.tenant_id, product_id=row.product_id)
    skus = catalog.skus_of(tenant_id=row.tenant_id, product_ids=[p.id])[p.id]
    return {**catalog.product_admin_view(p, skus), "review": supplier_product_view(row)}


def sub_order_view(sub: SubOrder, goods_fen: int) -> dict[str, Any]:
    """A sub-order; goods_fen is what the buyer pays for its lines (after discounts)."""
    return {"id": sub.id, "sub_no": sub.sub_no, "order_id": sub.order_id, "supplier_id": sub.supplier_id,
            "order_line_ids": list(sub.line_ids), "goods_fen": goods_fen, "status": sub.status,
            "logistics": {"company": sub.logistics_company, "tracking_no": sub.tracking_no} if sub.tracking_no
            else None, "shipped_at": _iso(sub.shipped_at), "created_at": _iso(sub.created_at)}
