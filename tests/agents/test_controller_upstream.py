"""The router's controller vhost in front of a controller served over TLS (multi-host layouts): a real nginx, rendered
by the route sync, proxies to the HTTPS upstream only when its certificate verifies with the CA the router was given
(the platform CA), and never unverified when it was given none (the system's trust then)."""
from __future__ import annotations

import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import http_request, wait_for
from tests.controller.certgen import self_signed

CONTROLLER = "slipway.paas.test"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        data = json.dumps({"name": "controller", "path": self.path, "host": self.headers["Host"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    """A controller stand-in over HTTPS at https://localhost:<port>; its certificate is its own CA."""
    folder = tmp_path_factory.mktemp("controller-tls")
    folder.chmod(0o755)
    for name, pem in zip(("cert.pem", "key.pem"), self_signed("localhost")):
        (folder / name).write_text(pem)
    stranger = folder / "stranger.pem"
    stranger.write_text(self_signed("localhost")[0])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"url": f"https://localhost:{httpd.server_address[1]}", "ca": str(folder / "cert.pem"),
           "stranger": str(stranger)}
    httpd.shutdown()


def through_router(fake_controller, routesync, nginx, controller, **ca) -> int:
    fake_controller.set_apps([])
    routesync(fake_controller.url, fake_controller.router_key, SLIPWAY_PLATFORM_DOMAIN="paas.test",
              SLIPWAY_CONTROLLER_UPSTREAM=controller["url"], **ca)
    wait_for(lambda: fake_controller.acks, what="ack")
    status, _, body = http_request(nginx.http_port, CONTROLLER, "/v2/")
    if status == 200:
        assert json.loads(body) == {"name": "controller", "path": "/v2/", "host": CONTROLLER}
    return status


def test_the_platform_ca_verifies_the_controller(nginx, fake_controller, routesync, controller):
    assert through_router(fake_controller, routesync, nginx, controller,
                          SLIPWAY_UPSTREAM_CA_FILE=controller["ca"]) == 200


def test_a_controller_certificate_of_another_ca_is_refused(nginx, fake_controller, routesync, controller):
    assert through_router(fake_controller, routesync, nginx, controller,
                          SLIPWAY_UPSTREAM_CA_FILE=controller["stranger"]) == 502


def test_without_a_ca_the_upstream_is_still_verified(nginx, fake_controller, routesync, controller):
    """No CA given: the system's trust, which knows nothing of a private CA; never an unverified upstream."""
    assert through_router(fake_controller, routesync, nginx, controller) == 502


@pytest.mark.parametrize("ca, status", [("ca", 200), ("stranger", 502)])
def test_every_apps_acme_challenges_reach_an_https_controller_through_one_tls_context(
        nginx, fake_controller, routesync, controller, ca, status):
    """Each app's server carries /.well-known/acme-challenge/ to the controller; with an https controller they all
    go through one server and so one TLS context, still verified (a context per app costs every reload)."""
    apps = [{"id": f"a{i}", "domains": [f"a{i}.paas.test"], "endpoints": [{"address": "127.0.0.1", "port": 9}]}
            for i in range(30)]
    fake_controller.set_apps(apps)
    routesync(fake_controller.url, fake_controller.router_key, SLIPWAY_PLATFORM_DOMAIN="paas.test",
              SLIPWAY_CONTROLLER_UPSTREAM=controller["url"], SLIPWAY_UPSTREAM_CA_FILE=controller[ca])
    wait_for(lambda: fake_controller.acks, what="ack")
    for host in ("a0.paas.test", "a29.paas.test"):
        got, _, body = http_request(nginx.http_port, host, "/.well-known/acme-challenge/tok")
        assert got == status, (host, got, body)
        if got == 200:
            assert json.loads(body) == {"name": "controller", "path": "/.well-known/acme-challenge/tok", "host": host}
    conf = open(os.path.join(nginx.config_dir, "live", "slipway.conf")).read()
    assert conf.count("proxy_ssl_verify on;") == 2  # the controller's own server, and the challenges' one
