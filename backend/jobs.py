"""The one scheduler process: `python -m backend.jobs`.

Every domain's scheduled work lives in backend/<domain>/jobs.py as plain functions
`def job_name(*, now) -> int` (the number of things done). They are found here by
name, with no central list: every public function of such a module whose only
parameter is the keyword-only `now`. A module may set `INTERVALS = {"job_name":
seconds}` (a float for sub-second polling); the default is every 60 seconds, and
`NAMES = {"job_name": "domain.job_name"}` to keep the name of a job that moved (the
flows' jobs, backend/flows/jobs.py).

Each run takes two locks named after the job, so two scheduler processes — a deploy
overlapping the old one, a second machine — never run the same job at the same time;
the one that does not get them skips that run:
- the database's: MariaDB's GET_LOCK on a connection held for the run (a killed holder's
  connection drops and frees it at once), on SQLite an flock on a file beside the
  database. It holds when Redis is down, which is why it is always taken;
- Redis's (SET NX with a time-to-live, released only by its holder), across machines
  that share Redis. When Redis does not answer, the run goes on under the database lock
  alone, with a warning.
The jobs themselves are idempotent (unique posting keys, row locks, high-water marks),
so a crash mid-run is resumed by the next run.

    python -m backend.jobs                 # run the scheduler (blocking)
    python -m backend.jobs --list          # the jobs found and their intervals
    python -m backend.jobs --once NAME     # run one job now (under its lock) and exit
    python -m backend.jobs --only NAME,…   # schedule only these jobs (a dedicated process)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import inspect
import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from backend.app import create_app, database_unavailable
from backend.db import utcnow
from backend.extensions import REDIS_DOWN, db, get_redis, redis_degraded
from backend.models_registry import domain_modules
from backend.observability.context import bound_request_id
from backend.observability.logs import configure_logging
from backend.observability.metrics import record_job_run

log = logging.getLogger("siyu.jobs")

DEFAULT_INTERVAL_SECONDS = 60
LOCK_PREFIX = "siyu:job:"


@dataclass(frozen=True)
class Job:
    name: str  # "<domain>.<function>"
    fn: Callable[..., int]
    interval_seconds: float

    @property
    def lock_ttl_ms(self) -> int:
        # Long enough for a slow run, short enough that a crashed holder frees it soon.
        return max(60_000, int(self.interval_seconds * 1000 * 5))


def _is_job(fn: Any, module: Any) -> bool:
    if not inspect.isfunction(fn) or fn.__module__ != module.__name__ or fn.__name__.startswith("_"):
        return False
    params = list(inspect.signature(fn).parameters.values())
    return len(params) == 1 and params[0].name == "now" and params[0].kind is inspect.Parameter.KEYWORD_ONLY


def discover_jobs() -> list[Job]:
    """Every job of every backend/<domain>/jobs.py, in domain then definition order."""
    jobs = []
    for module in domain_modules("jobs"):
        domain = module.__name__.split(".")[1]
        intervals = getattr(module, "INTERVALS", {})
        names = getattr(module, "NAMES", {})  # a job that moved keeps its name
        for name, fn in vars(module).items():
            if _is_job(fn, module):
                jobs.append(Job(names.get(name, f"{domain}.{name}"), fn,
                                float(intervals.get(name, DEFAULT_INTERVAL_SECONDS))))
    return jobs


def _release(redis: Any, key: str, token: str) -> None:
    """Compare-and-delete under WATCH: only the holder's token releases the lock (a run
    that outlived its time-to-live must not free a lock another scheduler now holds)."""
    from redis.exceptions import WatchError

    # transaction=True: a cluster client's pipelines are plain batches by default, where
    # WATCH is refused; a single-key transaction works on one server and on a cluster.
    with redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(key)
            held = pipe.get(key)
            if held is not None and (held.decode() if isinstance(held, bytes) else held) == token:
                pipe.multi()
                pipe.delete(key)
                pipe.execute()
            else:
                pipe.unwatch()
        except WatchError:
            pass  # the key changed under us: not ours any more


def _db_lock_name(job_name: str, database: str) -> str:
    # GET_LOCK names are server-wide and at most 64 characters: one per database and job.
    return "siyu-job:" + hashlib.sha256(f"{database}:{job_name}".encode()).hexdigest()[:40]


@contextlib.contextmanager
def database_lock(job_name: str) -> Iterator[bool]:
    """Hold the job's database lock for the block; yields False when another holds it."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield True  # one process owns an in-memory database
            return
        lock_file = Path(f"{path}.job-{hashlib.sha256(job_name.encode()).hexdigest()[:16]}.lock")
        with open(lock_file, "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    name = _db_lock_name(job_name, engine.url.database or "")
    conn = engine.connect()
    held = False
    try:
        held = conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar() == 1
        conn.commit()
        yield held
    finally:
        try:
            if held:
                conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                conn.commit()
        except Exception:  # noqa: BLE001
            # A lock that could not be released must not go back to the pool with its
            # connection: dropping the connection frees it on the server.
            conn.invalidate()
        finally:
            conn.close()


def _redis_lock(redis: Any, key: str, token: str, ttl_ms: int) -> bool:
    """True when this run holds the Redis lock or Redis is down (the database lock then
    stands alone); False when another scheduler holds it."""
    try:
        return bool(redis.set(key, token, nx=True, px=ttl_ms))
    except REDIS_DOWN as exc:
        redis_degraded("job locks held by the database alone", exc)
        return True


def run_locked(job: Job, *, redis: Any, now_fn: Callable[[], Any]) -> int | None:
    """Run a job under its database and Redis locks; None when another scheduler holds
    either. Needs an app context (the database lock)."""
    with database_lock(job.name) as got:
        if not got:
            log.info("job %s skipped: another scheduler is running it", job.name)
            return None
        key, token = LOCK_PREFIX + job.name, secrets.token_hex(16)
        if not _redis_lock(redis, key, token, job.lock_ttl_ms):
            log.info("job %s skipped: another scheduler is running it", job.name)
            return None
        started, clock = time.time(), time.perf_counter()
        failed, done = True, None
        try:
            with bound_request_id(f"job-{job.name}-{secrets.token_hex(4)}"):
                done = job.fn(now=now_fn())
                # Frequent pollers find nothing most of the time: only work done is worth a line.
                log.log(logging.INFO if done else logging.DEBUG, "job %s done: %s", job.name, done)
            failed = False
            return int(done or 0)
        finally:
            try:
                _release(redis, key, token)
            except REDIS_DOWN as exc:
                redis_degraded("a job's Redis lock is left to expire", exc)
            record_job_run(redis, name=job.name, interval_seconds=job.interval_seconds, started=started,
                           seconds=time.perf_counter() - clock, done=done, failed=failed)


# A sub-second poller (the follow-up, both binding inboxes) that found nothing to do
# skips its ticks for this long: each run costs an app context, two locks and a query,
# and four pollers at 0.1-0.25 s kept an idle scheduler at about 30% of a core
# (measured on `./dev run`). Work found brings the poller back to its own interval at
# once, so a surge is drained at full speed; the first event after a quiet spell waits
# at most this long (plus the interval) before its batch starts.
IDLE_POLL_SECONDS = 0.5


def _runner(app: Any, job: Job) -> Callable[[], None]:
    idle_since: list[float | None] = [None]
    backs_off = job.interval_seconds < IDLE_POLL_SECONDS

    def run() -> None:
        if backs_off and idle_since[0] is not None and time.monotonic() - idle_since[0] < IDLE_POLL_SECONDS:
            return
        done: int | None = None
        with app.app_context():
            try:
                done = run_locked(job, redis=get_redis(), now_fn=utcnow)
            except Exception as exc:
                if database_unavailable(exc):
                    # an outage, not a bug: one line per run, no traceback; the next tick retries
                    log.warning("job %s not run: database unavailable (%s)", job.name,
                                str(getattr(exc, "orig", exc)).splitlines()[0][:160])
                else:
                    log.exception("job %s failed", job.name)
            finally:
                db.session.remove()
        idle_since[0] = None if done else time.monotonic()

    return run


class _PollerOverlapFilter(logging.Filter):
    """A sub-second poller still busy at its next tick is the normal case under load
    (it drains until caught up); APScheduler's warning for it, once per tick, is
    noise. Slower jobs keep the warning: for them an overlap is news."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("maximum number of running instances" in message
                    and any(f'"{name} (' in message for name in self.names))


def build_scheduler(app: Any, jobs: list[Job]) -> Any:
    """An APScheduler BlockingScheduler with one interval trigger per job; a job never
    overlaps itself in this process and a missed run is merged into the next."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                                "misfire_grace_time": 300})
    aps_log = logging.getLogger("apscheduler.scheduler")
    for old in [f for f in aps_log.filters if isinstance(f, _PollerOverlapFilter)]:
        aps_log.removeFilter(old)  # one scheduler per process; a rebuilt one replaces it
    aps_log.addFilter(_PollerOverlapFilter({j.name for j in jobs if j.interval_seconds < 1}))
    for job in jobs:
        scheduler.add_job(_runner(app, job), IntervalTrigger(seconds=job.interval_seconds), id=job.name,
                          name=job.name)
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.jobs", description="Siyu's scheduler process")
    parser.add_argument("--list", action="store_true", help="list the jobs and exit")
    parser.add_argument("--once", metavar="NAME", help="run one job now (domain.function) and exit")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated jobs to schedule (default: all)")
    args = parser.parse_args(argv)
    configure_logging()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise

    app = create_app()
    jobs = discover_jobs()
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {j.name for j in jobs}
        if unknown:
            print(f"no job named {', '.join(sorted(unknown))}; see --list", file=sys.stderr)
            return 2
        jobs = [j for j in jobs if j.name in wanted]
    if args.list:
        for job in jobs:
            print(f"{job.name}\tevery {job.interval_seconds:g}s")
        return 0
    if args.once:
        found = [j for j in jobs if j.name == args.once]
        if not found:
            print(f"no job named {args.once}; see --list", file=sys.stderr)
            return 2

        with app.app_context():
            done = run_locked(found[0], redis=get_redis(), now_fn=utcnow)
        print("skipped: locked by another scheduler" if done is None else f"done: {done}")
        return 0
    log.info("scheduler starting with %d jobs: %s", len(jobs), ", ".join(j.name for j in jobs))
    build_scheduler(app, jobs).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
