"""Operations endpoints: liveness, readiness and Prometheus metrics.

- /livez: the process answers (no dependency checked): restart it when this fails.
- /readyz: the database answers (Redis reported, not required): take the node out of the load balancer
  (do not restart it) while this fails.
- /metrics: Prometheus text format (backend/observability). When METRICS_TOKEN is set
  it requires `Authorization: Bearer <token>`; the numbers are aggregates, no tenant data.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from backend.health import HealthStatus, check_ready
from backend.scrape import render_metrics

bp = Blueprint("ops", __name__)


@bp.get("/livez")
def livez() -> Any:
    return jsonify({"status": HealthStatus.OK})


@bp.get("/readyz")
def readyz() -> Any:
    ok, checks = check_ready()
    return jsonify({"status": HealthStatus.OK if ok else HealthStatus.UNAVAILABLE, **checks}), 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Any:
    token = current_app.config["SIYU_SETTINGS"].metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return jsonify({"code": "unauthorized", "message": "需要监控凭证"}), 401
    return Response(render_metrics(), mimetype="text/plain; version=0.0.4; charset=utf-8")
