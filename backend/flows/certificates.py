"""Agent certificates as images: the agents domain's certificate drawn by the poster
engine from the tenant's editable `certificate` template, with a QR of the public
verification link."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from backend.agents import service as agents
from backend.agents.errors import CertificateNotFound
from backend.posters import service as posters


def verify_url(serial: str) -> str:
    """The public page a certificate's QR opens."""
    base = current_app.config["SIYU_SETTINGS"].public_base_url.rstrip("/")
    return f"{base}/verify/certificate/{quote(serial, safe='')}"


def render_certificate(*, tenant_id: int, certificate_id: int, member_id: int | None = None) -> bytes:
    """The certificate as a PNG (a member sees only its own)."""
    cert = agents.get_certificate(tenant_id=tenant_id, certificate_id=certificate_id)
    if member_id is not None and cert.member_id != member_id:
        raise CertificateNotFound()
    return posters.render_document(
        tenant_id=tenant_id, kind="certificate", holder=cert.holder_name, qr_text=verify_url(cert.serial),
        texts={"level_name": cert.level_name, "products": cert.products_text, "region": cert.region_text,
               "valid_from": cert.valid_from.date().isoformat(), "valid_until": cert.valid_until.date().isoformat(),
               "serial": cert.serial})
