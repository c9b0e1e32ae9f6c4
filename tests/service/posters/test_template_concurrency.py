"""Real threads against MariaDB: racing activations leave one active template per kind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.posters import service as posters
from backend.posters.models import PosterTemplate
from tests.service.members.test_binding_concurrency import race

pytestmark = pytest.mark.mariadb


def test_ten_concurrent_activations_leave_exactly_one_active_template(app: Any,
                                                                      factory: Any) -> None:
    tenant = factory.tenant()
    tid = tenant.id
    layout = posters.default_template(kind="invite")
    outcomes = race(app, [
        (lambda i=i: posters.create_template(tenant_id=tid, kind="invite", name=f"版本{i}",
                                             layout=layout, active=True, actor="test").id)
        for i in range(10)])
    created = [o for o in outcomes if isinstance(o, int)]
    assert set(outcomes) - set(created) <= {"poster_template_active_conflict"}
    active = db.session.scalars(select(PosterTemplate).where(
        PosterTemplate.tenant_id == tid, PosterTemplate.active_kind == "invite")).all()
    assert len(active) == 1 and active[0].id in created
    assert db.session.scalar(select(func.count()).select_from(PosterTemplate).where(
        PosterTemplate.tenant_id == tid)) == len(created)
    _, version = posters.effective_layout(tenant_id=tid, kind="invite")
    assert version.startswith(f"t{active[0].id}.")
