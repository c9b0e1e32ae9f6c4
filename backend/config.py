"""Settings from the environment, validated once at start: fail fast on nonsense."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"

# Dev defaults keep the embedded product runnable with zero configuration. They are
# public (they are in this file), so they are accepted only together with the local
# sandbox: any live setting or SIYU_ENV=production needs real keys (checked below).
_DEV_SECRET = "siyu-dev-secret-change-me"
_DEV_PLATFORM_TOKEN = "platform-dev-token"
# A key or token shorter than this is refused outside the sandbox.
MIN_SECRET_CHARS = 32


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start, never at request time."""


def _derive_fernet_key(secret: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode()


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = _DEV_SECRET
    encryption_key: str = ""
    token_ttl_seconds: int = 7 * 24 * 3600
    platform_admin_token: str = _DEV_PLATFORM_TOKEN
    wechat_mode: str = "sandbox"
    wechat_sandbox_url: str = "http://127.0.0.1:5081"
    # Every call to WeChat gives up after this long (WECHAT_TIMEOUT_SECONDS): a slow
    # WeChat costs a request this much at most, then a 503 wechat_unavailable.
    wechat_timeout_seconds: float = 10.0
    public_base_url: str = "http://127.0.0.1:5080"
    # When a paid order's follow-up (rewards, ledger, alerts) runs: "inline" right after
    # the payment commits, or "worker" (the scheduler drains it in batches; for volume).
    paid_followup: str = "inline"
    oa_inbox: str = "inline"  # OA follow events: bound in the request, or by the worker
    # Mini-program binding requests (POST /mp/me/bind): bound in the request, or checked,
    # queued in one INSERT and bound by the worker `members.bind_requests` (for surges).
    mp_bind_inbox: str = "inline"
    # INSERT … RETURNING: "auto" uses it where the server has it (MariaDB ≥ 10.5, SQLite);
    # "off" never sends it, as MySQL 8 and TiDB require (backend/returning.py; MySQL URLs only).
    db_returning: str = "auto"
    # Which of the three keys came from the environment rather than a dev default.
    explicit_keys: frozenset[str] = frozenset()
    # Rate limits by name (backend/ratelimit.py lists them and their defaults);
    # RATE_LIMITS="staff_login_user=5/15minute;mp_login_ip=60/minute" overrides some.
    rate_limits: dict[str, str] = field(default_factory=dict)
    # Bearer token /metrics requires when set (unset: open, for a scraper on a private network).
    metrics_token: str | None = None
    # Reverse proxies in front of the app that append to X-Forwarded-For (TRUSTED_PROXIES).
    # 0: the header is ignored and the client address is the TCP peer, so nobody can pick
    # the address the per-address limits count against by sending the header.
    trusted_proxies: int = 0
    # werkzeug's notation (backend/auth/passwords.py); the test suite sets a cheap cost.
    password_hash_method: str = "scrypt"
    extra: dict[str, object] = field(default_factory=dict)

    def as_flask_config(self) -> dict[str, object]:
        engine_options: dict[str, object] = {"pool_pre_ping": True}
        if self.database_url.startswith("sqlite"):
            # One file, many threads: wait for the writer instead of failing at once.
            engine_options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        else:
            # A database that is down or restarting must fail a request within seconds
            # (a 503, backend/app.py), not hold it for the driver's default 10 s connect.
            engine_options.update(pool_recycle=3600, pool_size=10, max_overflow=20, pool_timeout=10,
                                  connect_args={"connect_timeout": 3})
        return {
            "SIYU_SETTINGS": self,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "JSON_AS_ASCII": False,
            # The cap on any request body; routes take less (miniprogram_api/http.py).
            "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
            **self.extra,
        }


def _normalise_db_url(url: str) -> str:
    if url.startswith("mysql://"):
        url = "mysql+pymysql://" + url[len("mysql://"):]
    if url.startswith("mysql+pymysql://") and "charset=" not in url:
        # Nicknames carry emoji: utf8mb4 or the insert fails.
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Read settings from the environment (or a given mapping) and validate them."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("SIYU_ENV", "development")
    db_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'siyu.sqlite'}"
    secret = env.get("SECRET_KEY") or _DEV_SECRET
    enc = env.get("ENCRYPTION_KEY") or _derive_fernet_key(secret + ":secrets")
    explicit = frozenset(k for k in ("SECRET_KEY", "ENCRYPTION_KEY", "PLATFORM_ADMIN_TOKEN")
                         if env.get(k))
    wechat_mode = env.get("WECHAT_MODE", "sandbox")
    try:
        ttl = int(env.get("TOKEN_TTL_SECONDS", str(7 * 24 * 3600)))
    except ValueError as exc:
        raise ConfigError("TOKEN_TTL_SECONDS must be an integer") from exc
    try:
        wechat_timeout = float(env.get("WECHAT_TIMEOUT_SECONDS", "10"))
    except ValueError as exc:
        raise ConfigError("WECHAT_TIMEOUT_SECONDS must be a number of seconds") from exc
    if not 0 < wechat_timeout <= 60:
        raise ConfigError("WECHAT_TIMEOUT_SECONDS must be between 0 and 60")
    try:
        proxies = int(env.get("TRUSTED_PROXIES", "0"))
    except ValueError as exc:
        raise ConfigError("TRUSTED_PROXIES must be a whole number of proxies (0 without a proxy)") from exc
    values: dict[str, object] = dict(
        env=mode,
        database_url=_normalise_db_url(db_url),
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret,
        encryption_key=enc,
        token_ttl_seconds=ttl,
        platform_admin_token=env.get("PLATFORM_ADMIN_TOKEN") or _DEV_PLATFORM_TOKEN,
        wechat_mode=wechat_mode,
        wechat_sandbox_url=env.get("WECHAT_SANDBOX_URL", "http://127.0.0.1:5081"),
        wechat_timeout_seconds=wechat_timeout,
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5080"),
        paid_followup=env.get("PAID_FOLLOWUP", "inline"),
        oa_inbox=env.get("OA_INBOX", "inline"),
        mp_bind_inbox=env.get("MP_BIND_INBOX", "inline"),
        db_returning=env.get("DB_RETURNING", "auto"),
        explicit_keys=explicit,
        rate_limits=_parse_rate_limits(env.get("RATE_LIMITS", "")),
        metrics_token=env.get("METRICS_TOKEN") or None,
        trusted_proxies=proxies,
        password_hash_method=env.get("PASSWORD_HASH_METHOD", "scrypt"),
    )
    values.update(overrides)
    named = {"secret_key": "SECRET_KEY", "encryption_key": "ENCRYPTION_KEY",
             "platform_admin_token": "PLATFORM_ADMIN_TOKEN"}
    values["explicit_keys"] = frozenset(values["explicit_keys"]) | {  # type: ignore[arg-type,call-overload]
        named[k] for k in overrides if k in named}
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _parse_rate_limits(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"RATE_LIMITS: {part!r} is not name=limit (e.g. mp_login_ip=60/minute)")
        out[name.strip()] = value.strip()
    return out


