"""What /metrics reads at scrape time: backlogs (paid-order follow-up, notification
outbox, OA inbox, team-counter deltas), the scheduler's job runs and lags, the last ledger check. Reads only, through
the domains' public functions, in the scraping request's app context."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from backend.db import utcnow
from backend.extensions import db, get_redis
from backend.flows.paid_order import backlog as followup_backlog
from backend.members.bind_inbox import backlog as bind_backlog
from backend.members.service import counter_deltas_pending
from backend.notifications.service import outbox_backlog
from backend.oa.service import inbox_backlog
from backend.observability.metrics import REGISTRY, multiprocess_dir, read_job_runs, read_ledger_check


class ScrapeCollector:
    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        try:
            count, age, _ = followup_backlog(now=now)
            pending, oldest = outbox_backlog(now=now)
            follows, follows_age = inbox_backlog(now=now)
            binds, binds_age = bind_backlog(now=now)
            deltas = counter_deltas_pending()
        finally:
            db.session.rollback()
        yield GaugeMetricFamily("siyu_paid_followup_backlog", "Paid orders awaiting rewards and postings",
                                value=count)
        yield GaugeMetricFamily("siyu_paid_followup_oldest_seconds", "Age of the oldest waiting paid order",
                                value=age or 0)
        yield GaugeMetricFamily("siyu_outbox_backlog", "Notifications due and not yet sent", value=pending)
        yield GaugeMetricFamily("siyu_outbox_oldest_seconds", "How long the oldest due notification waits",
                                value=oldest or 0)
        yield GaugeMetricFamily("siyu_oa_inbox_backlog", "OA follow events waiting for the binding worker",
                                value=follows)
        yield GaugeMetricFamily("siyu_oa_inbox_oldest_seconds", "Age of the oldest waiting OA follow event",
                                value=follows_age or 0)
        yield GaugeMetricFamily("siyu_bind_inbox_backlog",
                                "Mini-program binding requests waiting for the binding worker", value=binds)
        yield GaugeMetricFamily("siyu_bind_inbox_oldest_seconds", "Age of the oldest waiting binding request",
                                value=binds_age or 0)
        yield GaugeMetricFamily("siyu_team_counter_deltas_pending",
                                "Team-counter deltas appended by bindings, not yet folded into the rows",
                                value=deltas)
        yield from _jobs(get_redis(), time.time())
        check = read_ledger_check(get_redis())
        ok = GaugeMetricFamily("siyu_ledger_check_ok",
                               "1 when the last ledger check found every balance equal to its entries "
                               "(-1: never run)")
        ok.add_metric([], -1 if check is None else int(bool(check["ok"])))
        yield ok
        yield GaugeMetricFamily("siyu_ledger_check_timestamp_seconds", "When the ledger was last checked",
                                value=check["at"] if check else 0)


def _jobs(redis: Any, now: float) -> Iterator[Metric]:
    runs = GaugeMetricFamily("siyu_job_runs", "Runs of a scheduled job (counted in Redis)", labels=["job"])
    failures = GaugeMetricFamily("siyu_job_failures", "Failed runs of a scheduled job", labels=["job"])
    last = GaugeMetricFamily("siyu_job_last_success_timestamp_seconds", "End of the last good run",
                             labels=["job"])
    seconds = GaugeMetricFamily("siyu_job_last_run_seconds", "Duration of the last run", labels=["job"])
    lag = GaugeMetricFamily("siyu_job_lag_seconds",
                            "How far the last good run lies behind the job's interval (0: on time)",
                            labels=["job"])
    for name, r in sorted(read_job_runs(redis).items()):
        runs.add_metric([name], r.get("runs", 0))
        failures.add_metric([name], r.get("failures", 0))
        last.add_metric([name], r.get("last_success", 0))
        seconds.add_metric([name], r.get("last_seconds", 0))
        since = now - r["last_success"] if "last_success" in r else now - r.get("last_start", now)
        lag.add_metric([name], max(0.0, since - r.get("interval", 60)))
    yield from (runs, failures, last, seconds, lag)


_SCRAPE = ScrapeCollector()


def render_metrics() -> bytes:
    """The Prometheus text exposition of this process (or of every worker in
    multiprocess mode) plus the scrape-time readings."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_SCRAPE)
    return body + generate_latest(scrape)
