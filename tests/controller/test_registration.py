"""Registration modes (admin_only by default, enabled, disabled) and the first admin, which comes from the
bootstrap command on the controller host and never from the public register route."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import requests

from tests.live import ROOT, controller_env, fresh_database, free_port, live_controller, migrate, start, stop

from .conftest import Api


def bootstrap(env: dict, *args: str, password: str = "first-admin-pw") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "controller_app.bootstrap", *args, "--password-file", "-"],
                          env=env, cwd=ROOT, input=password + "\n", capture_output=True, text=True)


def test_admin_only_is_the_default_admins_register_users(ctl, admin, new_user):
    body = {"username": "newbie-default", "password": "long-enough-pw"}
    r = requests.post(ctl.url + "/v2/auth/register/", json=body, timeout=30)
    assert r.status_code == 401, r.text
    assert requests.post(ctl.url + "/v2/auth/register/", json={}, timeout=30).status_code == 401  # no hints
    assert new_user().post("/v2/auth/register/", body).status_code == 403
    made = admin.post("/v2/auth/register/", body)
    assert made.status_code == 201 and made.json()["is_superuser"] is False


def test_the_first_user_of_an_open_platform_is_not_an_admin():
    """No user yet and registration open: the first to register is an ordinary user (no race to become admin)."""
    with fresh_database() as db_url:
        env = controller_env(db_url, SLIPWAY_REGISTRATION_MODE="enabled", SLIPWAY_MONITOR_INTERVAL="0")
        migrate(env)
        port = free_port()
        process = start(env, port)
        try:
            url = f"http://127.0.0.1:{port}"
            body = {"username": "early-bird", "password": "early-bird-pw"}
            r = requests.post(url + "/v2/auth/register/", json=body, timeout=30)
            assert r.status_code == 201 and r.json()["is_superuser"] is False, r.text
            # the bootstrap under that name refuses to promote the stranger's account
            p = bootstrap(env, "--username", "early-bird", password="another-password")
            assert p.returncode == 1 and "is not this administrator" in p.stderr, p.stderr
            p = bootstrap(env, "--username", "early-bird", password="early-bird-pw")  # even with its password
            assert p.returncode == 1
            token = requests.post(url + "/v2/auth/login/", json=body, timeout=30).json()["token"]
            assert Api(url, token).get("/v2/auth/whoami/").json()["is_superuser"] is False
        finally:
            stop(process)


def test_bootstrap_is_idempotent_and_can_write_the_token_to_a_file(tmp_path):
    with live_controller(admin=("ops", "ops-password-1"), SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        assert Api(ctl.url, ctl.admin_token).get("/v2/auth/whoami/").json()["is_superuser"] is True
        again = bootstrap(ctl.env, "--username", "ops", password="ops-password-1")
        assert again.returncode == 0, again.stderr
        out = json.loads(again.stdout)
        assert out["created"] is False and out["token"] != ctl.admin_token
        assert Api(ctl.url, out["token"]).get("/v2/users/").status_code == 200
        assert Api(ctl.url, ctl.admin_token).get("/v2/users/").status_code == 200  # earlier tokens stay
        assert bootstrap(ctl.env, "--username", "ops", password="not-the-password").returncode == 1

        path = tmp_path / "token"
        made = bootstrap(ctl.env, "--username", "second-admin", "--token-file", str(path),
                         password="second-admin-pw")
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout) == {"created": True, "username": "second-admin"}
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        me = Api(ctl.url, path.read_text().strip()).get("/v2/auth/whoami/").json()
        assert me["username"] == "second-admin" and me["is_superuser"] is True

        short = bootstrap(ctl.env, "--username", "third-admin", password="short")
        assert short.returncode == 1 and "password" in short.stderr
        assert not any(u["username"] == "third-admin"
                       for u in Api(ctl.url, ctl.admin_token).get("/v2/users/").json()["results"])


def test_open_and_disabled_registration():
    with live_controller(SLIPWAY_REGISTRATION_MODE="enabled", SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        r = requests.post(ctl.url + "/v2/auth/register/", json={"username": "walk-in", "password": "walk-in-pw"},
                          timeout=30)
        assert r.status_code == 201 and r.json()["is_superuser"] is False
    with live_controller(SLIPWAY_REGISTRATION_MODE="disabled", SLIPWAY_MONITOR_INTERVAL="0") as ctl:
        r = requests.post(ctl.url + "/v2/auth/register/", json={"username": "late", "password": "late-comer"},
                          timeout=30)
        assert r.status_code == 403 and "disabled" in r.json()["detail"]
        admin = Api(ctl.url, ctl.admin_token)
        assert admin.post("/v2/auth/register/", {"username": "late", "password": "late-comer"}).status_code == 403
