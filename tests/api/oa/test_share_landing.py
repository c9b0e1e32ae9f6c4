"""The share link a plain QR carries lands on a page whose OA QR binds on follow."""

from sqlalchemy import select

from backend.extensions import db
from backend.members.models import Member
from backend.wechat.sandbox import flask_client_sender
from backend.wechat.service import credentials


def test_the_share_page_names_the_inviter_and_its_oa_qr_binds_the_follower(client, factory, sandbox):
    t = factory.tenant()
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    promoter = factory.member(t, nickname="分享达人")
    resp = client.get(f"/s/{t.slug}?scene=i%3D{promoter.invite_code}%26p%3D7")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "分享达人" in page and "<img src=" in page
    again = client.get(f"/s/{t.slug}?scene=i%3D{promoter.invite_code}%26p%3D7").get_data(as_text=True)
    assert again == page  # the QR is cached, not created again
    sandbox.scan_oa_qrcode(f"i={promoter.invite_code}&p=7", "landing-fan",
                           send=flask_client_sender(client))
    follower = db.session.scalar(select(Member).where(Member.parent_id == promoter.id))
    assert follower is not None and follower.oa_openid


def test_bad_scenes_and_unknown_tenants_get_a_readable_error_page(client, factory):
    t = factory.tenant()
    assert client.get(f"/s/{t.slug}?scene=x%3D1").status_code == 400
    assert client.get(f"/s/{t.slug}?scene=i%3DZZZZZZ").status_code == 404
    assert client.get("/s/nobody?scene=i%3DABCDEF").status_code == 404


def test_a_product_share_shows_the_product_and_still_binds(client, factory, sandbox):
    from tests.orders_factories import OrdersFactory

    t = factory.tenant()
    promoter = factory.member(t, nickname="分享达人")
    product_id, _ = OrdersFactory(client.application, sandbox).product(t, price_fen=12900, name="明前龙井")
    page = client.get(f"/s/{t.slug}?scene=i%3D{promoter.invite_code}%26p%3D{product_id}").get_data(as_text=True)
    assert "明前龙井" in page and "¥129.00" in page and "向您推荐这件好物" in page
    # an off-shelf or unknown product: the page still lands and names the inviter, without a card
    plain = client.get(f"/s/{t.slug}?scene=i%3D{promoter.invite_code}%26p%3D999999").get_data(as_text=True)
    assert "分享达人" in plain and "邀请您加入" in plain and "¥" not in plain
