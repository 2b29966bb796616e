"""Autoscale on the all-in-one host: load through the router drives an app from one web process to two, and
back to one when the load stops, with no failed request. Every figure comes from the node agent's CPU readings
and every step is the controller's autoscaler's (windows shortened by inventories/local: up 10 s, down 20 s,
readings every 5 s)."""
from __future__ import annotations

import time

from .conftest import Load
from .ops import pushed_app

# Each request spends 15 ms of CPU; two clients in a loop keep one process at its 200m limit.
BUSY_APP = '''import http.server, os, socket, time
HOST = socket.gethostname()


class Busy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        end = time.thread_time() + 0.015
        while time.thread_time() < end:
            pass
        body = f"busy on {HOST}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("", int(os.environ.get("PORT", "5000"))), Busy).serve_forever()
'''


def web_count(user, app: str) -> int:
    _, info = user.api("GET", f"/v2/apps/{app}/")
    return info["structure"].get("web", 0)


def until_count(user, app: str, count: int, timeout: float) -> float:
    started = time.monotonic()
    while web_count(user, app) != count:
        assert time.monotonic() - started < timeout, f"web did not reach {count} within {timeout}s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_load_scales_web_up_and_quiet_scales_it_down(aio, user_factory):
    user = user_factory("scaler")
    app = pushed_app(aio, user, "busy-", BUSY_APP)
    user.api("POST", f"/v2/apps/{app}/config/", {"cpu": {"web": "200m"}})
    _, settings = user.api("POST", f"/v2/apps/{app}/settings/",
                           {"autoscale": {"web": {"min": 1, "max": 2, "cpu_percent": 50}}})
    assert settings["autoscale"] == {"web": {"min": 1, "max": 2, "cpu_percent": 50}}
    status, answer = user.api("POST", f"/v2/apps/{app}/scale/", {"web": 2}, expect=None)
    assert status == 400 and "web is autoscaled" in answer["detail"], answer

    _, info = user.api("GET", f"/v2/apps/{app}/")
    domain = info["url"].split("://")[-1].strip("/")
    load = Load(domain, app, threads=2)
    up = until_count(user, app, 2, timeout=90)
    time.sleep(5)  # both processes serve the load
    summary = load.finish(settle=0)
    down = until_count(user, app, 1, timeout=120)
    print(f"\nautoscale: 1 -> 2 after {up + 1:.1f} s of load, 2 -> 1 {down:.1f} s after it stopped; "
          f"{summary['requests']} requests, {summary['failures']} failed")
    assert summary["failures"] == 0, summary["errors"]
    assert len(summary["bodies"]) >= 2, summary["bodies"]  # answered by a second process as well
    _, page = user.api("GET", f"/v2/apps/{app}/deployments/")
    causes = [d["cause"] for d in page["results"]]
    assert causes[0].startswith("autoscaled web 2->1"), causes
    assert causes[1].startswith("autoscaled web 1->2") and "target 50%" in causes[1], causes
