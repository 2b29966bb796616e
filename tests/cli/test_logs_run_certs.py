"""The CLI's `logs -f`, `run` modes, `certs:auto*` against a stub controller, and its stdlib WebSocket client
against a small WebSocket server written here (handshake, masking, fragments, ping/pong, close, refusals)."""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading

import pytest

from slipway_cli.websocket import Closed, WebSocket, WebSocketError

TOKEN = "tok-0123456789abcdef0123456789abcdef"


# ---- logs -f ----------------------------------------------------------------------------------------
def test_logs_follow_streams_and_sends_params(logged_in, cli):
    logged_in.on("GET", "/v2/apps/a/logs/", 200, "web.1: one\nweb.2: two\n", "text/plain")
    r = cli("logs", "-f", "-a", "a", "--lines", "5", "--type", "web")
    assert r.code == 0 and r.out == "web.1: one\nweb.2: two\n"
    q = logged_in.last("GET")["query"]
    assert q == {"follow": ["true"], "log_lines": ["5"], "type": ["web"]}
    assert logged_in.last("GET")["headers"]["Authorization"] == f"token {TOKEN}"


def test_logs_follow_error_is_shown(logged_in, cli):
    logged_in.on("GET", "/v2/apps/a/logs/", 403, {"detail": "You do not have permission to perform this action."})
    r = cli("apps:logs", "--follow", "-a", "a")
    assert r.code == 1 and "permission" in r.err


# ---- run ----------------------------------------------------------------------------------------------
def test_run_without_terminal_keeps_the_post(logged_in, cli):
    logged_in.on("POST", "/v2/apps/a/run/", 200, {"exit_code": 0, "output": "ok\n"})
    r = cli("run", "-T", "-a", "a", "--", "echo", "ok")
    assert r.code == 0 and r.out == "ok\n"
    assert logged_in.last("POST")["body"] == {"command": "echo ok"}


def test_run_tty_against_a_controller_without_sessions(logged_in, cli):
    r = cli("run", "--tty", "-a", "a", "--", "sh")
    assert r.code == 1 and "interactive sessions" in r.err
    req = logged_in.last("GET", "/v2/apps/a/run/attach")
    assert req["headers"]["Authorization"] == f"token {TOKEN}"  # the token in a header, not the URL
    assert req["headers"]["Upgrade"].lower() == "websocket"
    assert "tok-" not in json.dumps(req["query"])


def test_run_tty_and_json_conflict(logged_in, cli):
    assert cli("run", "--tty", "--json", "-a", "a", "--", "sh").code == 1


