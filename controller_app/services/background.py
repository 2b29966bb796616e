"""Deploys that go on after their request has answered (the builder's hook: POST /v2/hooks/build/).

A small, bounded pool of worker threads per controller process runs them. Threads, not the event loop: a deploy
is blocking work from end to end (Docker's SDK, psycopg2 sessions and advisory locks, health checks, the release
task, the wait for the routers' acks), the same code that the blocking API paths (builds, config, rollbacks,
scale) run in their request threads while Deis clients wait. One implementation serves both; what waits on the
event loop is the waiting *for* a deploy (the long polls), which holds no thread. The bound keeps a burst of
pushes from taking a thread each: beyond WORKERS, deploys wait in the queue, their releases `deploying` and
claimed (releasestate.py), and a worker also waits its turn behind older deploys of the same app.

Workers are daemon threads: a controller that stops mid-deploy leaves the release to `fail_orphans`, which fails
it with its reason (at the next start, or on another process's monitor pass).
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger("slipway.deploy")
WORKERS = 8  # concurrent background deploys per controller process

_jobs: queue.SimpleQueue[tuple[Callable[[], None], str]] = queue.SimpleQueue()
_started = threading.Lock()
_workers: list[threading.Thread] = []


def submit(job: Callable[[], None], what: str) -> None:
    """Run `job` on a worker; `what` names it in the log should it raise."""
    with _started:
        while len(_workers) < WORKERS:
            worker = threading.Thread(target=_work, name=f"slipway-deploy-{len(_workers)}", daemon=True)
            worker.start()
            _workers.append(worker)
    _jobs.put((job, what))


def _work() -> None:
    while True:
        job, what = _jobs.get()
        try:
            job()
        except Exception:  # noqa: BLE001 - a worker outlives any job; the release is failed as an orphan
            log.exception("%s stopped unexpectedly", what)
