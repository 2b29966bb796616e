"""The node agent: watches this node's Slipway task containers, probes the routable ones, reports to the controller.

    python3 -m slipway_agents.nodeagent [--config /etc/slipway/node-agent.ini]

- Tasks come from the Docker Engine on this node: a listing of the running `slipway.managed=1` containers
  when the agent starts, again whenever the Engine's event stream (re)connects, and every `resync` seconds
  as a safety net (one listing call, and an inspect of containers not yet known: cheap at any pace, 60 s by
  default); between listings, the Engine's container events (start, kill, die, stop, destroy, oom) add and
  end tasks as they happen (nodeengine.py).
- Each task that publishes a port is probed over HTTP (probe.py) on that published port, every
  `probe_interval` seconds, at a phase of its own within the interval (tasks spread over it, not probed all at
  once); a new task is probed as soon as it starts, and until it first passes again 0.1 s later, then 0.2 s,
  doubling up to the interval (an app takes a moment to listen). Probes run on `probe_workers` threads.
- Changes are reported at once, the whole table every `heartbeat` seconds (nodereport.py), with each task's
  CPU and memory read from its cgroup (cgroupstats.py).
- A controller outage: probing goes on, and the first report that gets through is the full table. An Engine
  restart: the event stream connects again (0.5 s to 5 s apart) and the table is listed afresh.

Settings (ini section [node_agent], or environment SLIPWAY_<NAME>):
  controller_url, node_key (or node_key_file), ca_file, docker_socket (default /var/run/docker.sock),
  probe_interval (2), probe_timeout (the default check's timeout, 1), probe_workers (8), probe_address (probe
  there instead of the address the Engine published the port on: 0.0.0.0 is probed on 127.0.0.1),
  heartbeat (30), resync (60), node_id (default: the Engine's Swarm node id), label_filter (extra
  `key=value` labels, space separated, a task's container must carry), log_level.
"""
from __future__ import annotations

import heapq
import logging
import queue
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from . import cgroupstats
from .common import Client, run_service
from .nodeengine import CONNECTED, EVENT, Engine, Watcher
from .nodereport import Reporter
from .nodetasks import L_ONEOFF, STOP_SIGNALS, Task, end_message, from_inspect
from .probe import probe

log = logging.getLogger("slipway.nodeagent")

DEFAULTS = {
    "controller_url": "",
    "node_key": "",
    "node_key_file": "",
    "ca_file": "",
    "docker_socket": "/var/run/docker.sock",
    "probe_interval": "2",
    "probe_timeout": "1",
    "probe_workers": "8",
    "probe_address": "",
    "heartbeat": "30",
    "resync": "60",
    "node_id": "",
    "label_filter": "",
    "log_level": "INFO",
}
PROBED = "probed"


