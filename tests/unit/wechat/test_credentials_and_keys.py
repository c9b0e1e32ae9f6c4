"""Credentials as values, and the derived sandbox/demo key material."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from backend.wechat.credentials import (
    CredentialsInvalid,
    OfficialAccountCredentials,
    TenantWeChatCredentials,
    WeComCredentials,
)
from backend.wechat.demo import demo_credentials, sandbox_merchant
from backend.wechat.keys import derived_rsa_key, load_private_key, load_public_key
from backend.wechat.v3crypto import sign_lines, verify_lines


@pytest.fixture(scope="module")
def demo() -> TenantWeChatCredentials:
    return demo_credentials("wechat-tests", pay_notify_url="https://example.test/notify")


def test_demo_credentials_are_identical_on_every_call(demo: TenantWeChatCredentials) -> None:
    again = demo_credentials("wechat-tests", pay_notify_url="https://example.test/notify")
    assert again == demo
    other = demo_credentials("unit-other", pay_notify_url="https://example.test/notify")
    assert other.mini_program != demo.mini_program and other.pay != demo.pay  # type: ignore[union-attr]


def test_demo_pay_keys_are_the_sandbox_merchant_keys(demo: TenantWeChatCredentials) -> None:
    pay = demo.pay
    assert pay is not None
    m = sandbox_merchant(pay.mchid)
    assert (pay.private_key_pem, pay.public_key_pem, pay.public_key_id, pay.apiv3_key,
            pay.cert_serial_no) == (m.private_key_pem, m.public_key_pem, m.public_key_id,
                                    m.apiv3_key, m.cert_serial_no)
    platform = load_private_key(m.platform_private_key_pem)
    sig = sign_lines(platform, "1700000000", "nonce", "{}")
    assert verify_lines(load_public_key(pay.public_key_pem), sig, "1700000000", "nonce", "{}")
    assert len(pay.apiv3_key) == 32 and pay.public_key_id.startswith("PUB_KEY_ID_")


def test_a_derived_rsa_key_is_a_valid_2048_bit_key_fixed_by_its_label() -> None:
    a, b = derived_rsa_key("unit:a"), derived_rsa_key("unit:b")
    assert a.key_size == 2048 and a.private_numbers().public_numbers.e == 65537
    assert a.private_numbers() == derived_rsa_key("unit:a").private_numbers()
    assert a.private_numbers().p != b.private_numbers().p
    sig = sign_lines(a, "x")
    assert verify_lines(a.public_key(), sig, "x") and not verify_lines(b.public_key(), sig, "x")


def test_a_key_read_from_the_cache_is_the_derived_one_and_a_tampered_cache_is_ignored(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.wechat import keys

    def fresh(label: str) -> str:
        keys.derived_rsa_key.cache_clear()  # the process cache, not the folder
        return keys.private_key_pem(keys.derived_rsa_key(label))

    monkeypatch.setenv("SIYU_KEY_CACHE_DIR", "off")
    derived = fresh("test:cache")
    monkeypatch.setenv("SIYU_KEY_CACHE_DIR", str(tmp_path))
    assert fresh("test:cache") == derived  # found, then written
    [file] = tmp_path.iterdir()
    p, q = (int(h, 16) for h in file.read_text().split())
    assert fresh("test:cache") == derived  # read back
    for forged in (f"{q:x} {p:x}", f"{p + 2:x} {q:x}", "not hex", ""):
        file.write_text(forged)  # another label's primes, a composite, junk: not taken
        assert keys._cached_primes("test:cache", 2048) is None
    file.write_text(f"{p:x} {q:x}")
    assert keys._cached_primes("test:cache", 2048) == (p, q)
    keys.derived_rsa_key.cache_clear()


def test_demo_aes_keys_decode_to_32_bytes(demo: TenantWeChatCredentials) -> None:
    for key in (demo.official_account.encoding_aes_key, demo.wecom.encoding_aes_key):  # type: ignore[union-attr]
        assert len(key) == 43 and key.isalnum()
        assert len(base64.b64decode(key + "=")) == 32


def test_flat_round_trip_keeps_every_part(demo: TenantWeChatCredentials) -> None:
    flat = demo.to_flat()
    assert flat["mp_appid"] == demo.mini_program.appid  # type: ignore[union-attr]
    assert flat["pay_private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert TenantWeChatCredentials.from_flat(flat) == demo


def test_a_flat_dict_without_ids_has_no_parts() -> None:
    assert TenantWeChatCredentials.from_flat({}) == TenantWeChatCredentials()


def test_pay_appid_defaults_to_the_mini_program_appid(demo: TenantWeChatCredentials) -> None:
    flat = demo.to_flat()
    del flat["pay_appid"]
    assert TenantWeChatCredentials.from_flat(flat).pay.appid == flat["mp_appid"]  # type: ignore[union-attr]


def test_repr_never_shows_secrets(demo: TenantWeChatCredentials) -> None:
    text = repr(demo)
    for secret in (demo.mini_program.secret, demo.official_account.token,  # type: ignore[union-attr]
                   demo.pay.apiv3_key, demo.wecom.secret):  # type: ignore[union-attr]
        assert secret not in text
    assert "PRIVATE KEY" not in text and demo.pay.mchid in text  # type: ignore[union-attr]


def test_malformed_credentials_are_refused() -> None:
    with pytest.raises(CredentialsInvalid):
        OfficialAccountCredentials(appid="wx1", secret="s", token="t", encoding_aes_key="short")
    with pytest.raises(CredentialsInvalid):
        OfficialAccountCredentials(appid="wx1", secret="", token="t")
    with pytest.raises(CredentialsInvalid):
        WeComCredentials(corp_id="ww1", secret="s", agent_id="1000002")  # type: ignore[arg-type]
    with pytest.raises(CredentialsInvalid):
        TenantWeChatCredentials.from_flat({"wecom_corpid": "ww1", "wecom_secret": "s",
                                           "wecom_agent_id": "abc"})
