"""Metrics on the all-in-one host, as an operator reads them from the monitor's Prometheus (the host's loopback,
port 9090; scrapes every 5 s in inventories/local): after requests through the router, the app's request and
status counts are there within two scrape intervals, its task's CPU and memory too; the backup series is
pgBackRest's newest backup; a certificate's expiry is its notAfter; every target is up. (That no app container
and no outside machine reaches a metrics port is tests/security/test_app_walls.py's probe of every listening port.)"""
from __future__ import annotations

import datetime
import json
import shlex
import time
import urllib.parse

from .conftest import get, sh, wait_for
from .ops import pushed_app

SCRAPE = 5  # slipway_monitor_scrape_interval in inventories/local
# An app that answers its root and nothing else (404), as most apps do.
ROOT_ONLY = '''import http.server, os


class Root(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"root\\n" if self.path == "/" else b"not here\\n"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Root).serve_forever()
'''


def query(promql: str) -> list[dict]:
    """An instant query: Prometheus's result vector."""
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = json.loads(sh(f"curl -fsS {shlex.quote(url)}").stdout)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def value(promql: str) -> float | None:
    result = query(promql)
    return float(result[0]["value"][1]) if result else None


def test_every_target_is_up():
    targets = json.loads(sh("curl -fsS http://127.0.0.1:9090/api/v1/targets").stdout)["data"]["activeTargets"]
    jobs = {t["labels"]["job"]: t["health"] for t in targets}
    assert {"node", "controller", "node_agent", "router"} <= set(jobs), jobs
    down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, down


def requested_app(aio, user, prefix: str, ok: int, missing: int = 0) -> str:
    """A pushed app that answered `ok` requests and `missing` 404s through the router, all counted by Prometheus
    (which takes at most two scrape intervals after mtail read them): its id."""
    app = pushed_app(aio, user, prefix, ROOT_ONLY)
    _, info = user.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    for _ in range(ok):
        assert get(domain)[0] == 200
    for _ in range(missing):
        assert get(domain, "/no-such-page")[0] == 404
    sent = time.monotonic()
    counted = f'sum(slipway_router_requests_total{{app="{app}"}})'
    wait_for(lambda: (value(counted) or 0) >= ok + missing, timeout=2 * SCRAPE + 5, message="the app's requests")
    print(f"\nthe app's requests counted by Prometheus {time.monotonic() - sent:.1f} s after they were sent")
    return app


def test_requests_through_the_router_and_the_task_figures_reach_prometheus(aio, user_factory):
    user = user_factory("metered")
    app = requested_app(aio, user, "metered-", ok=12, missing=3)
    ok = f'sum(slipway_router_requests_total{{app="{app}",status_class="2xx"}})'
    assert value(ok) == 12
    assert value(f'sum(slipway_router_requests_total{{app="{app}",status_class="4xx"}})') == 3
    assert value(f'sum(slipway_router_request_duration_seconds_count{{app="{app}"}})') == 15
    # the task's own figures, from the node agent
    cpu = f'sum(slipway_task_cpu_seconds_total{{app="{app}",type="web"}})'
    memory = f'sum(slipway_task_memory_bytes{{app="{app}",type="web"}})'
    wait_for(lambda: value(cpu) is not None and value(memory), timeout=4 * SCRAPE + 10,
             message="the app task's CPU and memory")
    assert value(cpu) > 0 and value(memory) > 1_000_000
    # the controller's count of the app's releases
    _, releases = user.api("GET", f"/v2/apps/{app}/releases/")
    wait_for(lambda: value(f'slipway_app_releases{{app="{app}"}}') == releases["count"], timeout=2 * SCRAPE + 5,
             message="the app's release count")


def test_backup_series_is_pgbackrests_newest_backup():
    info = json.loads(sh("runuser -u postgres -- pgbackrest info --output=json").stdout)
    newest = max(b["timestamp"]["stop"] for stanza in info for b in stanza["backup"])
    sh("systemctl start slipway-metrics-backup.service")
    wait_for(lambda: value("max(slipway_backup_last_success_timestamp_seconds)") == newest,
             timeout=2 * SCRAPE + 10, message="the newest backup's time")
    archived = value("slipway_wal_archive_last_timestamp_seconds")
    assert archived and time.time() - archived < 86400


def test_certificate_expiry_is_its_not_after(aio, user_factory):
    user = user_factory("certified")
    app = unique_app(user)
    domain = f"{app}.example.test"
    user.api("POST", f"/v2/apps/{app}/domains/", {"domain": domain})
    key_cert = sh(f"cd /tmp && openssl req -x509 -newkey rsa:2048 -nodes -keyout {app}.key -out {app}.crt "
                  f"-days 20 -subj /CN={domain} 2>/dev/null && cat {app}.key && echo SLIPWAY-SPLIT && cat {app}.crt")
    key, cert = key_cert.stdout.split("SLIPWAY-SPLIT\n")
    user.api("POST", "/v2/certs/", {"name": app, "certificate": cert, "key": key})
    user.api("POST", f"/v2/certs/{app}/domain/", {"domain": domain})
    end = sh(f"openssl x509 -noout -enddate -in /tmp/{app}.crt").stdout.strip().split("=", 1)[1]
    not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    expiry = f'slipway_certificate_expiry_timestamp_seconds{{domain="{domain}"}}'
    wait_for(lambda: value(expiry) == not_after.timestamp(), timeout=2 * SCRAPE + 5, message="the expiry series")
    # expiring within 14 days fires the rule once its `for` has passed; within 20 days it is only pending or quiet
    assert not [a for a in query('ALERTS{alertname="SlipwayCertificateExpiring",alertstate="firing"}')
                if a["metric"].get("domain") == domain]


def unique_app(user) -> str:
    _, app = user.api("POST", "/v2/apps/", {})
    return app["id"]
