"""Anti-counterfeit end to end: batches of unguessable codes, export for printing,
ranges shipped to an agent, public scans with repeat warnings, and 窜货 cases."""

from __future__ import annotations

import csv
import io
import zipfile

from backend.anticounterfeit import service as ac
from tests.agents_factories import ZHEJIANG


def _boss(factory, tenant):
    return factory.staff_headers(factory.staff(tenant, role="boss"))


def test_codes_are_100_random_bits_never_sequential():
    codes = [ac.new_code() for _ in range(2000)]
    assert len(set(codes)) == 2000
    assert all(len(c) == 20 and ac.normalize(c) == c for c in codes)
    # no shared prefix the way counters have: first characters spread over the alphabet
    assert len({c[:2] for c in codes}) > 500
    assert ac.normalize("0O1I-L") is None and ac.normalize(codes[0].lower()) == codes[0]


def test_batch_export_ship_scan_and_diversion_case(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    agent = factory.member(tenant)
    channel.authorize(tenant, agent, "l2", regions=ZHEJIANG)
    boss = _boss(factory, tenant)
    b = client.post("/api/v1/admin/anticounterfeit/batches", json={"product_id": product_id, "size": 30,
                                                                   "label": "2026 春茶"}, headers=boss)
    assert b.status_code == 201 and b.json["size"] == 30
    z = client.get(f"/api/v1/admin/anticounterfeit/batches/{b.json['id']}/export.zip?seq_from=1&seq_to=10",
                   headers=boss)
    assert z.status_code == 200 and z.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.data)) as archive:
        names = archive.namelist()
        rows = list(csv.reader(io.StringIO(archive.read("codes.csv").decode("utf-8-sig"))))
        assert archive.read(names[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert rows[0] == ["序号", "防伪码", "查询链接"] and len(rows) == 11
    assert len([n for n in names if n.startswith("qr/")]) == 10
    codes = [r[1] for r in rows[1:]]
    assert rows[1][2].endswith(f"/scan/{codes[0]}")

    s = client.post("/api/v1/admin/anticounterfeit/shipments", json={
        "agent_id": agent.id, "batch_id": b.json["id"], "seq_from": 1, "seq_to": 9}, headers=boss)
    assert s.status_code == 201 and s.json["count"] == 9
    overlap = client.post("/api/v1/admin/anticounterfeit/shipments", json={
        "agent_id": agent.id, "batch_id": b.json["id"], "seq_from": 5, "seq_to": 12}, headers=boss)
    assert overlap.status_code == 409 and overlap.json["code"] == "code_range_taken"

    first = client.post(f"/api/v1/public/scan/{codes[0]}", json={"province": "浙江省", "city": "杭州市"})
    assert first.status_code == 200
    assert first.json["authentic"] and first.json["product_name"] == "明前龙井"
    assert first.json["scan_count"] == 1 and not first.json["repeated"]
    second = client.get(f"/scan/{codes[0]}?province=上海市")
    assert second.status_code == 200 and "已被查询 2 次" in second.text and "浙江省杭州市" in second.text
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in second.headers["Content-Security-Policy"]
    unknown = client.post("/api/v1/public/scan/ABCDEFGHJKMNPQRSTVWX", json={})
    assert unknown.status_code == 404 and unknown.json["code"] == "unknown_code" and "假冒" in unknown.json["message"]
    assert client.get("/scan/not-a-code").status_code == 404

    assert client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"] == []
    for c in codes[1:3]:
        client.post(f"/api/v1/public/scan/{c}", json={"province": "江苏省", "city": "南京市"})
    # two outside scans in 江苏, one in 上海: no cluster yet
    assert client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"] == []
    client.post(f"/api/v1/public/scan/{codes[3]}", json={"province": "江苏省", "city": "苏州市"})
    cases = {x["province"]: x for x in client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"]}
    assert cases["江苏省"]["scans"] == 3 and cases["江苏省"]["codes"] == 3
    assert cases["江苏省"]["cities"] == "南京市、苏州市" and cases["江苏省"]["status"] == "open"
    closed = client.post(f"/api/v1/admin/anticounterfeit/cases/{cases['江苏省']['id']}/close",
                         json={"note": "已约谈"}, headers=boss)
    assert closed.json["status"] == "closed"
    # seq 10 is not shipped: a code with no agent never makes a case, wherever it is scanned
    for _ in range(3):
        client.post(f"/api/v1/public/scan/{codes[-1]}", json={"province": "广东省"})
    assert "广东省" not in {x["province"] for x in client.get("/api/v1/admin/anticounterfeit/cases",
                                                              headers=boss).json["items"]}
