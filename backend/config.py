"""Settings from the environment, validated once at start: fail fast on nonsense."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"

# Dev defaults keep the embedded product runnable with zero configuration; any
# deployment that sets SIYU_ENV=production must provide real keys (checked below).
_DEV_SECRET = "siyu-dev-secret-change-me"


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
    platform_admin_token: str = "platform-dev-token"
    wechat_mode: str = "sandbox"
    wechat_sandbox_url: str = "http://127.0.0.1:5081"
    public_base_url: str = "http://127.0.0.1:5080"
    # When a paid order's follow-up (rewards, ledger, alerts) runs: "inline" right after
    # the payment commits, or "worker" (the scheduler drains it in batches; for volume).
    paid_followup: str = "inline"
    extra: dict[str, object] = field(default_factory=dict)

    def as_flask_config(self) -> dict[str, object]:
        engine_options: dict[str, object] = {"pool_pre_ping": True}
        if self.database_url.startswith("sqlite"):
            # One file, many threads: wait for the writer instead of failing at once.
            engine_options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        else:
            engine_options.update(pool_recycle=3600, pool_size=10, max_overflow=20)
        return {
            "SIYU_SETTINGS": self,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "JSON_AS_ASCII": False,
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
    secret = env.get("SECRET_KEY", _DEV_SECRET)
    enc = env.get("ENCRYPTION_KEY") or _derive_fernet_key(secret + ":secrets")
    wechat_mode = env.get("WECHAT_MODE", "sandbox")
    try:
        ttl = int(env.get("TOKEN_TTL_SECONDS", str(7 * 24 * 3600)))
    except ValueError as exc:
        raise ConfigError("TOKEN_TTL_SECONDS must be an integer") from exc
    values: dict[str, object] = dict(
        env=mode,
        database_url=_normalise_db_url(db_url),
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret,
        encryption_key=enc,
        token_ttl_seconds=ttl,
        platform_admin_token=env.get("PLATFORM_ADMIN_TOKEN", "platform-dev-token"),
        wechat_mode=wechat_mode,
        wechat_sandbox_url=env.get("WECHAT_SANDBOX_URL", "http://127.0.0.1:5081"),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5080"),
        paid_followup=env.get("PAID_FOLLOWUP", "inline"),
    )
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if s.wechat_mode not in {"sandbox", "live"}:
        raise ConfigError("WECHAT_MODE must be 'sandbox' or 'live'")
    if not (s.database_url.startswith("sqlite") or s.database_url.startswith("mysql+pymysql")):
        raise ConfigError("DATABASE_URL must be sqlite:/// or mysql+pymysql://")
    if s.paid_followup not in {"inline", "worker"}:
        raise ConfigError("PAID_FOLLOWUP must be 'inline' or 'worker'")
    if s.token_ttl_seconds <= 0:
        raise ConfigError("TOKEN_TTL_SECONDS must be positive")
    if s.env == "production":
        if s.secret_key == _DEV_SECRET:
            raise ConfigError("SECRET_KEY must be set in production")
        if s.platform_admin_token == "platform-dev-token":
            raise ConfigError("PLATFORM_ADMIN_TOKEN must be set in production")
        if s.wechat_mode != "live":
            raise ConfigError("production runs with WECHAT_MODE=live")
