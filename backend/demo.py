"""The demo tenant the embedded product starts with: a brand, its boss, a team tree.

Idempotent: running it again changes nothing. Other domains add their demo data
(products, plans …) in backend/<domain>/demo.py with a `seed(tenant)` function,
called in domain name order inside the same unit of work.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.models_registry import domain_modules
from backend.tenants.models import Tenant

DEMO_SLUG = "demo"
DEMO_BOSS = ("boss", "demo1234")
# (login code a person types into the sandbox, nickname, index of the parent in this list)
DEMO_MEMBERS: list[tuple[str, str, int | None]] = [
    ("demo-alice", "爱丽丝🌸", None),
    ("demo-bob", "小波", 0),
    ("demo-carol", "卡罗尔", 1),
    ("demo-dave", "大卫", 2),
    ("demo-erin", "小艾", 3),
    ("demo-frank", "阿福", 0),
    ("demo-grace", "格蕾丝", 5),
    ("demo-heidi", "海蒂", 1),
]

def seed_demo(*, public_base_url: str) -> Tenant:
    """Create the demo tenant with sandbox credentials, its boss and members (once)."""
    from backend.members.service import bind_member, upsert_member
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials
    from backend.wechat.sandbox import sandbox_openid

    existing = db.session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
    if existing is not None:
        return existing
    now = utcnow()
    with unit_of_work():
        creds = demo_credentials(
            DEMO_SLUG, pay_notify_url=f"{public_base_url}/api/v1/pay/notify/{DEMO_SLUG}")
        tenant = create_tenant(slug=DEMO_SLUG, name="思语演示品牌", credentials=creds.to_flat(),
                               actor="demo", boss_username=DEMO_BOSS[0], boss_password=DEMO_BOSS[1])
        made = []
        for code, nickname, parent_index in DEMO_MEMBERS:
            openid = sandbox_openid(creds.mini_program.appid, code)  # type: ignore[union-attr]
            member = upsert_member(tenant_id=tenant.id, openid=openid, nickname=nickname, now=now)
            if parent_index is not None:
                bind_member(tenant_id=tenant.id, member_id=member.id,
                            parent_id=made[parent_index].id, source="invite_code", scene=None,
                            now=now)
            made.append(member)
        for module in domain_modules("demo"):
            seed = getattr(module, "seed", None)
            if seed is not None:
                seed(tenant)
    return tenant
