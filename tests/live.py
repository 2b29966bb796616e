"""Start a real controller (uvicorn + a fresh PostgreSQL database + the real Swarm scheduler) for tests.

Usage:
    with live_controller() as ctl:   # ctl.url, ctl.builder_key, ctl.router_key, ctl.env (all the settings:
        ...                          # SLIPWAY_NODE_KEY for the node agents' reports)
        requests.get(ctl.url + "/healthz")

Needs scripts/dev-services.sh to have run (the test command does it).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN_URL = os.environ.get("SLIPWAY_TEST_PG", "postgresql://postgres@127.0.0.1:55432/postgres")


@dataclasses.dataclass
class Controller:
    url: str
    database_url: str
    builder_key: str
    router_key: str
    env: dict
    process: subprocess.Popen
    admin_token: str = ""  # the platform's first admin, made by the bootstrap command as the role makes it
    admin_password: str = ""
    admin_username: str = "admin"

    def restart(self, kill: bool = False) -> None:
        """Stop the controller (SIGKILL when `kill`) and start it again on the same database and port."""
        if kill:
            self.process.kill()
            self.process.wait()
        else:
            stop(self.process)
        self.process = start(self.env, int(self.url.rsplit(":", 1)[1]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str, url: str = PG_ADMIN_URL) -> None:
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def fresh_database():
    name = "slipway_test_" + secrets.token_hex(4)
    psql(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def controller_env(database_url: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "SLIPWAY_DATABASE_URL": database_url,
        "SLIPWAY_PLATFORM_DOMAIN": "slipway.test",
        "SLIPWAY_BUILDER_KEY": "builder-" + secrets.token_hex(16),
        "SLIPWAY_ROUTER_KEY": "router-" + secrets.token_hex(16),
        "SLIPWAY_NODE_KEY": "node-" + secrets.token_hex(16),
        "SLIPWAY_METRICS_KEY": "metrics-" + secrets.token_hex(16),
        "SLIPWAY_SECRET_KEY": "secret-" + secrets.token_hex(16),
        "SLIPWAY_REGISTRY_GC_KEY": "gc-" + secrets.token_hex(16),
        "SLIPWAY_BUILDER_CLEANUP_KEY": "cleanup-" + secrets.token_hex(16),
        "SLIPWAY_REGISTRY_PULL_PASSWORD": "pull-" + secrets.token_hex(16),
        "SLIPWAY_REGISTRY_BUILDER_PASSWORD": "builder-" + secrets.token_hex(16),
        "SLIPWAY_NODE_ADDRESS": "127.0.0.1",
        "PYTHONPATH": ROOT,
    })
    env.update(extra)
    return env


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "controller_app.migrate"], env=env, cwd=ROOT, check=True)


def bootstrap_admin(env: dict, username: str = "admin", password: str | None = None) -> tuple[str, str]:
    """The first admin through `python -m controller_app.bootstrap` (the shipped command): (password, token)."""
    password = password or "admin-" + secrets.token_hex(8)
    out = subprocess.run([sys.executable, "-m", "controller_app.bootstrap", "--username", username,
                          "--email", f"{username}@example.test", "--password-file", "-"], env=env, cwd=ROOT,
                         input=password + "\n", capture_output=True, text=True, check=True).stdout
    return password, json.loads(out)["token"]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


def start(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "controller_app.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-proxy-headers"], env=env, cwd=ROOT)
    wait_http(f"http://127.0.0.1:{port}/readiness")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def live_controller(admin: tuple[str, str] | None = None, **extra_env: str):
    """A controller on a fresh database with its first admin (`admin`: (username, password), default random)."""
    with fresh_database() as db_url:
        env = controller_env(db_url, **extra_env)
        migrate(env)
        username, password = admin or ("admin", None)
        password, token = bootstrap_admin(env, username, password)
        port = free_port()
        ctl = Controller(f"http://127.0.0.1:{port}", db_url, env["SLIPWAY_BUILDER_KEY"], env["SLIPWAY_ROUTER_KEY"],
                         env, start(env, port), token, password, username)
        try:
            yield ctl
        finally:
            stop(ctl.process)
