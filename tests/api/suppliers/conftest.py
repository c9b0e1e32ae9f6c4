"""Supplier fixtures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def shop(app: Any, sandbox: Any) -> Any:
    from tests.orders_factories import OrdersFactory

    return OrdersFactory(app, sandbox)


@pytest.fixture()
def sup(client: Any, factory: Any) -> Any:
    from tests.suppliers_factories import SuppliersFactory

    return SuppliersFactory(client, factory)
