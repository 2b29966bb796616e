"""Fixtures for the CLI tests: an isolated SLIPWAY_HOME/HOME, an in-process runner and a stub controller;
for the end-to-end tests (test_e2e_*.py), a live controller and its admin's shell.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

CLI_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "cli")
if CLI_DIR not in sys.path:
    sys.path.insert(0, CLI_DIR)

from slipway_cli import config  # noqa: E402
from slipway_cli.main import main  # noqa: E402
pytest.register_assert_rewrite("tests.cli.e2e_session")  # its checks report like a test's own asserts
from tests.cli.e2e_session import Session  # noqa: E402
from tests.live import live_controller  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HOME and SLIPWAY_HOME; the working directory is an empty dir (not a git repo)."""
    h = tmp_path / "home"
    h.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("SLIPWAY_HOME", str(h / ".slipway"))
    monkeypatch.delenv("SLIPWAY_PROFILE", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "t")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.com")
    monkeypatch.chdir(work)
    return h


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(home, capsys):
    """Run the CLI in-process: cli("apps:list", "--json") -> Result(code, out, err)."""
    def run(*argv):
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse usage errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return run


class Stub:
    """A tiny HTTP server standing in for the controller: register answers per (method, path)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _do(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                req = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                       "headers": dict(self.headers), "body": body}
                stub.requests.append(req)
                answer = stub.routes.get((self.command, parts.path))
                if answer is None:
                    status, payload, ctype = 404, {"detail": "Not found."}, "application/json"
                else:
                    if callable(answer):
                        answer = answer(req)
                    status, payload = answer[0], answer[1]
                    ctype = answer[2] if len(answer) > 2 else "application/json"
                data = b""
                if payload is not None:
                    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _do

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def on(self, method, path, status=200, body=None, ctype="application/json"):
        self.routes[(method, path)] = (status, body, ctype) if not callable(status) else status
        return self

    def last(self, method=None, path=None):
        for r in reversed(self.requests):
            if (method is None or r["method"] == method) and (path is None or r["path"] == path):
                return r
        raise AssertionError(f"no {method} {path} request; got {[(r['method'], r['path']) for r in self.requests]}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


TOKEN = "tok-0123456789abcdef0123456789abcdef"


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


@pytest.fixture
def logged_in(home, stub):
    """A profile logged in to the stub as alice."""
    p = config.load()
    p.url, p.username, p.token = stub.url, "alice", TOKEN
    config.save(p)
    return stub


# ---- end-to-end: a live controller (one per module) and its admin ------------------------------------
@pytest.fixture(scope="module")
def ctl():
    with live_controller(admin=("admin", "pw-admin-123")) as c:  # the admin the bootstrap command makes
        yield c


@pytest.fixture(scope="module")
def admin(ctl, tmp_path_factory):
    """The platform's admin (made by the bootstrap command), logged in; registration is admin_only."""
    s = Session(ctl, tmp_path_factory.mktemp("admin"))
    err = s.fails("register", ctl.url, "--username", "walk-in", "--password", "pw-walk-in-123")
    assert "Authentication credentials were not provided" in err
    assert "Logged in as admin" in s.ok("login", ctl.url, "--username", "admin", "--password", "pw-admin-123")
    return s
