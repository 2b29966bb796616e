"""The node agent's probes: when each task's readiness and liveness probes run, how each kind runs, and what
their results do (nodeagent.py's loop calls these; the probes themselves run on the agent's worker threads).

- Each probe of a task runs every `period` seconds of its own (the label's, or the agent's probe_interval), at
  a phase of its own within it (tasks spread over the period, not probed all at once), the first time
  `initial_delay` seconds after the task started. A readiness probe that has not yet passed since the task
  started is tried again soon: 0.1 s after a failure, then 0.2 s, doubling up to the period (an app takes a
  moment to listen).
- http (probe.py) and tcp connect to the task's published port when the probe is on PORT, else to the given
  port on the container's own address on its Docker network: only ever the task's own container.
- exec runs the command in the container through the Engine (nodeengine.Engine.exec_start: the container's
  user, namespaces, cgroup and capabilities), its output thrown away; exit status 0 passes. One that runs over
  its timeout fails and is left to finish: until it has, no other exec probe of that task starts (each such
  probe fails), so a command that hangs does not pile up in the container.
- Readiness: `healthy` after `success` passes in a row, not after `failure` failures in a row; in between it
  keeps its verdict. `failures` is the failures in a row.
- Liveness: after `failure` failures in a row the agent restarts the task without a failed request: it reports
  the task `stopping` (the controller takes it out of the router at once) with the reason ("restarted: liveness
  probe failed 3 times: ..."), waits `liveness_drain` seconds, then stops the container through the Engine (a
  SIGTERM, a SIGKILL 10 s later), and Swarm starts a new task in its place. A stop that fails is logged and the
  task probed again.
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
import zlib

from .nodeengine import Engine
from .nodetasks import Check, Task
from .probe import probe, tcp_probe

log = logging.getLogger("slipway.nodeagent")

READY, LIVE = "readiness", "liveness"
PROBED, RESUME = "probed", "resume"  # what the workers and the stopping threads put in the agent's inbox
EXEC_RETRY = 0.2  # seconds a probe waits while another exec probe of its task runs


def run_exec(engine: Engine, container: str, check: Check, outstanding: str | None) -> tuple[bool, str, str | None]:
    """(passed, message, the exec left running when it timed out)."""
    if outstanding and engine.exec_state(outstanding)[0]:
        return False, "the command of an earlier probe still runs", outstanding
    deadline = time.monotonic() + check.timeout
    try:
        exec_id = engine.exec_start(container, list(check.command))
    except (OSError, ValueError) as e:
        return False, f"command not started: {e}", None
    pause = 0.02
    while True:
        running, code = engine.exec_state(exec_id)
        if not running:
            return code == 0, f"command exited with {'no status' if code is None else code}", None
        left = deadline - time.monotonic()
        if left <= 0:
            return False, f"command timed out after {check.timeout:g}s", exec_id
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.25)


def run_check(engine: Engine, container: str, where: tuple[str, int] | None, check: Check,
              outstanding: str | None) -> tuple[bool, str, str | None]:
    if check.kind == "exec":
        return run_exec(engine, container, check, outstanding)
    if where is None:
        return False, "nowhere to probe (the container has no address of its own)", None
    if check.kind == "tcp":
        return (*tcp_probe(where[0], where[1], check.timeout), None)
    return (*probe(where[0], where[1], check.path, check.timeout, check.explicit, check.headers), None)


def checks(task: Task) -> list[tuple[str, Check]]:
    return [(which, check) for which, check in ((READY, task.check), (LIVE, task.liveness)) if check is not None]


class Probing:
    """The probe schedule of NodeAgent (which sets the attributes below and calls report, first_report)."""

    engine: Engine
    interval: float
    drain: float
    stop: threading.Event
    tasks: dict[str, Task]
    lock: threading.Lock
    first_round: set[str] | None

    def init_probes(self) -> None:
        self.due: dict[tuple[str, str], float] = {}  # (container, which) -> when its next probe starts (monotonic)
        self.queue: list[tuple[float, tuple[str, str]]] = []  # a heap; entries no longer in `due` are stale
        self.busy: set[tuple[str, str]] = set()  # probes running
        self.execing: set[str] = set()  # containers with an exec probe running
        self.execs: dict[str, str] = {}  # container -> an exec probe's command that timed out (still running?)

    def start_probes(self, container: str, task: Task) -> None:
        now, wall = time.monotonic(), time.time()
        for which, check in checks(task):
            self.schedule((container, which), now + max(0.0, task.started + check.initial_delay - wall))

    def drop_probes(self, container: str) -> None:
        for which in (READY, LIVE):
            self.due.pop((container, which), None)

    def slot(self, key: tuple[str, str], now: float, period: float) -> float:
        """When a probe's next run starts: at its own phase of the period, between half a period and one and a
        half from now."""
        name = key[0] if key[1] == READY else "/".join(key)
        phase = zlib.crc32(name.encode()) % 10_000 / 10_000 * period
        when = now - ((now - phase) % period) + period
        return when + period if when - now < period / 2 else when

    def schedule(self, key: tuple[str, str], when: float) -> None:
        self.due[key] = when
        heapq.heappush(self.queue, (when, key))

    def next_due(self) -> float:
        """When the soonest probe is due (stale entries at the head of the queue dropped)."""
        while self.queue and self.due.get(self.queue[0][1]) != self.queue[0][0]:
            heapq.heappop(self.queue)
        return self.queue[0][0] if self.queue else float("inf")

    def launch(self, now: float) -> None:
        """Start the probes that are due: a look at the head of the queue, however many tasks there are."""
        while self.next_due() <= now:
            _unused, key = heapq.heappop(self.queue)
            container, which = key
            task = self.tasks[container]
            check = task.check if which == READY else task.liveness
            if check.kind == "exec":
                if container in self.execing:
                    self.schedule(key, now + EXEC_RETRY)
                    continue
                self.execing.add(container)
            self.busy.add(key)
            self.due[key] = float("inf")  # scheduled again when the probe ends
            self.pool.submit(self.probe_one, key, task.where(check), check, self.execs.get(container))

    def probe_one(self, key: tuple[str, str], where: tuple[str, int] | None, check: Check,
                  outstanding: str | None) -> None:
        try:
            ok, message, left = run_check(self.engine, key[0], where, check, outstanding)
        except Exception as e:  # noqa: BLE001 - a probe's own failure must not stop the task's probing
            ok, message, left = False, f"probe error: {e!r}", outstanding
        self.inbox.put((PROBED, (key, check.kind, ok, message, time.time(), left)))

    def on_probed(self, key: tuple[str, str], kind: str, ok: bool, message: str, at: float,
                  left: str | None) -> None:
        container, which = key
        self.busy.discard(key)
        if kind == "exec":
            self.execing.discard(container)
            if left:
                self.execs[container] = left
            else:
                self.execs.pop(container, None)
        if which == READY and self.first_round is not None:
            self.first_round.discard(container)
            self.first_report()
        task = self.tasks.get(container)
        if task is None or task.restarted or key not in self.due:
            return
        if not ok and task.passed:
            self.counts.add(self.counts.probe_failures, task.app, task.type)
        if which == LIVE:
            self.on_liveness(container, task, ok, message)
            return
        before = task.view()
        with self.lock:
            task.probed(ok, message, at)
        if task.view() != before:
            if not ok:
                log.info("task %s (%s): readiness probe failed %d time(s) in a row: %s", task.task, task.app,
                         task.failures, message)
            self.report(task)
        now, period = time.monotonic(), task.check.period or self.interval
        if task.passed or ok:
            self.schedule(key, self.slot(key, now, period))
        else:  # starting: tried again soon (0.1 s, doubling up to the period) until it first passes
            self.schedule(key, now + min(period, 0.1 * 2 ** min(task.failures - 1, 10)))

    def on_liveness(self, container: str, task: Task, ok: bool, message: str) -> None:
        with self.lock:  # a task being stopped (sent a stop signal) is not restarted as well
            restart = task.live(ok) and task.state == "running"
        if not ok:
            log.info("task %s (%s): liveness probe failed %d time(s) in a row: %s", task.task, task.app,
                     task.live_failures, message)
        if not restart:
            key = (container, LIVE)
            self.schedule(key, self.slot(key, time.monotonic(), task.liveness.period or self.interval))
            return
        why = f"restarted: liveness probe failed {task.live_failures} times: {message}"
        with self.lock:
            task.restart(why)
        log.warning("task %s (%s %s.%s): %s; stopping its container in %gs", task.task, task.app, task.type,
                    task.deployment, why, self.drain)
        self.report(task)
        self.drop_probes(container)
        threading.Thread(target=self.stop_later, args=(container,), name="slipway-liveness-stop",
                         daemon=True).start()

    def stop_later(self, container: str) -> None:
        """(A thread of its own) the drain, then the container's stop."""
        if self.stop.wait(self.drain):
            return
        try:
            self.engine.stop_container(container)
        except (OSError, ValueError) as e:
            log.warning("task container %s: the liveness restart's stop failed (%s); probing it again",
                        container[:12], e)
            self.inbox.put((RESUME, container))

    def on_resume(self, container: str) -> None:
        task = self.tasks.get(container)
        if task is None or not task.restarted:
            return
        with self.lock:
            task.state, task.restarted, task.live_failures, task.successes = "running", "", 0, 0
        self.start_probes(container, task)