def _validate_rate_limits(limits: dict[str, str]) -> None:
    # Imported here: config is read before anything else, and ratelimit needs the limits
    # package only to parse the strings.
    from backend.ratelimit import check_limit_strings

    try:
        check_limit_strings(limits)
    except ValueError as exc:
        raise ConfigError(f"RATE_LIMITS: {exc}") from None


_SCRYPT = re.compile(r"scrypt(?::(\d+):(\d+):(\d+))?")
_PBKDF2 = re.compile(r"pbkdf2(?::(sha256|sha512))?(?::(\d+))?")
# The weakest a password hash may be configured in production: OWASP's floors.
MIN_SCRYPT_N = 2 ** 14
MIN_PBKDF2_ITERATIONS = 600_000


def _validate_password_method(method: str, *, production: bool) -> None:
    """PASSWORD_HASH_METHOD (backend/auth/passwords.py), in werkzeug's notation."""
    scrypt, pbkdf2 = _SCRYPT.fullmatch(method), _PBKDF2.fullmatch(method)
    if not (scrypt or pbkdf2):
        raise ConfigError("PASSWORD_HASH_METHOD must be scrypt[:N:R:P] or pbkdf2[:sha256|sha512[:ITERATIONS]]")
    n = int(scrypt.group(1)) if scrypt and scrypt.group(1) else None
    if n is not None and (n < 2 or n & (n - 1)):
        raise ConfigError("PASSWORD_HASH_METHOD: scrypt's N must be a power of two")
    if production and n is not None and n < MIN_SCRYPT_N:
        raise ConfigError(f"PASSWORD_HASH_METHOD: scrypt's N must be at least {MIN_SCRYPT_N} in production")
    if production and pbkdf2 and pbkdf2.group(2) and int(pbkdf2.group(2)) < MIN_PBKDF2_ITERATIONS:
        raise ConfigError(f"PASSWORD_HASH_METHOD: pbkdf2 needs at least {MIN_PBKDF2_ITERATIONS} "
                          "iterations in production")


