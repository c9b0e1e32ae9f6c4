"""Marketing fixtures: the orders factory (catalog, plan, paid orders through the sandbox)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def shop(app: Any, sandbox: Any) -> Any:
    from tests.orders_factories import OrdersFactory

    return OrdersFactory(app, sandbox)
