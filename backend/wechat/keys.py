"""Deterministic key material for the sandbox and demo tenants.

The product (demo tenant config) and the sandbox (possibly another process) must
agree on merchant and platform keys without sharing files. Both derive them from a
label: RSA primes are searched deterministically from a SHAKE-256 stream. These keys
are public knowledge by construction: sandbox and demo use only, never live.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import string
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

NAMESPACE = "siyu-wechat-sandbox-v1"
_E = 65537
_SMALL_PRIMES = [p for p in range(3, 5000) if all(p % d for d in range(2, math.isqrt(p) + 1))]
_SMALL_PRODUCT = math.prod(_SMALL_PRIMES)
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71)


def derive_bytes(label: str, n: int) -> bytes:
    """n bytes fixed by the label."""
    return hashlib.shake_256(f"{NAMESPACE}:{label}".encode()).digest(n)


def derive_text(label: str, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """An n-character string over `alphabet`, fixed by the label."""
    raw = derive_bytes(label, n * 2)
    return "".join(alphabet[int.from_bytes(raw[i:i + 2], "big") % len(alphabet)]
                   for i in range(0, 2 * n, 2))


def derive_digits(label: str, n: int) -> str:
    return derive_text(label, n, string.digits)


def derive_hex(label: str, n: int) -> str:
    return derive_bytes(label, (n + 1) // 2).hex()[:n]


def derive_aes_key_43(label: str) -> str:
    """A WeChat EncodingAESKey: 43 letters/digits (base64 of 32 bytes, '=' dropped)."""
    key = derive_text(label, 43)
    assert len(base64.b64decode(key + "=")) == 32
    return key


def _probable_prime(n: int, rounds: int = len(_MR_BASES)) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in _MR_BASES[:rounds]:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime_start(label: str, bits: int) -> int:
    c = int.from_bytes(derive_bytes(label, bits // 8), "big")
    return c | (3 << (bits - 2)) | 1  # top two bits set: p*q has exactly 2*bits bits


def _derive_prime(label: str, bits: int) -> int:
    c = _prime_start(label, bits)
    while True:
        if math.gcd(c, _SMALL_PRODUCT) == 1 and (c - 1) % _E and _probable_prime(c):
            return c
        c += 2


# The prime search is pure Python (about 0.5-2 s a key): each process used to pay it for
# every merchant it met, and the test suite meets dozens in each of its workers. Found
# primes are kept in a cache folder (SIYU_KEY_CACHE_DIR, default ~/.cache/siyu/sandbox-keys;
# "off" disables it): the keys are public by construction, so the file holds no secret.
# A cached pair is taken only if it is this label's (each prime lies just above where
# the label's search starts, and passes two Miller-Rabin rounds).
_MAX_PRIME_GAP = 1 << 20


def _cache_file(label: str, bits: int) -> Path | None:
    where = os.environ.get("SIYU_KEY_CACHE_DIR") or str(Path.home() / ".cache" / "siyu" / "sandbox-keys")
    if where == "off":
        return None
    return Path(where) / f"{hashlib.sha256(f'{NAMESPACE}:{label}:{bits}'.encode()).hexdigest()[:32]}.txt"


def _cached_primes(label: str, bits: int) -> tuple[int, int] | None:
    path = _cache_file(label, bits)
    try:
        p_hex, q_hex = path.read_text().split() if path else ("", "")
        p, q = int(p_hex, 16), int(q_hex, 16)
    except (OSError, ValueError):
        return None
    for prime, half in ((p, "p"), (q, "q")):
        if not (0 <= prime - _prime_start(f"{label}:{half}", bits // 2) < _MAX_PRIME_GAP
                and _probable_prime(prime, rounds=2)):
            return None
    return p, q


def _remember_primes(label: str, bits: int, p: int, q: int) -> None:
    path = _cache_file(label, bits)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
            tmp.write(f"{p:x} {q:x}\n")
        os.replace(tmp.name, path)  # whole or not at all, for processes reading at once
    except OSError:
        pass  # a read-only home: derive again next time


@lru_cache(maxsize=128)
def derived_rsa_key(label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA private key fixed by the label (searched once per machine, then cached)."""
    cached = _cached_primes(label, bits)
    if cached:
        p, q = cached
    else:
        p = _derive_prime(f"{label}:p", bits // 2)
        q = _derive_prime(f"{label}:q", bits // 2)
        if p == q:  # pragma: no cover - astronomically unlikely
            raise ValueError("degenerate key")
        _remember_primes(label, bits, p, q)
    n = p * q
    d = pow(_E, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q), public_numbers=rsa.RSAPublicNumbers(_E, n))
    # OpenSSL's key check tests p and q for primality again (0.15 s a key); they passed
    # twenty Miller-Rabin rounds when found, and two more when read from the cache.
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form WeChat Pay hands merchants."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), the WeChat Pay public key form."""
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
