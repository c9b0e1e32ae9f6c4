"""Tenant poster templates: validated, versioned, one active per kind, audited."""

from __future__ import annotations

from typing import Any

import pytest

from backend.audit.service import list_audit
from backend.db import unit_of_work
from backend.posters import service as posters
from backend.posters.errors import InvalidTemplate, PosterKindUnknown, PosterTemplateNotFound


def create(tenant: Any, name: str = "春节版", kind: str = "invite", active: bool = False,
           **changes: Any) -> Any:
    layout = posters.default_template(kind=kind)
    layout.update(changes)
    with unit_of_work():
        return posters.create_template(tenant_id=tenant.id, kind=kind, name=name, layout=layout,
                                       active=active, actor="staff:1")


def test_a_valid_template_is_stored_at_version_one_with_its_layout(factory: Any) -> None:
    tenant = factory.tenant()
    template = create(tenant, background={"color": "#112233"})
    view = posters.template_view(posters.get_template(tenant_id=tenant.id,
                                                      template_id=template.id))
    assert (view["kind"], view["name"], view["version"], view["active"]) == (
        "invite", "春节版", 1, False)
    assert view["layout"]["background"] == {"color": "#112233"}


def test_a_bad_template_is_refused_with_every_reason_and_nothing_is_stored(factory: Any) -> None:
    tenant = factory.tenant()
    layout = posters.default_template(kind="product")
    layout["elements"][0]["x"] = 5000
    layout["background"]["image"] = "images/gone.png"
    layout["shadow"] = True
    with pytest.raises(InvalidTemplate) as caught, unit_of_work():
        posters.create_template(tenant_id=tenant.id, kind="product", name="坏模板",
                                layout=layout, actor="staff:1")
    assert sorted(caught.value.fields) == ["background.image", "elements[0].x", "shadow"]
    assert posters.list_templates(tenant_id=tenant.id) == []


def test_an_oversized_layout_is_refused(factory: Any) -> None:
    tenant = factory.tenant()
    layout = posters.default_template(kind="invite")
    layout["elements"][2]["text"] = "好" * 400
    text = str(layout).replace("'", '"')
    with pytest.raises(InvalidTemplate) as caught, unit_of_work():
        posters.create_template(tenant_id=tenant.id, kind="invite", name="大",
                                layout=text + " " * posters.MAX_LAYOUT_CHARS, actor="staff:1")
    assert caught.value.fields == ["$"]


def test_activating_a_template_deactivates_the_previous_one_of_its_kind(factory: Any) -> None:
    tenant = factory.tenant()
    create(tenant, "一", active=True)
    create(tenant, "商品", kind="product", active=True)
    second = create(tenant, "二", active=True)
    states = {t.name: t.active for t in posters.list_templates(tenant_id=tenant.id)}
    assert states == {"一": False, "商品": True, "二": True}
    _, version = posters.effective_layout(tenant_id=tenant.id, kind="invite")
    assert version.startswith(f"t{second.id}.")


def test_updating_the_layout_bumps_the_version_and_renaming_does_not(factory: Any) -> None:
    tenant = factory.tenant()
    template = create(tenant)
    layout = posters.default_template(kind="invite")
    layout["background"] = {"color": "#000000"}
    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, name="改名",
                                actor="staff:1")
    assert posters.get_template(tenant_id=tenant.id, template_id=template.id).version == 1
    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, layout=layout,
                                actor="staff:1")
    with unit_of_work():  # the same layout again is no new version
        posters.update_template(tenant_id=tenant.id, template_id=template.id, layout=layout,
                                actor="staff:1")
    assert posters.get_template(tenant_id=tenant.id, template_id=template.id).version == 2


def test_a_bad_update_leaves_the_template_as_it_was(factory: Any) -> None:
    tenant = factory.tenant()
    template = create(tenant)
    layout = posters.default_template(kind="invite")
    layout["elements"] = [e for e in layout["elements"] if e["type"] != "qr"]
    with pytest.raises(InvalidTemplate), unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, layout=layout,
                                name="无码", actor="staff:1")
    fresh = posters.get_template(tenant_id=tenant.id, template_id=template.id)
    assert (fresh.name, fresh.version) == ("春节版", 1)


def test_deleting_the_active_template_falls_back_to_the_default(factory: Any) -> None:
    tenant = factory.tenant()
    template = create(tenant, active=True)
    _, version = posters.effective_layout(tenant_id=tenant.id, kind="invite")
    assert version.startswith(f"t{template.id}.1.")
    with unit_of_work():
        posters.delete_template(tenant_id=tenant.id, template_id=template.id, actor="staff:1")
    layout, version = posters.effective_layout(tenant_id=tenant.id, kind="invite")
    assert version.startswith("default.")
    assert layout.background.image == "images/invite_bg.png"


def test_another_tenants_template_is_not_found(factory: Any) -> None:
    mine, theirs = factory.tenant(), factory.tenant()
    template = create(theirs)
    with pytest.raises(PosterTemplateNotFound):
        posters.get_template(tenant_id=mine.id, template_id=template.id)
    with pytest.raises(PosterTemplateNotFound), unit_of_work():
        posters.update_template(tenant_id=mine.id, template_id=template.id, name="x",
                                actor="staff:1")
    assert posters.list_templates(tenant_id=mine.id) == []


def test_template_changes_are_audited(factory: Any) -> None:
    tenant = factory.tenant()
    template = create(tenant, active=True)
    with unit_of_work():
        posters.update_template(tenant_id=tenant.id, template_id=template.id, active=False,
                                actor="staff:9")
    with unit_of_work():
        posters.delete_template(tenant_id=tenant.id, template_id=template.id, actor="staff:9")
    entries = list_audit(tenant_id=tenant.id, target_type="poster_template")
    assert [(e.action, e.actor) for e in entries] == [
        ("poster_template.delete", "staff:9"), ("poster_template.update", "staff:9"),
        ("poster_template.create", "staff:1")]
    assert (entries[1].before["active"], entries[1].after["active"]) == (True, False)


def test_unknown_kinds_are_refused(factory: Any) -> None:
    tenant = factory.tenant()
    with pytest.raises(PosterKindUnknown):
        posters.default_template(kind="banner")
    with pytest.raises(PosterKindUnknown), unit_of_work():
        posters.create_template(tenant_id=tenant.id, kind="banner", name="x",
                                layout=posters.default_template(kind="invite"), actor="t")


def test_a_preview_renders_a_layout_without_storing_it(factory: Any) -> None:
    from tests.unit.posters.conftest import read_qr_texts

    tenant = factory.tenant()
    png = posters.preview_template(tenant_id=tenant.id, kind="product",
                                   layout=posters.default_template(kind="product"))
    assert read_qr_texts(png) == [f"http://127.0.0.1:5080/s/{tenant.slug}?scene=i%3DPREVIEW"]
    assert posters.list_templates(tenant_id=tenant.id) == []
