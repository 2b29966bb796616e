"""The agents' HTTP client (slipway_agents.common.Client) against a real HTTPS server: what the builder and the
route sync rely on when the controller is reached over the platform's TLS (multi-host layouts)."""
from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from slipway_agents.common import Client, HTTPError
from tests.controller.certgen import self_signed


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/api/missing"):
            payload, status = {"detail": "Not found."}, 404
        else:
            payload, status = {"method": self.command, "path": self.path, "auth": self.headers.get("X-Auth"),
                               "body": json.loads(body) if body else None}, 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = answer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed("localhost")
    (folder / "cert.pem").write_text(cert)
    (folder / "key.pem").write_text(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{httpd.server_address[1]}", str(folder / "cert.pem")
    httpd.shutdown()


def test_https_with_the_platform_ca(server):
    url, ca = server
    client = Client(url + "/api/", {"X-Auth": "key"}, ca_file=ca)
    r = client.request("GET", "/routes", query={"generation": 7, "wait": 25})
    assert r.status == 200
    assert r.json() == {"method": "GET", "path": "/api/routes?generation=7&wait=25", "auth": "key", "body": None}
    r = client.request("POST", "/ack/", {"router": "r1", "generation": 7})
    assert r.json()["body"] == {"router": "r1", "generation": 7} and r.json()["method"] == "POST"


def test_errors_carry_the_status_and_refuse_an_unknown_ca(server):
    url, ca = server
    with pytest.raises(HTTPError) as e:
        Client(url + "/api", {}, ca_file=ca).request("GET", "/missing")
    assert e.value.status == 404 and "Not found." in e.value.body
    assert Client(url + "/api", {}, ca_file=ca).request("GET", "/missing", ok=(404,)).status == 404
    with pytest.raises(ssl.SSLCertVerificationError):  # an OSError, which every agent handles
        Client(url, {}).request("GET", "/anything")


def test_a_controller_url_must_be_http_or_https():
    for bad in ("", "ftp://controller", "controller:8000"):
        with pytest.raises(ValueError):
            Client(bad, {})
