"""The agents against the real controller (tests/live.py): route sync -> real nginx, builder -> real sshd, node
agent -> this machine's Docker Engine.

No stand-ins here. Needs scripts/dev-services.sh (PostgreSQL on 127.0.0.1:55432, Docker); the fixture runs it.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, http_request, wait_for
from test_builder import Builder, Client, keygen
from test_node_agent import LABEL, Agent, Services, docker

from tests.live import live_controller


@pytest.fixture(scope="module")
def ctl():
    subprocess.run([os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, capture_output=True)
    with live_controller() as c:
        yield c


def api(ctl, method: str, path: str, body=None, token: str | None = None) -> tuple[int, object]:
    req = urllib.request.Request(ctl.url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"token {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, json.loads(data) if data else None


def user(ctl, name: str) -> str:
    status, body = api(ctl, "POST", "/v2/auth/register/", {"username": name, "password": "pw-" + name * 2,
                                                            "email": f"{name}@example.test"}, ctl.admin_token)
    assert status in (201, 409, 400), body
    status, body = api(ctl, "POST", "/v2/auth/login/", {"username": name, "password": "pw-" + name * 2})
    assert status == 200, body
    return body["token"]


def router_ack(ctl, router: str) -> int | None:
    out = subprocess.run(["psql", ctl.database_url, "-tAc",
                          f"select generation from router_acks where router = '{router}'"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return int(out) if out else None


def test_routesync_with_live_controller(ctl, nginx, routesync):
    token = user(ctl, "routeadmin")
    status, body = api(ctl, "POST", "/v2/apps/", {"id": "livetest"}, token)
    assert status == 201, body
    sync = routesync(ctl.url, ctl.router_key, SLIPWAY_PLATFORM_DOMAIN="slipway.test",
                     SLIPWAY_CONTROLLER_UPSTREAM=ctl.url)

    # the app's default domain is routed; no processes yet -> the "unavailable" 503 page
    def unavailable():
        status, _, body = http_request(nginx.http_port, "livetest.slipway.test")
        return status == 503 and b"no running processes" in body
    wait_for(unavailable, timeout=15, what="livetest routed")
    assert b"No app here" in http_request(nginx.http_port, "other.slipway.test")[2]
    # the ack reached the controller's database
    wait_for(lambda: router_ack(ctl, "router-test"), what="ack recorded")

    # the controller vhost through the router
    status, _, body = http_request(nginx.http_port, "slipway.slipway.test", "/healthz")
    assert status == 200

    # settings: maintenance within a second, whitelist -> 403, a new domain
    t0 = time.monotonic()
    assert api(ctl, "POST", "/v2/apps/livetest/settings/", {"maintenance": True}, token)[0] == 200
    wait_for(lambda: b"maintenance" in http_request(nginx.http_port, "livetest.slipway.test")[2],
             timeout=5, interval=0.02, what="maintenance page")
    assert time.monotonic() - t0 < 1.5
    assert api(ctl, "POST", "/v2/apps/livetest/settings/", {"maintenance": False,
                                                            "whitelist": ["10.20.30.0/24"]}, token)[0] == 200
    wait_for(lambda: http_request(nginx.http_port, "livetest.slipway.test")[0] == 403, what="whitelist")
    status, body = api(ctl, "POST", "/v2/apps/livetest/domains/", {"domain": "www.livetest.example"}, token)
    assert status == 201, body
    wait_for(lambda: http_request(nginx.http_port, "www.livetest.example")[0] == 403, what="new domain")
    gen = json.loads(urllib.request.urlopen(urllib.request.Request(
        ctl.url + "/v2/routes", headers={"X-Slipway-Router-Auth": ctl.router_key})).read())["generation"]
    wait_for(lambda: router_ack(ctl, "router-test") == gen, what="latest generation acked")
    assert "Traceback" not in sync.output() and "sync error" not in sync.output()


def test_builder_with_live_controller(ctl, workdir):
    alice = user(ctl, "pushalice")
    bob = user(ctl, "pushbob")
    assert api(ctl, "POST", "/v2/apps/", {"id": "alicelive"}, alice)[0] == 201
    assert api(ctl, "POST", "/v2/apps/", {"id": "boblive"}, bob)[0] == 201
    keys = {}
    # one key whose SHA256 fingerprint contains "/" and one "+" (the lookup URL must survive both)
    fps: list[str] = []
    n = 0
    while not (any("/" in f for f in fps) and any("+" in f for f in fps)) and n < 40:
        path = os.path.join(workdir, f"try_key{n}")
        fp = keygen(path)
        n += 1
        if ("/" in fp and not any("/" in f for f in fps)) or ("+" in fp and not any("+" in f for f in fps)) \
                or not fps:
            fps.append(fp)
            keys[len(keys)] = path
    assert any("/" in f for f in fps)
    for i in keys:
        status, body = api(ctl, "POST", "/v2/keys/", {"id": f"bob{i}", "public": open(keys[i] + ".pub").read()},
                           bob)
        assert status == 201, body
    stranger = os.path.join(workdir, "stranger_key")
    keygen(stranger)
    b = Builder(workdir, ctl.url, ctl.builder_key)
    try:
        for i in keys:
            r = b.ssh(keys[i], "git-upload-pack 'boblive.git'")
            assert "push to it first" in r.stderr, (i, r.stderr)  # authenticated, authorized, nothing yet
        client = Client(workdir, "bobclient", b, keys[0])
        r = client.push("boblive")
        assert r.returncode == 0, r.stderr
        assert "remote: -----> Building boblive" in r.stderr and "Launched boblive" in r.stderr
        live = subprocess.run(["psql", ctl.database_url, "-XAtq", "-c", "SELECT count(*) FROM push_tokens p JOIN apps a "
                               "ON a.uuid = p.app_uuid WHERE a.id = 'boblive'"], capture_output=True, text=True,
                              check=True).stdout.strip()
        assert live == "0"  # the push is over: its token too
        r = client.push("alicelive")
        assert r.returncode != 0 and "You may not push to alicelive." in r.stderr
        r = Client(workdir, "strangerclient", b, stranger).push("boblive")
        assert r.returncode != 0 and "Permission denied (publickey)" in r.stderr
        # a deleted key stops working at once
        assert api(ctl, "DELETE", "/v2/keys/bob0", None, bob)[0] == 204
        client.commit("after key removal")
        r = client.push("boblive")
        assert r.returncode != 0 and "Permission denied (publickey)" in r.stderr
    finally:
        b.stop()


def test_node_agent_with_live_controller(ctl, tmp_path):
    """The agent's reports as the controller stores them: a task's row while it runs, none once it is killed."""
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh"), "web"], check=True)
    run = "live" + os.urandom(4).hex()
    services = Services(run)
    agent = Agent(run, ctl.url, str(tmp_path / "agent.log"), node_key=ctl.env["SLIPWAY_NODE_KEY"])

    def row(container: str) -> str:
        return subprocess.run(["psql", ctl.database_url, "-tAc",
                               "select app_id, deployment, proc_type, release, port, state, healthy, failures, "
                               f"cpu_seconds > 0 from task_reports where container = '{container}'"],
                              capture_output=True, text=True, check=True).stdout.strip()

    try:
        container = services.container(services.create("live-node"))
        port = docker("port", container, "8080/tcp").splitlines()[0].rsplit(":", 1)[1]
        assert wait_for(lambda: row(container) == f"live-node|3|web|5|{port}|running|t|0|t", timeout=20,
                        what="the task's row")
        docker("kill", container)
        wait_for(lambda: row(container) == "", timeout=5, what="the killed task's row gone")
    finally:
        agent.stop()
        services.remove()
        for leftover in docker("ps", "-aq", "--filter", f"label={LABEL}={run}").split():
            docker("rm", "-f", leftover, check=False)
