"""Tenant verbs: create, look up, update policy and credentials."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, select

from backend.audit.service import record_audit
from backend.extensions import db
from backend.process_cache import ProcessCache
from backend.tenants.credential_keys import FLAT_KEYS
from backend.tenants.crypto import decrypt_json, encrypt_json
from backend.tenants.errors import TenantAppidTaken, TenantNotFound, TenantSlugTaken
from backend.tenants.models import Tenant

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")

PUBLIC_FIELDS = ("mp_appid", "oa_appid", "pay_mchid", "wecom_corpid")
# Every other credential field is a secret: stored encrypted, never returned by any API.
SECRET_FIELDS = frozenset(FLAT_KEYS) - frozenset(PUBLIC_FIELDS)
POLICY_FIELDS = ("bind_on", "bind_expire_days", "allow_rebind", "promoter_mode", "promoter_condition")


def create_tenant(*, slug: str, name: str, credentials: dict[str, Any] | None = None,
                  actor: str = "platform") -> Tenant:
    """Create a brand with its credentials (secrets encrypted at rest); its boss account
    is the onboarding flow's (backend/flows/onboarding.py)."""
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantSlugTaken()
    tenant = Tenant(slug=slug, name=name)
    db.session.add(tenant)
    _apply_credentials(tenant, credentials or {})
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="tenant.create",
                 target_type="tenant", target_id=tenant.id, before=None,
                 after={"slug": slug, "name": name})
    return tenant


def _apply_credentials(tenant: Tenant, credentials: dict[str, Any]) -> None:
    for field in PUBLIC_FIELDS:
        if field in credentials:
            value = credentials[field] or None
            if value and field in ("mp_appid", "oa_appid"):
                clash = db.session.scalar(
                    select(Tenant.id).where(getattr(Tenant, field) == value, Tenant.id != tenant.id)
                    if tenant.id else select(Tenant.id).where(getattr(Tenant, field) == value))
                if clash is not None:
                    raise TenantAppidTaken()
            setattr(tenant, field, value)
    secrets = {k: v for k, v in credentials.items() if k in SECRET_FIELDS}
    if secrets:
        merged = decrypt_json(tenant.secrets_encrypted)
        merged.update(secrets)
        tenant.secrets_encrypted = encrypt_json(merged)


def update_credentials(*, tenant_id: int, credentials: dict[str, Any], actor: str) -> Tenant:
    """Replace some credential fields; the audit names the fields, never their values."""
    tenant = get_tenant(tenant_id=tenant_id)
    _apply_credentials(tenant, credentials)
    record_audit(tenant_id=tenant.id, actor=actor, action="tenant.credentials",
                 target_type="tenant", target_id=tenant.id, before=None,
                 after={"fields": sorted(credentials)})
    return tenant


def tenant_credentials(*, tenant_id: int) -> dict[str, Any]:
    """All credentials of a tenant, decrypted, for the WeChat edge only."""
    tenant = get_tenant(tenant_id=tenant_id)
    creds: dict[str, Any] = {f: getattr(tenant, f) for f in PUBLIC_FIELDS}
    creds.update(decrypt_json(tenant.secrets_encrypted))
    return creds


# The pay notification's read: the tenant's id and stored credentials by slug, as plain
# values (no ORM row to build for a path that runs on every payment).
# Core columns, not ORM attributes: no ORM statement processing for six plain values.
_tenants = Tenant.__table__
_CREDENTIALS_BY_SLUG = select(_tenants.c.id, _tenants.c.secrets_encrypted, *(_tenants.c[f] for f in PUBLIC_FIELDS)
                              ).where(_tenants.c.slug == bindparam("slug"))


def stored_credentials_by_slug(*, slug: str) -> tuple[int, tuple[tuple[str, Any], ...], str | None]:
    """(tenant id, public credential fields, encrypted secrets) of the tenant with this
    slug, or TenantNotFound: what a per-process cache of decrypted credentials keys on."""
    row = db.session.execute(_CREDENTIALS_BY_SLUG, {"slug": slug}).first()
    if row is None:
        raise TenantNotFound()
    return row[0], tuple(zip(PUBLIC_FIELDS, row[2:], strict=True)), row[1]


