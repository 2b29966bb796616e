"""The real Prometheus (Debian's /usr/bin/prometheus) for the dashboard's tests, scraping an exporter that serves
the series the platform's producers expose (docs/metrics.md) for the apps a test registers; its rule engine
evaluates an alert that fires at once and one that stays pending.

Usage:
    with running_prometheus(folder) as prom:  # prom.url for SLIPWAY_PROMETHEUS_URL
        prom.exporter.add_app("shop")         # the app's series from the next scrape on
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.live import free_port

PROMETHEUS = "/usr/bin/prometheus"
HOSTILE = "<script>alert('label')</script>"
SUMMARY = "<b>disk</b> fills"
BYSTANDER = ("other-app", "other-apps-worker")  # an app no test owns, and its process type
BUCKETS = ((0.05, 0.5), (0.1, 0.8), (0.5, 0.95), (1.0, 0.99), (float("inf"), 1.0))  # le, share of requests
RULES = {"groups": [{"name": "dashboard", "rules": [
    {"alert": "DiskFilling", "expr": "vector(1) > 0", "for": "0s",
     "labels": {"severity": "warning", "instance": HOSTILE}, "annotations": {"summary": SUMMARY}},
    {"alert": "Quiet", "expr": "vector(1) > 0", "for": "1h"},  # pending for the whole session: never fires
]}]}


def _labels(**labels) -> str:
    """`{k="v",...}` in the text exposition format (backslash, double quote and newline escaped)."""
    def quoted(v) -> str:
        return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ",".join(f'{k}="{quoted(v)}"' for k, v in labels.items()) + "}"


class Exporter:
    """Prometheus text exposition on http://127.0.0.1:<port>/metrics. Per app: 5 requests/s of 2xx and 0.5 of
    5xx with their latency histogram, 0.2 upstream errors/s, and two processes (web and one whose type is
    markup) with CPU and memory. The counters count from the app's registration, so they grow between scrapes.
    Besides: a backup two hours old, a disk with 20 of 40 GiB free, a certificate expiring in five days
    (all fixed at start)."""

    TYPES = {"web": (0.25, 64 * 2 ** 20), HOSTILE: (0.1, 32 * 2 ** 20)}  # type: CPU cores, memory bytes
    DISK = {"instance": "node-1:9100", "device": "/dev/vda1", "fstype": "ext4", "mountpoint": "/"}
    DISK_AVAIL, DISK_SIZE = 20 * 2 ** 30, 40 * 2 ** 30
    DOMAIN = "shop.example.test"

    def __init__(self):
        now = time.time()
        self.backup_timestamp = now - 7200
        self.certificate_expiry = now + 5 * 86400
        self.apps: dict[str, dict[str, float]] = {BYSTANDER[0]: {BYSTANDER[1]: now}}  # app -> {type: since}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = outer.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_app(self, app: str) -> None:
        """Serve `app`'s series from now on."""
        with self.lock:
            self.apps.setdefault(app, dict.fromkeys(self.TYPES, time.time()))

    def exposition(self) -> str:
        now = time.time()
        with self.lock:
            apps = {app: dict(types) for app, types in self.apps.items()}
        families: dict[str, tuple[str, list[str]]] = {}

        def sample(family: str, kind: str, value: float, suffix: str = "", **labels) -> None:
            families.setdefault(family, (kind, []))[1].append(f"{family}{suffix}{_labels(**labels)} {value!r}")

        for app, types in apps.items():
            seconds = now - min(types.values())
            for status_class, per_second in (("2xx", 5.0), ("5xx", 0.5)):
                sample("slipway_router_requests_total", "counter", per_second * seconds, app=app,
                       status_class=status_class)
            count = 5.5 * seconds
            for le, share in BUCKETS:
                sample("slipway_router_request_duration_seconds", "histogram", share * count, "_bucket", app=app,
                       le="+Inf" if le == float("inf") else repr(le))
            sample("slipway_router_request_duration_seconds", "histogram", 0.08 * count, "_sum", app=app)
            sample("slipway_router_request_duration_seconds", "histogram", count, "_count", app=app)
            sample("slipway_router_upstream_errors_total", "counter", 0.2 * seconds, app=app)
            for i, (kind, since) in enumerate(types.items()):
                cores, memory = self.TYPES.get(kind, (0.05, 16 * 2 ** 20))
                task = {"app": app, "type": kind, "task": f"task-{i}", "node": "node-1"}
                sample("slipway_task_cpu_seconds_total", "counter", cores * (now - since), **task)
                sample("slipway_task_memory_bytes", "gauge", float(memory), **task)
        sample("slipway_backup_last_success_timestamp_seconds", "gauge", self.backup_timestamp, type="full")
        sample("node_filesystem_avail_bytes", "gauge", float(self.DISK_AVAIL), **self.DISK)
        sample("node_filesystem_size_bytes", "gauge", float(self.DISK_SIZE), **self.DISK)
        sample("slipway_certificate_expiry_timestamp_seconds", "gauge", self.certificate_expiry,
               domain=self.DOMAIN, app="shop")
        lines = []
        for family, (kind, samples) in families.items():
            lines += [f"# TYPE {family} {kind}", *samples]
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclasses.dataclass
class Prometheus:
    url: str
    exporter: Exporter
    process: subprocess.Popen


def _config(exporter: Exporter, rules: str) -> dict:
    return {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [rules],
            # the exporter's own instance labels stand, as a node's and a router's would
            "scrape_configs": [{"job_name": "slipway", "honor_labels": True,
                                "static_configs": [{"targets": [exporter.address]}]}]}


def _scraped(prom: Prometheus) -> bool:
    result = requests.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
    return any(series["value"][1] == "1" for series in result)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_prometheus(folder: str, timeout: float = 60):
    """Prometheus on a free port of 127.0.0.1 with its storage, config (JSON, which is YAML) and log in
    `folder`, ready (`/-/ready`) and with the exporter scraped once when this enters; stopped, with its exporter,
    when it leaves."""
    exporter = Exporter()
    rules, config = os.path.join(folder, "rules.yml"), os.path.join(folder, "prometheus.yml")
    with open(rules, "w", encoding="utf-8") as fh:
        json.dump(RULES, fh)
    with open(config, "w", encoding="utf-8") as fh:
        json.dump(_config(exporter, rules), fh)
    port = free_port()
    log = open(os.path.join(folder, "prometheus.log"), "wb")
    process = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                                f"--storage.tsdb.path={os.path.join(folder, 'data')}",
                                f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    prom = Prometheus(f"http://127.0.0.1:{port}", exporter, process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, open(log.name, encoding="utf-8", errors="replace").read()[-3000:]
            with contextlib.suppress(requests.RequestException):
                if requests.get(prom.url + "/-/ready", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "Prometheus not ready in time"
            time.sleep(0.2)
        while not _scraped(prom):  # its first scrape waits for target discovery (a few seconds)
            assert time.monotonic() < deadline, "Prometheus has not scraped the exporter in time"
            time.sleep(0.5)
        yield prom
    finally:
        _stop(process)
        log.close()
        exporter.close()
