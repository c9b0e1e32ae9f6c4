"""A scheduled pass over every active tenant, each in a unit of work of its own (one
tenant's failure or lock wait never holds the others' changes)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from backend.db import run_in_unit_of_work
from backend.tenants import service as tenants
from backend.tenants.types import TenantStatus

PAGE = 100


def each_active_tenant(fn: Callable[[int], int]) -> int:
    """Call fn(tenant_id) for every active tenant, in id order; returns the sum."""
    done, after = 0, 0
    while True:
        page = run_in_unit_of_work(partial(_page, after))
        for tenant_id, status in page:
            if status == TenantStatus.ACTIVE:
                done += fn(tenant_id)
        if len(page) < PAGE:
            return done
        after = page[-1][0]


def _page(after: int) -> list[tuple[int, str]]:
    return [(t.id, t.status) for t in tenants.list_tenants(after_id=after, limit=PAGE)]