class NodeAgent:
    def __init__(self, cfg: dict[str, str], cgroups: cgroupstats.Cgroups | None = None):
        self.interval = float(cfg["probe_interval"])
        self.timeout = float(cfg["probe_timeout"])
        self.resync_every = float(cfg["resync"])
        if self.interval <= 0 or self.timeout <= 0 or self.resync_every <= 0 or float(cfg["heartbeat"]) <= 0:
            raise ValueError("probe_interval, probe_timeout, heartbeat and resync must be positive")
        self.probe_address = cfg["probe_address"]
        self.node_id = cfg["node_id"]
        labels = ["slipway.managed=1"] + cfg["label_filter"].split()
        self.stop = threading.Event()
        self.inbox: queue.Queue = queue.Queue()
        self.engine = Engine(cfg["docker_socket"], labels)
        self.watcher = Watcher(self.engine, self.inbox, self.stop)
        self.pool = ThreadPoolExecutor(max(1, int(cfg["probe_workers"])), thread_name_prefix="slipway-probe")
        client = Client(cfg["controller_url"], {"X-Slipway-Node-Auth": cfg["node_key"]},
                        ca_file=cfg["ca_file"] or None, timeout=10)
        self.reporter = Reporter(client, lambda: self.node_id, self.snapshot, self.interval,
                                 float(cfg["heartbeat"]), self.stop, cgroups or cgroupstats.Cgroups())
        self.lock = threading.Lock()  # the table, read by the reporting thread
        self.tasks: dict[str, Task] = {}  # container id -> task
        self.due: dict[str, float] = {}  # container id -> when its next probe starts (monotonic)
        self.queue: list[tuple[float, str]] = []  # (when, container), a heap; entries no longer in `due` are stale
        self.busy: set[str] = set()  # containers being probed
        self.ooms: set[str] = set()
        self.next_resync = float("inf")  # the first listing waits for the event stream
        # the first report waits for the first probe of every task listed at start (or an interval and a timeout)
        self.first_round: set[str] | None = None
        self.first_deadline = 0.0

    # ---- the table -------------------------------------------------------------------------------------
    def snapshot(self) -> list[tuple[dict, int]]:
        with self.lock:
            return [(t.entry(), t.pid) for t in self.tasks.values()]

    def report(self, task: Task) -> None:
        with self.lock:
            entry = task.entry()
        self.reporter.changed(entry, task.pid)

    def resync(self) -> None:
        """List the Engine's task containers: add the new ones, end those it no longer runs."""
        try:
            if not self.node_id:
                self.node_id = self.engine.node_id()
                if not self.node_id:
                    log.warning("the Engine is in no Swarm and node_id is not set: nothing is reported")
            ids = self.engine.container_ids()
        except (OSError, ValueError) as e:
            log.warning("listing the Engine's containers failed: %s", e)
            self.next_resync = time.monotonic() + min(self.resync_every, 5.0)
            return
        for container in set(self.tasks) - set(ids):
            self.end(container, "no longer running")
        for container in ids:
            if container not in self.tasks:
                self.add(container)
        self.next_resync = time.monotonic() + self.resync_every
        if self.first_round is None and not self.reporter.ready:
            self.first_round = {c for c, t in self.tasks.items() if t.routable}
            self.first_deadline = time.monotonic() + self.interval + max(
                [self.timeout] + [t.check.timeout for t in self.tasks.values()])
        self.first_report()

    def first_report(self) -> None:
        """Let the reports start once every task listed at start has been probed (or that took too long), so
        that an agent that restarts tells the controller what it found rather than "not probed yet"."""
        if self.first_round is not None and (not self.first_round or time.monotonic() >= self.first_deadline):
            self.first_round = None
            self.reporter.table_read()

    def add(self, container: str) -> None:
        try:
            info = self.engine.inspect(container)
        except (OSError, ValueError) as e:
            log.warning("inspect %s failed: %s", container[:12], e)
            return
        task = from_inspect(info or {}, self.timeout, self.probe_address)
        if task is None:
            return
        with self.lock:
            self.tasks[container] = task
        if task.routable:
            self.schedule(container, time.monotonic())
            log.info("task %s (%s %s.%s) on port %s", task.task, task.app, task.type, task.deployment, task.port)
        else:
            with self.lock:
                task.probed(True, "running (publishes no port)", time.time())
            self.report(task)

    def end(self, container: str, why: str) -> None:
        with self.lock:
            task = self.tasks.pop(container, None)
            if task is not None:
                task.gone(why)
        self.due.pop(container, None)
        self.ooms.discard(container)
        if task is not None:
            log.info("task %s (%s) %s", task.task, task.app, why)
            self.report(task)

    def on_event(self, event: dict) -> None:
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        container = str(actor.get("ID") or event.get("id") or "")
        action = str(event.get("Action") or event.get("status") or "")
        if not container or L_ONEOFF in attributes:
            return
        if action == "start" and container not in self.tasks:
            self.add(container)
        elif action == "oom":
            self.ooms.add(container)
        elif action == "kill" and container in self.tasks and str(attributes.get("signal")) in STOP_SIGNALS:
            task = self.tasks[container]
            with self.lock:
                task.stopping(str(attributes.get("signal")))
            self.report(task)
        elif action in ("die", "stop", "destroy"):
            self.end(container, end_message(action, attributes, container in self.ooms))

    # ---- probes --------------------------------------------------------------------------------------
    def slot(self, container: str, now: float) -> float:
        """When a task's next probe starts: at its own phase of the interval, between half an interval and one
        and a half from now."""
        phase = zlib.crc32(container.encode()) % 10_000 / 10_000 * self.interval
        when = now - ((now - phase) % self.interval) + self.interval
        return when + self.interval if when - now < self.interval / 2 else when

    def schedule(self, container: str, when: float) -> None:
        self.due[container] = when
        heapq.heappush(self.queue, (when, container))

    def next_due(self) -> float:
        """When the soonest probe is due (stale entries at the head of the queue dropped)."""
        while self.queue and self.due.get(self.queue[0][1]) != self.queue[0][0]:
            heapq.heappop(self.queue)
        return self.queue[0][0] if self.queue else float("inf")

    def launch(self, now: float) -> None:
        """Start the probes that are due: a look at the head of the queue, however many tasks there are."""
        while self.next_due() <= now:
            _, container = heapq.heappop(self.queue)
            task = self.tasks[container]
            self.busy.add(container)
            self.due[container] = float("inf")  # scheduled again when the probe ends
            self.pool.submit(self.probe_one, container, task.address, task.port, task.check)

    def probe_one(self, container: str, address: str, port: int, check) -> None:
        try:
            ok, message = probe(address, port, check.path, check.timeout, check.explicit)
        except Exception as e:  # noqa: BLE001 - a probe's own failure must not stop the task's probing
            ok, message = False, f"probe error: {e!r}"
        self.inbox.put((PROBED, (container, ok, message, time.time())))

    def on_probed(self, container: str, ok: bool, message: str, at: float) -> None:
        self.busy.discard(container)
        if self.first_round is not None:
            self.first_round.discard(container)
            self.first_report()
        task = self.tasks.get(container)
        if task is None:
            return
        before = task.view()
        with self.lock:
            task.probed(ok, message, at)
        if task.view() != before:
            if not ok:
                log.info("task %s (%s): probe failed %d time(s) in a row: %s", task.task, task.app,
                         task.failures, message)
            self.report(task)
        now = time.monotonic()
        if task.passed:
            self.schedule(container, self.slot(container, now))
        else:  # starting: tried again soon (0.1 s, doubling up to the interval) until it first passes
            self.schedule(container, now + min(self.interval, 0.1 * 2 ** min(task.failures - 1, 10)))

    # ---- the loop ------------------------------------------------------------------------------------
    def step(self, timeout: float) -> None:
        now = time.monotonic()
        self.launch(now)
        if now >= self.next_resync:
            self.resync()
        self.first_report()
        soonest = min(self.next_resync, now + timeout, self.next_due())
        try:
            kind, data = self.inbox.get(timeout=max(0.0, soonest - time.monotonic()))
        except queue.Empty:
            return
        if kind == PROBED:
            self.on_probed(*data)
        elif kind == EVENT:
            self.on_event(data)
        elif kind == CONNECTED:
            self.resync()

    def run(self) -> int:
        self.watcher.start()
        self.reporter.start()
        try:
            while not self.stop.is_set():
                self.step(1.0)
        finally:
            self.stop.set()
            self.watcher.close()
            self.reporter.wake()
            self.pool.shutdown(wait=False, cancel_futures=True)
        return 0


def main(argv: list[str] | None = None) -> int:
    return run_service("slipway-node-agent", __doc__, "node_agent", DEFAULTS, NodeAgent, argv)


if __name__ == "__main__":
    sys.exit(main())
