"""Builders for supplier tests: everything through the HTTP routes a supplier and an
operator use (apply, review, submit, approve)."""

from __future__ import annotations

from typing import Any

PORTAL = "/api/v1/admin/supplier"
ADMIN = "/api/v1/admin/suppliers"
LICENSE = "91310000MA1FL0000X"


class SuppliersFactory:
    def __init__(self, client: Any, factory: Any) -> None:
        self.client = client
        self.factory = factory
        self._n = 0

    def apply(self, tenant: Any, name: str = "山间茶园") -> tuple[dict[str, str], int]:
        """A supplier applies; returns (its headers, its id)."""
        self._n += 1
        resp = self.client.post(f"{PORTAL}/apply", json={
            "tenant": tenant.slug, "username": f"supplier{self._n}", "password": "password123", "name": name,
            "company_name": f"{name}有限公司", "license_no": LICENSE, "contact_name": "李四",
            "contact_phone": "13900001111", "materials": [{"kind": "营业执照", "url": "https://img.example/lic.png"}]})
        assert resp.status_code == 201, resp.json
        return {"Authorization": f"Bearer {resp.json['token']}"}, resp.json["supplier"]["id"]

    def active(self, tenant: Any, boss: dict[str, str], *, rate: str | None = None,
               name: str = "山间茶园") -> tuple[dict[str, str], int]:
        """A supplier applied and approved (with its own commission rate, when given)."""
        headers, sid = self.apply(tenant, name)
        body: dict[str, Any] = {"approve": True}
        if rate is not None:
            body["commission_rate"] = rate
        resp = self.client.post(f"{ADMIN}/{sid}/review", headers=boss, json=body)
        assert resp.status_code == 200 and resp.json["status"] == "active", resp.json
        return headers, sid

    def product(self, headers: dict[str, str], boss: dict[str, str] | None, *, price_fen: int = 10000,
                cost_fen: int = 6000, stock: int = 10, category: str = "") -> tuple[int, int]:
        """A product submitted by the supplier (and approved, when boss headers are given):
        (product id, sku id)."""
        resp = self.client.post(f"{PORTAL}/products", headers=headers, json={
            "name": "高山云雾", "category": category,
            "skus": [{"name": "500g", "price_fen": price_fen, "cost_fen": cost_fen, "stock": stock}]})
        assert resp.status_code == 201, resp.json
        pid, sku = resp.json["id"], resp.json["skus"][0]["id"]
        if boss is not None:
            ok = self.client.post(f"{ADMIN}/products/{pid}/review", headers=boss, json={"approve": True})
            assert ok.status_code == 200 and ok.json["on_shelf"], ok.json
        return pid, sku


def service_supplier(tenant: Any, *, card: bool = True, price_fen: int = 10000,
                     sharing_receiver: str | None = None) -> tuple[int, int]:
    """A supplier approved through the services, with its bank card and one approved
    product (and, with sharing_receiver, profit sharing on for the tenant and that
    receiver account); returns (supplier id, sku id)."""
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.suppliers import service as suppliers

    now = utcnow()
    with unit_of_work():
        s, _ = suppliers.apply(tenant_id=tenant.id, username=f"s{tenant.id}x{now.microsecond}", password="password123",
                               now=now, application=suppliers.Application(
                                   name="山间茶园", company_name="山间茶园有限公司", license_no=LICENSE,
                                   contact_name="李四", contact_phone="13900001111",
                                   materials=[{"kind": "营业执照", "url": "https://img.example/l.png"}]))
        suppliers.review_supplier(tenant_id=tenant.id, supplier_id=s.id, approve=True, actor="test", now=now)
        if sharing_receiver:
            suppliers.update_rules(tenant_id=tenant.id, changes={"profit_sharing": True}, actor="test", now=now)
            suppliers.update_supplier(tenant_id=tenant.id, supplier_id=s.id, actor="test", now=now,
                                      changes={"sharing_receiver": sharing_receiver})
        if card:
            suppliers.set_bank_card(tenant_id=tenant.id, supplier_id=s.id, bank_name="招商银行", account_name="山间茶园",
                                    card_no="6225880012345678", actor="test", now=now)
        row = suppliers.submit_product(tenant_id=tenant.id, supplier_id=s.id, actor="test", now=now,
                                       submission=suppliers.ProductSubmission(name="高山云雾", skus=[catalog.SkuSpec(
                                           name="500g", price_fen=price_fen, cost_fen=6000, stock=10_000)]))
        suppliers.review_product(tenant_id=tenant.id, product_id=row.product_id, approve=True, actor="test", now=now)
        sku = catalog.skus_of(tenant_id=tenant.id, product_ids=[row.product_id])[row.product_id][0]
        return s.id, sku.id
