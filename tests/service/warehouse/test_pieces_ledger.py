"""The pieces ledger: balanced postings once per key, agents never below zero, the
balances rebuilt from the entries, and `flask warehouse check` saying so."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.warehouse import ledger
from backend.warehouse.errors import InsufficientPieces
from backend.warehouse.ledger import HELD, SUPPLY, Leg, agent
from backend.warehouse.models import StockBalance


def _issue(tenant_id, member_id, sku_id, n, key):
    return ledger.post(tenant_id=tenant_id, key=key, kind="restock", now=utcnow(),
                       legs=[Leg(SUPPLY, sku_id, -n), Leg(agent(member_id), sku_id, n)])


def test_a_posting_is_applied_once_per_key_and_sums_to_zero(app, factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        first = _issue(t.id, m.id, 7, 5, "k1")
        again = _issue(t.id, m.id, 7, 5, "k1")
    assert first.created and not again.created and first.posting_id == again.posting_id
    with app.app_context():
        assert ledger.pieces_of(tenant_id=t.id, member_id=m.id) == {7: 5}
        assert ledger.balance(tenant_id=t.id, account=SUPPLY, sku_id=7) == -5
        assert ledger.check(tenant_id=t.id).ok


def test_unbalanced_or_empty_postings_are_refused(app, factory):
    t = factory.tenant()
    m = factory.member(t)
    with app.app_context(), pytest.raises(ValueError):
        ledger.post(tenant_id=t.id, key="bad", kind="x", now=utcnow(), legs=[Leg(agent(m.id), 7, 5)])
    with app.app_context(), pytest.raises(ValueError):
        ledger.post(tenant_id=t.id, key="bad2", kind="x", now=utcnow(),
                    legs=[Leg(agent(m.id), 7, 5), Leg(SUPPLY, 8, -5)])  # balanced in count, not per SKU


def test_a_debit_beyond_the_balance_changes_nothing(app, factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        _issue(t.id, m.id, 7, 3, "in")
    with pytest.raises(InsufficientPieces) as exc, unit_of_work():
        ledger.post(tenant_id=t.id, key="out", kind="transfer", now=utcnow(),
                    legs=[Leg(agent(m.id), 7, -4), Leg(HELD, 7, 4)])
    assert exc.value.details == {"sku_id": 7, "available": 3, "wanted": 4}
    with app.app_context():
        assert ledger.pieces_of(tenant_id=t.id, member_id=m.id) == {7: 3}
        assert not ledger.posting_exists(tenant_id=t.id, key="out")
        assert ledger.check(tenant_id=t.id).postings == 1


def test_check_command_reports_a_balance_that_drifted_from_the_ledger(app, factory):
    t = factory.tenant(slug="drift")
    m = factory.member(t)
    with unit_of_work():
        _issue(t.id, m.id, 7, 3, "in")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["warehouse", "check", "--tenant", "drift"])
    assert ok.exit_code == 0 and "OK" in ok.output
    with unit_of_work():
        db.session.execute(update(StockBalance).where(StockBalance.tenant_id == t.id, StockBalance.kind == "agent")
                           .values(pieces=9))
    bad = runner.invoke(args=["warehouse", "check", "--tenant", "drift", "--as-json"])
    assert bad.exit_code == 1
    assert '"ok": false' in bad.output and '"balance": 9, "entries": 3' in bad.output


def test_brand_accounts_are_spread_over_shards_and_pieces_come_out_of_the_shard_they_went_into(app, factory):
    # Concurrent restocks from uplines used to queue on one `held` row per SKU. A
    # document's pieces go to the shard of its id; taking them out finds that shard, and
    # pieces held before the shards existed (shard 0) come out of shard 0.
    from backend.warehouse.ledger import BRAND_SHARDS, brand

    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        _issue(t.id, m.id, 7, 30, "in")
        for doc in (1, 2, 3):
            ledger.post(tenant_id=t.id, key=f"hold:{doc}", kind="x", now=utcnow(),
                        legs=[Leg(agent(m.id), 7, -doc), Leg(brand("held", doc), 7, doc)])
        ledger.post(tenant_id=t.id, key="hold:old", kind="x", now=utcnow(),
                    legs=[Leg(agent(m.id), 7, -4), Leg(HELD, 7, 4)])
    with app.app_context():
        assert brand("held", 3) == ("held", 3) and brand("held", BRAND_SHARDS + 3) == ("held", 3)
        assert ledger.balance(tenant_id=t.id, account=HELD, sku_id=7) == 10  # all shards
        assert ledger.shard_of(tenant_id=t.id, key="hold:2", kind="held") == ("held", 2)
        assert ledger.shard_of(tenant_id=t.id, key="hold:old", kind="held") == ("held", 0)
    with unit_of_work():
        for key, n in (("hold:2", 2), ("hold:old", 4)):
            ledger.post(tenant_id=t.id, key=f"release:{key}", kind="x", now=utcnow(),
                        legs=[Leg(ledger.shard_of(tenant_id=t.id, key=key, kind="held"), 7, -n),
                              Leg(agent(m.id), 7, n)])
    with app.app_context():
        rows = dict(db.session.execute(db.select(StockBalance.owner_id, StockBalance.pieces).where(
            StockBalance.tenant_id == t.id, StockBalance.kind == "held")).tuples().all())
        assert rows == {0: 0, 1: 1, 2: 0, 3: 3}
        assert ledger.pieces_of(tenant_id=t.id, member_id=m.id) == {7: 26}
        assert ledger.check(tenant_id=t.id).ok
    with pytest.raises(ValueError):
        brand("agent", 1)


def test_a_batch_posts_each_key_once_with_its_own_entries_and_guards_the_net_change(app, factory):
    from backend.warehouse.ledger import Spec, brand

    t = factory.tenant()
    a, b, c = factory.member(t), factory.member(t), factory.member(t)
    with unit_of_work():
        _issue(t.id, a.id, 7, 10, "in")
        for doc in (1, 2):
            ledger.post(tenant_id=t.id, key=f"hold:{doc}", kind="x", now=utcnow(),
                        legs=[Leg(agent(a.id), 7, -3), Leg(brand("held", doc), 7, 3)])
    with app.app_context():
        shards = ledger.shards_of(tenant_id=t.id, keys=["hold:1", "hold:2", "hold:none"], kind="held")
        assert shards == {"hold:1": ("held", 1), "hold:2": ("held", 2), "hold:none": ("held", 0)}
    specs = [Spec(key=f"in:{doc}", kind="restock", legs=[Leg(brand("held", doc), 7, -3), Leg(agent(b.id), 7, 3)])
             for doc in (1, 2)]
    with unit_of_work():
        first = ledger.post_many(tenant_id=t.id, now=utcnow(), postings=specs)
    # A replay in a batch with a new key: the old keys touch nothing, the new one posts
    # (c has no balance row yet: created, as post does).
    with unit_of_work():
        again = ledger.post_many(tenant_id=t.id, now=utcnow(), postings=[
            *specs, Spec(key="move", kind="transfer", legs=[Leg(agent(b.id), 7, -6), Leg(agent(c.id), 7, 6)])])
    assert all(p.created for p in first) and [p.created for p in again] == [False, False, True]
    assert [p.posting_id for p in again[:2]] == [p.posting_id for p in first]
    # The net change of a batch is guarded: b holds nothing now, so this refuses and changes nothing.
    with pytest.raises(InsufficientPieces), unit_of_work():
        ledger.post_many(tenant_id=t.id, now=utcnow(), postings=[
            Spec(key="x1", kind="transfer", legs=[Leg(agent(b.id), 7, -1), Leg(agent(a.id), 7, 1)])])
    with app.app_context():
        assert ledger.pieces_of(tenant_id=t.id, member_id=b.id) == {7: 0}
        assert ledger.pieces_of(tenant_id=t.id, member_id=c.id) == {7: 6}
        assert ledger.balance(tenant_id=t.id, account=ledger.HELD, sku_id=7) == 0
        assert not ledger.posting_exists(tenant_id=t.id, key="x1")
        report = ledger.check(tenant_id=t.id)
        assert report.ok and report.postings == 6  # in, hold ×2, in:1, in:2, move
        entries = db.session.execute(db.select(db.func.count()).select_from(ledger.StockEntry).where(
            ledger.StockEntry.posting_id == first[0].posting_id)).scalar()
        assert entries == 2
