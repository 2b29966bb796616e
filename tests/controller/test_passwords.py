"""Passwords: a minimum length everywhere one is set, a change revokes the user's other tokens, and an unknown
username costs the same password hash as a wrong password."""
from __future__ import annotations

import hashlib

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from controller_app.services import accounts, passwords

from .conftest import Api


def login(ctl, username: str, password: str) -> requests.Response:
    return requests.post(ctl.url + "/v2/auth/login/", json={"username": username, "password": password}, timeout=30)


def test_short_passwords_are_refused_deis_style(ctl, admin, new_user):
    r = admin.post("/v2/auth/register/", {"username": "shorty", "password": "seven77"})
    assert r.status_code == 400 and "at least 8" in r.json()["password"][0], r.text
    assert admin.post("/v2/auth/register/", {"username": "shorty", "password": "eight888"}).status_code == 201
    me = new_user()
    r = me.post("/v2/auth/passwd/", {"password": "secret-pw", "new_password": "short"})
    assert r.status_code == 400 and "password" in r.json(), r.text
    r = admin.post("/v2/auth/passwd/", {"username": me.username, "new_password": "short"})
    assert r.status_code == 400 and "password" in r.json(), r.text
    assert login(ctl, me.username, "secret-pw").status_code == 200  # nothing changed


def test_a_password_change_revokes_the_other_tokens_and_keeps_the_callers(ctl, new_user):
    me = new_user()
    laptop = Api(ctl.url, login(ctl, me.username, "secret-pw").json()["token"])
    assert laptop.get("/v2/auth/whoami/").status_code == 200
    r = me.post("/v2/auth/passwd/", {"password": "secret-pw", "new_password": "changed-password"})
    assert r.status_code == 200, r.text
    assert laptop.get("/v2/auth/whoami/").status_code == 401  # e.g. a stolen token stops working
    assert me.get("/v2/auth/whoami/").status_code == 200  # the session that changed it goes on


def test_an_admin_setting_a_password_revokes_all_the_users_tokens(ctl, admin, new_user):
    me = new_user()
    assert admin.post("/v2/auth/passwd/", {"username": me.username, "new_password": "reset-by-admin"}).status_code == 200
    assert me.get("/v2/auth/whoami/").status_code == 401
    assert admin.get("/v2/auth/whoami/").status_code == 200
    assert login(ctl, me.username, "reset-by-admin").status_code == 200


@pytest.fixture
def scrypt_calls(monkeypatch):
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_an_unknown_username_runs_the_password_hash(ctl, new_user, scrypt_calls, monkeypatch):
    monkeypatch.setenv("SLIPWAY_DATABASE_URL", ctl.database_url)
    me = new_user()
    with Session(create_engine(ctl.database_url)) as db:
        passwords.dummy_hash()  # made once per process, before the counting starts
        scrypt_calls.clear()
        assert accounts.authenticate(db, me.username, "not-the-password") is None
        wrong = len(scrypt_calls)
        scrypt_calls.clear()
        assert accounts.authenticate(db, "nobody-" + me.username, "not-the-password") is None
        unknown = len(scrypt_calls)
        assert accounts.authenticate(db, me.username, "secret-pw").username == me.username
    assert wrong == unknown == 1
