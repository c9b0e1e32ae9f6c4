"""The app factory: settings, extensions, error handlers, CLI commands.

Blueprints live in miniprogram_api (which builds on this factory); backend never
imports them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

import backend.flows  # noqa: F401  (registers the flows' listeners for what domains announce)
from backend import returning
from backend.cli import register_cli
from backend.config import INSTANCE_DIR, Settings, load_settings
from backend.db import is_retryable
from backend.errors import DomainError
from backend.extensions import db, redis_holder
from backend.models_registry import domain_modules, import_all_models
from backend.observability.context import accept_request_id, set_request_id
from backend.observability.metrics import observe_request
from backend.posters import subjects as poster_subjects

log = logging.getLogger(__name__)


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build a Flask app bound to the database and Redis the settings name."""
    settings = config if isinstance(config, Settings) else load_settings(
        **(config or {}))
    app = Flask("siyu", instance_path=str(INSTANCE_DIR))
    app.url_map.converters["int"] = IdConverter
    app.config.update(settings.as_flask_config())
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.database_url.startswith("sqlite"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    import_all_models()
    db.init_app(app)
    redis_holder.init_app(settings.redis_url)
    if settings.database_url.startswith("sqlite"):
        _sqlite_pragmas(app)
    if settings.db_returning == "off" and settings.database_url.startswith("mysql"):  # SQLite has it
        with app.app_context():
            returning.forbid(db.engine)
    _register_errors(app)
    _observe_requests(app)
    _security_headers(app, settings)
    behind_proxies(app, settings.trusted_proxies)

    for module in domain_modules("poster_subjects"):
        poster_subjects.add_discovered(getattr(module, "POSTER_SUBJECTS", {}))
    register_cli(app)
    return app


class IdConverter(IntegerConverter):
    """<int:x> in a route: a row id, so 1 … 2**63-1; anything else is a 404, never an
    integer the database cannot hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def _observe_requests(app: Flask) -> None:
    """Every request gets an id (the caller's X-Request-Id when sane, echoed back) that
    its log lines carry, and is counted and timed per route for /metrics."""
    from flask import g, request

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = accept_request_id(request.headers.get("X-Request-Id"))
        set_request_id(g.request_id)

    @app.after_request
    def _finish(response: Any) -> Any:
        started = g.get("request_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
            observe_request(method=request.method, route=route, status=response.status_code,
                            seconds=time.perf_counter() - started)
        if g.get("request_id"):
            response.headers["X-Request-Id"] = g.request_id
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        set_request_id(None)


def behind_proxies(app: Flask, count: int) -> None:
    """Behind `count` reverse proxies, take the client's address (and scheme) from the
    last `count` entries of X-Forwarded-For (-Proto) that those proxies appended; an entry
    the client wrote itself further left is never read. With 0 nothing is trusted: the
    address is the TCP peer's (what the per-address rate limits count)."""
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def _security_headers(app: Flask, settings: Settings) -> None:
    """Every response: nosniff. HTML pages (share landing, verification, /docs): a
    restrictive Content-Security-Policy (no scripts at all, images over https or from
    the sandbox when it stands in for WeChat), no framing, no referrer."""
    images = "img-src 'self' https: data:"
    if settings.wechat_mode == "sandbox":
        images += " " + settings.wechat_sandbox_url.rstrip("/")
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; {images}; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", csp)
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


DATABASE_UNAVAILABLE_MESSAGE = "服务暂时不可用，请稍后再试"
DATABASE_BUSY_MESSAGE = "服务繁忙，请稍后再试"
DATABASE_RETRY_AFTER_SECONDS = 5
# MySQL client and server errors that mean "no usable connection right now", not a bug:
# can't connect (2002, 2003), server gone or lost mid-query (2006, 2013), commands out of
# sync after a drop (2014), lost at handshake (2055), shutdown in progress (1053),
# connection killed (1927), too many connections (1040), server still starting (1045 is
# not: a wrong password is a configuration error).
_MYSQL_UNAVAILABLE = {1040, 1053, 1927, 2002, 2003, 2006, 2013, 2014, 2055}


def database_unavailable(err: BaseException) -> bool:
    """True when `err` says the database cannot be reached (a 503), not that a
    statement is wrong (a 500)."""
    if isinstance(err, PoolTimeout):
        return True  # every connection busy for pool_timeout seconds
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    orig = err.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_UNAVAILABLE
    # pymysql raises plain InterfaceError(0, '') on a connection it already knows is closed
    return type(orig).__name__ == "InterfaceError"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        return jsonify(err.to_dict()), err.http_status, getattr(err, "headers", None) or {}

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        codes = {404: ("not_found", "接口不存在"), 405: ("method_not_allowed", "请求方法不允许"),
                 413: ("payload_too_large", "请求体过大")}
        code, message = codes.get(err.code or 400, ("bad_request", "请求有误"))
        return jsonify({"code": code, "message": message}), err.code or 400

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(err: Exception) -> Any:
        # A number that passed validation but does not fit a column: the client's error.
        return jsonify({"code": "value_out_of_range", "message": "数值超出范围"}), 400

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def _database(err: Exception) -> Any:
        if is_retryable(err):
            # Still a deadlock victim after the unit of work's retries: contention, not a
            # bug; nothing was written, and the client may try again in a moment.
            log.warning("database busy after retries: %s", str(getattr(err, "orig", None) or err)[:200])
            return (jsonify({"code": "database_busy", "message": DATABASE_BUSY_MESSAGE}), 503,
                    {"Retry-After": "1"})
        if not database_unavailable(err):
            return _unexpected(err)
        # The database is down or restarting: answer at once with a stable code the
        # client can retry on; the unit of work rolled back, so nothing is half-written.
        log.warning("database unavailable: %s", str(getattr(err, "orig", None) or err).splitlines()[0][:200])
        return (jsonify({"code": "database_unavailable", "message": DATABASE_UNAVAILABLE_MESSAGE}), 503,
                {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})

    @app.errorhandler(RedisError)
    def _redis(err: Exception) -> Any:
        # A use of Redis with no fallback of its own (docs/operations.md, "Redis down"):
        # the unit of work rolled back; the client may retry.
        log.warning("redis unavailable: %s", err)
        return (jsonify({"code": "service_unavailable", "message": DATABASE_UNAVAILABLE_MESSAGE}), 503,
                {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        log.exception("unhandled error")
        return jsonify({"code": "internal_error", "message": "服务器开小差了，请稍后再试"}), 500
