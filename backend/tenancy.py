"""Tenant scoping in one place: inside a tenant's scope, every ORM query of a
TenantScoped model returns only that tenant's rows, whether or not it says so.

The HTTP edge opens the scope for every request of a member or a staff member
(miniprogram_api/http.py, with the tenant of the caller's token), so a service query
that forgets `tenant_id` still cannot read another brand's rows. Services keep their
explicit `tenant_id` filters (they run outside a scope too: jobs, the platform API,
signed callbacks, which work across tenants and filter by hand).

The escape is explicit and greppable: `with all_tenants("why"):` lifts the scope for
a block (say, a uniqueness check across brands inside a staff request).

How: a `do_orm_execute` hook adds `with_loader_criteria(TenantScoped, tenant_id ==
current)` to every ORM SELECT (its relationship and column loads included) while a
scope is open. Core statements on tables (`select(Model.__table__.c…)`) are not ORM
queries and are not touched; they name their tenant themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from backend.orm import TenantScoped

_CURRENT: ContextVar[int | None] = ContextVar("siyu_tenant_scope", default=None)


def current_tenant() -> int | None:
    """The tenant whose scope is open, or None."""
    return _CURRENT.get()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[None]:
    """Within the block, ORM queries of tenant-scoped models see only this tenant's rows."""
    token = _CURRENT.set(tenant_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def all_tenants(reason: str) -> Iterator[None]:
    """Lift the tenant scope for a block that must see every tenant's rows (say why)."""
    if not reason:
        raise ValueError("say why the tenant scope is lifted")
    token = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant_id = _CURRENT.get()
    if tenant_id is None or not state.is_select:
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True))
