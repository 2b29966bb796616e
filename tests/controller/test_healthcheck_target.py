"""The controller's health probe (services/health.py) reaches the task's own published port only, whatever a stored
check says; it runs a readiness probe's httpGet (with its headers, the Host header its own) and tcpSocket handlers
against real local servers."""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading

from controller_app import probes
from controller_app.services import health
from tests.live import free_port


@contextlib.contextmanager
def answering(status: int, seen: list | None = None):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            if seen is not None:
                seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def listening():
    """A TCP port that accepts connections and says nothing."""
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def readiness(**handler) -> dict:
    return probes.check("web", {"readinessProbe": handler})["readinessProbe"]


def test_a_probe_naming_another_port_still_reaches_the_tasks_own_port_only():
    closed = free_port()
    with answering(200) as other_service:  # something else on the node, e.g. a platform service
        for probe in (readiness(httpGet={"path": "/", "port": other_service}),
                      readiness(tcpSocket={"port": other_service})):
            ok, message = health.check("127.0.0.1", closed, probe, target=5000)
            assert not ok and str(other_service) not in message, message
            assert not health.runnable(probe, 5000)
    with answering(200) as task_port:
        ok, message = health.check("127.0.0.1", task_port, readiness(exec={"command": ["true"]}), target=5000)
        assert ok and message.endswith("accepted a connection"), message  # what the controller cannot run


def test_http_get_sends_the_probes_headers_but_keeps_its_host():
    seen: list = []
    headers = [{"name": "X-Probe", "value": "yes: 1"}, {"name": "Host", "value": "evil.example"},
               {"name": "user-agent", "value": "tenant-agent"}]
    probe = readiness(httpGet={"path": "/ready?x=1", "port": 5000, "httpHeaders": headers})
    with answering(204, seen) as port:
        ok, message = health.check("127.0.0.1", port, probe, target=5000)
    assert ok and message.endswith("answered 204"), message
    path, got = seen[0]
    assert path == "/ready?x=1" and got["x-probe"] == "yes: 1"
    assert got["host"] == "health.local" and got["user-agent"] == "tenant-agent"


def test_http_get_passes_with_200_to_399_and_the_default_check_below_500():
    probe = readiness(httpGet={"path": "/"})
    for status, explicit, default in ((200, True, True), (302, True, True), (404, False, True), (500, False, False)):
        with answering(status) as port:
            assert health.check("127.0.0.1", port, probe, target=port)[0] is explicit, status
            assert health.check("127.0.0.1", port, None)[0] is default, status


def test_tcp_socket_passes_when_the_port_accepts_a_connection():
    probe = readiness(tcpSocket={})
    with listening() as port:
        ok, message = health.check("127.0.0.1", port, probe, target=port)
        assert ok and message.endswith("accepted a connection"), message
    closed = free_port()
    ok, message = health.check("127.0.0.1", closed, probe, target=closed)
    assert not ok and "ConnectionRefused" in message, message


def test_a_silent_port_fails_the_http_probe_within_its_timeout():
    with listening() as port:
        ok, message = health.check("127.0.0.1", port, readiness(httpGet={}, timeoutSeconds=1), target=port)
    assert not ok and "timeout" in message.lower(), message
