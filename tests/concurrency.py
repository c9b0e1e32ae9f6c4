"""Real threads for the MariaDB race tests: each job in its own thread, app context and
(by default) unit of work, all released at once by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from backend.db import run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db


def race(app: Any, jobs: list[Callable[[], Any]], *, own_unit: bool = True,
         retries: int = 3) -> list[Any]:
    """Each job's result, or its DomainError's code, or the unexpected exception itself.

    own_unit=False runs jobs that open their own units of work (scheduled jobs).
    Jobs must capture plain ids: ORM objects of the calling thread are not theirs.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Any] = [None] * len(jobs)

    def worker(i: int, job: Callable[[], Any]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes[i] = run_in_unit_of_work(job, retries=retries) if own_unit else job()
            except DomainError as exc:
                outcomes[i] = exc.code
            except Exception as exc:  # noqa: BLE001 - the test's assertion reports it
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # End the caller's REPEATABLE READ snapshot, taken before the racers committed.
    db.session.rollback()
    return outcomes
