"""Liveness on the all-in-one host: a web process that stops answering (alive, its listener closed: nothing
Swarm or Docker notices) is restarted by its node agent's liveness probe, while the other process serves the
load with no failed request; and an exec readiness probe, which only the node agent can run, gates routing."""
from __future__ import annotations

import time

import pytest

from .conftest import Load, get, sh, wait_for
from .ops import pushed_app
from .test_faults import routed, tasks

pytestmark = pytest.mark.timeout(900)

# GET /stop closes the listener and keeps the process alive: the port refuses, the container runs on.
# /tmp/ready is what the exec readiness probe looks for; GET /unready removes it.
STALLING_APP = '''import http.server, os, socket, threading, time
HOST = socket.gethostname()
open("/tmp/ready", "w").close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/stop":
            threading.Thread(target=lambda: (server.shutdown(), server.server_close())).start()
        elif self.path == "/unready":
            os.remove("/tmp/ready")
        body = f"alive on {HOST}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("", int(os.environ.get("PORT", "5000"))), Handler)
server.serve_forever()
print("listener closed; the process stays", flush=True)
while True:
    time.sleep(3600)
'''

PROBES = {"livenessProbe": {"httpGet": {"path": "/", "port": 5000}, "initialDelaySeconds": 2, "periodSeconds": 1,
                            "timeoutSeconds": 1, "failureThreshold": 3},
          "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1,
                             "timeoutSeconds": 2, "failureThreshold": 1}}


@pytest.fixture(scope="module")
def world(aio, user_factory):
    user = user_factory("live")
    app = pushed_app(aio, user, "live-", STALLING_APP)
    user.api("POST", f"/v2/apps/{app}/config/", {"healthcheck": {"web": PROBES}})
    user.api("POST", f"/v2/apps/{app}/scale/", {"web": 2})
    wait_for(lambda: len(tasks(app)) == 2 and len(routed(app)) == 2, timeout=90, message="two routed tasks")
    _, info = user.api("GET", f"/v2/apps/{app}/")
    return {"user": user, "app": app, "domain": info["url"].split("://")[-1].strip("/")}


def test_the_probes_are_listed_in_one_shape(world):
    _, config = world["user"].api("GET", f"/v2/apps/{world['app']}/config/")
    web = config["healthcheck"]["web"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/" and web["livenessProbe"]["failureThreshold"] == 3
    assert web["readinessProbe"]["exec"]["command"] == ["test", "-f", "/tmp/ready"]


def test_a_process_that_stops_answering_is_restarted_while_the_other_serves(world):
    app, domain = world["app"], world["domain"]
    before = set(tasks(app))
    load = Load(domain, f"live-{app}", threads=2)
    stopped_at = time.monotonic()
    assert get(domain, "/stop")[0] == 200
    replaced = wait_for(lambda: (lambda now: now if len(now) == 2 and now != before else None)(set(tasks(app))),
                        timeout=60, interval=0.2, message="the stalled process replaced")
    restarted = time.monotonic() - stopped_at
    wait_for(lambda: len(routed(app)) == 2, timeout=60, message="both processes routed again")
    routed_again = time.monotonic() - stopped_at
    result = load.finish()
    print(f"\n[liveness] replaced after {restarted:.1f}s, both routed after {routed_again:.1f}s; "
          f"requests={result['requests']} failures={result['failures']} errors={result['errors']}")
    assert len(replaced & before) == 1  # one of the two was restarted, the other served throughout
    assert result["failures"] == 0, result
    logs = sh(f"docker ps -a -q --filter label=slipway.app={app} --filter status=exited").stdout.split()
    assert logs, "the stalled container was stopped"


def test_an_exec_readiness_probe_takes_a_process_out_of_the_routes(world):
    app, domain = world["app"], world["domain"]
    wait_for(lambda: len(routed(app)) == 2, timeout=60, message="two routed tasks")
    assert get(domain, "/unready")[0] == 200
    wait_for(lambda: len(routed(app)) == 1, timeout=30, interval=0.2, message="the unready process leaving")
    for _ in range(10):
        assert get(domain)[0] == 200
