"""The router's traffic metrics for real: nginx with the role's slipway_apps log format and log (lifted from
roles/router/templates/nginx.conf.j2), app servers rendered by the real route sync, Debian's mtail running
roles/router/files/slipway_router.mtail over that log, and its /metrics read back."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import urllib.request

import jinja2
import pytest
from conftest import ROOT, Nginx, RouteSyncProc, http_request, wait_for
from fakes import Upstream, free_port
from prometheus_client.parser import text_string_to_metric_families
from test_routesync import app

MTAIL = shutil.which("mtail") or "/usr/bin/mtail"
TEMPLATE = os.path.join(ROOT, "roles", "router", "templates", "nginx.conf.j2")
PROGRAM = os.path.join(ROOT, "roles", "router", "files", "slipway_router.mtail")


def role_log_directives(log: str) -> tuple[str, str]:
    """(the http block's slipway_apps log_format and access_log, the endpoint server's `set`) as the role
    renders them."""
    text = open(TEMPLATE).read()
    log_format = re.search(r"^ *log_format slipway_apps .*?;\n", text, re.S | re.M).group(0)
    access_log = re.search(r"^ *access_log .* slipway_apps .*;\n", text, re.M).group(0)
    declare = re.search(r"^ *set \$slipway_app .*\n", text, re.M).group(0)
    rendered = jinja2.Template(log_format + access_log).render(__slipway_router_apps_log=log)
    return rendered, declare


@pytest.fixture
def router(workdir):
    assert os.path.exists(MTAIL), "mtail is missing: scripts/install.sh installs Debian's mtail"
    log = os.path.join(workdir, "slipway-apps.log")
    nginx = Nginx(workdir)
    http_lines, declare = role_log_directives(log)
    conf = open(nginx.conf).read()
    ours = f"    access_log {workdir}/access.log;\n"
    conf = conf.replace(ours, ours + http_lines)
    conf = conf.replace("        client_max_body_size 8m;\n", declare + "        client_max_body_size 8m;\n", 1)
    assert "slipway_apps" in conf and "set $slipway_app" in conf
    open(nginx.conf, "w").write(conf)
    nginx.start()
    yield nginx, log
    nginx.stop()


@pytest.fixture
def mtail(router):
    _, log = router
    port = free_port()
    proc = subprocess.Popen([MTAIL, "--progs", PROGRAM, "--logs", log, "--address", "127.0.0.1", "--port", str(port),
                             "--emit_prog_label=false", "--logtostderr"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, what="mtail")
    yield port
    proc.terminate()
    proc.wait(10)


def metrics(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("slipway_router_")}


def test_requests_by_app_status_class_and_upstream_errors(router, mtail, fake_controller):
    nginx, log = router
    up = Upstream("shop")
    dead = {"address": "127.0.0.1", "port": free_port()}  # nothing listens: nginx answers 502
    sync = RouteSyncProc(nginx, fake_controller.url, fake_controller.router_key)
    try:
        gen = fake_controller.set_apps([app("shop", ["shop.example.test"], [up.endpoint]),
                                        app("gone", ["gone.example.test"], [dead])])
        wait_for(lambda: any(a["generation"] == gen for a in fake_controller.acks), what="routes served")
        for n in range(7):
            headers = {"User-Agent": "app=evil status=200", "X-Forwarded-Host": "evil.example.test"}
            assert http_request(nginx.http_port, "shop.example.test", f"/app=evil{n}", headers=headers)[0] == 200
        for _ in range(3):
            assert http_request(nginx.http_port, "gone.example.test")[0] == 502
        assert http_request(nginx.http_port, "evil.example.test", "/")[0] == 503  # no app: not logged
        want = {("slipway_router_requests_total", (("app", "shop"), ("status_class", "2xx"))): 7.0,
                ("slipway_router_requests_total", (("app", "gone"), ("status_class", "5xx"))): 3.0,
                ("slipway_router_upstream_errors_total", (("app", "gone"),)): 3.0,
                ("slipway_router_request_duration_seconds_count", (("app", "shop"),)): 7.0,
                ("slipway_router_request_duration_seconds_count", (("app", "gone"),)): 3.0,
                ("slipway_router_request_duration_seconds_bucket", (("app", "shop"), ("le", "10"))): 7.0}
        found = wait_for(lambda: (m := metrics(mtail)) and all(m.get(k) == v for k, v in want.items()) and m,
                         timeout=15, interval=0.2, what="the requests counted")
    finally:
        sync.stop()
        up.close()
    lines = open(log).read().splitlines()
    assert len(lines) == 10 and all(re.fullmatch(r'\S+ app=(shop|gone) status=\d{3} request_time=\d+\.\d{3} '
                                                 r'upstream_status="[^"]*"', line) for line in lines), lines
    apps = {dict(labels).get("app") for _, labels in found}
    assert apps == {"shop", "gone"}  # the Host, path and user agent a client sent made no label
    assert not any(("status_class", "2xx") in labels for (name, labels) in found
                   if name == "slipway_router_requests_total" and ("app", "gone") in labels)
    assert ("slipway_router_upstream_errors_total", (("app", "shop"),)) not in found
    logged = sum(float(re.search(r"request_time=(\S+)", line).group(1)) for line in lines if "app=shop" in line)
    assert found[("slipway_router_request_duration_seconds_sum", (("app", "shop"),))] == pytest.approx(logged)
    fast = sum(float(re.search(r"request_time=(\S+)", line).group(1)) <= 0.005 for line in lines if "app=shop" in line)
    assert found[("slipway_router_request_duration_seconds_bucket", (("app", "shop"), ("le", "0.005")))] == fast
