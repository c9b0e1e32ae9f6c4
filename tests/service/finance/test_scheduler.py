"""The scheduler process: jobs found in every domain's jobs.py, a database lock and a
Redis lock per job run so two schedulers never run a job at once (Redis down: the
database lock alone), APScheduler triggers."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import fakeredis
import pytest

from backend.jobs import Job, build_scheduler, discover_jobs, run_locked
from tests.outage import dead_redis

ROOT = Path(__file__).resolve().parents[3]


def test_jobs_are_discovered_from_every_domain_with_their_intervals():
    jobs = {j.name: j for j in discover_jobs()}
    assert jobs["finance.settle_due_rewards"].interval_seconds == 300
    assert jobs["finance.reconcile_withdrawals"].interval_seconds == 120
    for job in jobs.values():
        [param] = inspect.signature(job.fn).parameters.values()
        assert (param.name, param.kind) == ("now", inspect.Parameter.KEYWORD_ONLY)
    assert not any(name.split(".")[1].startswith("_") for name in jobs)


def counting_job(calls, *, fail=False):
    def job(*, now):
        calls.append(now)
        if fail:
            raise RuntimeError("boom")
        return 3

    return Job("test.counting", job, 60)


def test_a_job_runs_under_its_lock_and_releases_it(app):
    redis, calls = fakeredis.FakeRedis(), []
    assert run_locked(counting_job(calls), redis=redis, now_fn=lambda: "t1") == 3
    assert calls == ["t1"] and redis.get("siyu:job:test.counting") is None


def test_a_second_scheduler_skips_a_run_while_the_first_holds_the_lock(app):
    redis, calls = fakeredis.FakeRedis(), []
    redis.set("siyu:job:test.counting", "other-scheduler", px=60_000)
    assert run_locked(counting_job(calls), redis=redis, now_fn=lambda: "t1") is None
    assert calls == [] and redis.get("siyu:job:test.counting") == b"other-scheduler"


def test_a_failing_job_still_releases_its_lock(app):
    redis, calls = fakeredis.FakeRedis(), []
    with pytest.raises(RuntimeError):
        run_locked(counting_job(calls, fail=True), redis=redis, now_fn=lambda: "t1")
    assert redis.get("siyu:job:test.counting") is None


def test_a_run_that_outlived_its_lock_does_not_free_the_next_holders_lock(app):
    redis = fakeredis.FakeRedis()

    def slow(*, now):
        redis.set("siyu:job:test.slow", "next-holder")  # our lock expired; another took it
        return 1

    run_locked(Job("test.slow", slow, 60), redis=redis, now_fn=lambda: None)
    assert redis.get("siyu:job:test.slow") == b"next-holder"


def test_with_redis_down_a_job_still_runs_under_the_database_lock_with_a_warning(app, caplog):
    calls = []
    with caplog.at_level("WARNING", logger="siyu.redis"):
        assert run_locked(counting_job(calls), redis=dead_redis(), now_fn=lambda: "t1") == 3
    assert calls == ["t1"]
    assert "job locks held by the database alone" in caplog.text


def test_with_redis_down_a_second_scheduler_skips_while_the_first_runs(app):
    """The database lock stands alone: a run started while another holds it is skipped
    (on MariaDB GET_LOCK on another connection, on SQLite an flock on another open file)."""
    redis, inner, calls = dead_redis(), [], []

    def outer(*, now):
        inner.append(run_locked(counting_job(calls), redis=redis, now_fn=lambda: "second"))
        return 1

    assert run_locked(Job("test.counting", outer, 60), redis=redis, now_fn=lambda: "first") == 1
    assert inner == [None] and calls == []
    # and once the first has finished, the lock is free again
    assert run_locked(counting_job(calls), redis=redis, now_fn=lambda: "third") == 3


def test_the_database_lock_is_held_even_when_redis_answers(app):
    redis, inner, calls = fakeredis.FakeRedis(), [], []

    def outer(*, now):
        redis.delete("siyu:job:test.counting")  # the Redis lock lost (an expiry, a failover)
        inner.append(run_locked(counting_job(calls), redis=redis, now_fn=lambda: "second"))
        return 1

    run_locked(Job("test.counting", outer, 60), redis=redis, now_fn=lambda: "first")
    assert inner == [None] and calls == []


def test_the_lock_outlives_a_slow_run_but_frees_a_crashed_holder_soon():
    assert Job("x.y", lambda *, now: 0, 300).lock_ttl_ms == 1_500_000
    assert Job("x.y", lambda *, now: 0, 5).lock_ttl_ms == 60_000


def test_the_scheduler_has_one_interval_trigger_per_job(app):
    jobs = discover_jobs()
    sched = build_scheduler(app, jobs)
    added = {j.id: j for j in sched.get_jobs()}
    assert set(added) == {j.name for j in jobs}
    assert added["finance.settle_due_rewards"].trigger.interval.total_seconds() == 300


def test_python_m_backend_jobs_lists_the_jobs(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/jobs.sqlite"}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-m", "backend.jobs", "--list"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "finance.settle_due_rewards\tevery 300s" in out.splitlines()
    unknown = subprocess.run([sys.executable, "-m", "backend.jobs", "--once", "nope.nothing"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "no job named nope.nothing" in unknown.stderr



def test_only_schedules_the_jobs_named(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/jobs.sqlite"}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-m", "backend.jobs", "--only", "orders.follow_up_paid_orders", "--list"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.splitlines() == ["orders.follow_up_paid_orders\tevery 0.1s"]
    unknown = subprocess.run([sys.executable, "-m", "backend.jobs", "--only", "orders.nope", "--list"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "no job named orders.nope" in unknown.stderr


def test_a_busy_poller_skipping_a_tick_is_not_logged_but_a_slow_job_is(app):
    import logging

    jobs = discover_jobs()
    build_scheduler(app, jobs)
    log = logging.getLogger("apscheduler.scheduler")

    def shown(name: str) -> bool:
        record = log.makeRecord(log.name, logging.WARNING, __file__, 1, 'Execution of job "%s (trigger: …)" '
                                "skipped: maximum number of running instances reached (1)", (name,), None)
        return all(f.filter(record) for f in log.filters)

    try:
        assert not shown("orders.follow_up_paid_orders")
        assert shown("finance.settle_due_rewards")
    finally:
        log.filters.clear()


def test_a_run_stopped_by_a_database_outage_is_one_warning_without_a_traceback(app, caplog):
    """During an outage every tick of every poller fails: one line each, not a traceback."""
    import pymysql
    from sqlalchemy.exc import OperationalError

    from backend.jobs import _runner

    def down(*, now):
        raise OperationalError("SELECT 1", {}, pymysql.err.OperationalError(2003, "Can't connect to MySQL server"))

    def broken(*, now):
        raise RuntimeError("a bug")

    with caplog.at_level("WARNING", logger="siyu.jobs"):
        _runner(app, Job("test.down", down, 60))()
        _runner(app, Job("test.broken", broken, 60))()
    records = [r for r in caplog.records if r.name == "siyu.jobs"]
    assert [(r.levelname, r.exc_info is None) for r in records] == [("WARNING", True), ("ERROR", False)]
    assert "job test.down not run: database unavailable" in records[0].getMessage()


def test_an_idle_sub_second_poller_skips_ticks_until_it_finds_work_again(app, monkeypatch):
    """An empty run of a 0.1 s poller quiets it for IDLE_POLL_SECONDS; a run that found
    work keeps it at its own interval; slower jobs never skip."""
    import backend.jobs as jobs

    clock = [100.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    backlog, runs = [0], []

    def poll(*, now):
        runs.append(clock[0])
        done = min(backlog[0], 5)
        backlog[0] -= done
        return done

    tick = jobs._runner(app, Job("test.poll", poll, 0.1))
    tick()                      # nothing waits: idle from here
    clock[0] += 0.1
    tick()                      # skipped
    clock[0] += jobs.IDLE_POLL_SECONDS
    backlog[0] = 12
    tick()                      # the quiet spell is over: finds 5
    for _ in range(3):
        clock[0] += 0.1
        tick()                  # 5, 2, then 0 (idle again)
    clock[0] += 0.1
    tick()                      # skipped
    assert [round(t, 3) for t in runs] == [100.0, 100.6, 100.7, 100.8, 100.9] and backlog == [0]

    slow, slow_runs = jobs._runner(app, Job("test.slow", lambda *, now: slow_runs.append(1) or 0, 60)), []
    slow()
    slow()
    assert slow_runs == [1, 1]
