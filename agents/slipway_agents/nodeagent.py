"""The node agent: watches this node's Slipway task containers, probes them, reports them to the controller.

    python3 -m slipway_agents.nodeagent [--config /etc/slipway/node-agent.ini]

- Tasks come from the Docker Engine on this node: a listing of the running `slipway.managed=1` containers
  when the agent starts, again whenever the Engine's event stream (re)connects, and every `resync` seconds
  as a safety net (one listing call, and an inspect of containers not yet known: cheap at any pace, 60 s by
  default); between listings, the Engine's container events (start, kill, die, stop, destroy, oom) add and
  end tasks as they happen (nodeengine.py).
- Each task is probed as its `slipway.healthcheck` label says (nodetasks.py reads it, nodeprobes.py runs the
  probes): readiness (its `healthy`) and liveness (restarted when it fails), each http, tcp or exec, every
  `probe_interval` seconds by default, at a phase of its own within the period (tasks spread over it, not
  probed all at once). Without a label a task that publishes a port is probed over HTTP (probe.py) on that
  published port, and one that publishes none is healthy while it runs. A new task's readiness is probed as
  soon as it starts, and until it first passes again 0.1 s later, then 0.2 s, doubling up to the period (an
  app takes a moment to listen). Probes run on `probe_workers` threads.
- Changes are reported at once, the whole table every `heartbeat` seconds (nodereport.py), with each task's
  CPU and memory read from its cgroup (cgroupstats.py), and its CPU rate read every `usage_interval` seconds
  (a rate that moves by more than `usage_change` cores is a change).
- A controller outage: probing goes on, and the first report that gets through is the full table. An Engine
  restart: the event stream connects again (0.5 s to 5 s apart) and the table is listed afresh.

Settings (ini section [node_agent], or environment SLIPWAY_<NAME>):
  controller_url, node_key (or node_key_file), ca_file, docker_socket (default /var/run/docker.sock),
  probe_interval (2), probe_timeout (the default check's timeout, 1), probe_workers (8), probe_address (probe
  there instead of the address the Engine published the port on: 0.0.0.0 is probed on 127.0.0.1),
  heartbeat (30), usage_interval (10), usage_change (0.05), liveness_drain (seconds between reporting a task
  whose liveness probe failed as stopping and stopping it, 2), resync (60), node_id (default: the Engine's
  Swarm node id), label_filter (extra `key=value` labels, space separated, a task's container must carry),
  metrics_port (serve GET /metrics there, nodemetrics.py; 0, the default: no metrics), metrics_address (where
  it listens, 127.0.0.1), metrics_key (or metrics_key_file: the scrapers' bearer key), log_level.
"""
from __future__ import annotations

import logging
import queue
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import cgroupstats
from .common import Client, run_service
from .nodemetrics import Counts, MetricsServer, families
from .nodeengine import CONNECTED, EVENT, Engine, Watcher
from .nodeprobes import PROBED, RESUME, Probing
from .nodereport import Reporter
from .nodetasks import L_ONEOFF, STOP_SIGNALS, Task, end_message, from_inspect
from .promtext import render

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
    "usage_interval": "10",
    "usage_change": "0.05",
    "liveness_drain": "2",
    "resync": "60",
    "node_id": "",
    "label_filter": "",
    "metrics_port": "0",
    "metrics_address": "127.0.0.1",
    "metrics_key": "",
    "metrics_key_file": "",
    "log_level": "INFO",
}


class NodeAgent(Probing):
    def __init__(self, cfg: dict[str, str], cgroups: cgroupstats.Cgroups | None = None):
        self.interval = float(cfg["probe_interval"])
        self.timeout = float(cfg["probe_timeout"])
        self.resync_every = float(cfg["resync"])
        self.drain = float(cfg["liveness_drain"])
        usage_interval, usage_change = float(cfg["usage_interval"]), float(cfg["usage_change"])
        if min(self.interval, self.timeout, self.resync_every, float(cfg["heartbeat"]), usage_interval) <= 0:
            raise ValueError("probe_interval, probe_timeout, heartbeat, resync and usage_interval must be positive")
        if self.drain < 0 or usage_change < 0:
            raise ValueError("liveness_drain and usage_change may not be negative")
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
                                 float(cfg["heartbeat"]), self.stop, cgroups or cgroupstats.Cgroups(),
                                 usage_interval=usage_interval, usage_change=usage_change)
        self.lock = threading.Lock()  # the table, read by the reporting thread
        self.tasks: dict[str, Task] = {}  # container id -> task
        self.init_probes()
        self.ooms: set[str] = set()
        self.next_resync = float("inf")  # the first listing waits for the event stream
        # the first report waits for the first probe of every task listed at start (or an interval and a timeout)
        self.first_round: set[str] | None = None
        self.first_deadline = 0.0
        self.counts = Counts()
        self.node_name = socket.gethostname()
        port = int(cfg["metrics_port"])
        self.metrics = (MetricsServer(cfg["metrics_address"], port, cfg["metrics_key"], self.metrics_text)
                        if port else None)

    def metrics_text(self) -> str:
        return render(families(self.reporter.figures(), self.counts, self.node_name))

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
            self.first_round = {c for c, t in self.tasks.items() if t.check is not None}
            self.first_deadline = time.monotonic() + self.interval + max(
                [self.timeout] + [t.check.timeout for t in self.tasks.values() if t.check is not None])
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
        self.start_probes(container, task)
        log.info("task %s (%s %s.%s) on port %s, readiness %s, liveness %s", task.task, task.app, task.type,
                 task.deployment, task.port, task.check and task.check.kind, task.liveness and task.liveness.kind)
        if task.check is None:
            with self.lock:
                task.probed(True, "running (publishes no port)", time.time())
            self.report(task)

    def end(self, container: str, why: str) -> None:
        with self.lock:
            task = self.tasks.pop(container, None)
            if task is not None:
                if task.restarted or task.state != "stopping":  # not stopped by the platform: a restart
                    self.counts.add(self.counts.restarts, task.app, task.type)
                task.gone(why)
        self.drop_probes(container)
        self.execs.pop(container, None)
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
        elif kind == RESUME:
            self.on_resume(data)
        elif kind == EVENT:
            self.on_event(data)
        elif kind == CONNECTED:
            self.resync()

    def run(self) -> int:
        self.watcher.start()
        self.reporter.start()
        if self.metrics is not None:
            self.metrics.start()
        try:
            while not self.stop.is_set():
                self.step(1.0)
        finally:
            self.stop.set()
            self.watcher.close()
            self.reporter.wake()
            self.pool.shutdown(wait=False, cancel_futures=True)
            if self.metrics is not None:
                self.metrics.close()
        return 0


def main(argv: list[str] | None = None) -> int:
    return run_service("slipway-node-agent", __doc__, "node_agent", DEFAULTS, NodeAgent, argv)


if __name__ == "__main__":
    sys.exit(main())
