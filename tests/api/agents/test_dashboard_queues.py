"""The dashboard's 待处理 counts every review queue that waits on headquarters: agent
applications (not those an upline reviews), promoter applications, supplier
applications, supplier products and supplier withdrawals, beside the money queues."""

from __future__ import annotations

from tests.api.agents.test_agent_channel_api import APPLY
from tests.suppliers_factories import SuppliersFactory

FORM = {"real_name": "王小明", "phone": "13800138000", "reason": "我有很多喜欢喝茶的朋友"}


def test_the_dashboard_counts_the_review_queues_waiting_on_headquarters(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))

    def pending() -> dict[str, int]:
        r = client.get("/api/v1/admin/dashboard", headers=boss)
        assert r.status_code == 200, r.json
        return r.json["pending"]

    queues = ("agent_applications", "promoter_applications", "supplier_applications", "supplier_products",
              "supplier_withdrawals")
    assert {k: pending()[k] for k in queues} == dict.fromkeys(queues, 0)

    applicant = factory.member(tenant)
    assert client.post("/api/v1/mp/agent/applications", json=APPLY,
                       headers=factory.member_headers(applicant)).status_code == 201
    assert client.patch("/api/v1/admin/tenant/policy", json={"promoter_mode": "apply"},
                        headers=boss).status_code == 200
    assert client.post("/api/v1/mp/promoter/application", json=FORM,
                       headers=factory.member_headers(factory.member(tenant))).status_code == 201
    suppliers = SuppliersFactory(client, factory)
    suppliers.apply(tenant, name="溪边茶舍")  # waits for the operator
    portal, _ = suppliers.active(tenant, boss)
    suppliers.product(portal, None)  # submitted, not yet reviewed

    got = pending()
    assert {k: got[k] for k in queues} == {"agent_applications": 1, "promoter_applications": 1,
                                           "supplier_applications": 1, "supplier_products": 1,
                                           "supplier_withdrawals": 0}
