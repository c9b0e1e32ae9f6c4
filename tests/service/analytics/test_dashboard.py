"""The dashboard's daily facts: written from real orders, bindings and payouts, read back
as series with the previous period beside them, idempotent when refreshed again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.analytics import service as analytics
from backend.analytics.errors import InvalidPeriod
from backend.db import unit_of_work, utcnow


@pytest.fixture()
def shop(app: Any, sandbox: Any) -> Any:
    from tests.orders_factories import OrdersFactory

    return OrdersFactory(app, sandbox)


def _refresh(tenant: Any) -> int:
    with unit_of_work():
        return analytics.refresh_now(tenant_id=tenant.id, now=utcnow(), actor="test")["facts"]


def test_a_paid_order_shows_as_sales_orders_commission_and_a_top_product(app, factory, shop):
    tenant = factory.tenant()
    alice, bob, carol = factory.chain(tenant, 3)  # carol's parent is bob, bob's is alice
    shop.plan(tenant)
    _, sku = shop.product(tenant, price_fen=10000, cost_fen=4000, name="明前龙井")
    shop.paid_order(tenant, carol, [(sku, 2)])
    _refresh(tenant)
    today = analytics.china_day(utcnow())
    view = analytics.dashboard(tenant_id=tenant.id, start=today - timedelta(days=6), end=today)
    assert view["days"][-1] == today.isoformat() and len(view["days"]) == 7
    assert view["series"]["sales_fen"][-1] == 20000
    assert view["series"]["orders"][-1] == 1
    assert view["totals"]["sales_fen"] == {"current": 20000, "previous": 0, "change_pct": None}
    # profit 12000: 30% to bob (level 1), 20% to alice (level 2); carol buys, no level 3
    assert view["commission_by_kind"]["distribution"][-1] == 3600 + 2400
    assert view["series"]["frozen_fen"][-1] == 6000
    assert view["top_products"] == [{"id": view["top_products"][0]["id"], "name": "明前龙井", "fen": 20000}]
    assert [p["fen"] for p in view["top_promoters"]] == [3600, 2400]
    assert view["top_promoters"][0]["id"] == bob.id
    assert view["series"]["new_members"][-1] == 3
    assert view["bindings_by_source"] and sum(v[-1] for v in view["bindings_by_source"].values()) == 2
    assert view["series"]["bound_total"][-1] == 2
    assert view["pending"]["to_ship"] == 1


def test_refreshing_again_writes_the_same_facts_not_double(app, factory, shop):
    tenant = factory.tenant()
    buyer = factory.member(tenant)
    _, sku = shop.product(tenant, price_fen=5000)
    shop.paid_order(tenant, buyer, [(sku, 1)])
    first = _refresh(tenant)
    assert _refresh(tenant) == first
    today = analytics.china_day(utcnow())
    view = analytics.dashboard(tenant_id=tenant.id, start=today, end=today)
    assert view["series"]["sales_fen"] == [5000]


def test_another_tenants_sales_stay_out(app, factory, shop):
    mine, theirs = factory.tenant(), factory.tenant()
    _, sku = shop.product(theirs, price_fen=7000)
    shop.paid_order(theirs, factory.member(theirs), [(sku, 1)])
    _refresh(mine)
    _refresh(theirs)
    today = analytics.china_day(utcnow())
    assert analytics.dashboard(tenant_id=mine.id, start=today, end=today)["series"]["sales_fen"] == [0]
    assert analytics.dashboard(tenant_id=theirs.id, start=today, end=today)["series"]["sales_fen"] == [7000]


def test_the_previous_period_is_compared(app, factory):
    from backend.analytics.models import DailyFact
    from backend.extensions import db

    tenant = factory.tenant()
    today = analytics.china_day(utcnow())
    with unit_of_work():
        db.session.add_all([
            DailyFact(tenant_id=tenant.id, day=today, metric="sales_fen", dim="", value=15000),
            DailyFact(tenant_id=tenant.id, day=today - timedelta(days=1), metric="sales_fen", dim="", value=10000),
            DailyFact(tenant_id=tenant.id, day=today - timedelta(days=3), metric="bindings", dim="share", value=2),
            DailyFact(tenant_id=tenant.id, day=today - timedelta(days=3), metric="bindings", dim="oa_qrcode", value=3),
            DailyFact(tenant_id=tenant.id, day=today - timedelta(days=4), metric="sales_fen", dim="", value=999)])
    view = analytics.dashboard(tenant_id=tenant.id, start=today, end=today)
    assert view["totals"]["sales_fen"] == {"current": 15000, "previous": 10000, "change_pct": "50.0"}
    assert view["previous_series"]["sales_fen"] == [10000]
    # two days against the two before them, day by day for the charts' comparison lines
    view = analytics.dashboard(tenant_id=tenant.id, start=today - timedelta(days=1), end=today)
    assert view["previous"]["start"] == (today - timedelta(days=3)).isoformat()
    assert view["series"]["sales_fen"] == [10000, 15000]
    assert view["previous_series"]["sales_fen"] == [0, 0]
    assert view["previous_series"]["bindings"] == [5, 0]  # the sources summed
    assert view["totals"]["bindings"] == {"current": 0, "previous": 5, "change_pct": "-100.0"}


def test_a_backwards_or_overlong_period_is_refused(app, factory):
    tenant = factory.tenant()
    today = analytics.china_day(utcnow())
    with pytest.raises(InvalidPeriod):
        analytics.dashboard(tenant_id=tenant.id, start=today, end=today - timedelta(days=1))
    with pytest.raises(InvalidPeriod):
        analytics.dashboard(tenant_id=tenant.id, start=today - timedelta(days=400), end=today)


def test_the_job_refreshes_every_active_tenant(app, factory, shop):
    from backend.analytics.jobs import refresh_daily_facts

    a, b = factory.tenant(), factory.tenant()
    _, sku = shop.product(b, price_fen=3000)
    shop.paid_order(b, factory.member(b), [(sku, 1)])
    assert refresh_daily_facts(now=utcnow()) > 0
    today = analytics.china_day(utcnow())
    assert analytics.dashboard(tenant_id=b.id, start=today, end=today)["series"]["sales_fen"] == [3000]
    assert analytics.dashboard(tenant_id=a.id, start=today, end=today)["series"]["orders"] == [0]


def test_commission_kinds_fall_into_their_groups_and_bindings_into_their_sources(app, factory):
    from backend.analytics.models import DailyFact
    from backend.extensions import db

    tenant = factory.tenant()
    today = analytics.china_day(utcnow())
    facts = [("commission_fen", "dist_l1", 100), ("commission_fen", "dist_l3", 20), ("commission_fen", "agent_dividend", 7),
             ("commission_fen", "team_performance", 3), ("commission_fen", "a_kind_not_known_yet", 1000),
             ("bindings", "manual", 2), ("bindings", "share", 5), ("orders", "", 4)]
    with unit_of_work():
        db.session.add_all([DailyFact(tenant_id=tenant.id, day=today - timedelta(days=1), metric=m, dim=d, value=v)
                            for m, d, v in facts])
    view = analytics.dashboard(tenant_id=tenant.id, start=today - timedelta(days=2), end=today)
    assert view["commission_by_kind"] == {"distribution": [0, 120, 0], "agent": [0, 7, 0], "bonus": [0, 1003, 0]}
    assert view["series"]["commission_fen"] == [0, 1130, 0]
    assert view["bindings_by_source"] == {"manual": [0, 2, 0], "share": [0, 5, 0]}  # only sources that bound anyone
    assert view["series"]["bindings"] == [0, 7, 0] and view["series"]["orders"] == [0, 4, 0]
    assert view["updated_at"] is not None
