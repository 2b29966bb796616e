"""Stand-ins for the agents' peers: the controller's `/v2/routes` + builder hooks, and tiny app upstreams.

The controller stand-in is used only where the real controller cannot be yet; every suite also has a test
against `tests/live.py`'s live controller.
"""
from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def app_uuid(app: str) -> str:
    """The uuid the stand-in gives an app (stable for its name)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, app))


class FakeController:
    """`/v2/routes` (long poll + ack), `/v2/hooks/key|push|config` and the node agents' `/v2/hooks/nodes/report/`
    with the documented auth headers. `port` 0 picks a free one; a stand-in started again on the port of one
    that stopped is the same controller back from an outage."""

    def __init__(self, router_key: str = "router-secret", builder_key: str = "builder-secret",
                 node_key: str = "node-secret", port: int = 0):
        self.router_key = router_key
        self.builder_key = builder_key
        self.node_key = node_key
        self.reports: list[dict] = []  # node reports as received, each with `received` (monotonic)
        self.generation = 1
        self.apps: list[dict] = []
        self.acks: list[dict] = []
        self.on_ack = None  # callable(body) run inside the ack request, before it answers
        self.keys: dict[str, str] = {}  # SHA256 fingerprint -> username
        self.perms: dict[str, set[str]] = {}  # app -> usernames
        self.push_tokens: dict[str, str] = {}  # push token -> app (what /v2/hooks/push/ issued)
        self.requests: list[tuple[str, str]] = []
        self.fail_hooks = False
        self.key_lookups = 0  # GET /v2/hooks/key/... answered
        self.cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=None, headers=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (router stopped mid long-poll)
                    self.close_connection = True

            def body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"null")

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                fake.requests.append(("GET", u.path))
                if u.path.rstrip("/") == "/v2/routes":
                    if self.headers.get("X-Slipway-Router-Auth") != fake.router_key:
                        return self.reply(401, {"detail": "bad router key"})
                    q = urllib.parse.parse_qs(u.query)
                    if "wait" in q and "generation" in q:
                        deadline = time.monotonic() + float(q["wait"][0])
                        with fake.cond:
                            while str(fake.generation) == q["generation"][0]:
                                left = deadline - time.monotonic()
                                if left <= 0:
                                    return self.reply(304, None, {"ETag": f'"{fake.generation}"'})
                                fake.cond.wait(left)
                    return self.reply(200, fake.snapshot(), {"ETag": f'"{fake.generation}"'})
                if u.path.startswith("/v2/hooks/key/"):
                    fake.key_lookups += 1
                    if self.headers.get("X-Deis-Builder-Auth") != fake.builder_key:
                        return self.reply(401, {"detail": "bad builder key"})
                    if fake.fail_hooks:
                        return self.reply(500, {"detail": "boom"})
                    fp = urllib.parse.unquote(u.path[len("/v2/hooks/key/"):])
                    user = fake.keys.get(fp)
                    if user is None:
                        return self.reply(404, {"detail": "no such key"})
                    apps = sorted(a for a, us in fake.perms.items() if user in us)
                    return self.reply(200, {"username": user, "apps": apps})
                return self.reply(404, {"detail": "not found"})

            def do_POST(self):
                u = urllib.parse.urlsplit(self.path)
                fake.requests.append(("POST", u.path))
                body = self.body()
                if u.path == "/v2/routes/ack/":
                    if self.headers.get("X-Slipway-Router-Auth") != fake.router_key:
                        return self.reply(401, {"detail": "bad router key"})
                    entry = dict(body, at=time.monotonic())
                    if fake.on_ack:
                        entry["observed"] = fake.on_ack(body)
                    fake.acks.append(entry)
                    return self.reply(200, {})
                if u.path == "/v2/hooks/nodes/report/":
                    if self.headers.get("X-Slipway-Node-Auth") != fake.node_key:
                        return self.reply(401, {"detail": "bad node key"})
                    with fake.cond:
                        fake.reports.append(dict(body, received=time.monotonic()))
                        fake.cond.notify_all()
                    return self.reply(200, {})
                if u.path == "/v2/hooks/push/":
                    if self.headers.get("X-Deis-Builder-Auth") != fake.builder_key:
                        return self.reply(401, {"detail": "bad builder key"})
                    app, user = body.get("receive_repo"), body.get("receive_user")
                    if app not in fake.perms:
                        return self.reply(404, {"detail": "app not found"})
                    if user not in fake.perms[app]:
                        return self.reply(403, {"detail": "forbidden"})
                    answer = {"username": user, "app": app, "uuid": app_uuid(app)}
                    if body.get("action", "push") == "push":
                        answer.update(push_token=secrets.token_urlsafe(32), expires_in=900)
                        fake.push_tokens[answer["push_token"]] = app
                    return self.reply(200, answer)
                if u.path == "/v2/hooks/config/":  # the build's own config, read with its push token
                    app = fake.push_tokens.get(self.headers.get("X-Slipway-Push-Token") or "")
                    if app is None:
                        return self.reply(401, {"detail": "Invalid or expired push token."})
                    if body.get("receive_repo") not in (None, app):
                        return self.reply(403, {"detail": f"This push token is for {app}."})
                    return self.reply(200, {"values": {}, "tags": {}, "app": app, "uuid": app_uuid(app)})
                return self.reply(404, {"detail": "not found"})

            def do_DELETE(self):
                u = urllib.parse.urlsplit(self.path)
                fake.requests.append(("DELETE", u.path))
                if u.path == "/v2/hooks/push/":  # the push is over: its token ends
                    if fake.push_tokens.pop(self.headers.get("X-Slipway-Push-Token") or "", None) is None:
                        return self.reply(401, {"detail": "Invalid or expired push token."})
                    return self.reply(204)
                return self.reply(404, {"detail": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def snapshot(self) -> dict:
        return {"generation": self.generation, "apps": json.loads(json.dumps(self.apps))}

    def set_apps(self, apps: list[dict]) -> int:
        with self.cond:
            self.apps = apps
            self.generation += 1
            self.cond.notify_all()
            return self.generation

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


class Upstream:
    """A tiny app: answers JSON {name, path, headers}; upgrades websockets and echoes bytes."""

    def __init__(self, name: str):
        self.name = name
        up = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.send_response(101, "Switching Protocols")
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.end_headers()
                    self.wfile.flush()
                    self.connection.settimeout(5)
                    try:
                        while True:
                            data = self.connection.recv(4096)
                            if not data:
                                break
                            self.connection.sendall(b"echo:" + data)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                body = json.dumps({"name": up.name, "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = {"address": "127.0.0.1", "port": self.port}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
