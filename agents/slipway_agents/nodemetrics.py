"""The node agent's Prometheus metrics: `GET /metrics` on `metrics_address`:`metrics_port`, for scrapers holding
the metrics key (`Authorization: Bearer <metrics_key>`; 401 otherwise, and always when no key is set).

- slipway_task_cpu_seconds_total{app,type,task,node}: CPU seconds each running task used since it started, and
  slipway_task_memory_bytes / slipway_task_memory_limit_bytes{...}: its working set and its limit (0: none), read
  from its cgroup when scraped through the reporter's own cgroup places (nodereport.py, cgroupstats.py).
- slipway_task_restarts_total{app,type,node}: task containers of that app and type that ended on this node
  since the agent started without the platform stopping them (they crashed, were killed for memory, or were
  restarted by the agent because their liveness probe failed); a task Swarm stops (a deploy retiring it, a scale
  down) is not counted.
- slipway_node_agent_probe_failures_total{app,type}: failed probes, readiness and liveness, once a task passed
  its first readiness probe (the quick retries while an app starts to listen are not failures).

`node` is this host's name, as Swarm lists the node.
"""
from __future__ import annotations

import hmac
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from . import promtext

log = logging.getLogger("slipway.nodeagent")


class Counts:
    """The agent's counters, kept by its loop and read by scrapes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.restarts: dict[tuple[str, str], int] = {}
        self.probe_failures: dict[tuple[str, str], int] = {}

    def add(self, table: dict[tuple[str, str], int], app: str, proc: str) -> None:
        with self.lock:
            table[(app, proc)] = table.get((app, proc), 0) + 1

    def copy(self) -> tuple[dict, dict]:
        with self.lock:
            return dict(self.restarts), dict(self.probe_failures)


def families(usage: list[tuple[dict, float | None, int | None]], counts: Counts, node: str) -> list:
    """`usage`: (a running task's report entry, its CPU seconds, its memory bytes) for each task."""
    cpu, memory, limit = [], [], []
    for entry, seconds, working_set in usage:
        labels = {"app": entry["app"], "type": entry["type"], "task": entry["task"], "node": node}
        if seconds is not None:
            cpu.append((labels, seconds))
        if working_set is not None:
            memory.append((labels, float(working_set)))
        limit.append((labels, float(entry.get("memory_limit_bytes") or 0)))
    restarts, failures = counts.copy()
    return [
        ("slipway_task_cpu_seconds_total", "counter", "CPU seconds the task used since it started.", cpu),
        ("slipway_task_memory_bytes", "gauge", "The task's working set (usage less inactive file cache).", memory),
        ("slipway_task_memory_limit_bytes", "gauge", "The task's memory limit (0: none).", limit),
        ("slipway_task_restarts_total", "counter", "Task containers that ended without the platform stopping them.",
         [({"app": a, "type": t, "node": node}, n) for (a, t), n in sorted(restarts.items())]),
        ("slipway_node_agent_probe_failures_total", "counter", "Failed probes of tasks that had passed once.",
         [({"app": a, "type": t}, n) for (a, t), n in sorted(failures.items())]),
    ]


class MetricsServer:
    def __init__(self, address: str, port: int, key: str, text: Callable[[], str]):
        key_bytes = key.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server method name
                scheme, _unused, given = (self.headers.get("Authorization") or "").partition(" ")
                if not key_bytes or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                                          key_bytes):
                    return self.answer(401, b"Invalid metrics key.\n", "text/plain", {"WWW-Authenticate": "Bearer"})
                if self.path.split("?")[0] != "/metrics":
                    return self.answer(404, b"Not found.\n", "text/plain")
                return self.answer(200, text().encode(), promtext.CONTENT_TYPE)

            def answer(self, status: int, body: bytes, kind: str, headers: dict | None = None):
                self.send_response(status)
                for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.server = server_class((address, port), Handler)

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="slipway-node-metrics", daemon=True).start()
        log.info("metrics on %s:%s", *self.server.server_address[:2])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
