from backend.staff.service import authenticate
from backend.tenants.service import get_tenant_by_slug


def test_the_platform_operator_creates_a_tenant_from_the_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenant", "create", "--slug", "cli-brand", "--name", "命令行品牌",
                                 "--boss-password", "boss-pass-1"])
    assert result.exit_code == 0, result.output
    tenant = get_tenant_by_slug(slug="cli-brand")
    assert tenant.name == "命令行品牌"
    assert authenticate(tenant_id=tenant.id, username="boss", password="boss-pass-1").role == "boss"
    listing = runner.invoke(args=["tenant", "list"])
    assert "cli-brand" in listing.output
    again = runner.invoke(args=["tenant", "create", "--slug", "cli-brand", "--name", "x"])
    assert again.exit_code != 0
