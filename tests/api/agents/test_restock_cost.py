"""What a restock paid from stored value costs the database in its request: a fixed
budget of statements (the follow-up runs in the worker), each step read or written
once. The benchmark (`./dev bench warehouse`) times it; this pins the count."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from backend import returning
from backend.extensions import db

# tenant status, the buyer's authorization, the buyer, the SKUs with their products,
# the channel policy, the plan's levels, the upline's authorization, the order policy,
# the order and its line, the supplier check, the restock, the stored-value posting
# (claim, accounts, one guarded balance UPDATE, entries), the order paid, the pieces
# set aside (claim, guarded UPDATE, entries). Without INSERT … RETURNING (MySQL 8,
# DB_RETURNING=off) each of the two claims reads its id back: two more.
BUDGET = 20


@contextmanager
def _statements(app: Any):
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()[:3]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_restock_paid_from_stored_value_costs_a_fixed_budget_of_statements(app, client, factory, channel,
                                                                            monkeypatch):
    tenant, product_id, sku_id = channel.brand(settlement_mode="upline")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 50)
    channel.stored_value(tenant, mid, 1_000_000)
    h = factory.member_headers(mid)
    body = {"items": [{"sku_id": sku_id, "quantity": 2}], "source": "upline", "pay": "stored"}
    for _ in range(8):  # after these the accounts and the brand's eight `held` shards exist
        first = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
        assert first.status_code == 201, first.json
    monkeypatch.setitem(app.config, "SIYU_SETTINGS",  # the follow-up left to the worker, as in production
                        dataclasses.replace(app.config["SIYU_SETTINGS"], paid_followup="worker"))
    with _statements(app) as seen:
        r = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert (r.json["amount_fen"], r.json["paid_via"]) == (12_000, "stored")
    with app.app_context():
        budget = BUDGET + (0 if returning.supported(db.engine) else 2)
    assert len(seen) <= budget, "\n".join(seen)
    # read once each: the SKUs come with their products, the order's lines are not read back
    assert not [s for s in seen if s.startswith("SELECT catalog_products")], seen
    assert not [s for s in seen if s.startswith("SELECT order_lines")], seen
