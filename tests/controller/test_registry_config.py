"""A private registry's credentials in an app's config (Deis's `registry:set`): set, changed and unset as a
config delta, shown masked, kept sealed in the database (never in clear text there), refused when incomplete."""
from __future__ import annotations

import subprocess

import pytest

PASSWORD = "s3cret-Registry-pw"


def rows_text(ctl, sql: str) -> str:
    return subprocess.run(["psql", ctl.database_url, "-At", "-c", sql], check=True, capture_output=True,
                          text=True).stdout


def test_credentials_are_masked_and_sealed(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    r = owner.post(path, {"registry": {"username": "bob", "password": PASSWORD}})
    assert r.status_code == 201, r.text
    assert r.json()["registry"] == {"username": "bob", "password": "********"}
    assert owner.get(path).json()["registry"] == {"username": "bob", "password": "********"}
    releases = owner.get(f"/v2/apps/{app_id}/releases/").json()["results"]
    assert releases[0]["summary"] == f"{owner.username} added registry password, username"
    everything = rows_text(ctl, "SELECT c::text FROM configs c") + rows_text(ctl, "SELECT r::text FROM releases r")
    assert PASSWORD not in everything and '"bob"' in everything
    sealed = rows_text(ctl, "SELECT registry_sealed FROM configs WHERE registry_sealed <> ''").split()
    assert len(sealed) == 1 and sealed[0].startswith("gAAAA")  # a Fernet token

    # the password alone changes; the username is kept from the sealed config
    r = owner.post(path, {"registry": {"password": PASSWORD + "2"}})
    assert r.status_code == 201 and r.json()["registry"] == {"username": "bob", "password": "********"}, r.text
    assert len(set(rows_text(ctl, "SELECT registry_sealed FROM configs WHERE registry_sealed <> ''").split())) == 2
    r = owner.post(path, {"registry": {"username": None, "password": None}})
    assert r.status_code == 201 and r.json()["registry"] == {}, r.text


@pytest.mark.parametrize("registry, message", [
    ({"username": "bob"}, "needs a username and a password"),
    ({"hostname": "registry.example.com"}, "needs a username and a password"),
    ({"username": "bob", "password": "x", "email": "b@x"}, "'email' is not a registry setting"),
    ({"username": "bob", "password": "x", "hostname": "not a host"}, "not a registry host name"),
    ({"username": "bob", "password": ""}, "1 to 1024 printable characters"),
])
def test_incomplete_or_unknown_credentials_are_refused(owner, app_id, registry, message):
    r = owner.post(f"/v2/apps/{app_id}/config/", {"registry": registry})
    assert r.status_code == 400 and message in r.json()["registry"][0], r.text
    assert owner.get(f"/v2/apps/{app_id}/config/").json()["registry"] == {}


def test_the_password_stays_set_when_other_config_changes(ctl, owner, app_id):
    path = f"/v2/apps/{app_id}/config/"
    owner.post(path, {"registry": {"username": "bob", "password": PASSWORD, "hostname": "Registry.Example.com:5000"}})
    r = owner.post(path, {"values": {"A": "1"}})
    assert r.json()["registry"] == {"username": "bob", "password": "********", "hostname": "registry.example.com:5000"}
    r = owner.post(path, {"registry": {"password": None}})  # half of the pair: refused, nothing changes
    assert r.status_code == 400, r.text
    assert owner.get(path).json()["registry"]["password"] == "********"
