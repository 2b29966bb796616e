"""The node agent's HTTP probe (slipway_agents/probe.py) against real servers that record every connection reset:
a probe must leave none, whatever the answer's framing, and judge the status by the controller's rule."""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import ROOT, SYSTEM_PYTHON, free_port, wait_for

from slipway_agents.probe import probe, tcp_probe

BIG = b"x" * (300 * 1024)


class Recording(ThreadingHTTPServer):
    """A keep-alive HTTP/1.1 server (like the sample app) that records the errors its connections end with."""

    daemon_threads = True

    def __init__(self):
        self.errors: list[BaseException] = []
        self.requests: list[dict] = []
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request, client_address):
        import sys
        self.errors.append(sys.exc_info()[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status: int, body: bytes, length: bool = True, headers: dict | None = None):
        self.send_response(status)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self.wfile.write(body)  # a second write, as the sample app's: the body arrives after the head

    def do_GET(self):  # noqa: C901 (one branch per kind of answer)
        self.server.requests.append({"path": self.path, "headers": dict(self.headers.items())})
        if self.path == "/":
            self.send(200, b"ok\n")
        elif self.path.startswith("/status/"):
            self.send(int(self.path.rsplit("/", 1)[1]), b"status\n")
        elif self.path == "/big":
            self.send(200, BIG)
        elif self.path == "/huge":
            self.send(200, b"y" * (2 * 1024 * 1024))
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"hello ", b"x" * 70000, b"!"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/until-close":
            self.close_connection = True
            self.send(200, b"z" * 100000, length=False)
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send(200, b"late\n")
        elif self.path == "/stream":
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"tick\n")
                    self.wfile.flush()
                    time.sleep(0.01)
            except OSError:
                self.close_connection = True
        else:
            self.send(404, b"no\n")


@pytest.fixture
def server():
    s = Recording()
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()


def resets(server: Recording) -> list:
    time.sleep(0.2)  # the server's side of the last connection ends after the probe returned
    return [e for e in server.errors if isinstance(e, ConnectionResetError)]


def test_a_rude_close_is_what_the_server_records(server):
    """The control: a client that closes with the answer unread resets the connection, and the server sees it."""
    with socket.create_connection(server.server_address) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(10)
        time.sleep(0.2)  # the rest of the answer waits, unread, in the kernel
    assert wait_for(lambda: resets(server), what="the reset recorded")


@pytest.mark.parametrize("path", ["/", "/big", "/chunked", "/until-close", "/status/404", "/status/204"])
def test_reads_every_framing_to_its_end_and_leaves_no_reset(server, path):
    for _ in range(5):
        ok, message = probe("127.0.0.1", server.server_address[1], path, timeout=2)
        assert ok, message
    assert resets(server) == []
    sent = server.requests[-1]["headers"]
    assert sent["Host"] == "health.local" and sent["User-Agent"] == "slipway-health"
    assert sent["Connection"] == "close"


def test_the_controllers_rule(server):
    port = server.server_address[1]
    assert probe("127.0.0.1", port, "/status/404")[0] is True               # the default check: below 500
    assert probe("127.0.0.1", port, "/status/500")[0] is False
    assert probe("127.0.0.1", port, "/status/404", explicit=True)[0] is False  # an explicit path: 200-399
    assert probe("127.0.0.1", port, "/status/302", explicit=True)[0] is True
    assert probe("127.0.0.1", port, "/status/503", explicit=True) == (False, f"127.0.0.1:{port} answered 503")
    assert resets(server) == []


def test_the_apps_headers(server):
    """They go with the request; Host, Connection and the framing stay the probe's; a User-Agent replaces its own."""
    port = server.server_address[1]
    headers = (("X-Probe", "secret"), ("User-Agent", "app-check/1"), ("Host", "evil.example"),
               ("Connection", "keep-alive"), ("content-length", "5"), ("Transfer-Encoding", "chunked"))
    assert probe("127.0.0.1", port, "/", headers=headers) == (True, f"127.0.0.1:{port} answered 200")
    sent = server.requests[-1]["headers"]
    assert sent == {"Host": "health.local", "User-Agent": "app-check/1", "Accept": "*/*", "X-Probe": "secret",
                    "Connection": "close"}
    assert resets(server) == []


def test_tcp(server):
    port = server.server_address[1]
    assert tcp_probe("127.0.0.1", port) == (True, f"127.0.0.1:{port} accepted a connection")
    ok, message = tcp_probe("127.0.0.1", free_port(), 0.5)
    assert not ok and "ConnectionRefusedError" in message
    assert resets(server) == []


def test_timeouts_and_refusals_fail(server):
    port = server.server_address[1]
    started = time.monotonic()
    ok, message = probe("127.0.0.1", port, "/slow", timeout=0.5)
    assert not ok and "TimeoutError" in message and time.monotonic() - started < 1.2
    ok, message = probe("127.0.0.1", free_port(), "/", timeout=0.5)
    assert not ok and "ConnectionRefusedError" in message


def test_a_page_that_goes_on_is_judged_by_its_status(server):
    """A stream (or a page over 1 MiB) is closed once the bound or the timeout is reached; its status counts."""
    ok, message = probe("127.0.0.1", server.server_address[1], "/stream", timeout=0.5)
    assert ok and "answered 200 (body not read to its end" in message
    ok, message = probe("127.0.0.1", server.server_address[1], "/huge", timeout=2)
    assert ok and "over 1 MiB" in message


def test_not_http_fails():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def answer():
            conn, _ = listener.accept()
            conn.recv(1000)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            conn.close()

        threading.Thread(target=answer, daemon=True).start()
        ok, message = probe("127.0.0.1", listener.getsockname()[1], "/", timeout=2)
    assert not ok and "not an HTTP/1.x answer" in message


def test_the_sample_app_logs_nothing():
    """examples/hello (keep-alive, head and body in two writes) under many probes: not one traceback."""
    port = free_port()
    proc = subprocess.Popen([SYSTEM_PYTHON, os.path.join(ROOT, "examples", "hello", "app.py")],
                            env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: probe("127.0.0.1", port)[0], what="the sample app")
        for _ in range(50):
            ok, message = probe("127.0.0.1", port)
            assert ok, message
        time.sleep(0.3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"Traceback" not in err and b"ConnectionResetError" not in err, err.decode()


def test_a_port_that_closes_at_once_fails():
    """What a userland proxy does while the app in the container does not listen yet."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def close():
            conn, _ = listener.accept()
            conn.close()

        threading.Thread(target=close, daemon=True).start()
        ok, message = probe("127.0.0.1", listener.getsockname()[1], "/", timeout=2)
    # closed before the request went out (a reset) or after (no answer), as the scheduling of the two threads has it
    assert not ok and message.endswith(("closed without an answer", "ConnectionResetError", "BrokenPipeError")), \
        message
