"""A transfer whose claimed row vanished (the first request with its client token rolled
back after this one found the token taken) is written again, not refused."""

from __future__ import annotations

from typing import Any

from backend import bulk
from backend.db import unit_of_work, utcnow
from backend.flows import agent_channel as flow
from backend.warehouse import service as warehouse


def test_a_transfer_whose_first_claim_vanished_is_claimed_again(app: Any, factory: Any, channel: Any,
                                                                monkeypatch: Any) -> None:
    tenant, _, sku_id = channel.brand()
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 10)
    real = bulk.insert_rows
    claims: list[Any] = []

    def first_claim_lost(table: Any, rows: Any, **kwargs: Any) -> Any:
        if table.name == "warehouse_transfers":
            claims.append(rows[0]["client_token"])
            if len(claims) == 1:
                return []  # the token was taken, by a request that then rolled back
        return real(table, rows, **kwargs)

    monkeypatch.setattr(bulk, "insert_rows", first_claim_lost)
    with unit_of_work():
        t = flow.transfer(tenant_id=tenant.id, from_id=top.id, to_id=mid.id, sku_id=sku_id, pieces=2,
                          client_token="xfer-1", now=utcnow())
    assert (t.pieces, claims) == (2, ["xfer-1", "xfer-1"])
    assert warehouse.stock_of(tenant_id=tenant.id, member_id=mid.id)[sku_id] == 2
