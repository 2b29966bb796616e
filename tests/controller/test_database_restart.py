"""PostgreSQL restarted (or briefly down) while the controller serves: the controller recovers by itself.

Uses a PostgreSQL of its own (initdb in a temporary directory, its own port), so that restarting it does
not disturb anything else using the shared test database server.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import types

import pytest
import requests

from tests.live import bootstrap_admin, controller_env, free_port, migrate, start, stop

from .conftest import register

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
RESTART_WAIT = 8  # seconds the controller waits for a database that refuses connections


def as_postgres(*cmd: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(cmd)], check=True, stdout=subprocess.DEVNULL)


class Server:
    def __init__(self, data: str, port: int):
        self.data, self.port = data, port

    def pg_ctl(self, action: str, *extra: str) -> None:
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", f"{self.data}/log", "-w", *extra, action)

    def start(self) -> None:
        self.pg_ctl("start", "-o", f"'-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off'")


@pytest.fixture(scope="module")
def own_postgres():
    base = tempfile.mkdtemp(prefix="slipway-pg-")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    os.mkdir(data)
    shutil.chown(data, "postgres")
    as_postgres(f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    server = Server(data, free_port())
    server.start()
    try:
        subprocess.run(["psql", f"postgresql://postgres@127.0.0.1:{server.port}/postgres", "-q", "-c",
                        "CREATE DATABASE slipway"], check=True, stdout=subprocess.DEVNULL)
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def controller(own_postgres):
    env = controller_env(f"postgresql://postgres@127.0.0.1:{own_postgres.port}/slipway",
                         SLIPWAY_MONITOR_INTERVAL="1", SLIPWAY_DATABASE_RESTART_WAIT=str(RESTART_WAIT))
    migrate(env)
    _, admin_token = bootstrap_admin(env)
    port = free_port()
    process = start(env, port)
    try:
        yield types.SimpleNamespace(url=f"http://127.0.0.1:{port}", admin_token=admin_token)
    finally:
        stop(process)


def test_requests_keep_working_right_after_a_postgresql_restart(own_postgres, controller):
    user = register(controller, "restart")
    app_id = user.post("/v2/apps/", {}).json()["id"]
    for _ in range(20):  # several pooled connections of each kind
        assert user.get(f"/v2/apps/{app_id}/config/").status_code == 200
        assert user.get(f"/v2/apps/{app_id}/").status_code == 200

    own_postgres.pg_ctl("restart", "-m", "fast")

    # every pooled connection is dead now; none of these may fail
    for _ in range(20):
        r = user.get(f"/v2/apps/{app_id}/config/")
        assert r.status_code == 200, r.text
        assert user.get(f"/v2/apps/{app_id}/").status_code == 200
    r = user.post(f"/v2/apps/{app_id}/config/", {"values": {"AFTER": "restart"}})
    assert r.status_code == 201, r.text
    assert user.get(f"/v2/apps/{app_id}/config/").json()["values"] == {"AFTER": "restart"}


def test_postgresql_down_answers_503_then_recovers_without_a_controller_restart(own_postgres, controller):
    user = register(controller, "outage")
    app_id = user.post("/v2/apps/", {}).json()["id"]
    own_postgres.pg_ctl("stop", "-m", "fast")
    try:  # each request waits RESTART_WAIT seconds for the database first
        r = user.get(f"/v2/apps/{app_id}/config/")
        assert r.status_code == 503 and "database" in r.json()["detail"]
        assert user.get(f"/v2/apps/{app_id}/").status_code == 503
    finally:
        own_postgres.start()
    assert user.get(f"/v2/apps/{app_id}/config/").status_code == 200
    assert user.get(f"/v2/apps/{app_id}/").status_code == 200
    assert requests.get(controller.url + "/readiness", timeout=10).status_code == 200


def test_requests_sent_during_a_postgresql_restart_wait_for_it_instead_of_failing(own_postgres, controller):
    """A converge that changes a setting PostgreSQL reads at start (listen_addresses) restarts it under load:
    readiness probes and API reads sent while it is down must wait for it, not answer 503."""
    user = register(controller, "during")
    app_id = user.post("/v2/apps/", {}).json()["id"]
    answers: list[int] = []
    done = threading.Event()

    def keep_asking(path: str, headers: dict) -> None:
        with requests.Session() as session:
            while not done.is_set():
                answers.append(session.get(controller.url + path, headers=headers, timeout=60).status_code)

    askers = [threading.Thread(target=keep_asking, args=("/readiness", {})),
              threading.Thread(target=keep_asking, args=("/readiness", {})),
              threading.Thread(target=keep_asking, args=(f"/v2/apps/{app_id}/config/", user.headers())),
              threading.Thread(target=keep_asking, args=(f"/v2/apps/{app_id}/", user.headers()))]
    for asker in askers:
        asker.start()
    try:
        for _ in range(3):
            time.sleep(1)  # answers from a database up, before and between the restarts
            own_postgres.pg_ctl("restart", "-m", "fast")
        time.sleep(1)
    finally:
        done.set()
        for asker in askers:
            asker.join()
    failed = [code for code in answers if code != 200]
    assert len(answers) > 40 and not failed, f"{len(failed)} of {len(answers)} answers failed: {set(failed)}"