def is_live(s: Settings) -> bool:
    """Anything that talks to the real WeChat or calls itself production."""
    return s.env == "production" or s.wechat_mode == "live"


def _validate_keys(s: Settings) -> None:
    """Outside the sandbox every key is explicit and strong; the public dev keys, a
    short key or a derived encryption key refuse to start, naming the variable."""
    for name, value, dev in (("SECRET_KEY", s.secret_key, _DEV_SECRET),
                             ("PLATFORM_ADMIN_TOKEN", s.platform_admin_token, _DEV_PLATFORM_TOKEN)):
        if name not in s.explicit_keys or value == dev:
            raise ConfigError(f"{name} must be set (WECHAT_MODE=live or SIYU_ENV=production "
                              "never runs with the public development key)")
        if len(value) < MIN_SECRET_CHARS or len(set(value)) < 10:
            raise ConfigError(f"{name} is too weak: at least {MIN_SECRET_CHARS} random characters")
    if "ENCRYPTION_KEY" not in s.explicit_keys:
        raise ConfigError("ENCRYPTION_KEY must be set (a Fernet key: "
                          "python -c 'from cryptography.fernet import Fernet; "
                          "print(Fernet.generate_key().decode())')")
    try:
        raw = base64.urlsafe_b64decode(s.encryption_key.encode())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32 or len(set(raw)) < 10:
        raise ConfigError("ENCRYPTION_KEY is not a Fernet key (32 random bytes, url-safe base64)")
    if s.platform_admin_token == s.secret_key:
        raise ConfigError("PLATFORM_ADMIN_TOKEN must differ from SECRET_KEY")


def _validate(s: Settings) -> None:
    if s.wechat_mode not in {"sandbox", "live"}:
        raise ConfigError("WECHAT_MODE must be 'sandbox' or 'live'")
    if not (s.database_url.startswith("sqlite") or s.database_url.startswith("mysql+pymysql")):
        raise ConfigError("DATABASE_URL must be sqlite:/// or mysql+pymysql://")
    if s.paid_followup not in {"inline", "worker"}:
        raise ConfigError("PAID_FOLLOWUP must be 'inline' or 'worker'")
    if s.oa_inbox not in {"inline", "worker"}:
        raise ConfigError("OA_INBOX must be 'inline' or 'worker'")
    if s.mp_bind_inbox not in {"inline", "worker"}:
        raise ConfigError("MP_BIND_INBOX must be 'inline' or 'worker'")
    if s.db_returning not in {"auto", "off"}:
        raise ConfigError("DB_RETURNING must be 'auto' or 'off'")
    if s.token_ttl_seconds <= 0:
        raise ConfigError("TOKEN_TTL_SECONDS must be positive")
    if not 0 <= s.trusted_proxies <= 5:
        raise ConfigError("TRUSTED_PROXIES must be between 0 and 5 (the proxies in front of the app)")
    if s.env not in {"development", "production"}:
        raise ConfigError("SIYU_ENV must be 'development' or 'production'")
    _validate_rate_limits(s.rate_limits)
    _validate_password_method(s.password_hash_method, production=is_live(s))
    if is_live(s):
        _validate_keys(s)
    if s.env == "production" and s.wechat_mode != "live":
        raise ConfigError("production runs with WECHAT_MODE=live")
