"""WeChat Pay APIv3 wire-format crypto, shared by the sandbox and the tests.

The product's own signing and verifying goes through `wechatpayv3`; this module is
the other side of the wire (what WeChat Pay does), written from the published spec:
SHA256-RSA2048 (PKCS#1 v1.5) signatures over newline-joined fields, and
AEAD_AES_256_GCM resources encrypted with the merchant's APIv3 key.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_AUTH_RE = re.compile(r'(\w+)="([^"]*)"')


def sign_lines(key: rsa.RSAPrivateKey, *lines: str) -> str:
    """Base64 SHA256-RSA signature of the lines, each followed by '\\n'."""
    message = "".join(f"{line}\n" for line in lines).encode()
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify_lines(key: rsa.RSAPublicKey, signature: str, *lines: str) -> bool:
    message = "".join(f"{line}\n" for line in lines).encode()
    try:
        key.verify(base64.b64decode(signature, validate=True), message,
                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def aead_encrypt(apiv3_key: str, plaintext: str, associated_data: str,
                 nonce: str | None = None) -> dict[str, str]:
    """The `resource` object of a notification: AEAD_AES_256_GCM, 12-char nonce."""
    nonce = nonce or secrets.token_hex(6)
    ct = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(),
                                            associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ct).decode(),
            "associated_data": associated_data, "nonce": nonce}


def aead_decrypt(apiv3_key: str, resource: dict[str, str]) -> str | None:
    try:
        return AESGCM(apiv3_key.encode()).decrypt(
            resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]),
            (resource.get("associated_data") or "").encode()).decode()
    except (InvalidTag, KeyError, ValueError):
        return None


@dataclass(frozen=True)
class Authorization:
    """A parsed `Authorization: WECHATPAY2-SHA256-RSA2048 ...` merchant request header."""

    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def parse_authorization(header: str) -> Authorization | None:
    scheme, _, rest = (header or "").partition(" ")
    if scheme != SIGNATURE_TYPE:
        return None
    parts = dict(_AUTH_RE.findall(rest))
    try:
        return Authorization(mchid=parts["mchid"], nonce_str=parts["nonce_str"],
                             signature=parts["signature"], timestamp=parts["timestamp"],
                             serial_no=parts["serial_no"])
    except KeyError:
        return None


def rsa_oaep_decrypt(key: rsa.RSAPrivateKey, ciphertext_b64: str) -> str:
    """Decrypt a sensitive field (e.g. transfer user_name) sent with the platform key."""
    return key.decrypt(base64.b64decode(ciphertext_b64), padding.OAEP(
        mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)).decode()