# ---- certs:auto ---------------------------------------------------------------------------------------
AUTO = {"uuid": "u", "domain": "www.x.test", "app": "a", "owner": "alice", "status": "pending", "error": "",
        "cert": None, "expires": None, "issued": None, "last_attempt": None, "next_attempt": None,
        "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}


def test_certs_auto_waits_for_the_certificate(logged_in, cli, monkeypatch):
    monkeypatch.setattr("slipway_cli.commands.certs.time.sleep", lambda s: None)
    answers = iter([dict(AUTO, status="pending"),
                    dict(AUTO, status="valid", cert="acme-www.x.test", expires="2027-01-01T00:00:00Z")])
    logged_in.on("POST", "/v2/certs/auto/", 202, AUTO)
    logged_in.on("GET", "/v2/certs/auto/www.x.test", lambda req: (200, next(answers)))
    r = cli("certs:auto", "www.x.test")
    assert r.code == 0 and "acme-www.x.test" in r.out and "attached" in r.out, r
    assert logged_in.last("POST")["body"] == {"domain": "www.x.test"}


def test_certs_auto_failure_exits_1_with_the_reason(logged_in, cli, monkeypatch):
    monkeypatch.setattr("slipway_cli.commands.certs.time.sleep", lambda s: None)
    logged_in.on("POST", "/v2/certs/auto/", 202, AUTO)
    logged_in.on("GET", "/v2/certs/auto/www.x.test", 200,
                 dict(AUTO, status="failed", error="validation failed: www.x.test: connection refused"))
    r = cli("certs:auto", "www.x.test")
    assert r.code == 1 and "connection refused" in r.err


def test_certs_auto_info_renew_list_remove(logged_in, cli):
    logged_in.on("GET", "/v2/certs/auto/www.x.test", 200, dict(AUTO, status="failed", error="rateLimited: slow down"))
    r = cli("certs:auto:info", "www.x.test")
    assert r.code == 0 and "failed" in r.out and "rateLimited" in r.out
    logged_in.on("POST", "/v2/certs/auto/www.x.test/renew/", 202, dict(AUTO, status="renewing"))
    r = cli("certs:auto:renew", "www.x.test", "--no-wait")
    assert r.code == 0 and "Requested" in r.out
    logged_in.on("GET", "/v2/certs/auto/", 200, {"count": 1, "next": None, "previous": None,
                                                 "results": [dict(AUTO, status="valid")]})
    r = cli("certs:auto:list")
    assert r.code == 0 and "www.x.test" in r.out and "valid" in r.out
    logged_in.on("DELETE", "/v2/certs/auto/www.x.test", 204, None)
    assert cli("certs:auto:remove", "www.x.test").code == 0


# ---- the WebSocket client -----------------------------------------------------------------------------
class WsServer:
    """One-connection WebSocket server: runs `script(conn)` after the handshake (or refuses)."""

    def __init__(self, script, refuse: tuple[int, bytes] | None = None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v2/apps/a/run/attach"
        self.script, self.refuse = script, refuse
        self.request = b""
        self.received: list = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(4096)
            if self.refuse:
                status, body = self.refuse
                conn.sendall(f"HTTP/1.1 {status} No\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                return
            key = [ln.split(":", 1)[1].strip() for ln in self.request.decode().split("\r\n")
                   if ln.lower().startswith("sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                      .digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            self.script(self, conn)

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        head += bytes([n]) if n < 126 else (bytes([126]) + struct.pack("!H", n) if n < 65536
                                            else bytes([127]) + struct.pack("!Q", n))
        return head + payload

    @staticmethod
    def read_frame(conn) -> tuple[int, bytes]:
        def exact(n):
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data
        b1, b2 = exact(2)
        assert b2 & 0x80, "client frames must be masked"
        n = b2 & 0x7F
        if n == 126:
            n = struct.unpack("!H", exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", exact(8))[0]
        mask = exact(4)
        return b1 & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(exact(n)))


def test_websocket_roundtrip_fragments_ping_and_close():
    def script(server, conn):
        server.received.append(server.read_frame(conn))  # the client's first text frame
        server.received.append(server.read_frame(conn))  # a big binary frame (16-bit length)
        conn.sendall(server.frame(0x9, b"hb"))  # a ping: the client must answer pong
        server.received.append(server.read_frame(conn))
        conn.sendall(server.frame(0x2, b"out", fin=False) + server.frame(0x0, b"put"))
        conn.sendall(server.frame(0x1, json.dumps({"exit_code": 3}).encode()))
        conn.sendall(server.frame(0x8, struct.pack("!H", 1000) + b"bye"))
        server.received.append(server.read_frame(conn))  # the client's close answer

    server = WsServer(script)
    ws = WebSocket.connect(server.url, headers={"Authorization": "token secret"})
    ws.send_text('{"command": "sh"}')
    ws.send_binary(b"x" * 300)
    assert ws.recv() == b"output"
    assert json.loads(ws.recv()) == {"exit_code": 3}
    with pytest.raises(Closed) as closed:
        ws.recv()
    assert closed.value.code == 1000
    ws.close()
    server.thread.join(5)
    assert server.received == [(0x1, b'{"command": "sh"}'), (0x2, b"x" * 300), (0xA, b"hb"),
                               (0x8, struct.pack("!H", 1000))]
    head = server.request.decode()
    assert head.startswith("GET /v2/apps/a/run/attach HTTP/1.1\r\n") and "Authorization: token secret" in head


def test_websocket_refusal_carries_status_and_body():
    server = WsServer(None, refuse=(403, b'{"detail": "You do not have permission."}'))
    with pytest.raises(WebSocketError) as err:
        WebSocket.connect(server.url)
    assert err.value.status == 403 and b"permission" in err.value.body


def test_websocket_connect_errors():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(WebSocketError, match="cannot connect"):
        WebSocket.connect(f"http://127.0.0.1:{port}/x", timeout=2)
