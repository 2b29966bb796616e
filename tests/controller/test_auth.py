"""Registration, login, tokens and passwords against the live controller and its database."""
from __future__ import annotations

import hashlib
import subprocess

import requests

from .conftest import Api, register


def _sql(ctl, query: str) -> str:
    return subprocess.run(["psql", ctl.database_url, "-Atc", query], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_deis_clients_accept_the_server(anon):
    r = anon.get("/v2/")
    assert r.status_code == 401
    assert r.headers["DEIS_API_VERSION"] == "2.3"
    assert r.headers["DEIS_PLATFORM_VERSION"]
    assert "detail" in r.json()


def test_the_bootstrap_admin_is_admin_and_registered_users_are_not(admin, new_user):
    assert admin.get("/v2/auth/whoami/").json()["is_superuser"] is True
    me = new_user()
    body = me.get("/v2/auth/whoami/").json()
    assert body["username"] == me.username and body["is_superuser"] is False


def test_duplicate_username_and_bad_names_are_refused(admin, new_user):
    me = new_user()
    r = admin.post("/v2/auth/register/", {"username": me.username.upper(), "password": "long-enough"})
    assert r.status_code == 409
    r = admin.post("/v2/auth/register/", {"username": "no spaces", "password": "long-enough"})
    assert r.status_code == 400


def test_wrong_password_and_bad_token(ctl, new_user):
    me = new_user()
    r = requests.post(ctl.url + "/v2/auth/login/", json={"username": me.username, "password": "wrong"})
    assert r.status_code == 400
    assert Api(ctl.url, "not-a-token").get("/v2/apps/").status_code == 401
    r = requests.get(ctl.url + "/v2/apps/", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_secrets_are_stored_hashed(ctl, new_user):
    me = new_user()
    stored = _sql(ctl, f"SELECT password_hash FROM users WHERE username = '{me.username}'")
    assert stored.startswith("scrypt$") and "secret-pw" not in stored
    digests = _sql(ctl, f"SELECT digest FROM tokens JOIN users ON users.id = tokens.user_id "
                        f"WHERE username = '{me.username}'").split()
    assert me.token not in digests
    assert hashlib.sha256(me.token.encode()).hexdigest() in digests


def test_each_login_is_a_new_token_and_regenerate_revokes_all(ctl, new_user):
    me = new_user()
    second = requests.post(ctl.url + "/v2/auth/login/", json={"username": me.username, "password": "secret-pw"})
    other = Api(ctl.url, second.json()["token"])
    assert other.token != me.token and other.get("/v2/auth/whoami/").status_code == 200
    fresh = me.post("/v2/auth/tokens/").json()["token"]
    assert me.get("/v2/auth/whoami/").status_code == 401
    assert other.get("/v2/auth/whoami/").status_code == 401
    assert Api(ctl.url, fresh).get("/v2/auth/whoami/").status_code == 200


def test_passwd_needs_the_current_password(ctl, new_user):
    me = new_user()
    assert me.post("/v2/auth/passwd/", {"password": "wrong", "new_password": "new-password"}).status_code == 400
    assert me.post("/v2/auth/passwd/", {"password": "secret-pw", "new_password": "new-password"}).status_code == 200
    r = requests.post(ctl.url + "/v2/auth/login/", json={"username": me.username, "password": "new-password"})
    assert r.status_code == 200


def test_admin_can_reset_another_users_password_others_cannot(ctl, admin, new_user):
    a, b = new_user(), new_user()
    assert a.post("/v2/auth/passwd/", {"username": b.username, "new_password": "x-password"}).status_code == 403
    assert admin.post("/v2/auth/passwd/", {"username": b.username, "new_password": "y-password"}).status_code == 200
    r = requests.post(ctl.url + "/v2/auth/login/", json={"username": b.username, "password": "y-password"})
    assert r.status_code == 200


def test_cancel_refused_while_owning_apps(new_user):
    me = new_user()
    app = me.post("/v2/apps/", {}).json()["id"]
    r = me.delete("/v2/auth/cancel/")
    assert r.status_code == 409 and app in r.json()["detail"]
    assert me.delete(f"/v2/apps/{app}/").status_code == 204
    assert me.delete("/v2/auth/cancel/").status_code == 204
    assert me.get("/v2/auth/whoami/").status_code == 401


def test_users_list_is_for_admins(admin, new_user):
    me = new_user()
    assert me.get("/v2/users/").status_code == 403
    body = admin.get("/v2/users/?limit=1").json()
    assert body["count"] >= 2 and len(body["results"]) == 1 and body["next"]


def test_login_attempts_are_rate_limited(ctl):
    register(ctl, "throttled")
    codes = [requests.post(ctl.url + "/v2/auth/login/", json={"username": "throttled", "password": "bad"}).status_code
             for _ in range(25)]
    assert codes[0] == 400 and codes[-1] == 429


def test_a_nul_character_in_any_body_is_refused_not_a_server_error(anon, owner, app_id):
    """PostgreSQL cannot store NUL: found by the fuzzer as a 500 on login; every request body refuses it."""
    r = anon.post("/v2/auth/login/", {"username": "a\x00b", "password": "x"})
    assert r.status_code == 400 and "NUL" in str(r.json()["detail"]), r.text
    r = owner.post(f"/v2/apps/{app_id}/config/", {"values": {"GREETING": "hi\x00there"}})
    assert r.status_code == 400, r.text
    assert "GREETING" not in (owner.get(f"/v2/apps/{app_id}/config/").json()["values"] or {})