_NAMED_CREDENTIALS_BY_SLUG = select(_tenants.c.id, _tenants.c.name, _tenants.c.secrets_encrypted,
                                    *(_tenants.c[f] for f in PUBLIC_FIELDS)).where(_tenants.c.slug == bindparam("slug"))


def stored_named_credentials_by_slug(*, slug: str) -> tuple[int, str, tuple[tuple[str, Any], ...], str | None]:
    """(tenant id, name, public credential fields, encrypted secrets) of the tenant with
    this slug, or TenantNotFound: one Core read for the official account's pushes (a
    follower surge's every request), where loading the whole ORM row cost more CPU than
    the rest of the push."""
    row = db.session.connection().execute(_NAMED_CREDENTIALS_BY_SLUG, {"slug": slug}).first()
    if row is None:
        raise TenantNotFound()
    return row[0], row[1], tuple(zip(PUBLIC_FIELDS, row[3:], strict=True)), row[2]


def get_tenant(*, tenant_id: int) -> Tenant:
    """The tenant with this id, or TenantNotFound."""
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise TenantNotFound()
    return tenant


_STATUS = select(Tenant.__table__.c.status).where(Tenant.__table__.c.id == bindparam("tenant_id"))

# Every signed-in request asks whether its tenant is active, and a surge of them asked
# the database each time (a round trip per request for a value that changes a few
# times in a tenant's life). The answer is kept per process for this long: a tenant
# suspended from another process (another gunicorn worker, a script, the database
# itself) stops being served by this one within TENANT_STATUS_TTL_SECONDS; a change
# made through the ORM in this process drops the entry at once. A
# security trade-off, kept short on purpose: do not raise it without saying why.
TENANT_STATUS_TTL_SECONDS = 2.0
_STATUS_CACHE: ProcessCache[str | None] = ProcessCache("tenant_status", TENANT_STATUS_TTL_SECONDS)
# A status written through the ORM in this process is seen by its next request (a flush
# before the commit: a read racing the commit is bounded by the TTL).
_STATUS_CACHE.forget_on_change(Tenant, lambda tenant: tenant.id)


def tenant_status(*, tenant_id: int) -> str | None:
    """The tenant's status alone (None for no such tenant), as it was at most
    TENANT_STATUS_TTL_SECONDS ago: one narrow Core read per tenant and process that often."""
    return _STATUS_CACHE.get(tenant_id, lambda: db.session.connection().execute(
        _STATUS, {"tenant_id": tenant_id}).scalar())


def get_tenant_by_slug(*, slug: str) -> Tenant:
    """The tenant with this slug, or TenantNotFound."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise TenantNotFound()
    return tenant


def find_tenant_by_slug(*, slug: str) -> Tenant | None:
    """The tenant with this slug, or None."""
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def lock_tenant(*, tenant_id: int) -> None:
    """Take the tenant's row lock until the unit of work ends: serializes a tenant-wide
    change in another domain (its settings, its plan versions) without a lock of its own."""
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())


def list_tenants(*, limit: int = 50, after_id: int = 0) -> list[Tenant]:
    """Tenants in id order, keyset-paged."""
    stmt = select(Tenant).where(Tenant.id > after_id).order_by(Tenant.id).limit(limit)
    return list(db.session.scalars(stmt))


def update_policy(*, tenant_id: int, changes: dict[str, Any], actor: str) -> Tenant:
    """Change the binding / promoter policy of a tenant, audited."""
    tenant = get_tenant(tenant_id=tenant_id)
    before = {f: getattr(tenant, f) for f in POLICY_FIELDS}
    for field, value in changes.items():
        if field in POLICY_FIELDS:
            setattr(tenant, field, value)
    after = {f: getattr(tenant, f) for f in POLICY_FIELDS}
    record_audit(tenant_id=tenant.id, actor=actor, action="tenant.policy",
                 target_type="tenant", target_id=tenant.id, before=before, after=after)
    return tenant


def public_view(tenant: Tenant) -> dict[str, Any]:
    """What an API may show of a tenant: never a secret."""
    return {
        "id": tenant.id, "slug": tenant.slug, "name": tenant.name, "status": tenant.status,
        **{f: getattr(tenant, f) for f in PUBLIC_FIELDS},
        **{f: getattr(tenant, f) for f in POLICY_FIELDS},
        "has_secrets": sorted(decrypt_json(tenant.secrets_encrypted)),
        "created_at": tenant.created_at.isoformat(),
    }
