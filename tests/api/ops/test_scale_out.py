"""docs/scale-out.md's claims about a stateless web tier, checked with two web nodes.

Two app instances built from the same settings stand for two web nodes behind a load
balancer: they share only the database and Redis. Whatever one node does, the other
must see on the very next request — a login, a logout, a throttled password guess, an
uploaded product image. Needs a real Redis (the embedded one is per node).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from backend.config import load_settings
from miniprogram_api import create_web_app

pytestmark = pytest.mark.redis



@pytest.fixture()
def node_b(app: Any) -> Iterator[Any]:
    """A second web node: the same settings, its own app, engine pool and Redis client."""
    settings = app.config["SIYU_SETTINGS"]
    env = {"DATABASE_URL": settings.database_url, "WECHAT_MODE": "sandbox",
           "WECHAT_SANDBOX_URL": settings.wechat_sandbox_url, "SECRET_KEY": settings.secret_key,
           "PLATFORM_ADMIN_TOKEN": settings.platform_admin_token, "REDIS_URL": os.environ["REDIS_URL"]}
    other = create_web_app(load_settings(env))
    other.config["TESTING"] = True
    yield other.test_client()
    from backend.extensions import db

    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _login(client: Any, tenant: Any, username: str, password: str = "password123") -> Any:
    return client.post("/api/v1/admin/login", json={"tenant": tenant.slug, "username": username,
                                                   "password": password})


def test_a_session_begun_on_one_node_works_on_the_other_and_a_logout_ends_it_on_both(client, node_b, factory):
    t = factory.tenant()
    op = factory.staff(t, "operator")
    token = _login(client, t, op.username).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert node_b.get("/api/v1/admin/members", headers=auth).status_code == 200  # B now caches the state
    assert client.post("/api/v1/admin/logout", headers=auth).status_code == 200
    refused = node_b.get("/api/v1/admin/members", headers=auth)
    assert (refused.status_code, refused.json["code"]) == (401, "token_revoked")


def test_password_guesses_are_counted_across_nodes(client, node_b, factory):
    t = factory.tenant()
    op = factory.staff(t, "operator")
    answers = [(node_b if i % 2 else client).post(
        "/api/v1/admin/login", json={"tenant": t.slug, "username": op.username, "password": f"wrong{i}"}).status_code
        for i in range(12)]
    assert 429 in answers  # the per-user limit is one counter in Redis, not one per node
    assert answers.index(429) < 11


def test_an_image_uploaded_through_one_node_is_served_by_the_other(client, node_b, factory):
    t = factory.tenant()
    boss = factory.staff(t, "boss")
    png = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 60)).save(png, format="PNG")
    up = client.post("/api/v1/admin/shop/images", headers=factory.staff_headers(boss),
                     data={"file": (io.BytesIO(png.getvalue()), "green.png")})
    assert up.status_code == 201, up.json
    served = node_b.get(up.json["url"])  # kept in the database, not on node A's disk
    assert served.status_code == 200 and Image.open(io.BytesIO(served.data)).size == (32, 24)
