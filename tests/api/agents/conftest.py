from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def shop(app: Any, sandbox: Any) -> Any:
    from tests.orders_factories import OrdersFactory

    return OrdersFactory(app, sandbox)


@pytest.fixture()
def channel(app: Any, shop: Any, factory: Any) -> Any:
    from tests.agents_factories import AgentsFactory

    return AgentsFactory(app, shop, factory)
