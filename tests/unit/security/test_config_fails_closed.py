"""Item 3 of the outside review: outside the sandbox the app refuses to start without
explicit, strong SECRET_KEY, ENCRYPTION_KEY and PLATFORM_ADMIN_TOKEN, naming the variable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from backend.config import ConfigError, load_settings

STRONG = {"SECRET_KEY": "k" + "".join(chr(65 + i % 26) + str(i) for i in range(20)),
          "ENCRYPTION_KEY": Fernet.generate_key().decode(),
          "PLATFORM_ADMIN_TOKEN": "p" + "".join(chr(97 + i % 26) + str(i * 7) for i in range(20))}


def test_the_sandbox_runs_with_the_development_keys() -> None:
    s = load_settings({})
    assert s.wechat_mode == "sandbox" and s.secret_key and s.platform_admin_token


@pytest.mark.parametrize("live", [{"WECHAT_MODE": "live"},
                                  {"SIYU_ENV": "production", "WECHAT_MODE": "live"}])
@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEY", "PLATFORM_ADMIN_TOKEN"])
def test_live_settings_without_a_key_refuse_to_start_naming_it(live: dict, missing: str) -> None:
    env = {**live, **{k: v for k, v in STRONG.items() if k != missing}}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


def test_wechat_live_with_siyu_env_unset_refuses_the_public_development_keys() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"WECHAT_MODE": "live"})
    env = {**STRONG, "WECHAT_MODE": "live", "SECRET_KEY": "siyu-dev-secret-change-me"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(env)
    env = {**STRONG, "WECHAT_MODE": "live", "PLATFORM_ADMIN_TOKEN": "platform-dev-token"}
    with pytest.raises(ConfigError, match="PLATFORM_ADMIN_TOKEN"):
        load_settings(env)


@pytest.mark.parametrize("name,value", [("SECRET_KEY", "short-secret"),
                                        ("SECRET_KEY", "a" * 64),
                                        ("PLATFORM_ADMIN_TOKEN", "tok"),
                                        ("ENCRYPTION_KEY", "not-a-fernet-key"),
                                        ("ENCRYPTION_KEY", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")])
def test_weak_keys_refuse_to_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**STRONG, "WECHAT_MODE": "live", name: value})


def test_production_with_strong_explicit_keys_starts() -> None:
    s = load_settings({**STRONG, "SIYU_ENV": "production", "WECHAT_MODE": "live"})
    assert (s.secret_key, s.platform_admin_token) == (STRONG["SECRET_KEY"],
                                                      STRONG["PLATFORM_ADMIN_TOKEN"])
    assert s.encryption_key == STRONG["ENCRYPTION_KEY"]


def test_production_refuses_the_sandbox_and_an_unknown_env_is_an_error() -> None:
    with pytest.raises(ConfigError, match="WECHAT_MODE"):
        load_settings({**STRONG, "SIYU_ENV": "production"})
    with pytest.raises(ConfigError, match="SIYU_ENV"):
        load_settings({"SIYU_ENV": "prod"})


def test_rate_limits_are_configurable_and_checked() -> None:
    s = load_settings({"RATE_LIMITS": "staff_login_user=3/minute; mp_login_ip=100/hour"})
    assert s.rate_limits == {"staff_login_user": "3/minute", "mp_login_ip": "100/hour"}
    with pytest.raises(ConfigError, match="RATE_LIMITS"):
        load_settings({"RATE_LIMITS": "no_such_limit=1/minute"})
    with pytest.raises(ConfigError, match="RATE_LIMITS"):
        load_settings({"RATE_LIMITS": "mp_login_ip=lots"})


def test_trusted_proxies_default_to_none_and_refuse_nonsense() -> None:
    assert load_settings({}).trusted_proxies == 0
    assert load_settings({"TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    for bad in ("yes", "-1", "9"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            load_settings({"TRUSTED_PROXIES": bad})


@pytest.mark.parametrize("method", ["md5", "scrypt:1000:8:1", "pbkdf2:sha1:1000", "scrypt:x"])
def test_a_password_hash_method_werkzeug_would_not_take_refuses_to_start(method: str) -> None:
    with pytest.raises(ConfigError, match="PASSWORD_HASH_METHOD"):
        load_settings({"PASSWORD_HASH_METHOD": method})


def test_production_refuses_a_cheap_password_hash_that_the_sandbox_takes() -> None:
    assert load_settings({"PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}).password_hash_method == "scrypt:1024:8:1"
    live = {**STRONG, "SIYU_ENV": "production", "WECHAT_MODE": "live"}
    for cheap in ("scrypt:1024:8:1", "pbkdf2:sha256:10000"):
        with pytest.raises(ConfigError, match="in production"):
            load_settings({**live, "PASSWORD_HASH_METHOD": cheap})
    assert load_settings(live).password_hash_method == "scrypt"
    assert load_settings({**live, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:600000"}).password_hash_method


def test_hashes_take_the_configured_method_and_old_hashes_keep_verifying(app) -> None:
    from werkzeug.security import generate_password_hash

    from backend.auth.passwords import check_password, hash_password

    made = hash_password("秘密口令123")
    assert made.startswith(app.config["SIYU_SETTINGS"].password_hash_method + "$")
    assert check_password(made, "秘密口令123") and not check_password(made, "wrong")
    assert check_password(generate_password_hash("旧口令", method="pbkdf2:sha256:600000"), "旧口令")
    assert not check_password(None, "anything")
